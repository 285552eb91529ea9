"""CPU pinning: which cores this process may use, and the `taskset` prefix that pins a child to one of them."""
from __future__ import annotations

import os
import shutil


def cores() -> tuple[int, int]:
    """(first, last) of the cores this process may use: a server on the first, its load generator on the last."""
    c = sorted(os.sched_getaffinity(0))
    return c[0], c[-1]


def pin(core: int) -> list[str]:
    """The command prefix that runs a child on `core` alone ([] on one core or without taskset)."""
    return ["taskset", "-c", str(core)] if shutil.which("taskset") and len(os.sched_getaffinity(0)) > 1 else []


def last_core() -> tuple[list[str], str]:
    """The prefix that pins a benchmark to the last core, and how it was pinned, for the run's conditions."""
    prefix = pin(cores()[1])
    return prefix, f"core {cores()[1]} (taskset)" if prefix else "not pinned (one core or no taskset)"
