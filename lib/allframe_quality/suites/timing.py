"""What the timing suites (cqrs, micro) share: criterion in rounds of separate processes, the rows a timing
becomes, and callgrind's instructions per operation. Not a suite: a layer the suites measure with."""
from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Hashable, Sequence

import numpy as np

from ..core.errors import ParameterError
from ..core.procs import run
from ..tools import callgrind, criterion
from ..verdict import stats


def check_criterion(sample_size: int, processes: int, warm_up_s: float, measurement_s: float) -> None:
    """The timing parameters every criterion suite takes, refused before any build when criterion could not use them."""
    if sample_size < 10:
        raise ParameterError(f"sample_size {sample_size} is below criterion's minimum of 10")
    if processes < 1:
        raise ParameterError(f"processes must be at least 1, got {processes}")
    if warm_up_s <= 0 or measurement_s <= 0:
        raise ParameterError("warm_up_s and measurement_s must be positive seconds")


def criterion_rounds(ctx, jobs: Sequence[tuple[Hashable, object, str, str]], pin: list[str], params: dict,
                     group: str) -> tuple[dict, dict]:
    """Criterion process k of every job before process k + 1. A job is (key, the bench's build, the benchmark's
    name in `group`, a label). Between-process variation (heap layout, the VM's moods) is far larger here than
    criterion's interval within one process, so only process means are honest samples, and a ratio between two
    jobs is taken within one round. Returns ({key: [criterion result per process]}, {key: why it failed})."""
    timings: dict = {key: [] for key, *_ in jobs}
    failed: dict = {key: b.failure_text() for key, b, *_ in jobs if not b.ok}
    with tempfile.TemporaryDirectory(prefix="criterion-") as home:
        for k in range(params["processes"]):
            for key, built, name, label in jobs:
                if key in failed:
                    continue
                ctx.say(f"criterion: {label} process {k + 1}/{params['processes']} ({params['warm_up_s']:g}s warm-up, "
                        f"{params['measurement_s']:g}s, {params['sample_size']} samples)")
                done = run([*pin, str(built.executable), "--bench", "--noplot", "--warm-up-time", str(params["warm_up_s"]),
                            "--measurement-time", str(params["measurement_s"]), "--sample-size", str(params["sample_size"]),
                            f"^{group}/{name}$"], env=dict(os.environ, CRITERION_HOME=home), cwd=ctx.workspace)
                try:
                    if not done.ok:
                        raise criterion.CriterionError(f"exit {done.returncode}:\n" + "\n".join(done.stderr_tail[-15:]))
                    timings[key].append(criterion.read(Path(home) / group / name))
                except criterion.CriterionError as e:
                    failed[key] = str(e)
    return timings, failed


def time_rows(ctx, base: dict, results: list) -> None:
    """One operation's timing as records: the mean of the process means with its bootstrap interval (criterion's
    own interval when there is one process), ops/s, the median, each process mean and every criterion sample."""
    means = np.array([r.mean.point for r in results])
    if len(results) == 1:
        m = results[0].mean
        point, lo, hi, how = m.point, m.lo, m.hi, f"criterion's mean, its {m.confidence:.0%} CI within one process"
    else:
        point = float(means.mean())
        lo, hi = stats.mean_interval(means)
        how = f"mean of {len(means)} process means; bootstrap 95% interval over those process means"
    ctx.record(**base, metric="ns_per_op", unit="ns", value=point, lo=lo, hi=hi, detail=how)
    ctx.record(**base, metric="ns_per_op_median", unit="ns", value=float(np.median([r.median.point for r in results])))
    ctx.record(**base, metric="ops_per_s", unit="ops/s", value=1e9 / point, lo=1e9 / hi, hi=1e9 / lo, detail=how)
    for k, v in enumerate(means):
        ctx.record(**base, metric="ns_per_op_process", unit="ns", value=v, sample=k, detail="criterion mean of one process")
    for k, r in enumerate(results):
        for i, v in enumerate(r.per_iter_ns):
            ctx.record(**base, metric="ns_per_op_sample", unit="ns", value=v, sample=k * 1000 + i)


def instruction_row(ctx, base: dict, built, argv: Sequence[str], counts: tuple[int, int]) -> None:
    """Instructions per operation from callgrind at two operation counts (set-up cancels), or why not."""
    if not built.ok:
        ctx.record(**base, metric="instructions_per_op", unit="instructions", status="failed", detail=built.failure_text())
        return
    try:
        per = callgrind.per_operation([str(built.executable), *argv], *counts)
        ctx.record(**base, metric="instructions_per_op", unit="instructions", value=per.instructions,
                   detail=f"callgrind: ({per.total2} - {per.total1}) / ({per.n2} - {per.n1})")
    except callgrind.CallgrindError as e:
        ctx.record(**base, metric="instructions_per_op", unit="instructions", status="failed", detail=f"callgrind failed:\n{e}")
