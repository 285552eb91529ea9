"""The history: every run's headline metrics in one compact Parquet file, data/history.parquet.

Runs keep everything under data/runs/; the history keeps what trends and regression detection
need, per run: the tracked metrics below (samples included, for the significance tests), plus
when, on which machine (fingerprint), with which AllFrame and with which suite parameters.

- Append is atomic and locked (two writers never lose each other's rows); a (run, suite) is
  stored once — saving a suite again replaces its rows.
- Before a rewrite the previous file is copied to history.parquet.bak. A file that cannot be
  read stops the append with an error naming it; it is never overwritten.
- Size policy ([history] in quality.toml): samples are kept for the newest `keep_samples_runs`
  runs per machine (older runs keep one point per metric); at most `max_runs` runs per machine.
"""
from __future__ import annotations

import hashlib
import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ..core import atomic, paths, records
from . import shares
from ..core.records import headline


@dataclass(frozen=True)
class Metric:
    name: str             # the metric's name in the history
    lower_is_better: bool
    kind: str             # exact (deterministic count) | samples (repeated) | single (one value per run)
    point: str = "mean"   # how samples make one value: mean | median
    label: str = ""
    detect: bool = True   # False: a trend only, never a regression verdict
    corroborated_by: str = ""  # an exact metric of the same item that a run-to-run change must move too
    gates: bool = True    # False: a change is shown (regressed / improved) but never fails the gate


# (suite, metric in the run records) -> how the history tracks it. Everything else stays in data/runs.
TRACKED: dict[tuple[str, str], Metric] = {
    ("size", "file_bytes"): Metric("file_bytes", True, "exact", label="binary size (bytes)"),
    ("size", "stripped_bytes"): Metric("stripped_bytes", True, "exact", label="stripped size (bytes)"),
    ("size", "text_bytes"): Metric("text_bytes", True, "exact", label=".text (bytes)"),
    # Absolute req/s move with the whole machine (A/A: every framework +30-70 % between two runs of one
    # build): a trend only. Regressions are judged on AllFrame's share of Hyper in the same repeat.
    ("throughput", "rps"): Metric("rps", False, "samples", "median", label="req/s", detect=False),
    ("throughput", "share_of_hyper_pct"): Metric("share_of_hyper_pct", False, "samples", "median",
                                                 label="% of Hyper's req/s in the same repeat"),
    ("throughput", "server_peak_rss_bytes"): Metric("server_peak_rss_bytes", True, "single", label="server peak RSS (bytes)"),
    # one sample per criterion process (runs before processes existed: criterion's samples of one process)
    # Between separate runs the machine itself moves times (A/A: all operations -20 % together after a
    # quiet spell), so a time change between runs counts only when the operation's instructions moved too;
    # interleaved A/B rounds need no such help (drift hits both sides).
    ("cqrs", "ns_per_op_process"): Metric("ns_per_op", True, "samples", "mean", label="ns per operation",
                                          corroborated_by="instructions_per_op"),
    ("cqrs", "ns_per_op_sample"): Metric("ns_per_op", True, "samples", "mean", label="ns per operation",
                                         corroborated_by="instructions_per_op"),
    ("cqrs", "ns_per_op"): Metric("ns_per_op", True, "samples", "mean", label="ns per operation",
                                  corroborated_by="instructions_per_op"),  # failures only
    ("cqrs", "instructions_per_op"): Metric("instructions_per_op", True, "exact", label="instructions per operation"),
    ("memory", "used_bytes"): Metric("used_bytes", True, "single", label="memory used (bytes)"),
    ("memory", "peak_rss_bytes"): Metric("peak_rss_bytes", True, "single", label="peak RSS (bytes)"),
    ("memory", "heap_peak_bytes"): Metric("heap_peak_bytes", True, "single", label="heap peak (bytes)"),
    ("demos", "file_bytes"): Metric("file_bytes", True, "exact", label="demo binary size (bytes)"),
    ("demos", "stripped_bytes"): Metric("stripped_bytes", True, "exact", label="demo stripped size (bytes)"),
    ("demos", "code_lines"): Metric("code_lines", True, "exact", label="demo code lines", detect=False),
    ("demos", "startup_seconds"): Metric("startup_seconds", True, "samples", "median", label="demo start-up (s)"),
    ("demos", "idle_rss_bytes"): Metric("idle_rss_bytes", True, "single", label="demo idle RSS (bytes)"),
    ("demos", "peak_rss_bytes"): Metric("peak_rss_bytes", True, "single", label="demo peak RSS under load (bytes)"),
    ("demos", "rps"): Metric("rps", False, "samples", "median", label="demo req/s", detect=False),
    # AllFrame's capabilities (2 works, 1 partly, 0 not): a change of outcome is shown as a change, and
    # it is a finding about AllFrame, never a failure of the lab's gate
    ("demos", "capability"): Metric("capability", False, "exact", label="capability outcome", gates=False),
    # AllFrame's coverage by its own tests: informational, a change is shown and never fails the gate
    ("coverage", "line_pct"): Metric("line_pct", False, "exact", label="line coverage (%)", gates=False),
    ("coverage", "region_pct"): Metric("region_pct", False, "exact", label="region coverage (%)", gates=False),
    ("coverage", "tests_passed"): Metric("tests_passed", False, "exact", label="AllFrame tests passed", gates=False),
    ("coverage", "tests_failed"): Metric("tests_failed", True, "exact", label="AllFrame tests failed", gates=False),
    # micro: AllFrame and its peers on the same operations; times as the CQRS suite's, instructions exact, and
    # AllFrame's ratio to the best peer in the same run (shown as a change, never failing the gate on its own)
    ("micro", "ns_per_op_process"): Metric("ns_per_op", True, "samples", "mean", label="ns per operation",
                                           corroborated_by="instructions_per_op"),
    ("micro", "ns_per_op"): Metric("ns_per_op", True, "samples", "mean", label="ns per operation",
                                   corroborated_by="instructions_per_op"),  # failures only
    ("micro", "instructions_per_op"): Metric("instructions_per_op", True, "exact", label="instructions per operation"),
    ("micro", "bytes_per_event"): Metric("bytes_per_event", True, "single", label="bytes per event in memory"),
    ("micro", "ratio_to_best"): Metric("ratio_to_best", False, "single", label="AllFrame's ops/s ÷ the best peer's",
                                       gates=False),
    ("micro", "instructions_ratio_to_best"): Metric("instructions_ratio_to_best", True, "exact",
                                                    label="AllFrame's instructions ÷ the best peer's", gates=False),
}
SPECS: dict[tuple[str, str], Metric] = {(s, m.name): m for (s, _), m in TRACKED.items()}
KEY = ["suite", "subject", "config", "variant", "item", "metric"]

# The history's columns: run context, then the record columns it keeps.
RUN_COLUMNS = {"started": "datetime64[us, UTC]", "fingerprint": "string", "machine": "string",
               "allframe": "string", "commit": "string", "params": "string", "toolchain": "string", "probe": "string"}
ADDED_LATER = ("toolchain", "probe")   # read as "" from histories written before they existed
COLUMNS = {"run_id": "string", **RUN_COLUMNS, **{k: records.SCHEMA[k] for k in
           ("suite", "subject", "config", "variant", "item", "metric", "unit", "value", "lo", "hi", "sample",
            "status", "detail")}}


class HistoryError(RuntimeError):
    pass


def path() -> Path:
    return paths.data_dir() / "history.parquet"


def backup_path() -> Path:
    return path().with_name("history.parquet.bak")


def empty() -> pd.DataFrame:
    return pd.DataFrame(columns=list(COLUMNS)).astype(COLUMNS)


# Parameters that choose *what* is measured, not how: a run of fewer operations or configurations is
# still comparable metric by metric.
SELECTION = {"operations", "configurations", "profiles", "peers", "with_bloat", "frameworks", "tests", "events",
             "payloads", "backends", "heap_profile", "heap_profile_max_events", "instructions", "query_levels",
             "libraries", "memory_events"}


def params_key(parameters: dict | None) -> str:
    """Runs are comparable only when measured the same way (a 0.5 s test run is no baseline for a 3 s one)."""
    how = {k: v for k, v in (parameters or {}).items() if k not in SELECTION}
    return hashlib.sha256(json.dumps(how, sort_keys=True, default=str).encode()).hexdigest()[:10]


def rows_for_run(run_id: str, suites: list[str] | None = None) -> pd.DataFrame:
    """A run's tracked metrics in the history's columns (from data/runs/<run_id>)."""
    meta = records.load_meta(run_id)
    saved = meta.get("suites", {})
    names = [s for s in (suites or list(saved)) if s in saved]
    if not names:
        return empty()
    df = pd.concat([records.load_records(run_id, s) for s in names], ignore_index=True)
    df = pd.concat([df, _shares_of_hyper(df)], ignore_index=True)
    rust = (meta.get("rust") or {}).get("rustc") or ""
    if (df["metric"] == "ns_per_op_process").any():
        df = df[df["metric"] != "ns_per_op_sample"]
    keep = [(s, m) in TRACKED for s, m in zip(df["suite"], df["metric"])]
    df = df[keep].copy()
    df["metric"] = [TRACKED[(s, m)].name for s, m in zip(df["suite"], df["metric"])]
    # a suite's summary time rows duplicate its samples; keep them only where they carry a failure
    df = df[~((df["suite"] == "cqrs") & (df["metric"] == "ns_per_op") & df["sample"].isna() & (df["status"] == "ok"))]
    df["detail"] = [headline(d, 160) if st != "ok" else "" for d, st in zip(df["detail"].fillna(""), df["status"])]
    # a suite merged from another job keeps the machine it ran on (records.merge_run)
    machines = {s: saved[s].get("machine") or meta.get("machine", {}) for s in names}
    df["started"] = pd.Timestamp(meta.get("started_utc") or run_id[:16])
    df["fingerprint"] = [machines[s].get("fingerprint") or "unknown" for s in df["suite"]]
    df["machine"] = [f"{machines[s].get('cpu_model', '?')} ({machines[s].get('cores', '?')} cores)" for s in df["suite"]]
    df["commit"] = (meta.get("project", {}).get("commit") or "")[:12]
    df["allframe"] = [(saved[s].get("allframe") or {}).get("label", "") for s in df["suite"]]
    df["params"] = [params_key(saved[s].get("parameters")) for s in df["suite"]]
    df["toolchain"] = [saved[s].get("toolchain") or rust for s in df["suite"]]
    df["probe"] = [saved[s].get("probe_hash") or "" for s in df["suite"]]
    return df[list(COLUMNS)].astype(COLUMNS).reset_index(drop=True)


def _shares_of_hyper(df: pd.DataFrame) -> pd.DataFrame:
    """AllFrame's req/s as a share of Hyper's in the same repeat (shares.py, the one definition), one
    sample per repeat that was not client-bound."""
    p = shares.per_repeat(df, "hyper")
    p = p[~p["client_bound"]]
    if p.empty:
        return records.empty()
    rows = [records.record(suite="throughput", subject="allframe", config=r.config, variant=r.variant, sample=r.sample,
                           metric="share_of_hyper_pct", unit="%", value=r.share_pct) for r in p.itertuples()]
    run_id = df["run_id"].iloc[0]
    return records.frame(rows, run_id)


def load(p: Path | None = None) -> pd.DataFrame:
    """The history (empty when there is none yet). An unreadable file is an error naming it."""
    p = Path(p or path())
    if not p.exists():
        return empty()
    try:
        df = pd.read_parquet(p)
    except Exception as e:  # pyarrow raises several types for truncated or foreign files
        bak = backup_path() if p == path() else None
        hint = (f" The previous good copy is {bak}: restore it with `cp {bak} {p}`."
                if bak and bak.exists() else " Move it away to start a new history (make history-rebuild refills it from data/runs).")
        raise HistoryError(f"history file {p} is unreadable ({type(e).__name__}: {e}).{hint}") from None
    for c in ADDED_LATER:
        if c not in df.columns:
            df[c] = ""
    missing = set(COLUMNS) - set(df.columns)
    if missing:
        raise HistoryError(f"history file {p} lacks columns {sorted(missing)}: not an allframe-quality history")
    return df[list(COLUMNS)].astype(COLUMNS)


def compact(df: pd.DataFrame, keep_samples_runs: int, max_runs: int) -> pd.DataFrame:
    """The size policy: per machine, drop runs beyond max_runs and fold samples of runs older than
    the newest keep_samples_runs into one point (mean or median, as the metric says)."""
    if df.empty:
        return df
    runs = df[["fingerprint", "run_id", "started"]].drop_duplicates(["fingerprint", "run_id"])
    runs = runs.sort_values(["started", "run_id"])
    runs["age"] = runs.groupby("fingerprint").cumcount(ascending=False)  # 0 = newest
    age = df.merge(runs[["fingerprint", "run_id", "age"]], on=["fingerprint", "run_id"], how="left")["age"].to_numpy()
    df = df[age < max_runs]
    age = age[age < max_runs]
    old = (age >= keep_samples_runs) & df["sample"].notna().to_numpy()
    if not old.any():
        return df.reset_index(drop=True)
    folded = []
    for _, g in df[old].groupby(["run_id", *KEY], sort=False, dropna=False):
        ok = g[g["status"] == "ok"]["value"]
        spec = SPECS.get((g["suite"].iloc[0], g["metric"].iloc[0]))
        row = g.iloc[0].copy()
        row["value"] = ok.median() if spec and spec.point == "median" else ok.mean()
        row["lo"], row["hi"], row["sample"] = ok.min(), ok.max(), pd.NA
        row["detail"] = f"{len(ok)} samples folded"
        folded.append(row)
    out = pd.concat([df[~old], pd.DataFrame(folded)], ignore_index=True)
    return out.astype(COLUMNS).sort_values(["started", "run_id"], kind="stable").reset_index(drop=True)


def _write(df: pd.DataFrame) -> Path:
    p = path()
    if p.exists():  # the last good file, before it is replaced
        atomic.write_with(backup_path(), lambda tmp: shutil.copyfile(p, tmp))
    return atomic.write_with(p, lambda tmp: df.to_parquet(tmp, index=False, compression="zstd"))


def _policy() -> tuple[int, int]:
    from ..config import budgets
    h = budgets.load().history
    return h.keep_samples_runs, h.max_runs


def add(new: pd.DataFrame) -> pd.DataFrame:
    """Merge history rows into the history file: a (run, suite) present in `new` replaces the old copy."""
    with atomic.locked(paths.data_dir() / ".history.lock"):
        old = load()
        if not new.empty:
            replaced = set(zip(new["run_id"], new["suite"]))
            old = old[[k not in replaced for k in zip(old["run_id"], old["suite"])]]
        merged = pd.concat([old, new.astype(COLUMNS)], ignore_index=True) if not old.empty else new.astype(COLUMNS)
        merged = compact(merged.sort_values(["started", "run_id"], kind="stable"), *_policy())
        _write(merged)
    return merged


def append(run_id: str, suites: list[str] | None = None) -> pd.DataFrame:
    """Add one run (its saved suites, or the ones named) to the history."""
    return add(rows_for_run(run_id, suites))


def rebuild() -> pd.DataFrame:
    """The history from every run under data/runs (a fresh start, or after a corrupt file was moved away)."""
    frames = [rows_for_run(r) for r in records.list_runs()]
    frames = [f for f in frames if not f.empty]
    return add(pd.concat(frames, ignore_index=True) if frames else empty())


def point_values(df: pd.DataFrame) -> pd.DataFrame:
    """One value per (run, metric key): samples reduced by the metric's point rule, with run context."""
    ok = df[df["status"] == "ok"]
    if ok.empty:
        return ok.assign(n=pd.Series(dtype="Int64"))
    rows = []
    for k, g in ok.groupby(["run_id", *KEY], sort=False, dropna=False):
        spec = SPECS.get((k[1], k[6]))
        v = g["value"].median() if spec and spec.point == "median" else g["value"].mean()
        r = g.iloc[0].copy()
        r["value"], r["n"] = v, len(g)
        rows.append(r)
    return pd.DataFrame(rows).reset_index(drop=True)
