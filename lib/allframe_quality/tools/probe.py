"""A probe process measured as the kernel sees it: RSS sampled with psutil while it reports its phases on stdout
(one JSON line each), its exact peak (VmHWM) read at its `done` line, and why it failed in its own words.
The memory suite's probe, the micro suite's stores and the releases' probes all run through here."""
from __future__ import annotations

import json
import signal
import subprocess
import threading
import time
from dataclasses import dataclass, field
from typing import Sequence

import psutil

from ..core.procs import kill_group, spawn


@dataclass
class ProbeRun:
    returncode: int | None
    signal: int | None
    peak_rss_bytes: int | None              # the kernel's VmHWM at `done` (exact); None if it never got there
    samples: list[tuple[float, int, str]]   # (seconds since start, rss bytes, phase)
    phases: dict[str, dict] = field(default_factory=dict)   # phase -> its JSON line, plus "t"
    stderr: str = ""

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and "done" in self.phases and self.peak_rss_bytes is not None

    def rss_at(self, phase: str) -> int | None:
        """The last RSS sample taken while the probe was in `phase` (its plateau)."""
        vals = [rss for _, rss, p in self.samples if p == phase]
        return vals[-1] if vals else None


def proc_status_bytes(pid: int, field: str) -> int | None:
    """A kB field of /proc/<pid>/status (VmHWM, VmRSS, ...) in bytes; None when the process is gone."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def vm_hwm(pid: int) -> int | None:
    """The process's peak resident set from the kernel (VmHWM), in bytes."""
    return proc_status_bytes(pid, "VmHWM")


def run_probe(argv: Sequence[str], rate_hz: float = 50.0, timeout: float = 1800) -> ProbeRun:
    """Run the probe in its own process group, sampling RSS at `rate_hz`; at its `done` line read
    VmHWM, then close its stdin so it exits."""
    proc = spawn(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.PIPE, text=True)
    peak: int | None = None
    started = time.monotonic()
    samples: list[tuple[float, int, str]] = []
    phases: dict[str, dict] = {}
    current = ["start"]
    stop = threading.Event()
    ps = psutil.Process(proc.pid)

    def sample():
        while not stop.is_set():
            try:
                samples.append((time.monotonic() - started, ps.memory_info().rss, current[0]))
            except (psutil.NoSuchProcess, psutil.ZombieProcess, psutil.AccessDenied):
                return
            stop.wait(1.0 / rate_hz)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    err: list[str] = []
    drain = threading.Thread(target=lambda: err.extend(proc.stderr), daemon=True)
    drain.start()
    timer = threading.Timer(timeout, kill_group, args=(proc,))
    timer.start()
    try:
        for line in proc.stdout:
            try:
                msg = json.loads(line)
            except ValueError:
                continue
            # sample right at the boundary, so every phase has its plateau value
            try:
                samples.append((time.monotonic() - started, ps.memory_info().rss, current[0]))
            except psutil.Error:
                pass
            phases[msg["phase"]] = dict(msg, t=time.monotonic() - started)
            current[0] = msg["phase"]
            if msg["phase"] == "done":
                peak = vm_hwm(proc.pid)
                proc.stdin.close()
        proc.wait()
    except BaseException:
        kill_group(proc)
        raise
    finally:
        timer.cancel()
        stop.set()
        sampler.join(timeout=2)
        kill_group(proc)
    drain.join(timeout=2)
    sig = -proc.returncode if proc.returncode is not None and proc.returncode < 0 else None
    return ProbeRun(proc.returncode, sig, peak, samples, phases, "".join(err)[-2000:])


def why_failed(r: ProbeRun) -> str:
    if r.signal is not None:
        name = signal.Signals(r.signal).name
        hint = " (the kernel's out-of-memory killer?)" if r.signal == signal.SIGKILL else ""
        return f"killed by {name}{hint} in phase {list(r.phases)[-1] if r.phases else 'start'}; {r.stderr.strip()[-500:]}"
    return f"exit {r.returncode} in phase {list(r.phases)[-1] if r.phases else 'start'}: {r.stderr.strip()[-500:]}"


def growth(r: ProbeRun, before: str, after: str | None) -> tuple[int | None, int | None, str]:
    """(RSS at phase `before`, RSS at phase `after` or the kernel's peak when None, why not) — the numbers a
    bytes-per-event figure is made of; both None, with the reason, when the probe failed or was not sampled there."""
    lo = r.rss_at(before) if r.ok else None
    hi = (r.rss_at(after) if after else r.peak_rss_bytes) if r.ok else None
    if lo is None or hi is None:
        return None, None, why_failed(r) if not r.ok else f"no RSS sample at {before}/{after or 'the peak'}"
    return lo, hi, ""
