"""The size suite: real linked executables per feature configuration and peer, per build profile.

For each binary: bytes as built, bytes stripped (binutils strip), and, under the gated profile,
cargo-bloat's per-crate .text breakdown. Failures (a configuration that does not compile, a probe
that does not run) are recorded as rows with the compiler's last lines, and the rest go on.
"""
from __future__ import annotations

import json
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import pandas as pd

from ..core.errors import ToolMissing
from ..tools import bloat
from . import contract
from ..tools.binaries import stripped_size  # noqa: F401 (releases reads it here)
from ..core.procs import say
from ..config.budgets import Budgets, pick
from ..config import budgets as budgets_mod
from .size_analysis import SUITE
PROBE = "size-probe"


@dataclass(frozen=True)
class Target:
    subject: str            # allframe | axum | actix | rocket
    config: str             # configuration name, or "hello-world" for peers
    package: str
    features: tuple[str, ...] = ()


def plan(b: Budgets, configurations: Sequence[str] | None = None, peers: bool | Sequence[str] = True,
         profiles: Sequence[str] | None = None) -> tuple[list[Target], list[str]]:
    """Validate the selection against the budgets file (before any build) and list what to build."""
    configs = pick(b.size.configurations, configurations or list(b.size.configurations), "size configuration")
    profiles = list(profiles or b.size.profiles)
    pick({p: p for p in budgets_mod.cargo_profiles()}, profiles, "build profile")
    peer_names = list(b.size.peers) if peers is True else list(peers or [])
    chosen_peers = pick(b.size.peers, peer_names, "peer")
    targets = [Target("allframe", c.name, PROBE, c.features) for c in configs]
    targets += [Target(p.name, "hello-world", p.package) for p in chosen_peers]
    return targets, profiles


def run_probe(executable: Path, timeout: float = 60) -> dict:
    """Run the size probe once: it prints one JSON object naming what it exercised."""
    r = subprocess.run([str(executable)], capture_output=True, text=True, timeout=timeout)
    if r.returncode != 0:
        raise RuntimeError(f"exit {r.returncode}: {(r.stderr or r.stdout).strip()[-2000:]}")
    return json.loads(r.stdout.strip().splitlines()[-1])


def _measure_target(ctx: contract.Context, t: Target, profile: str, with_bloat: bool) -> None:
    base = dict(subject=t.subject, config=t.config, variant=profile)
    label = f"{t.subject}:{t.config} [{profile}]"
    b = ctx.build(t.package, profile=profile, features=t.features, no_default_features=True, label=label)
    if not contract.size_rows(ctx, base, b):
        return
    if t.package == PROBE:
        try:
            used = run_probe(b.executable)
            ctx.record(**base, metric="probe_checks", unit="count", value=len(used), detail=json.dumps(used, sort_keys=True))
        except Exception as e:  # the binary exists but does not work: a failure, and the gate fails on it
            ctx.record(**base, metric="probe_checks", unit="count", status="failed", detail=f"size-probe crashed:\n{e}")
    if with_bloat and profile == ctx.budgets.size.gated_profile:
        started = time.monotonic()
        try:
            cs = bloat.crates(ctx.workspace, t.package, profile=profile, features=t.features, extra_args=ctx.cargo_args,
                              printer=ctx.printer, label=label)
        except (bloat.BloatError, ToolMissing) as e:
            # text_bytes is tracked: a failed breakdown fails the gate and shows as "broke" in the history
            ctx.record(**base, metric="text_bytes", unit="bytes", status="failed", detail=str(e))
        else:
            ctx.record(**base, metric="text_bytes", unit="bytes", value=cs.text_size,
                       detail="cargo-bloat: .text of the unstripped build")
            for name, size in cs.crates.items():
                ctx.record(**base, item=name, metric="crate_text_bytes", unit="bytes", value=size)
            ctx.say(f"  {label}: cargo-bloat attributed {len(cs.crates)} crates in {time.monotonic() - started:.1f}s")


def measure(
    configurations: Sequence[str] | str | None = None,
    *,
    profiles: Sequence[str] | str | None = None,
    peers: bool | Sequence[str] | str = True,
    allframe_version: str | None = None,
    allframe_checkout: str | None = None,
    with_bloat: bool = True,
    run_id: str | None = None,
    budgets: Budgets | None = None,
    printer: Callable[[str], None] | None = say,
) -> tuple[str, pd.DataFrame]:
    """Build and measure; save the records under data/runs/<run_id>/size.parquet. Returns (run_id, records)."""
    b = budgets or budgets_mod.load()
    peers = peers if isinstance(peers, bool) else contract.as_list(peers, "peers")
    targets, profiles = plan(b, contract.as_list(configurations, "configurations"), peers,
                             contract.as_list(profiles, "profiles"))                     # bad names fail here
    tools = ["strip", *([("cargo-bloat", "or pass with_bloat=False")] if with_bloat else [])]

    def collect(ctx: contract.Context) -> None:
        ctx.say(f"size suite: {len(targets)} binaries x {len(profiles)} profiles")
        for profile in profiles:
            for t in targets:
                _measure_target(ctx, t, profile, with_bloat)
        ctx.info["features"] = {t.config: list(t.features) for t in targets if t.subject == "allframe"}

    params = {"configurations": [t.config for t in targets if t.subject == "allframe"], "profiles": profiles,
              "peers": [t.subject for t in targets if t.subject != "allframe"], "with_bloat": with_bloat}
    packages = sorted({PROBE, *("peers/" + p.package for p in b.size.peers.values())})
    return contract.run(SUITE, collect, parameters=params, packages=packages, budgets=b,
                     allframe_version=allframe_version, allframe_checkout=allframe_checkout, run_id=run_id,
                     printer=printer, tools=tools)
