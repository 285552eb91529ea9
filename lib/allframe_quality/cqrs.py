"""The CQRS suite: criterion timings and callgrind instruction counts of AllFrame's CQRS operations.

Each operation runs in its own criterion process (a panic fails that operation only), pinned to
one core. Results come from criterion's files; instructions per operation from callgrind at two
operation counts (set-up cancels). Comparison against a baseline run (regression.detect) uses the per-sample times.
"""
from __future__ import annotations

import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import pandas as pd

from . import allframe_source, callgrind, cargo, criterion, records
from .budgets import Budgets, BudgetError, pick
from . import budgets as budgets_mod
from .procs import run, say
from .size import headline

SUITE = "cqrs"
PACKAGE = "cqrs-bench"
GROUP = "cqrs"


def _core_pin() -> tuple[list[str], str]:
    """Pin the benchmark to the last usable core (the harness and the rest get the others)."""
    cores = sorted(os.sched_getaffinity(0))
    if len(cores) > 1 and shutil.which("taskset"):
        return ["taskset", "-c", str(cores[-1])], f"core {cores[-1]} (taskset)"
    return [], "not pinned (one core or no taskset)"


def measure(
    operations: Sequence[str] | None = None,
    *,
    warm_up_s: float = 0.5,
    measurement_s: float = 1.0,
    sample_size: int = 10,
    processes: int = 5,
    instructions: bool = True,
    allframe_version: str | None = None,
    allframe_checkout: str | None = None,
    run_id: str | None = None,
    budgets: Budgets | None = None,
    printer: Callable[[str], None] | None = say,
) -> tuple[str, pd.DataFrame]:
    """Time (and count) the chosen operations; save records under data/runs/<run_id>/cqrs.parquet."""
    b = budgets or budgets_mod.load()
    ops = pick(b.cqrs.operations, operations or list(b.cqrs.operations), "CQRS operation")
    if sample_size < 10:
        raise BudgetError(f"sample_size {sample_size} is below criterion's minimum of 10")
    if processes < 1:
        raise BudgetError(f"processes must be at least 1, got {processes}")
    if warm_up_s <= 0 or measurement_s <= 0:
        raise BudgetError("warm_up_s and measurement_s must be positive seconds")
    source = allframe_source.resolve(allframe_version, allframe_checkout, b)
    workspace, extra = allframe_source.workspace(source)
    run_id = records.start_run(run_id)
    started = time.monotonic()
    pin, pinning = _core_pin()
    rows: list[dict] = []

    bench = cargo.build(workspace, PACKAGE, bench="cqrs", features=(), no_default_features=False,
                        extra_args=extra, label="cqrs-bench [criterion]", printer=printer)
    ops_bin = None
    if instructions and callgrind.available():
        built = cargo.build(workspace, PACKAGE, bin="cqrs-ops", no_default_features=False, extra_args=extra,
                            label="cqrs-ops [callgrind]", printer=printer)
        ops_bin = built.executable if built.ok else None
        if not built.ok:
            rows += [records.record(suite=SUITE, subject="allframe", config=o.name, metric="instructions_per_op",
                                    unit="instructions", status="failed", detail=built.failure_text()) for o in ops]

    # Each operation runs in `processes` separate criterion processes, round-robin across operations:
    # between-process variation (heap layout, the VM's moods) is far larger here than criterion's
    # within-process interval, so only process means are honest samples for comparing runs.
    per_op: dict[str, list] = {o.name: [] for o in ops}
    failed: dict[str, str] = {}
    with tempfile.TemporaryDirectory(prefix="criterion-") as home:
        for k in range(processes):
            for o in ops:
                if not bench.ok or o.name in failed:
                    continue
                if printer:
                    printer(f"criterion: {o.name} process {k + 1}/{processes} ({warm_up_s:g}s warm-up, {measurement_s:g}s, "
                            f"{sample_size} samples)")
                done = run([*pin, str(bench.executable), "--bench", "--noplot", "--warm-up-time", str(warm_up_s),
                            "--measurement-time", str(measurement_s), "--sample-size", str(sample_size),
                            f"^{GROUP}/{o.name}$"], env=dict(os.environ, CRITERION_HOME=home), cwd=workspace)
                try:
                    if not done.ok:
                        raise criterion.CriterionError(f"exit {done.returncode}:\n" + "\n".join(done.stderr_tail[-15:]))
                    per_op[o.name].append(criterion.read(Path(home) / GROUP / o.name))
                except criterion.CriterionError as e:
                    failed[o.name] = str(e)
    for o in ops:
        base = dict(suite=SUITE, subject="allframe", config=o.name)
        if not bench.ok or o.name in failed:
            rows.append(records.record(**base, metric="ns_per_op", unit="ns", status="failed",
                                       detail=bench.failure_text() if not bench.ok else failed[o.name]))
            continue
        results = per_op[o.name]
        means = np.array([r.mean.point for r in results])
        if len(results) == 1:   # one process: criterion's own interval
            m = results[0].mean
            point, lo, hi, how = m.point, m.lo, m.hi, f"criterion mean, {m.confidence:.0%} CI (one process)"
        else:
            point = float(means.mean())
            boot = np.random.default_rng(0).choice(means, (2000, len(means))).mean(axis=1)
            lo, hi = (float(x) for x in np.quantile(boot, [0.025, 0.975]))
            how = f"mean of {len(means)} process means, bootstrap 95% CI"
        median = float(np.median([r.median.point for r in results]))
        rows += [
            records.record(**base, metric="ns_per_op", unit="ns", value=point, lo=lo, hi=hi, detail=how),
            records.record(**base, metric="ns_per_op_median", unit="ns", value=median),
            records.record(**base, metric="ops_per_s", unit="ops/s", value=1e9 / point, lo=1e9 / hi, hi=1e9 / lo),
        ]
        rows += [records.record(**base, metric="ns_per_op_process", unit="ns", value=v, sample=k,
                                detail="criterion mean of one process") for k, v in enumerate(means)]
        rows += [records.record(**base, metric="ns_per_op_sample", unit="ns", value=v, sample=k * 1000 + i)
                 for k, r in enumerate(results) for i, v in enumerate(r.per_iter_ns)]
        if ops_bin is not None:
            try:
                per = callgrind.per_operation([str(ops_bin), o.name], o.callgrind_n[0], o.callgrind_n[1])
                rows.append(records.record(**base, metric="instructions_per_op", unit="instructions",
                                           value=per.instructions,
                                           detail=f"callgrind: ({per.total2} - {per.total1}) / ({per.n2} - {per.n1})"))
            except callgrind.CallgrindError as e:
                rows.append(records.record(**base, metric="instructions_per_op", unit="instructions",
                                           status="failed", detail=str(e)))
        elif instructions and not callgrind.available():
            rows.append(records.record(**base, metric="instructions_per_op", unit="instructions",
                                       status="not_measured", detail="valgrind is not installed: time only"))
    for name, why in b.cqrs.not_measured.items():
        rows.append(records.record(suite=SUITE, subject="allframe", config=name, metric="ns_per_op", unit="ns",
                                   status="not_measured", detail=why))
    df = records.frame(rows, run_id)
    records.save_suite(run_id, SUITE, df, {
        "allframe": source.describe(), "pinning": pinning,
        "parameters": {"operations": [o.name for o in ops], "warm_up_s": warm_up_s, "measurement_s": measurement_s,
                       "sample_size": sample_size, "processes": processes, "instructions": instructions},
        "seconds": round(time.monotonic() - started, 1),
    })
    if printer:
        printer(f"cqrs suite: saved {len(df)} records to run {run_id} in {time.monotonic() - started:.0f}s")
    return run_id, df


# ---------------------------------------------------------------- report and gate

def summary(df: pd.DataFrame, b: Budgets) -> pd.DataFrame:
    """One row per operation: ops/s with CI, instructions/op, PRD target and stretch, status."""
    rows = []
    for name, o in b.cqrs.operations.items():
        mine = df[df["config"] == name]
        if mine.empty:
            continue
        ops = mine[(mine["metric"] == "ops_per_s") & (mine["status"] == "ok")]
        ins = mine[(mine["metric"] == "instructions_per_op") & (mine["status"] == "ok")]
        failed = mine[mine["status"] == "failed"]
        v = float(ops["value"].iloc[0]) if len(ops) else None
        if not failed.empty and v is None:
            status = "❌ failed"
        elif v is None:
            status = "❔ not measured"
        elif o.target_ops is None:
            status = "ℹ️ no PRD target"
        elif o.stretch_ops is not None and v >= o.stretch_ops:
            status = "✅ meets stretch"
        elif v >= o.target_ops:
            status = "✅ meets target"
        else:
            status = "⚠️ below target"
        rows.append({"operation": o.label, "name": name, "ops/s": v,
                     "ops/s lo": float(ops["lo"].iloc[0]) if len(ops) else None,
                     "ops/s hi": float(ops["hi"].iloc[0]) if len(ops) else None,
                     "ns/op": 1e9 / v if v else None,
                     "instructions/op": float(ins["value"].iloc[0]) if len(ins) else None,
                     "target ops/s": o.target_ops, "stretch ops/s": o.stretch_ops, "status": status,
                     "covers": o.covers,
                     "note": headline(failed["detail"].iloc[0]) if len(failed) else ""})
    for name, why in b.cqrs.not_measured.items():
        if name in set(df["config"]):
            rows.append({"operation": name, "name": name, "status": "❔ not measured", "covers": "", "note": why})
    return pd.DataFrame(rows)


LEVELS = {"✅": "pass", "⚠️": "warn", "❔": "info", "❌": "fail", "ℹ️": "info"}


def evaluate(df: pd.DataFrame, b: Budgets) -> list[dict]:
    """Gate findings: PRD targets are reference (warn), failures fail (regressions: regression.detect)."""
    findings = []
    for r in summary(df, b).to_dict("records"):
        level = next(v for k, v in LEVELS.items() if r["status"].startswith(k))
        findings.append({"suite": SUITE, "what": r["operation"], "level": level, "status": r["status"],
                         "measured": r.get("ops/s"), "target": r.get("target ops/s"), "limit": None,
                         "unit": "ops/s", "note": r.get("note", "")})
    return findings
