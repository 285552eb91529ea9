"""Trend data: the history's points per metric, shaped for charts (one line per series per machine)."""
from __future__ import annotations

import pandas as pd

from ..verdict import history


def last_runs(hist: pd.DataFrame, n: int | None) -> pd.DataFrame:
    """The newest n runs per machine (None: all)."""
    if n is None or hist.empty:
        return hist
    runs = hist[["fingerprint", "run_id"]].drop_duplicates().sort_values("run_id")
    keep = runs.groupby("fingerprint").tail(n)
    return hist.merge(keep, on=["fingerprint", "run_id"])


def machine_label(df: pd.DataFrame) -> pd.Series:
    return df["machine"] + " · " + df["fingerprint"]


def points(hist: pd.DataFrame, suite: str, metric: str, *, scale: float = 1.0, invert: bool = False,
           where: dict | None = None, series=("subject", "config", "variant", "item")) -> pd.DataFrame:
    """One point per run and series: value (divided by `scale`, or `scale / value` when `invert`),
    with run context. Series names join the given key columns that are not empty."""
    d = hist[(hist["suite"] == suite) & (hist["metric"] == metric)]
    for k, v in (where or {}).items():
        d = d[d[k].isin(v if isinstance(v, (list, tuple, set)) else [v])]
    p = history.point_values(d)
    if p.empty:
        return pd.DataFrame(columns=["started", "run_id", "series", "value", "machine", "allframe", "commit",
                                     *history.KEY[1:5]])
    p["value"] = scale / p["value"] if invert else p["value"] / scale
    p["series"] = [" ".join(str(r[c]) for c in series if r[c]) for r in p.to_dict("records")]
    p["machine"] = machine_label(p)
    return p[["started", "run_id", "series", "value", "machine", "allframe", "commit", *history.KEY[1:5]]]


def runs_table(hist: pd.DataFrame) -> pd.DataFrame:
    """Per machine: runs, suites, first and last run, rows kept."""
    if hist.empty:
        return pd.DataFrame(columns=["machine", "runs", "first run", "last run", "rows"])
    g = hist.assign(machine=machine_label(hist)).groupby("machine")
    return pd.DataFrame({"runs": g["run_id"].nunique(), "first run": g["run_id"].min(), "last run": g["run_id"].max(),
                         "rows": g.size()}).reset_index()


def coverage_totals(hist: pd.DataFrame) -> pd.DataFrame:
    """AllFrame's total line and region coverage per run, one series per feature set and measure."""
    parts = [points(hist, "coverage", f"{m}_pct", where={"config": "total"}, series=("variant",)) for m in ("line", "region")]
    for p, m in zip(parts, ("lines", "regions")):
        p["series"] = p["series"] + f" · {m}"
    return pd.concat(parts, ignore_index=True)
