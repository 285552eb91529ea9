"""Linked executables as a user gets them: their size after `strip`."""
from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

from . import cargo


def stripped_size(executable: Path) -> int:
    """Bytes of a copy of the executable after `strip` (symbols and debug info removed)."""
    strip = cargo.require("strip")
    with tempfile.TemporaryDirectory() as d:
        out = Path(d) / "stripped"
        subprocess.run([strip, "-o", str(out), str(executable)], check=True, capture_output=True)
        return out.stat().st_size
