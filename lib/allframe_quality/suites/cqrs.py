"""The CQRS suite: criterion timings and callgrind instruction counts of AllFrame's CQRS operations.

Each operation runs in its own criterion process (a panic fails that operation only), pinned to
one core. Results come from criterion's files; instructions per operation from callgrind at two
operation counts (set-up cancels). Comparison against a baseline run (regression.detect) uses the per-sample times.
"""
from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import pandas as pd

from ..tools import callgrind, criterion
from . import contract
from ..core.errors import ParameterError
from ..config.budgets import Budgets, pick
from ..config import budgets as budgets_mod
from ..core.procs import run, say
from .cqrs_analysis import SUITE
PACKAGE = "cqrs-bench"
GROUP = "cqrs"


def _core_pin() -> tuple[list[str], str]:
    """Pin the benchmark to the last usable core (the harness and the rest get the others)."""
    cores = sorted(os.sched_getaffinity(0))
    if len(cores) > 1 and shutil.which("taskset"):
        return ["taskset", "-c", str(cores[-1])], f"core {cores[-1]} (taskset)"
    return [], "not pinned (one core or no taskset)"


def measure(
    operations: Sequence[str] | str | None = None,
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
    operations = contract.as_list(operations, "operations")
    ops = pick(b.cqrs.operations, operations or list(b.cqrs.operations), "CQRS operation")
    if sample_size < 10:
        raise ParameterError(f"sample_size {sample_size} is below criterion's minimum of 10")
    if processes < 1:
        raise ParameterError(f"processes must be at least 1, got {processes}")
    if warm_up_s <= 0 or measurement_s <= 0:
        raise ParameterError("warm_up_s and measurement_s must be positive seconds")
    tools = [("valgrind", "Install it: `apt-get install valgrind`, or run `make setup` (or pass instructions=False).")] \
        if instructions else []

    def collect(ctx: contract.Context) -> None:
        pin, ctx.info["pinning"] = _core_pin()
        bench = ctx.build(PACKAGE, bench="cqrs", label="cqrs-bench [criterion]")
        ops_bin = None
        if instructions:
            built = ctx.build(PACKAGE, bin="cqrs-ops", label="cqrs-ops [callgrind]")
            ops_bin = built.executable if built.ok else None
            if not built.ok:
                for o in ops:
                    ctx.record(subject="allframe", config=o.name, metric="instructions_per_op", unit="instructions",
                               status="failed", detail=built.failure_text())
        per_op, failed = _criterion_processes(ctx, bench, ops, pin, params) if bench.ok else ({}, {})
        for o in ops:
            base = dict(subject="allframe", config=o.name)
            if not bench.ok or o.name in failed:
                ctx.record(**base, metric="ns_per_op", unit="ns", status="failed",
                           detail=bench.failure_text() if not bench.ok else failed[o.name])
            else:
                _time_rows(ctx, base, per_op[o.name])
            if ops_bin is not None:
                try:
                    per = callgrind.per_operation([str(ops_bin), o.name], o.callgrind_n[0], o.callgrind_n[1])
                    ctx.record(**base, metric="instructions_per_op", unit="instructions", value=per.instructions,
                               detail=f"callgrind: ({per.total2} - {per.total1}) / ({per.n2} - {per.n1})")
                except callgrind.CallgrindError as e:
                    ctx.record(**base, metric="instructions_per_op", unit="instructions", status="failed",
                               detail=f"callgrind failed:\n{e}")
        for name, why in b.cqrs.not_measured.items():
            ctx.record(subject="allframe", config=name, metric="ns_per_op", unit="ns", status="not_measured", detail=why)

    params = {"operations": [o.name for o in ops], "warm_up_s": warm_up_s, "measurement_s": measurement_s,
              "sample_size": sample_size, "processes": processes, "instructions": instructions}
    return contract.run(SUITE, collect, parameters=params, packages=[PACKAGE], budgets=b, allframe_version=allframe_version,
                     allframe_checkout=allframe_checkout, run_id=run_id, printer=printer, tools=tools)


def _criterion_processes(ctx, bench, ops, pin, params: dict) -> tuple[dict, dict]:
    """Each operation in `processes` separate criterion processes, round-robin across operations:
    between-process variation (heap layout, the VM's moods) is far larger here than criterion's
    within-process interval, so only process means are honest samples for comparing runs."""
    per_op: dict[str, list] = {o.name: [] for o in ops}
    failed: dict[str, str] = {}
    with tempfile.TemporaryDirectory(prefix="criterion-") as home:
        for k in range(params["processes"]):
            for o in ops:
                if o.name in failed:
                    continue
                ctx.say(f"criterion: {o.name} process {k + 1}/{params['processes']} ({params['warm_up_s']:g}s warm-up, "
                        f"{params['measurement_s']:g}s, {params['sample_size']} samples)")
                done = run([*pin, str(bench.executable), "--bench", "--noplot", "--warm-up-time", str(params["warm_up_s"]),
                            "--measurement-time", str(params["measurement_s"]), "--sample-size", str(params["sample_size"]),
                            f"^{GROUP}/{o.name}$"], env=dict(os.environ, CRITERION_HOME=home), cwd=ctx.workspace)
                try:
                    if not done.ok:
                        raise criterion.CriterionError(f"exit {done.returncode}:\n" + "\n".join(done.stderr_tail[-15:]))
                    per_op[o.name].append(criterion.read(Path(home) / GROUP / o.name))
                except criterion.CriterionError as e:
                    failed[o.name] = str(e)
    return per_op, failed


def _time_rows(ctx, base: dict, results: list) -> None:
    means = np.array([r.mean.point for r in results])
    if len(results) == 1:   # one process: criterion's own interval
        m = results[0].mean
        point, lo, hi, how = m.point, m.lo, m.hi, f"criterion's mean, its {m.confidence:.0%} CI within one process"
    else:
        point = float(means.mean())
        boot = np.random.default_rng(0).choice(means, (2000, len(means))).mean(axis=1)
        lo, hi = (float(x) for x in np.quantile(boot, [0.025, 0.975]))
        how = f"mean of {len(means)} process means; bootstrap 95% interval over those process means"
    ctx.record(**base, metric="ns_per_op", unit="ns", value=point, lo=lo, hi=hi, detail=how)
    ctx.record(**base, metric="ns_per_op_median", unit="ns", value=float(np.median([r.median.point for r in results])))
    ctx.record(**base, metric="ops_per_s", unit="ops/s", value=1e9 / point, lo=1e9 / hi, hi=1e9 / lo, detail=how)
    for k, v in enumerate(means):
        ctx.record(**base, metric="ns_per_op_process", unit="ns", value=v, sample=k, detail="criterion mean of one process")
    for k, r in enumerate(results):
        for i, v in enumerate(r.per_iter_ns):
            ctx.record(**base, metric="ns_per_op_sample", unit="ns", value=v, sample=k * 1000 + i)
