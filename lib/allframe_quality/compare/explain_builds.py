"""The executables an explanation reads: one side's probe built again, cargo's cache making it a relink at
most, and copied aside at once (another build into the shared target directory must not swap it)."""
from __future__ import annotations

import contextlib
import fcntl
import filecmp
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
    src = allframe_source.resolve(side.version, side.checkout, b)
    ws, extra = allframe_source.workspace(src)
    dest.parent.mkdir(parents=True, exist_ok=True)

    def build() -> Path:
        built = cargo.build(ws, package, bin=bin, profile=profile, features=features, no_default_features=no_default_features,
                            extra_args=extra, printer=printer, label=f"{package} for the explanation [{src.label}]")
        if not built.ok:
            raise ExplainError(f"could not build {package} again for {src.label} to explain the change:\n"
                               + built.failure_text(12))
        return built.executable

    # Another build into the shared target directory (a concurrent run, another source) can replace the
    # executable between cargo's end and the copy: copied under cargo's own lock, then checked by a second
    # (fresh, instant) build, which links this source's executable back into place.
    for _ in range(3):
        exe = build()
        with _cargo_lock(exe.parent):
            shutil.copy2(exe, dest)
        exe = build()
        with _cargo_lock(exe.parent):
            if filecmp.cmp(exe, dest, shallow=False):
                return dest, time.monotonic() - started
    raise ExplainError(f"{package} for {src.label}: another build kept replacing the executable in the shared target "
                       "directory; run the explanation again when the other build is done")


@contextlib.contextmanager
def _cargo_lock(profile_dir: Path):
    """cargo's exclusive lock on a profile's build directory (flock on .cargo-lock, as cargo takes it)."""
    with open(profile_dir / ".cargo-lock", "a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)
