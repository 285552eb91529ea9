"""Heap profiles in DHAT's JSON (dhatFileVersion 2), from valgrind's DHAT tool (`--tool=dhat`) or dhat-rs:
program points with total bytes and blocks, bytes at the global peak and at exit, and their stack frames."""
from __future__ import annotations

import json
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from ..core import procs


class DhatError(RuntimeError):
    pass


@dataclass(frozen=True)
class ProgramPoint:
    total_bytes: int       # tb
    total_blocks: int      # tbk
    peak_bytes: int        # gb: bytes live at the global peak
    exit_bytes: int        # eb
    frames: tuple[str, ...]  # function names, innermost first (raw: mangled when run with --demangle=no)


@dataclass
class HeapProfile:
    mode: str
    points: list[ProgramPoint]

    @property
    def total_bytes(self) -> int:
        return sum(p.total_bytes for p in self.points)

    @property
    def peak_bytes(self) -> int:
        return sum(p.peak_bytes for p in self.points)


_FRAME = re.compile(r"^0x[0-9A-Fa-f]+: (.*?)(?: \((?:in )?[^()]*\))?$")


def frame_name(entry: str) -> str:
    """'0x4A3B2C: fn (file.rs:12:5)' or '0x4A3B2C: fn (in /bin/x)' -> 'fn'; '[root]' stays."""
    m = _FRAME.match(entry.strip())
    return m.group(1) if m else entry.strip()


def parse(text: str) -> HeapProfile:
    try:
        doc = json.loads(text)
        if doc.get("dhatFileVersion") != 2:
            raise DhatError(f"not a DHAT version 2 file (dhatFileVersion {doc.get('dhatFileVersion')!r})")
        ftbl = [frame_name(f) for f in doc["ftbl"]]
        pts = [ProgramPoint(int(p["tb"]), int(p["tbk"]), int(p.get("gb", 0)), int(p.get("eb", 0)),
                            tuple(ftbl[i] for i in p["fs"])) for p in doc["pps"]]
    except (ValueError, KeyError, TypeError, IndexError) as e:
        raise DhatError(f"not DHAT JSON ({type(e).__name__}: {e})") from None
    return HeapProfile(doc.get("mode", ""), pts)


def available() -> bool:
    return shutil.which("valgrind") is not None


def profile(argv: Sequence[str], timeout: float = 900) -> HeapProfile:
    """One run of argv under valgrind's DHAT (stdin closed; names left mangled for tools/symbols)."""
    if not available():
        raise DhatError("valgrind not found: `apt-get install valgrind`, or run `make setup`")
    with tempfile.TemporaryDirectory() as d:
        out = Path(d) / "dhat.json"
        done = procs.run(["valgrind", "--tool=dhat", "--demangle=no", f"--dhat-out-file={out}", *argv],
                         timeout=timeout)        # stdin is /dev/null: the memory probe's wait at `done` ends at once
        if not done.ok or not out.exists():
            raise DhatError(f"valgrind --tool=dhat run of {argv[0]} failed (exit {done.returncode}): "
                            + "\n".join(done.stderr_tail[-10:]))
        return parse(out.read_text(errors="replace"))
