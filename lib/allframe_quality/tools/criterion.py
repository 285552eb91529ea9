"""Criterion's own result files, read as data (never its console text).

Layout under CRITERION_HOME: <group>/<function>/new/{benchmark.json, estimates.json, sample.json}.
estimates.json: mean/median/std_dev/... each {point_estimate, standard_error, confidence_interval:
{confidence_level, lower_bound, upper_bound}} in nanoseconds per iteration.
sample.json: {sampling_mode, iters: [...], times: [...]} (total ns per sample).
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path


class CriterionError(RuntimeError):
    pass


@dataclass
class Estimate:
    point: float
    lo: float
    hi: float
    confidence: float


@dataclass
class BenchResult:
    group: str
    function: str
    elements_per_iter: float | None     # Throughput::Elements, when the bench declares it
    mean: Estimate
    median: Estimate
    std_dev: float
    per_iter_ns: list[float]             # one value per sample: times[i] / iters[i]


def _estimate(e: dict) -> Estimate:
    ci = e["confidence_interval"]
    return Estimate(float(e["point_estimate"]), float(ci["lower_bound"]), float(ci["upper_bound"]),
                    float(ci["confidence_level"]))


def read(bench_dir: Path, which: str = "new") -> BenchResult:
    """One benchmark's results from <bench_dir>/<which>/ (`new`, or a saved baseline's name)."""
    d = Path(bench_dir) / which
    try:
        bench = json.loads((d / "benchmark.json").read_text())
        est = json.loads((d / "estimates.json").read_text())
        sample = json.loads((d / "sample.json").read_text())
    except FileNotFoundError as e:
        raise CriterionError(f"criterion results missing: {e.filename}") from None
    except (ValueError, KeyError) as e:
        raise CriterionError(f"criterion results in {d} unreadable: {e}") from None
    tp = bench.get("throughput") or {}
    per_iter = [t / i for t, i in zip(sample["times"], sample["iters"]) if i]
    return BenchResult(bench["group_id"], bench["function_id"], tp.get("Elements"),
                       _estimate(est["mean"]), _estimate(est["median"]),
                       float(est["std_dev"]["point_estimate"]), per_iter)


def read_group(home: Path, group: str, which: str = "new") -> dict[str, BenchResult]:
    """Every benchmark of a group under CRITERION_HOME, by function name."""
    root = Path(home) / group
    if not root.is_dir():
        return {}
    out = {}
    for d in sorted(root.iterdir()):
        if (d / which / "benchmark.json").exists():
            r = read(d, which)
            out[r.function] = r
    return out
