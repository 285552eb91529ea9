"""A CPU quota for the servers under load, through the kernel's cgroup cpu controller (v1 or v2).

On two cores the load generator saturates its own core before a fast server does (json: wrk at 98 %,
every framework within a few percent): that run measures wrk. Capping the servers' CPU makes the server
the bottleneck while wrk keeps headroom. A short period (10 ms) keeps the throttling from turning into
100 ms latency steps. Where the machine does not allow it (no root, no controller) the quota is not
applied and the run says so; client-bound repeats are still detected and not judged.
"""
from __future__ import annotations

import os
import time
from pathlib import Path

ROOT = Path("/sys/fs/cgroup")
PREFIX = "afq-servers-"
PERIOD_US = 10_000


def _base() -> tuple[Path, str] | tuple[None, str]:
    """(directory new groups go under, cgroup version) or (None, why not)."""
    if os.geteuid() != 0:
        return None, "not root: cannot create a cgroup"
    if (ROOT / "cpu" / "cpu.cfs_quota_us").exists():
        return ROOT / "cpu", "v1"
    if (ROOT / "cgroup.controllers").exists() and "cpu" in (ROOT / "cgroup.subtree_control").read_text().split():
        return ROOT, "v2"
    return None, "no writable cgroup cpu controller"


def _sweep(base: Path) -> None:
    """Groups left by a run that was killed outright: removed once empty (rmdir fails while a task is in one)."""
    for d in base.glob(PREFIX + "*"):
        try:
            d.rmdir()
        except OSError:
            pass


class CpuQuota:
    """`with CpuQuota(0.5) as q: q.add(pid)` caps the added processes together at half a core."""

    def __init__(self, cores: float | None):
        self.cores = cores
        self.dir: Path | None = None
        self.version = ""
        self.reason = "no quota asked for" if not cores else ""

    @property
    def applied(self) -> bool:
        return self.dir is not None

    def describe(self) -> str:
        return (f"servers capped at {self.cores:g} core (cgroup {self.version} cpu quota, {PERIOD_US // 1000} ms period)"
                if self.applied else f"no CPU quota on the servers ({self.reason})")

    def __enter__(self) -> "CpuQuota":
        if not self.cores:
            return self
        if self.cores <= 0:
            raise ValueError(f"server CPU quota must be positive cores, got {self.cores}")
        base, how = _base()
        if base is None:
            self.reason = how
            return self
        _sweep(base)
        d = base / f"{PREFIX}{os.getpid()}"
        try:
            d.mkdir(exist_ok=True)
            quota = int(self.cores * PERIOD_US)
            if how == "v1":
                (d / "cpu.cfs_period_us").write_text(str(PERIOD_US))
                (d / "cpu.cfs_quota_us").write_text(str(quota))
            else:
                (d / "cpu.max").write_text(f"{quota} {PERIOD_US}")
        except OSError as e:
            self.reason = f"cgroup {how}: {e}"
            try:
                d.rmdir()
            except OSError:
                pass
            return self
        self.dir, self.version = d, how
        return self

    def add(self, pid: int) -> None:
        """Move a process (all its threads) into the group; it keeps its children there."""
        if self.dir is not None:
            (self.dir / "cgroup.procs").write_text(str(pid))

    def __exit__(self, *exc) -> None:
        if self.dir is None:
            return
        for _ in range(50):   # the servers are being killed: the group empties within moments
            try:
                self.dir.rmdir()
                return
            except OSError:
                time.sleep(0.1)
