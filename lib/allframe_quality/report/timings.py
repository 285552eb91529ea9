"""How long each notebook of `make report` takes: the estimate printed before each one, the total after.

The estimate is the last default-parameter run's seconds on this machine (kept in the cache directory, beside
the Rust builds it depends on); before any, a first run's typical cold times. Runs with parameters (the tests'
small reports, CI's one-suite jobs) are not recorded: they would make the next full report's estimate wrong.
"""
from __future__ import annotations

import json
from pathlib import Path

from ..core import atomic, paths

# Seconds per notebook of a cold `make report` (empty Rust cache, clean clone, idle machine) on the polyglot
# machine kind: the run of 2026-12-04 recorded in the closing note of issue 21. Only ever an estimate.
FIRST_RUN = {"size": 700, "throughput": 520, "cqrs": 150, "micro": 190, "memory": 150, "demos": 600,
             "releases": 420, "coverage": 45, "trends": 5}


def path() -> Path:
    return paths.cache_dir() / "report-timings.json"


def last() -> dict[str, float]:
    try:
        return {k: float(v) for k, v in json.loads(path().read_text()).items()}
    except (OSError, ValueError, AttributeError):
        return {}


def estimates(names: list[str]) -> tuple[dict[str, float], str]:
    """(seconds per notebook, where they come from) for the notebooks about to run."""
    seen = last()
    if all(n in seen for n in names):
        return {n: seen[n] for n in names}, "last run"
    return {n: seen.get(n, FIRST_RUN.get(n, 60)) for n in names}, "first run, typical cold times"


def record(name: str, seconds: float) -> None:
    """Keep one default-parameter notebook's time for the next estimate."""
    with atomic.locked(path().with_suffix(".lock")):
        atomic.write_json(path(), {**last(), name: round(seconds, 1)})


def minutes(seconds: float) -> str:
    """`7 min` or `40 s`: the precision an estimate deserves."""
    return f"{seconds / 60:.0f} min" if seconds >= 90 else f"{seconds:.0f} s"


def clock(seconds: float) -> str:
    """`41 min 12 s`: a measured time."""
    m, s = divmod(round(seconds), 60)
    return f"{m} min {s:02d} s" if m else f"{s} s"
