"""Explain one change by hand, between two AllFrame sources (what an A/B, a PR check or a bisect prints as
its reproducing command):

    python -m allframe_quality.compare.explain_cli size --a SPEC --b SPEC --config minimal
    python -m allframe_quality.compare.explain_cli instructions --a SPEC --b SPEC --operation command_dispatch
    python -m allframe_quality.compare.explain_cli heap --a SPEC --b SPEC [--events 2000]

SPEC as for the A/B: 'pinned', an exact registry version, a checkout directory, or DIR@REV. Exit 0 explained,
1 the explanation failed (said why), 2 a bad argument.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from . import ab
from .explain import HEAP_EVENTS, MODULE, SideSource, heap, instructions, size
from ..config import budgets as budgets_mod
from ..config.budgets import BudgetError
from ..core import atomic
from ..core.procs import say


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog=MODULE, description="Explain a size or instruction change between two AllFrame sources.")
    p.add_argument("kind", choices=["size", "instructions", "heap"])
    p.add_argument("--a", required=True, help="side A: 'pinned', a version, a checkout directory or DIR@REV")
    p.add_argument("--b", required=True, help="side B, as A")
    p.add_argument("--config", default="minimal", help="size configuration (size)")
    p.add_argument("--operation", default="command_dispatch", help="CQRS operation (instructions)")
    p.add_argument("--events", type=int, default=HEAP_EVENTS, help="events the memory probe appends (heap)")
    p.add_argument("--out", help="a directory for the executables, the flame graph and the Markdown")
    args = p.parse_args(argv)
    b = budgets_mod.load()
    try:
        sa, sb = ab.parse_side("A", args.a, b), ab.parse_side("B", args.b, b)
        work = Path(args.out) if args.out else Path(tempfile.mkdtemp(prefix="afq-explain-"))
        A, B = SideSource(sa.version, sa.checkout), SideSource(sb.version, sb.checkout)
        if args.kind == "size":
            b.size.config(args.config)
            ex = size(A, B, args.config, b, work, printer=say)
        elif args.kind == "instructions":
            ex = instructions(A, B, args.operation, b, work, printer=say)
        else:
            ex = heap(A, B, b, work, events=args.events, printer=say)
    except (BudgetError, ab.allframe_source.SourceError) as e:
        print(f"explain: {e}", file=sys.stderr)
        return 2
    print(ex.markdown)
    atomic.write_text(work / "explanation.md", ex.markdown)
    print(f"explain: {'FAILED: ' + ex.error if ex.error else 'done'} in {ex.seconds:.1f}s; files in {work}", file=sys.stderr)
    return 1 if ex.error else 0


if __name__ == "__main__":
    sys.exit(main())
