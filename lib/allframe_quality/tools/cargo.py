"""The cargo driver: builds with --message-format json and knows the executable from cargo's messages."""
from __future__ import annotations

import json
import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

from ..core.errors import ToolMissing, install_hint
from ..core import paths, procs


def require(tool: str, how: str | None = None) -> str:
    """The tool's path on PATH, or ToolMissing saying how to install it (errors.INSTALL unless `how` says)."""
    path = shutil.which(tool)
    if path is None:
        raise ToolMissing(f"{tool} not found on PATH. {how or install_hint(tool)}")
    return path


def require_cargo() -> str:
    return require("cargo")


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
    compiled: set[str] = field(default_factory=set)   # packages compiled this time (the rest were fresh)
    failed_packages: set[str] = field(default_factory=set)   # packages with compiler errors
    stderr_tail: list[str] = field(default_factory=list)

    def failure_text(self, lines: int = 25) -> str:
        """The compiler's last lines: what a report shows for a configuration that failed."""
        text = "\n".join(self.errors) if self.errors else "\n".join(self.stderr_tail)
        return "\n".join(text.strip().splitlines()[-lines:]) or "cargo failed without output"


class Progress:
    """Prints a line when a build starts, at most every `every` seconds while it runs, and when it ends."""

    def __init__(self, label: str, every: float = 15.0, printer: Callable[[str], None] | None = None):
        self.label, self.every, self.printer = label, every, printer
        self.started = self.last = time.monotonic()
        self._say(f"building {label} ...")

    def _say(self, text: str) -> None:
        if self.printer:
            self.printer(text)

    def artifact(self, name: str, units: int, rebuilt: int) -> None:
        now = time.monotonic()
        if now - self.last >= self.every:
            self.last = now
            self._say(f"  {self.label}: {units} units ({rebuilt} compiled), {now - self.started:.0f}s, latest {name}")

    def done(self, result: "BuildResult") -> None:
        state = "ok" if result.ok else "FAILED"
        self._say(f"  {self.label}: {state} in {result.seconds:.1f}s ({result.rebuilt} of {result.units} units compiled)")


def package_name(package_id: str) -> str:
    """A package's name from cargo's package id: 'registry+https://…#allframe-core@0.1.28', or
    'path+file:///…/size-probe#0.1.0' (the name left out when it is the directory's)."""
    url, _, frag = package_id.partition("#")
    if "@" in frag:
        return frag.split("@")[0]
    return url.rstrip("/").rsplit("/", 1)[-1] if frag else ""


class MessageReader:
    """Reads cargo's --message-format json stream: artifacts, the target's executable, compiler errors."""

    def __init__(self, bin: str, progress: Progress | None = None, kind: str = "bin"):
        self.bin, self.kind, self.progress = bin, kind, progress
        self.executable: Path | None = None
        self.errors: list[str] = []
        self.units = self.rebuilt = 0
        self.compiled: set[str] = set()   # packages compiled this time (not fresh), by name
        self.failed: set[str] = set()     # packages the compiler reported errors in, by name
        self.success: bool | None = None

    def feed(self, line: str) -> None:
        if not line.startswith("{"):
            return  # build scripts may print plain lines
        msg = json.loads(line)
        reason = msg.get("reason")
        if reason == "compiler-artifact":
            fresh = bool(msg.get("fresh", False))
            self.units += 1
            self.rebuilt += 0 if fresh else 1
            if not fresh:
                self.compiled.add(package_name(msg.get("package_id", "")) or msg["target"]["name"])
            if self.progress:
                self.progress.artifact(msg["target"]["name"], self.units, self.rebuilt)
            if msg["target"]["name"] == self.bin and self.kind in msg["target"]["kind"] and msg.get("executable"):
                self.executable = Path(msg["executable"])
        elif reason == "compiler-message" and msg["message"].get("level", "").startswith("error"):
            self.errors.append(msg["message"].get("rendered") or msg["message"].get("message", ""))
            self.failed.add(package_name(msg.get("package_id", "")))
        elif reason == "build-finished":
            self.success = bool(msg.get("success"))


def build(
    workspace: Path,
    package: str,
    *,
    bin: str | None = None,
    bench: str | None = None,
    profile: str = "release",
    features: Sequence[str] = (),
    no_default_features: bool = True,
    extra_args: Sequence[str] = (),
    label: str | None = None,
    printer: Callable[[str], None] | None = None,
    target_dir: Path | None = None,
) -> BuildResult:
    """Build one binary (or, with `bench`, one bench target) of `package`.

    The executable's path comes from cargo's compiler-artifact message, never from a guessed path.
    """
    require_cargo()
    kind, name = ("bench", bench) if bench else ("bin", bin or package)
    args = ["cargo", "build", "--message-format", "json", "-p", package, f"--{kind}", name,
            *profile_args(profile), *feature_args(features, no_default_features), *extra_args]
    progress = Progress(label or f"{package} [{profile}]", printer=printer)
    reader = MessageReader(name, progress, kind)
    done = procs.run(args, cwd=workspace, env=env(target_dir), on_line=reader.feed, keep_stdout=False)
    ok = done.ok and reader.executable is not None
    result = BuildResult(package, profile, tuple(features), ok, reader.executable if ok else None, done.seconds,
                         reader.units, reader.rebuilt, reader.errors, stderr_tail=done.stderr_tail,
                         compiled=reader.compiled, failed_packages=reader.failed)
    progress.done(result)
    return result
