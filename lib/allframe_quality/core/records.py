"""The one record schema every suite writes, and run storage under data/runs/<run_id>/.

One row per measured value. A failure is a row too: status "failed" (or "not_measured"),
no value, and the reason in `detail`; never a silent zero and never a missing row.

Layout of a run:
    data/runs/<run_id>/meta.json        run metadata (machine, toolchain, commit) + per-suite info
    data/runs/<run_id>/<suite>.parquet  that suite's records
"""
from __future__ import annotations

import datetime as dt
import json
import math
from pathlib import Path
from typing import Iterable

import pandas as pd

from . import atomic, metadata, paths

# column -> pandas dtype; the order is the file's column order.
SCHEMA: dict[str, str] = {
    "run_id": "string",   # joins with meta.json
    "suite": "string",    # a name from core/registry.py (size, throughput, micro, cqrs, memory, demos, ...)
    "subject": "string",  # allframe | axum | actix | hyper | rocket ...
    "config": "string",   # feature configuration or test name (minimal, json, ...)
    "variant": "string",  # build profile, concurrency level, backend ... ("" when none)
    "item": "string",     # a part of the subject: crate name, percentile ... ("" when whole)
    "metric": "string",   # file_bytes, rps, ns_per_op, peak_rss_bytes ...
    "value": "float64",   # NaN when status is not ok
    "unit": "string",     # bytes, req/s, ns, ...
    "sample": "Int64",    # repeat index; <NA> for a single measurement
    "lo": "float64",      # interval bounds when the tool gives them
    "hi": "float64",
    "status": "string",   # ok | failed | not_measured
    "detail": "string",   # why it failed, or a short note
}
STATUSES = ("ok", "failed", "not_measured")
REQUIRED = ("suite", "subject", "config", "metric", "unit")


class RecordError(ValueError):
    pass


def record(**fields) -> dict:
    """One row with defaults filled in; unknown field names are an error."""
    unknown = set(fields) - set(SCHEMA)
    if unknown:
        raise RecordError(f"unknown record field(s) {sorted(unknown)}; valid: {list(SCHEMA)}")
    row = {"variant": "", "item": "", "value": math.nan, "sample": None, "lo": math.nan,
           "hi": math.nan, "status": "ok", "detail": ""}
    row.update(fields)
    return row


def frame(rows: Iterable[dict], run_id: str) -> pd.DataFrame:
    """Validate rows and return them as a DataFrame in the one schema."""
    rows = [dict(r, run_id=run_id) for r in rows]
    for i, r in enumerate(rows):
        missing = [k for k in REQUIRED if not r.get(k)]
        if missing:
            raise RecordError(f"record {i} lacks {missing}: {r}")
        if r["status"] not in STATUSES:
            raise RecordError(f"record {i} has status {r['status']!r}; valid: {STATUSES}")
        v = r.get("value")
        if r["status"] == "ok" and (v is None or not math.isfinite(float(v))):
            raise RecordError(f"record {i} is ok but has no finite value: {r}")
        if r["status"] != "ok" and not r.get("detail"):
            raise RecordError(f"record {i} is {r['status']} without a reason in detail: {r}")
    df = pd.DataFrame(rows, columns=list(SCHEMA))
    return df.astype(SCHEMA)


def empty() -> pd.DataFrame:
    return pd.DataFrame(columns=list(SCHEMA)).astype(SCHEMA)


# ---------------------------------------------------------------- runs on disk

def run_dir(run_id: str) -> Path:
    return paths.runs_dir() / run_id


def start_run(run_id: str | None = None) -> str:
    """Create the run's directory and metadata (once); return the run id."""
    run_id = run_id or metadata.new_run_id()
    meta_path = run_dir(run_id) / "meta.json"
    with atomic.locked(run_dir(run_id) / ".lock"):
        if not meta_path.exists():
            atomic.write_json(meta_path, dict(metadata.collect(run_id), suites={}))
    return run_id


def save_suite(run_id: str, suite: str, df: pd.DataFrame, info: dict) -> Path:
    """Write a suite's records atomically and note the suite in meta.json (the history is the caller's:
    contract.run and cli merge add it there)."""
    if df.empty:
        raise RecordError(f"suite {suite!r} produced no records: a run always records something")
    d = run_dir(run_id)
    out = atomic.write_with(d / f"{suite}.parquet", lambda p: df.to_parquet(p, index=False))
    with atomic.locked(d / ".lock"):
        meta = load_meta(run_id)
        meta.setdefault("suites", {})[suite] = dict(
            info, saved_utc=dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
            rows=len(df), failed=int((df["status"] != "ok").sum()))
        atomic.write_json(d / "meta.json", meta)
    return out


def headline(detail: str, width: int = 200) -> str:
    """The words of a failure that say what went wrong: the first compiler error, else a panic's message,
    else the last line; after the failure's own first line when that one only says what failed ("...:")."""
    lines = [l.strip() for l in (detail or "").splitlines() if l.strip()]
    if not lines:
        return ""
    key = next((l for l in lines if l.startswith("error")), None)
    if key is None:
        at = next((i for i, l in enumerate(lines) if "panicked at" in l), None)
        if at is not None:
            key = lines[at] + (" " + lines[at + 1] if at + 1 < len(lines) and lines[at].endswith(":") else "")
    key = key or lines[-1]
    first = lines[0].split(":\n")[0]
    if first != key and first.endswith(":") and len(first) < 80:
        key = f"{first} {key}"
    return key[:width]


def load_meta(run_id: str) -> dict:
    p = run_dir(run_id) / "meta.json"
    if not p.exists():
        raise FileNotFoundError(f"no run {run_id!r} under {paths.runs_dir()} (missing {p.name})")
    return json.loads(p.read_text())


def list_runs(suite: str | None = None) -> list[str]:
    """Run ids that saved records, oldest first; with `suite`, only runs that saved that suite."""
    root = paths.runs_dir()
    if not root.is_dir():
        return []
    return sorted(d.name for d in root.iterdir()
                  if (d / "meta.json").exists() and (any(d.glob("*.parquet")) if suite is None else (d / f"{suite}.parquet").exists()))


def latest_run_id(suite: str | None = None) -> str:
    runs = list_runs(suite)
    if not runs:
        what = f"with a {suite!r} suite " if suite else ""
        raise FileNotFoundError(f"no run {what}under {paths.runs_dir()}: run the notebooks first (make report)")
    return runs[-1]


def load_records(run_id: str | None = None, suite: str | None = None) -> pd.DataFrame:
    """Records of one run (the latest by default), one suite or all of them."""
    run_id = run_id or latest_run_id(suite)
    d = run_dir(run_id)
    files = [d / f"{suite}.parquet"] if suite else sorted(d.glob("*.parquet"))
    missing = [f for f in files if not f.exists()]
    if missing or not files:
        raise FileNotFoundError(f"run {run_id!r} has no records for suite {suite!r} in {d}")
    return pd.concat([pd.read_parquet(f) for f in files], ignore_index=True).astype(SCHEMA)


def merge_run(src: Path) -> tuple[str, list[str]]:
    """Bring a run directory measured elsewhere (a parallel CI job's artifact) into data/runs: its
    suites' records are copied and its meta.json merged, each suite keeping the machine it ran on."""
    src = Path(src)
    if not (src / "meta.json").is_file():
        raise FileNotFoundError(f"{src} is not a run directory (no meta.json)")
    theirs = json.loads((src / "meta.json").read_text())
    run_id = theirs.get("run_id") or src.name
    suites = sorted(p.stem for p in src.glob("*.parquet"))
    if not suites:
        raise RecordError(f"{src} holds no suite records (*.parquet)")
    d = run_dir(run_id)
    for suite in suites:
        pd.read_parquet(src / f"{suite}.parquet")        # a truncated artifact fails here, before any copy
        atomic.write_bytes(d / f"{suite}.parquet", (src / f"{suite}.parquet").read_bytes())
    with atomic.locked(d / ".lock"):
        meta = load_meta(run_id) if (d / "meta.json").exists() else {k: v for k, v in theirs.items() if k != "suites"}
        for suite in suites:
            meta.setdefault("suites", {})[suite] = dict(theirs.get("suites", {}).get(suite, {}),
                                                        machine=theirs.get("machine"), rust=theirs.get("rust"))
        atomic.write_json(d / "meta.json", meta)
    return run_id, suites
