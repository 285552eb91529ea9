"""The CQRS suite: criterion timings and callgrind instruction counts of AllFrame's CQRS operations.

Each operation runs in its own criterion process (a panic fails that operation only), pinned to
one core. Results come from criterion's files; instructions per operation from callgrind at two
operation counts (set-up cancels). Comparison against a baseline run (regression.detect) uses the per-sample times.
"""
from __future__ import annotations

from typing import Callable, Sequence

import pandas as pd

from ..tools import cpu
from . import timing
from . import contract
from ..config.budgets import Budgets, pick
from ..config import budgets as budgets_mod
from ..core.procs import say
from .cqrs_analysis import SUITE
PACKAGE = "cqrs-bench"
GROUP = "cqrs"


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
    timing.check_criterion(sample_size, processes, warm_up_s, measurement_s)
    tools = [("valgrind", "or pass instructions=False")] \
        if instructions else []

    def collect(ctx: contract.Context) -> None:
        pin, ctx.info["pinning"] = cpu.last_core()
        bench = ctx.build(PACKAGE, bench="cqrs", label="cqrs-bench [criterion]")
        ops_built = ctx.build(PACKAGE, bin="cqrs-ops", label="cqrs-ops [callgrind]") if instructions else None
        per_op, failed = timing.criterion_rounds(ctx, [(o.name, bench, o.name, o.name) for o in ops], pin, params, GROUP)
        for o in ops:
            base = dict(subject="allframe", config=o.name)
            if o.name in failed:
                ctx.record(**base, metric="ns_per_op", unit="ns", status="failed", detail=failed[o.name])
            else:
                timing.time_rows(ctx, base, per_op[o.name])
            if instructions:
                timing.instruction_row(ctx, base, ops_built, [o.name], o.callgrind_n)
        for name, why in b.cqrs.not_measured.items():
            ctx.record(subject="allframe", config=name, metric="ns_per_op", unit="ns", status="not_measured", detail=why)

    params = {"operations": [o.name for o in ops], "warm_up_s": warm_up_s, "measurement_s": measurement_s,
              "sample_size": sample_size, "processes": processes, "instructions": instructions}
    return contract.run(SUITE, collect, parameters=params, packages=[PACKAGE], budgets=b, allframe_version=allframe_version,
                     allframe_checkout=allframe_checkout, run_id=run_id, printer=printer, tools=tools)


