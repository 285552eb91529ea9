"""Rust tests through cargo's and libtest's JSON: build the test executables (`cargo test --no-run
--message-format json`), list each one's tests, run them, and read every result from libtest's JSON events.

Stable libtest offers `--format json` under RUSTC_BOOTSTRAP=1. That variable is set only when a test
executable runs, never for cargo: build scripts that probe the compiler would read it as a nightly one.
"""
from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Callable, Sequence

from ..core import procs
from .cargo import package_name

JSON_ARGS = ["-Z", "unstable-options", "--format", "json"]
RESULTS = ("ok", "failed", "ignored", "timeout")


def build_tests(ws: Path, args: Sequence[str], env: dict[str, str], label: str,
                printer: Callable[[str], None] | None) -> dict:
    """`cargo test --no-run --message-format json *args` in `ws`: the test executables (with their
    target names) from cargo's compiler-artifact messages. Returns {exes: [(target, path)], error: str
    (the compiler's errors, or cargo's last lines; "" when it built), seconds, units, rebuilt, and, for
    several packages built at once (`--no-fail-fast` keeps going), by_package: {package: [path]} and errors_by_package}."""
    exes, errors, counts = [], [], {"units": 0, "rebuilt": 0}
    by_package: dict[str, list[Path]] = {}
    errors_by_package: dict[str, list[str]] = {}

    def feed(line: str) -> None:
        if not line.startswith("{"):
            return
        msg = json.loads(line)
        package = package_name(msg.get("package_id", ""))
        if msg.get("reason") == "compiler-artifact":
            counts["units"] += 1
            counts["rebuilt"] += 0 if msg.get("fresh") else 1
            if msg.get("profile", {}).get("test") and msg.get("executable"):
                exes.append((msg["target"]["name"], Path(msg["executable"])))
                by_package.setdefault(package, []).append(Path(msg["executable"]))
        elif msg.get("reason") == "compiler-message" and msg["message"].get("level", "").startswith("error"):
            errors.append(msg["message"].get("rendered") or msg["message"].get("message", ""))
            errors_by_package.setdefault(package, []).append(errors[-1])

    if printer:
        printer(f"building {label} ...")
    done = procs.run(["cargo", "test", "--no-run", "--message-format", "json", *args], cwd=ws, env=env, on_line=feed,
                     keep_stdout=False, heartbeat=(30.0, lambda t: printer and printer(f"  {label}: still building, {t:.0f}s")))
    error = "" if done.ok else ("\n".join(errors[:3]) or "\n".join(done.stderr_tail[-25:]) or f"cargo exit {done.returncode}")
    return {"exes": exes if done.ok else [], "error": error, "seconds": done.seconds, "by_package": by_package,
            "errors_by_package": {p: "\n".join(e[:3]) for p, e in errors_by_package.items()}, **counts}


def _env(env: dict[str, str] | None) -> dict[str, str]:
    return dict(env or os.environ, RUSTC_BOOTSTRAP="1", RUST_BACKTRACE="0")


def discover(exe: Path, env: dict[str, str] | None = None, cwd: Path | None = None) -> list[dict]:
    """The tests an executable holds, from libtest's `discovered` events: name, ignore, ignore_message,
    source_path. An executable that cannot list its tests is an error with its own words."""
    done = procs.run([str(exe), "--list", *JSON_ARGS], env=_env(env), cwd=cwd or exe.parent, timeout=120)
    found = [json.loads(l) for l in done.stdout.splitlines() if l.startswith("{")]
    if not done.ok:
        raise RuntimeError(f"{exe.name} --list exit {done.returncode}: " + "\n".join(done.stderr_tail[-15:]))
    return [ev for ev in found if ev.get("event") == "discovered"]


def run(exe: Path, timeout: float = 300, *, args: Sequence[str] = (), env: dict[str, str] | None = None,
        cwd: Path | None = None) -> list[dict]:
    """Run one test executable; one result per test from libtest's JSON events (the last event of a test
    counts: a `timeout` warning is followed by its result). A crash without events is one failed pseudo-test."""
    started = time.monotonic()
    done = procs.run([str(exe), *JSON_ARGS, "--report-time", *args], env=_env(env), timeout=timeout, cwd=cwd or exe.parent)
    binary = exe.name.rsplit("-", 1)[0]
    out = results(done.stdout, binary)
    if not done.ok and not any(r["event"] == "failed" for r in out):
        why = "timed out" if timeout and time.monotonic() - started >= timeout else f"exit {done.returncode}"
        out.append({"binary": binary, "name": "(test binary)", "event": "failed", "seconds": None, "message": "",
                    "stdout": f"{why}: " + "\n".join(done.stderr_tail[-15:])})
    return out


def results(stdout: str, binary: str) -> list[dict]:
    """One result per test from libtest's JSON event lines; a test's last event counts."""
    by_name: dict[str, dict] = {}
    for line in stdout.splitlines():
        if not line.startswith("{"):
            continue
        ev = json.loads(line)
        if ev.get("type") == "test" and ev.get("event") in RESULTS:
            by_name[ev["name"]] = {"binary": binary, "name": ev["name"], "event": ev["event"],
                                   "seconds": ev.get("exec_time"), "message": ev.get("message") or "",
                                   "stdout": _ends(ev.get("stdout") or "")}
    return list(by_name.values())


def _ends(text: str, keep: int = 1500) -> str:
    """A test's output, long ones cut in the middle: a panic's message comes first, a backtrace or prints after."""
    return text if len(text) <= 2 * keep else f"{text[:keep]}\n[…]\n{text[-keep:]}"
