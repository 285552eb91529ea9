"""Per-crate .text breakdown from `cargo bloat --crates --message-format json` (never the table)."""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

from . import cargo
from ..core import paths, procs


@dataclass
class CrateSizes:
    file_size: int            # the unstripped executable cargo-bloat analysed
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
    # cargo-bloat forces CARGO_PROFILE_<P>_STRIP=false, which changes every unit's fingerprint;
    # its own target dir keeps our builds and its builds both cached.
    return paths.cache_dir() / "target-bloat"


def crates(workspace: Path, package: str, *, bin: str | None = None, profile: str = "release",
           features: Sequence[str] = (), extra_args: Sequence[str] = (),
           printer: Callable[[str], None] | None = None, label: str = "") -> CrateSizes:
    cargo.require("cargo-bloat")
    args = ["cargo", "bloat", "-p", package, "--bin", bin or package, *cargo.profile_args(profile),
            *cargo.feature_args(features), "--crates", "-n", "0", "--message-format", "json", *extra_args]
    beat = (30.0, lambda t: printer(f"  {label}: cargo-bloat still building its unstripped copy, {t:.0f}s")) if printer else None
    done = procs.run(args, cwd=workspace, env=cargo.env(target_dir()), heartbeat=beat, tail=400)
    if not done.ok:   # the compiler's first error (warnings may bury it), then cargo-bloat's last words
        first = next((i for i, l in enumerate(done.stderr_tail) if l.startswith("error")), None)
        head = done.stderr_tail[first:first + 6] if first is not None else []
        raise BloatError("cargo bloat failed:\n" + "\n".join(head + ["…"] * bool(head) + done.stderr_tail[-12:]))
    return parse(done.stdout.strip().splitlines()[-1] if done.stdout.strip() else "")
