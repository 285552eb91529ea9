"""The size suite: real linked executables per feature configuration and peer, per build profile.

For each binary: bytes as built, bytes stripped (binutils strip), and, under the gated profile,
cargo-bloat's per-crate .text breakdown. Failures (a configuration that does not compile, a probe
that does not run) are recorded as rows with the compiler's last lines, and the rest go on.
"""
from __future__ import annotations

import json
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import pandas as pd

from . import bloat, cargo, suite
from .procs import say
from .budgets import Budgets, pick
from . import budgets as budgets_mod
from .records import headline
from .verdicts import Finding, Verdict

SUITE = "size"
PROBE = "size-probe"


@dataclass(frozen=True)
class Target:
    subject: str            # allframe | axum | actix | rocket
    config: str             # configuration name, or "hello-world" for peers
    package: str
    features: tuple[str, ...] = ()


def plan(b: Budgets, configurations: Sequence[str] | None = None, peers: bool | Sequence[str] = True,
         profiles: Sequence[str] | None = None) -> tuple[list[Target], list[str]]:
    """Validate the selection against the budgets file (before any build) and list what to build."""
    configs = pick(b.size.configurations, configurations or list(b.size.configurations), "size configuration")
    profiles = list(profiles or b.size.profiles)
    pick({p: p for p in budgets_mod.cargo_profiles()}, profiles, "build profile")
    peer_names = list(b.size.peers) if peers is True else list(peers or [])
    chosen_peers = pick(b.size.peers, peer_names, "peer")
    targets = [Target("allframe", c.name, PROBE, c.features) for c in configs]
    targets += [Target(p.name, "hello-world", p.package) for p in chosen_peers]
    return targets, profiles


def stripped_size(executable: Path) -> int:
    """Bytes of a copy of the executable after `strip` (symbols and debug info removed)."""
    strip = cargo.require("strip", "Install binutils: `apt-get install binutils`, or run `make setup`.")
    with tempfile.TemporaryDirectory() as d:
        out = Path(d) / "stripped"
        subprocess.run([strip, "-o", str(out), str(executable)], check=True, capture_output=True)
        return out.stat().st_size


def run_probe(executable: Path, timeout: float = 60) -> dict:
    """Run the size probe once: it prints one JSON object naming what it exercised."""
    r = subprocess.run([str(executable)], capture_output=True, text=True, timeout=timeout)
    if r.returncode != 0:
        raise RuntimeError(f"exit {r.returncode}: {(r.stderr or r.stdout).strip()[-2000:]}")
    return json.loads(r.stdout.strip().splitlines()[-1])


def _measure_target(ctx: suite.Context, t: Target, profile: str, with_bloat: bool) -> None:
    base = dict(subject=t.subject, config=t.config, variant=profile)
    label = f"{t.subject}:{t.config} [{profile}]"
    b = ctx.build(t.package, profile=profile, features=t.features, no_default_features=True, label=label)
    if not b.ok:
        ctx.record(**base, metric="file_bytes", unit="bytes", status="failed", detail=b.failure_text())
        return
    ctx.record(**base, metric="file_bytes", unit="bytes", value=b.executable.stat().st_size)
    ctx.record(**base, metric="stripped_bytes", unit="bytes", value=stripped_size(b.executable))
    ctx.record(**base, metric="build_seconds", unit="s", value=round(b.seconds, 2),
               detail=f"{b.rebuilt} of {b.units} units compiled")
    if t.package == PROBE:
        try:
            used = run_probe(b.executable)
            ctx.record(**base, metric="probe_checks", unit="count", value=len(used), detail=json.dumps(used, sort_keys=True))
        except Exception as e:  # the binary exists but does not work: a failure, and the gate fails on it
            ctx.record(**base, metric="probe_checks", unit="count", status="failed", detail=f"size-probe crashed:\n{e}")
    if with_bloat and profile == ctx.budgets.size.gated_profile:
        started = time.monotonic()
        try:
            cs = bloat.crates(ctx.workspace, t.package, profile=profile, features=t.features, extra_args=ctx.cargo_args,
                              printer=ctx.printer, label=label)
        except (bloat.BloatError, cargo.ToolMissing) as e:
            # text_bytes is tracked: a failed breakdown fails the gate and shows as "broke" in the history
            ctx.record(**base, metric="text_bytes", unit="bytes", status="failed", detail=str(e))
        else:
            ctx.record(**base, metric="text_bytes", unit="bytes", value=cs.text_size,
                       detail="cargo-bloat: .text of the unstripped build")
            for name, size in cs.crates.items():
                ctx.record(**base, item=name, metric="crate_text_bytes", unit="bytes", value=size)
            ctx.say(f"  {label}: cargo-bloat attributed {len(cs.crates)} crates in {time.monotonic() - started:.1f}s")


def measure(
    configurations: Sequence[str] | str | None = None,
    *,
    profiles: Sequence[str] | str | None = None,
    peers: bool | Sequence[str] | str = True,
    allframe_version: str | None = None,
    allframe_checkout: str | None = None,
    with_bloat: bool = True,
    run_id: str | None = None,
    budgets: Budgets | None = None,
    printer: Callable[[str], None] | None = say,
) -> tuple[str, pd.DataFrame]:
    """Build and measure; save the records under data/runs/<run_id>/size.parquet. Returns (run_id, records)."""
    b = budgets or budgets_mod.load()
    peers = peers if isinstance(peers, bool) else suite.as_list(peers, "peers")
    targets, profiles = plan(b, suite.as_list(configurations, "configurations"), peers,
                             suite.as_list(profiles, "profiles"))                     # bad names fail here
    tools = [("strip", "Install binutils: `apt-get install binutils`, or run `make setup`.")]
    if with_bloat:
        tools.append(("cargo-bloat", "Install it with `cargo install --locked cargo-bloat`, or run `make setup`."))

    def collect(ctx: suite.Context) -> None:
        ctx.say(f"size suite: {len(targets)} binaries x {len(profiles)} profiles")
        for profile in profiles:
            for t in targets:
                _measure_target(ctx, t, profile, with_bloat)
        ctx.info["features"] = {t.config: list(t.features) for t in targets if t.subject == "allframe"}

    params = {"configurations": [t.config for t in targets if t.subject == "allframe"], "profiles": profiles,
              "peers": [t.subject for t in targets if t.subject != "allframe"], "with_bloat": with_bloat}
    packages = sorted({PROBE, *("peers/" + p.package for p in b.size.peers.values())})
    return suite.run(SUITE, collect, parameters=params, packages=packages, budgets=b,
                     allframe_version=allframe_version, allframe_checkout=allframe_checkout, run_id=run_id,
                     printer=printer, tools=tools)


# ---------------------------------------------------------------- analysis

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
