"""Throughput analysis: median req/s, CPU and latency per framework, test and level; shares of a peer (one
definition, shares.py); the relative budgets as checks. Reads records only; running lives in throughput.py."""
from __future__ import annotations

import pandas as pd

from ..verdict import shares
from ..config.budgets import Budgets
from ..core.records import headline
from ..verdict.verdicts import Finding, Verdict

SUITE = "throughput"
LABELS = {"allframe": "AllFrame router on hyper", "axum": "Axum", "actix": "Actix-web", "hyper": "Hyper (ceiling)"}


def summary(df: pd.DataFrame) -> pd.DataFrame:
    """Median req/s, CV and the repeats per framework, test and level; server and wrk CPU medians."""
    ok = df[df["status"] == "ok"]
    rps = ok[ok["metric"] == "rps"].groupby(["subject", "config", "variant"])["value"]
    out = pd.DataFrame({"median_rps": rps.median(), "cv_pct": rps.std(ddof=1) / rps.mean() * 100, "repeats": rps.count(),
                        "min_rps": rps.min(), "max_rps": rps.max()})
    for metric, name in (("server_cpu_pct", "server_cpu_pct"), ("load_cpu_pct", "load_cpu_pct"),
                         ("requests_per_cpu_s", "requests_per_cpu_s"),
                         ("latency_p50_ms", "p50_ms"), ("latency_p99_ms", "p99_ms")):
        out[name] = ok[ok["metric"] == metric].groupby(["subject", "config", "variant"])["value"].median()
    out = out.reset_index().rename(columns={"subject": "framework", "config": "test", "variant": "level"})
    out["label"] = out["framework"].map(LABELS)
    return out

def relative(df: pd.DataFrame, reference: str) -> pd.DataFrame:
    """Each framework's share of `reference`'s req/s: the median of per-repeat ratios (shares.py), repeats
    whose load generator was saturated left out; `client_bound` where none was left."""
    s = summary(df)
    parts = []
    for fw in s["framework"].unique():
        sh = shares.summary(df, reference, fw)
        parts.append(sh.assign(framework=fw))
    rel = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=["framework", "test", "level", "share_pct", "client_bound"])
    return s.merge(rel[["framework", "test", "level", "share_pct", "client_bound", "max_load_cpu_pct"]],
                   on=["framework", "test", "level"], how="left")

def failures(df: pd.DataFrame) -> pd.DataFrame:
    f = df[df["status"] != "ok"][["subject", "config", "variant", "metric", "detail"]]
    return f.assign(reason=f["detail"].map(headline)).drop(columns="detail").reset_index(drop=True)

def evaluate(df: pd.DataFrame, b: Budgets) -> list[Finding]:
    """Relative budgets (id throughput.share_of_<peer>.<test>.<level>): AllFrame's share of a peer in the same
    run. A test whose peer or AllFrame did not run, or whose repeats were all client-bound, is "not measured".
    Failed verifications and loads fail through suite.failure_findings."""
    findings = []
    s = summary(df)
    tests = s[["test", "level"]].drop_duplicates().itertuples(index=False) if not s.empty else []
    pairs = [(t.test, t.level) for t in tests]
    for ref, min_pct in b.throughput.min_share_pct.items():
        rel = shares.summary(df, ref).set_index(["test", "level"])
        for test, level in pairs:
            check, what = f"throughput.share_of_{ref}.{test}.{level}", f"{test} {level}: AllFrame vs {LABELS[ref]}"
            if (test, level) not in rel.index:
                ran = sorted(set(s[(s["test"] == test) & (s["level"] == level)]["framework"]))
                findings.append(Finding(SUITE, check, what, Verdict.NOT_MEASURED, "not measured", limit=min_pct, unit="%",
                                        note=f"measured here: {', '.join(ran) or 'nothing'}; needs allframe and {ref}"))
                continue
            r = rel.loc[(test, level)]
            if r["client_bound"]:
                findings.append(Finding(SUITE, check, what, Verdict.NOT_MEASURED, "client-bound", limit=min_pct, unit="%",
                                        note=f"wrk at {r['max_load_cpu_pct']:.0f}% of its core in every repeat: "
                                             "the load generator, not the server, set the pace"))
                continue
            ok = r["share_pct"] >= min_pct
            findings.append(Finding(SUITE, check, what, Verdict.PASS if ok else Verdict.FAIL,
                                    "within budget" if ok else "below budget", float(r["share_pct"]), None, min_pct, "%",
                                    f"median of {int(r['judged_repeats'])} per-repeat ratios"))
    return findings

def server_memory(df: pd.DataFrame) -> pd.DataFrame:
    """Each server's peak RSS (the kernel's VmHWM) after all its loads."""
    m = df[(df["metric"] == "server_peak_rss_bytes") & (df["status"] == "ok")]
    return pd.DataFrame({"server": m["subject"].map(LABELS), "peak RSS MiB": m["value"] / 2**20}).reset_index(drop=True)


def pivot(summary_frame: pd.DataFrame, values: str, aggfunc: str = "mean") -> pd.DataFrame:
    """One summary column as test and level × framework; empty when nothing was loaded."""
    if summary_frame.empty:
        return pd.DataFrame()
    return summary_frame.pivot_table(index=["test", "level"], columns="label", values=values, aggfunc=aggfunc)


def concurrency_levels(summary_frame: pd.DataFrame) -> int:
    """How many connection counts (levels c64, c256-q20, ...) were measured."""
    if summary_frame.empty:
        return 0
    return int(summary_frame["level"].str.extract(r"^c(\d+)")[0].nunique())
