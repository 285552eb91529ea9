"""A differential flame graph drawn offline by inferno (`inferno-diff-folded`, `inferno-flamegraph`): a
self-contained SVG, red where B spends more than A, blue where less."""
from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

from ..core import atomic
from .cargo import require

HOW = "Install it with `cargo install --locked inferno`, or run `make setup`."


class InfernoError(RuntimeError):
    pass


def write_folded(path: Path, stacks: dict[str, int]) -> Path:
    """Folded stacks, one `a;b;c N` a line, in a stable order."""
    return atomic.write_text(path, "".join(f"{k} {v}\n" for k, v in sorted(stacks.items()) if v > 0))


def diff_svg(a: dict[str, int], b: dict[str, int], out: Path, title: str) -> Path:
    """B's stacks coloured by their change from A's, as an SVG at `out`."""
    diff = require("inferno-diff-folded", HOW)
    flame = require("inferno-flamegraph", HOW)
    with tempfile.TemporaryDirectory() as d:
        fa, fb = write_folded(Path(d) / "a.folded", a), write_folded(Path(d) / "b.folded", b)
        r = subprocess.run([diff, str(fa), str(fb)], capture_output=True, text=True)
        if r.returncode != 0:
            raise InfernoError(f"inferno-diff-folded failed (exit {r.returncode}): {r.stderr.strip()[-400:]}")
        svg = subprocess.run([flame, "--title", title, "--countname", "instructions", "--minwidth", "0.2"],
                             input=r.stdout, capture_output=True, text=True)
        if svg.returncode != 0 or "<svg" not in svg.stdout:
            raise InfernoError(f"inferno-flamegraph failed (exit {svg.returncode}): {svg.stderr.strip()[-400:]}")
    return atomic.write_text(out, svg.stdout)
