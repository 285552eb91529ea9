"""Instructions per operation from valgrind's callgrind: exact and repeatable on a busy machine.

The program is run at two operation counts; instructions(n2) - instructions(n1) divided by
n2 - n1 cancels start-up and set-up, leaving the cost of one operation.
"""
from __future__ import annotations

import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from ..core import procs

_TOTALS = re.compile(r"^(?:summary|totals):\s+(\d+)", re.M)


class CallgrindError(RuntimeError):
    pass


def available() -> bool:
    return shutil.which("valgrind") is not None


def parse_total(text: str) -> int:
    """Total instructions (Ir) from a callgrind.out file: its `summary:` (or `totals:`) line."""
    m = _TOTALS.search(text)
    if not m:
        raise CallgrindError("no summary/totals line in callgrind output")
    return int(m.group(1))


def instructions(argv: Sequence[str], timeout: float = 600) -> int:
    """Instructions executed by one run of argv under callgrind."""
    if not available():
        raise CallgrindError("valgrind not found: `apt-get install valgrind`, or run `make setup`")
    with tempfile.TemporaryDirectory() as d:
        out = Path(d) / "callgrind.out"
        done = procs.run(["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", *argv], timeout=timeout)
        if not done.ok or not out.exists():
            raise CallgrindError(f"callgrind run of {argv[0]} failed (exit {done.returncode}): "
                                 + "\n".join(done.stderr_tail[-10:]))
        return parse_total(out.read_text(errors="replace"))


@dataclass
class PerOp:
    instructions: float
    n1: int
    n2: int
    total1: int
    total2: int


def per_operation(argv: Sequence[str], n1: int, n2: int) -> PerOp:
    """Instructions of one operation: argv is run with N appended, at n1 and at n2 > n1."""
    t1 = instructions([*argv, str(n1)])
    t2 = instructions([*argv, str(n2)])
    return PerOp((t2 - t1) / (n2 - n1), n1, n2, t1, t2)
