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


# ---------------------------------------------------------------- per-function costs

@dataclass
class Profile:
    """One callgrind run by function (raw symbol names, as `--demangle=no` writes them): exclusive Ir,
    the Ir and count of every caller -> callee edge, and the run's total."""
    total: int
    exclusive: dict[str, int]
    edges: dict[tuple[str, str], tuple[int, int]]      # (caller, callee) -> (calls, inclusive Ir of those calls)

    def calls(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for (_, callee), (n, _) in self.edges.items():
            out[callee] = out.get(callee, 0) + n
        return out

    def inclusive(self) -> dict[str, int]:
        """Exclusive plus the cost under each call it makes (a function's calls to itself not counted twice)."""
        out = dict(self.exclusive)
        for (caller, callee), (_, cost) in self.edges.items():
            if caller != callee:
                out[caller] = out.get(caller, 0) + cost
        return out


_NAMED = re.compile(r"^\((\d+)\)(?: (.*))?$")


def parse_profile(text: str) -> Profile:
    """A callgrind.out file (any compression of names and positions) -> per-function costs of its first event."""
    names: dict[str, str] = {}
    excl: dict[str, int] = {}
    edges: dict[tuple[str, str], tuple[int, int]] = {}
    fn = callee = None
    pending: int | None = None

    def name(v: str) -> str:
        m = _NAMED.match(v.strip())
        if not m:
            return v.strip()
        if m.group(2) is not None:
            names[m.group(1)] = m.group(2)
        return names.get(m.group(1), f"({m.group(1)})")

    for line in text.splitlines():
        if not line:
            continue
        c = line[0]
        if c.isdigit() or c in "+-*":
            fields = line.split()
            cost = int(fields[1]) if len(fields) > 1 else 0
            if fn is None:
                continue
            if pending is not None:
                n, ir = edges.get((fn, callee), (0, 0))
                edges[(fn, callee)] = (n + pending, ir + cost)
                pending = None
            else:
                excl[fn] = excl.get(fn, 0) + cost
        elif line.startswith("fn="):
            fn = name(line[3:])
            excl.setdefault(fn, 0)
        elif line.startswith("cfn="):
            callee = name(line[4:])
        elif line.startswith("calls="):
            pending = int(line[6:].split()[0])
    if not excl:
        raise CallgrindError("no fn= lines in callgrind output: not a callgrind profile")
    return Profile(parse_total(text), excl, edges)


def profile(argv: Sequence[str], timeout: float = 900) -> Profile:
    """One run of argv under callgrind, kept by function (names left mangled for tools/symbols)."""
    if not available():
        raise CallgrindError("valgrind not found: `apt-get install valgrind`, or run `make setup`")
    with tempfile.TemporaryDirectory() as d:
        out = Path(d) / "callgrind.out"
        done = procs.run(["valgrind", "--tool=callgrind", "--demangle=no", "--compress-strings=no", "--compress-pos=no",
                          f"--callgrind-out-file={out}", *argv], timeout=timeout)
        if not done.ok or not out.exists():
            raise CallgrindError(f"callgrind run of {argv[0]} failed (exit {done.returncode}): "
                                 + "\n".join(done.stderr_tail[-10:]))
        return parse_profile(out.read_text(errors="replace"))
