"""Size analysis: the PRD's table with a verdict per configuration, the per-crate breakdown, each feature's
cost over Minimal, and chart-ready frames. Reads records only; running lives in size.py."""
from __future__ import annotations

import pandas as pd

from ..config.budgets import Budgets
from ..core.records import headline
from ..verdict.verdicts import Finding, Verdict

SUITE = "size"


def status_table(df: pd.DataFrame, b: Budgets) -> pd.DataFrame:
    """The PRD's size table with a verdict per configuration (gated profile and metric). A configuration
    that failed to build has no size: it is "not measured" here, and its failure fails the gate on its own."""
    mib = b.size.unit_bytes
    gp, gm = b.size.gated_profile, b.size.gated_metric
    rows = []
    for name, c in b.size.configurations.items():
        mine = df[(df["subject"] == "allframe") & (df["config"] == name)]
        if mine.empty:
            continue
        def value(profile, metric):
            v = mine[(mine["variant"] == profile) & (mine["metric"] == metric) & (mine["status"] == "ok")]["value"]
            return float(v.iloc[0]) / mib if len(v) else None
        failed = mine[(mine["status"] == "failed") & (mine["metric"] == "file_bytes") & (mine["variant"] == gp)]
        gated = value(gp, gm)
        verdict, words, note = _config_verdict(c, gated, "build failed: " + headline(failed["detail"].iloc[0]) if len(failed) else "")
        rows.append({
            "configuration": c.label, "name": name, "features": ", ".join(c.features) or "(none)",
            "basis": c.basis, f"{gp} MiB": gated, f"{gp} stripped MiB": value(gp, "stripped_bytes"),
            **{f"{p} MiB": value(p, "file_bytes") for p in b.size.profiles if p != gp},
            "target MiB": c.target_mib, "limit MiB": c.limit_mib, "status": f"{verdict.symbol} {words}",
            "level": verdict.level, "state": words, "note": note,
        })
    return pd.DataFrame(rows)

def _config_verdict(c, gated: float | None, failed_note: str) -> tuple[Verdict, str, str]:
    """(verdict, status words, note) of one configuration against its target and hard limit."""
    if gated is None:
        return Verdict.NOT_MEASURED, "not measured", failed_note or "no gated size in this run"
    if c.limit_mib is not None and gated > c.limit_mib:
        return Verdict.FAIL, "over limit", ""
    if c.target_mib is not None and gated > c.target_mib:
        return Verdict.WARN, "over target", ""
    if c.target_mib is not None:
        return Verdict.PASS, "under target", ""
    return Verdict.INFO, "no budget", ""

def crate_breakdown(df: pd.DataFrame, b: Budgets, top: int = 12) -> pd.DataFrame:
    """Per configuration, the `top` largest crates by .text and the rest summed as "(other crates)"."""
    c = df[(df["metric"] == "crate_text_bytes") & (df["status"] == "ok") & (df["variant"] == b.size.gated_profile)]
    out = []
    for (subject, config), g in c.groupby(["subject", "config"], sort=False):
        g = g.sort_values("value", ascending=False)
        keep = g.head(top)
        binary = _binary_name(subject, config, b)
        out += [{"binary": binary, "subject": subject, "config": config, "crate": r.item, "bytes": r.value}
                for r in keep.itertuples()]
        rest = g["value"].iloc[top:].sum()
        if rest:
            out.append({"binary": binary, "subject": subject, "config": config, "crate": "(other crates)", "bytes": rest})
    return pd.DataFrame(out, columns=["binary", "subject", "config", "crate", "bytes"])

def feature_cost(df: pd.DataFrame, b: Budgets, baseline: str = "minimal") -> pd.DataFrame:
    """For each configuration, the growth over `baseline` by crate: which crates a feature set brings and their bytes."""
    c = df[(df["subject"] == "allframe") & (df["metric"] == "crate_text_bytes") & (df["status"] == "ok")
           & (df["variant"] == b.size.gated_profile)]
    base = c[c["config"] == baseline].set_index("item")["value"]
    out = []
    if base.empty:  # no breakdown of the baseline (with_bloat=False, or it failed): nothing to subtract from
        return pd.DataFrame(out, columns=["config", "crate", "bytes", "baseline_bytes", "delta_bytes", "new_crate"])
    for config, g in c[c["config"] != baseline].groupby("config", sort=False):
        cur = g.set_index("item")["value"]
        for crate in cur.index.union(base.index):
            now, was = float(cur.get(crate, 0.0)), float(base.get(crate, 0.0))
            if now != was:
                out.append({"config": config, "crate": crate, "bytes": now, "baseline_bytes": was,
                            "delta_bytes": now - was, "new_crate": crate not in base.index})
    return pd.DataFrame(out, columns=["config", "crate", "bytes", "baseline_bytes", "delta_bytes", "new_crate"])

def feature_cost_totals(cost: pd.DataFrame) -> pd.DataFrame:
    """Per configuration: .text KiB added over Minimal, and the crates it brings that Minimal lacks."""
    added = cost.groupby("config")["delta_bytes"].sum() / 1024
    new = cost[cost["new_crate"]].groupby("config")["crate"].agg(lambda s: ", ".join(sorted(s)))
    return pd.DataFrame({"added_KiB": added, "new_crates": new}).sort_values("added_KiB")

def evaluate(df: pd.DataFrame, b: Budgets) -> list[Finding]:
    """One check per measured configuration (id size.<name>): its gated size against target and limit.
    Failed rows (builds, probes, cargo-bloat) fail through suite.failure_findings."""
    gp = b.size.gated_profile
    return [Finding(SUITE, f"size.{r['name']}", f"{r['configuration']} ({r['name']})", Verdict.of(r["level"]),
                    r["state"], r[f"{gp} MiB"], r["target MiB"], r["limit MiB"], "MiB", r["note"])
            for r in status_table(df, b).to_dict("records")]

def _binary_name(subject: str, config: str, b: Budgets) -> str:
    if subject == "allframe":
        return f"AllFrame {b.size.configurations[config].label}" if config in b.size.configurations else f"AllFrame {config}"
    return b.size.peers[subject].label if subject in b.size.peers else subject

def profile_long(df: pd.DataFrame, b: Budgets) -> pd.DataFrame:
    """Chart-ready: binary, build (as built / stripped per profile), MiB."""
    d = df[df["metric"].isin(["file_bytes", "stripped_bytes"]) & (df["status"] == "ok")].copy()
    # a size-opt build is already stripped: its stripped size repeats its size, so show it once
    d = d[~((d["variant"] != b.size.gated_profile) & (d["metric"] == "stripped_bytes"))]
    d["binary"] = [_binary_name(s, c, b) for s, c in zip(d["subject"], d["config"])]
    d["build"] = d["variant"] + d["metric"].map({"file_bytes": "", "stripped_bytes": ", stripped"})
    d["MiB"] = d["value"] / b.size.unit_bytes
    return d[["binary", "subject", "config", "build", "MiB"]].reset_index(drop=True)

def peer_frame(df: pd.DataFrame, b: Budgets) -> pd.DataFrame:
    """Chart-ready: every binary's gated-profile size with the PRD's claim for peers."""
    d = df[(df["metric"] == "file_bytes") & (df["status"] == "ok") & (df["variant"] == b.size.gated_profile)].copy()
    d["binary"] = [_binary_name(s, c, b) for s, c in zip(d["subject"], d["config"])]
    d["MiB"] = d["value"] / b.size.unit_bytes
    d["prd_mib"] = [b.size.peers[s].prd_mib if s in b.size.peers else float("nan") for s in d["subject"]]
    return d[["binary", "subject", "config", "MiB", "prd_mib"]].reset_index(drop=True)

def failures(df: pd.DataFrame) -> pd.DataFrame:
    """Rows that did not measure, with their reasons: shown in the report, counted by the gate."""
    return df[df["status"] != "ok"][["subject", "config", "variant", "metric", "status", "detail"]].reset_index(drop=True)
