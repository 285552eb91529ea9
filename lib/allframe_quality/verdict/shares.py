"""AllFrame's throughput as a share of a peer's: the one definition, used by the page, the gate and the history.

Per repeat, AllFrame's req/s divided by the peer's req/s in the same repeat (the two were loaded moments
apart, so machine drift hits both); the run's share is the median of those per-repeat ratios. A repeat
in which either side's load generator was saturated measured wrk, not the servers: it is left out, and a
level with no repeat left is "client-bound", not judged.
"""
from __future__ import annotations

import pandas as pd

CLIENT_BOUND_PCT = 90.0   # wrk's share of its own core past which a repeat measures the client
KEYS = ["config", "variant", "sample"]


def per_repeat(df: pd.DataFrame, reference: str, subject: str = "allframe") -> pd.DataFrame:
    """Rows of (config, variant, sample, share_pct, client_bound, rps, ref_rps) for one subject against `reference`."""
    ok = df[(df["suite"] == "throughput") & (df["status"] == "ok")]
    rps = ok[ok["metric"] == "rps"]
    load = ok[ok["metric"] == "load_cpu_pct"][["subject", *KEYS, "value"]].rename(columns={"value": "load_cpu_pct"})
    rps = rps.merge(load, on=["subject", *KEYS], how="left")
    mine, ref = rps[rps["subject"] == subject], rps[rps["subject"] == reference]
    both = mine.merge(ref[[*KEYS, "value", "load_cpu_pct"]], on=KEYS, suffixes=("", "_ref"))
    both["share_pct"] = both["value"] / both["value_ref"] * 100
    both["client_bound"] = (both["load_cpu_pct"].fillna(0) >= CLIENT_BOUND_PCT) | \
        (both["load_cpu_pct_ref"].fillna(0) >= CLIENT_BOUND_PCT)
    both["max_load_cpu_pct"] = both[["load_cpu_pct", "load_cpu_pct_ref"]].max(axis=1)
    return both.rename(columns={"value": "rps", "value_ref": "ref_rps"})[
        [*KEYS, "share_pct", "client_bound", "max_load_cpu_pct", "rps", "ref_rps"]]


def summary(df: pd.DataFrame, reference: str, subject: str = "allframe") -> pd.DataFrame:
    """Per (test, level): the median per-repeat share over repeats that were not client-bound."""
    p = per_repeat(df, reference, subject)
    out = []
    for (test, level), g in p.groupby(["config", "variant"], sort=False):
        judged = g[~g["client_bound"]]
        out.append({"test": test, "level": level, "repeats": len(g), "judged_repeats": len(judged),
                    "share_pct": float(judged["share_pct"].median()) if len(judged) else float("nan"),
                    "client_bound": judged.empty, "max_load_cpu_pct": float(g["max_load_cpu_pct"].max())})
    return pd.DataFrame(out, columns=["test", "level", "repeats", "judged_repeats", "share_pct", "client_bound",
                                      "max_load_cpu_pct"])
