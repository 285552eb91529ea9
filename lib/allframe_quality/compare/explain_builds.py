"""The executables an explanation reads: one side's probe built again, cargo's cache making it a relink at
most, and copied aside at once (another build into the shared target directory must not swap it)."""
from __future__ import annotations

import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

from ..config.budgets import Budgets
from ..tools import allframe_source, cargo


class ExplainError(RuntimeError):
    """An explanation could not be made (a side does not build again, a tool failed): said, never a silent gap."""


@dataclass(frozen=True)
class SideSource:
    """An AllFrame to build: a registry version (None: the pinned one) or a checkout directory."""
    version: str | None = None
    checkout: str | None = None

    def label(self, b: Budgets) -> str:
        return allframe_source.resolve(self.version, self.checkout, b).label


def executable(side: SideSource, package: str, dest: Path, b: Budgets, *, bin: str | None = None,
               features: Sequence[str] = (), no_default_features: bool = True, profile: str = "release",
               printer: Callable[[str], None] | None = None) -> tuple[Path, float]:
    """Build `package`'s binary for `side` and copy it to `dest`; returns (the copy, seconds)."""
    started = time.monotonic()
    try:
        src = allframe_source.resolve(side.version, side.checkout, b)
        ws, extra = allframe_source.workspace(src)
    except (allframe_source.SourceError, OSError) as e:   # a vanished checkout, a workspace another run is rewriting
        raise ExplainError(f"could not prepare a workspace to build {package} again for {side}: {e}") from None
    dest.parent.mkdir(parents=True, exist_ok=True)

    def build() -> Path:
        built = cargo.build(ws, package, bin=bin, profile=profile, features=features, no_default_features=no_default_features,
                            extra_args=extra, printer=printer, label=f"{package} for the explanation [{src.label}]")
        if not built.ok:
            raise ExplainError(f"could not build {package} again for {src.label} to explain the change:\n"
                               + built.failure_text(12))
        return built.executable

    # Another build into the shared target directory (a concurrent run, another source) may replace the
    # executable cargo links into place as soon as cargo lets go of the directory: the copy is taken from
    # the build's own file under deps/ (named by this source's -C metadata hash, the same inode), found at once.
    exe = build()
    shutil.copy2(own_file(exe), dest)
    return dest, time.monotonic() - started


def own_file(exe: Path) -> Path:
    """The file under deps/ that cargo hard-linked to `exe` (the executable as this build wrote it), else `exe`."""
    st = exe.stat()
    deps = exe.parent / "deps"
    stem = exe.name.replace("-", "_")
    for f in deps.glob(f"{stem}-*"):
        try:
            fs = f.stat()
        except FileNotFoundError:
            continue
        if (fs.st_ino, fs.st_dev) == (st.st_ino, st.st_dev) and f.suffix not in (".d",):
            return f
    return exe
