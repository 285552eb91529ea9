"""The cargo driver: builds with --message-format json and knows the executable from cargo's messages."""
from __future__ import annotations

import json
import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

from . import paths, procs


class ToolMissing(RuntimeError):
    """A required external tool is not installed; the message says how to install it."""


def require(tool: str, how: str) -> str:
    path = shutil.which(tool)
    if path is None:
        raise ToolMissing(f"{tool} not found on PATH. {how}")
    return path


def require_cargo() -> str:
    return require("cargo", "Install Rust with rustup (https://rustup.rs), or run `make setup`.")


def env(target_dir: Path | None = None) -> dict[str, str]:
    e = dict(os.environ)
    e["CARGO_TARGET_DIR"] = str(target_dir or paths.cargo_target_dir())
    e["CARGO_TERM_COLOR"] = "never"
    return e


def feature_args(features: Sequence[str], no_default_features: bool = True) -> list[str]:
    args = ["--no-default-features"] if no_default_features else []
    if features:
        args += ["--features", ",".join(features)]
    return args


def profile_args(profile: str) -> list[str]:
    return ["--release"] if profile == "release" else ["--profile", profile]


@dataclass
class BuildResult:
    package: str
    profile: str
    features: tuple[str, ...]
    ok: bool
    executable: Path | None
    seconds: float
    units: int = 0          # compilation units cargo reported (fresh or rebuilt)
    rebuilt: int = 0        # of which were compiled this time
    errors: list[str] = field(default_factory=list)   # rendered compiler errors
    stderr_tail: list[str] = field(default_factory=list)

    def failure_text(self, lines: int = 25) -> str:
        """The compiler's last lines: what a report shows for a configuration that failed."""
        text = "\n".join(self.errors) if self.errors else "\n".join(self.stderr_tail)
        return "\n".join(text.strip().splitlines()[-lines:]) or "cargo failed without output"


class Progress:
    """Prints a line when a build starts, at most every `every` seconds while it runs, and when it ends."""

    def __init__(self, label: str, every: float = 15.0, printer: Callable[[str], None] | None = print):
        self.label, self.every, self.printer = label, every, printer
        self.started = self.last = time.monotonic()
        self.units = self.rebuilt = 0
        self.latest = ""
        self._say(f"building {label} ...")

    def _say(self, text: str) -> None:
        if self.printer:
            self.printer(text, flush=True) if self.printer is print else self.printer(text)

    def artifact(self, name: str, fresh: bool) -> None:
        self.units += 1
        self.rebuilt += 0 if fresh else 1
        self.latest = name
        now = time.monotonic()
        if now - self.last >= self.every:
            self.last = now
            self._say(f"  {self.label}: {self.units} units ({self.rebuilt} compiled), "
                      f"{now - self.started:.0f}s, latest {self.latest}")

    def done(self, result: "BuildResult") -> None:
        state = "ok" if result.ok else "FAILED"
        self._say(f"  {self.label}: {state} in {result.seconds:.1f}s ({result.rebuilt} of {result.units} units compiled)")


def build(
    workspace: Path,
    package: str,
    *,
    bin: str | None = None,
    profile: str = "release",
    features: Sequence[str] = (),
    no_default_features: bool = True,
    extra_args: Sequence[str] = (),
    label: str | None = None,
    printer: Callable[[str], None] | None = print,
) -> BuildResult:
    """Build one binary of `package`; its path comes from cargo's compiler-artifact message."""
    require_cargo()
    bin = bin or package
    args = ["cargo", "build", "--message-format", "json", "-p", package, "--bin", bin,
            *profile_args(profile), *feature_args(features, no_default_features), *extra_args]
    progress = Progress(label or f"{package} [{profile}]", printer=printer)
    executable: Path | None = None
    errors: list[str] = []

    def on_line(line: str) -> None:
        nonlocal executable
        if not line.startswith("{"):
            return
        msg = json.loads(line)
        reason = msg.get("reason")
        if reason == "compiler-artifact":
            progress.artifact(msg["target"]["name"], msg.get("fresh", False))
            if msg["target"]["name"] == bin and "bin" in msg["target"]["kind"] and msg.get("executable"):
                executable = Path(msg["executable"])
        elif reason == "compiler-message" and msg["message"].get("level") in ("error", "error: internal compiler error"):
            errors.append(msg["message"].get("rendered") or msg["message"].get("message", ""))

    done = procs.run(args, cwd=workspace, env=env(), on_line=on_line, keep_stdout=False)
    result = BuildResult(package, profile, tuple(features), done.ok and executable is not None,
                         executable if done.ok else None, done.seconds, progress.units, progress.rebuilt,
                         errors, done.stderr_tail)
    progress.done(result)
    return result
