"""Per-crate .text breakdown from `cargo bloat --crates --message-format json` (never the table).

cargo-bloat builds the binary itself and forces `CARGO_PROFILE_<P>_STRIP=false`, which changes every unit's
hash: a second, complete build of each binary just to keep the debuginfo of std, which `--crates` never reads
(it reads the symbol table, which cargo's release profile keeps). So by default cargo-bloat runs through a
`cargo` shim that drops that one variable: it finds the lab's own build fresh and analyses that very
executable. The .text and crate figures are identical to cargo-bloat's own unstripped build (a test checks);
only the file size it reports differs, and that is not read. A profile that strips symbols falls back to
cargo-bloat's own build in a target directory of its own.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

from . import cargo
from ..core import atomic, paths, procs


@dataclass
class CrateSizes:
    file_size: int            # the executable cargo-bloat analysed (unstripped only in its own build)
    text_size: int            # its .text section
    crates: dict[str, int]    # crate -> bytes of .text attributed to it (cargo-bloat's guess)


class BloatError(RuntimeError):
    pass


def parse(text: str) -> CrateSizes:
    """Parse cargo-bloat's --crates JSON: {"file-size", "text-section-size", "crates": [{"name", "size"}]}."""
    try:
        doc = json.loads(text)
        crates = {c["name"]: int(c["size"]) for c in doc["crates"]}
        return CrateSizes(int(doc["file-size"]), int(doc["text-section-size"]), crates)
    except (ValueError, KeyError, TypeError) as e:
        raise BloatError(f"not cargo-bloat --crates JSON ({e}): {text[:200]!r}") from None


def target_dir() -> Path:
    """Where cargo-bloat's own (unstripped) builds go, apart from the lab's so that both stay cached."""
    return paths.cache_dir() / "target-bloat"


def _strip_var(profile: str) -> str:
    return f"CARGO_PROFILE_{profile.upper().replace('-', '_')}_STRIP"


def shim_dir(profile: str) -> Path:
    """A directory holding a `cargo` that drops cargo-bloat's forced strip setting, then runs the real cargo."""
    real = cargo.require_cargo()
    d = paths.cache_dir() / "cargo-bloat-shim" / profile
    script = f'#!/bin/sh\n# written by allframe-quality (tools/bloat.py)\nunset {_strip_var(profile)}\nexec "{real}" "$@"\n'
    exe = d / "cargo"
    if not exe.is_file() or exe.read_text() != script:
        d.mkdir(parents=True, exist_ok=True)
        atomic.write_text(exe, script)
        exe.chmod(0o755)
    return d


def crates(workspace: Path, package: str, *, bin: str | None = None, profile: str = "release",
           features: Sequence[str] = (), extra_args: Sequence[str] = (), own_build: bool = False,
           printer: Callable[[str], None] | None = None, label: str = "") -> CrateSizes:
    """cargo-bloat's crates of the binary the lab builds (in its target directory) or, with `own_build`,
    of cargo-bloat's own unstripped build."""
    cargo.require("cargo-bloat")
    args = ["cargo", "bloat", "-p", package, "--bin", bin or package, *cargo.profile_args(profile),
            *cargo.feature_args(features), "--crates", "-n", "0", "--message-format", "json", *extra_args]
    env = cargo.env(target_dir() if own_build else None)
    if not own_build:
        env["PATH"] = f"{shim_dir(profile)}{os.pathsep}{env.get('PATH', '')}"
    what = "building its unstripped copy" if own_build else "analysing the build"
    beat = (30.0, lambda t: printer(f"  {label}: cargo-bloat still {what}, {t:.0f}s")) if printer else None
    done = procs.run(args, cwd=workspace, env=env, heartbeat=beat, tail=400)
    if not done.ok and not own_build and any("strip" in l for l in done.stderr_tail):
        # this profile strips the symbol table: only cargo-bloat's own build has one
        return crates(workspace, package, bin=bin, profile=profile, features=features, extra_args=extra_args,
                      own_build=True, printer=printer, label=label)
    if not done.ok:   # the compiler's first error (warnings may bury it), then cargo-bloat's last words
        first = next((i for i, l in enumerate(done.stderr_tail) if l.startswith("error")), None)
        head = done.stderr_tail[first:first + 6] if first is not None else []
        raise BloatError("cargo bloat failed:\n" + "\n".join(head + ["…"] * bool(head) + done.stderr_tail[-12:]))
    return parse(done.stdout.strip().splitlines()[-1] if done.stdout.strip() else "")
