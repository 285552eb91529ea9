"""Where an instruction-count change is: callgrind's per-function costs of one operation at both sides.

Each side's executable runs under callgrind at the suite's two operation counts; per function, the
difference over n2 - n1 is its cost in one operation, set-up cancelled (the suite's own arithmetic, per
function). For every function: exclusive and inclusive Ir and calls per operation at A and B, and its Δ
exclusive split in two: *called more often* (Δcalls × A's cost per call) and *each call costs more* (B's
calls × Δ cost per call). Rows rank by |Δ exclusive|; the share is of the operation's Δ. Inlining moves
cost between functions from build to build: the inclusive columns are steadier, and say so.
"""
from __future__ import annotations

import math
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import pandas as pd

from ..tools import callgrind, symbols

COLUMNS = ["crate", "name", "excl_a", "excl_b", "delta", "share", "more_calls", "costlier_calls", "incl_a", "incl_b",
           "calls_a", "calls_b"]


@dataclass
class PerOp:
    """One side's per-operation costs by normalised function, from two callgrind profiles."""
    total: float
    exclusive: dict[symbols.Key, float]
    inclusive: dict[symbols.Key, float]
    calls: dict[symbols.Key, float]
    profiles: tuple[callgrind.Profile, callgrind.Profile]
    n: tuple[int, int]


def _by_key(d: dict[str, int]) -> dict[symbols.Key, int]:
    out: dict[symbols.Key, int] = defaultdict(int)
    for raw, v in d.items():
        out[symbols.key(raw)] += v
    return out


def per_op(p1: callgrind.Profile, p2: callgrind.Profile, n1: int, n2: int) -> PerOp:
    span = n2 - n1

    def diff(f) -> dict[symbols.Key, float]:
        a, b = _by_key(f(p1)), _by_key(f(p2))
        return {k: (b.get(k, 0) - a.get(k, 0)) / span for k in set(a) | set(b)}
    return PerOp((p2.total - p1.total) / span, diff(lambda p: p.exclusive), diff(lambda p: p.inclusive()),
                 diff(lambda p: p.calls()), (p1, p2), (n1, n2))


def measure(executable: Path, args: Sequence[str], n1: int, n2: int) -> PerOp:
    """The operation's per-function costs: `executable *args N` under callgrind at n1 and n2."""
    return per_op(callgrind.profile([str(executable), *args, str(n1)]),
                  callgrind.profile([str(executable), *args, str(n2)]), n1, n2)


@dataclass
class InstructionExplanation:
    operation: str
    total_a: float
    total_b: float
    rows: pd.DataFrame            # COLUMNS, by |delta|
    a: PerOp
    b: PerOp
    seconds: float = 0.0

    @property
    def delta(self) -> float:
        return self.total_b - self.total_a


def explain(operation: str, a: PerOp, b: PerOp, *, min_abs: float = 0.5) -> InstructionExplanation:
    """Rows for every function whose exclusive cost per operation moved by at least `min_abs` instructions
    (the two counts make fractions of an instruction appear from rounding of set-up work)."""
    started = time.monotonic()
    delta_total = b.total - a.total
    rows = []
    for k in set(a.exclusive) | set(b.exclusive):
        xa, xb = a.exclusive.get(k, 0.0), b.exclusive.get(k, 0.0)
        d = xb - xa
        if abs(d) < min_abs:
            continue
        ca, cb = a.calls.get(k, 0.0), b.calls.get(k, 0.0)
        if ca > 0:
            more = (cb - ca) * (xa / ca)
        else:
            more = d if cb > 0 else 0.0        # new on this path: all of it is calls that did not happen before
        rows.append(dict(crate=k.crate, name=k.path, excl_a=xa, excl_b=xb, delta=d,
                         share=d / delta_total if delta_total else math.nan, more_calls=more, costlier_calls=d - more,
                         incl_a=a.inclusive.get(k, 0.0), incl_b=b.inclusive.get(k, 0.0), calls_a=ca, calls_b=cb))
    df = pd.DataFrame(rows, columns=COLUMNS)
    if not df.empty:
        df = (df.assign(_abs=df["delta"].abs()).sort_values(["_abs", "name"], ascending=[False, True])
              .drop(columns="_abs").reset_index(drop=True))
    return InstructionExplanation(operation, a.total, b.total, df, a, b, time.monotonic() - started)


# ---------------------------------------------------------------- folded stacks for a flame graph

def folded(p: callgrind.Profile, *, max_depth: int = 48, min_fraction: float = 1e-4) -> dict[str, float]:
    """Stacks ("a;b;c" -> Ir) rebuilt from callgrind's caller -> callee edges: each call's inclusive cost is
    spread over its callee's own callers in proportion (callgrind keeps edges, not stacks, so a stack is an
    estimate where a function has several callers). Cycles and paths under `min_fraction` of the total stop."""
    name = {raw: symbols.demangle(raw).replace(";", ",") for raw in p.exclusive}
    children: dict[str, list[tuple[str, int]]] = defaultdict(list)
    incoming: dict[str, int] = defaultdict(int)
    for (caller, callee), (_, cost) in p.edges.items():
        if caller != callee and cost > 0:
            children[caller].append((callee, cost))
            incoming[callee] += cost
    roots = [f for f in p.exclusive if incoming.get(f, 0) == 0]
    floor = p.total * min_fraction
    out: dict[str, float] = defaultdict(float)

    def walk(f: str, stack: list[str], weight: float, seen: set[str]) -> None:
        path = stack + [name.get(f, symbols.demangle(f))]
        own = p.exclusive.get(f, 0) * weight
        if own:
            out[";".join(path)] += own
        if len(path) >= max_depth:
            return
        for g, cost in children.get(f, ()):
            w = weight * cost / incoming[g] if incoming[g] else 0.0
            if g in seen or w * incoming[g] < floor:
                continue
            walk(g, path, w, seen | {g})
    for r in roots:
        walk(r, [], 1.0, {r})
    return out


def folded_per_op(x: PerOp) -> dict[str, int]:
    """The operation's stacks: stacks at n2 less stacks at n1 (set-up cancels), as inferno wants integers."""
    f1, f2 = folded(x.profiles[0]), folded(x.profiles[1])
    return {k: round(v) for k in f2 if (v := f2[k] - f1.get(k, 0.0)) >= 1}
