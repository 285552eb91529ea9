"""The executables an explanation reads: one side's probe built again, cargo's cache making it a relink at
most, and copied aside at once (another build into the shared target directory must not swap it)."""
from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

from ..config.budgets import Budgets
from ..tools import allframe_source, cargo, executable_copy


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
    built = cargo.build(ws, package, bin=bin, profile=profile, features=features, no_default_features=no_default_features,
                        extra_args=extra, printer=printer, label=f"{package} for the explanation [{src.label}]")
    if not built.ok:
        raise ExplainError(f"could not build {package} again for {src.label} to explain the change:\n"
                           + built.failure_text(12))
    executable_copy.copy(built.executable, dest)     # this build's own file: a concurrent build cannot swap it
    return dest, time.monotonic() - started
