"""Run metadata: collected once per run, stored beside the records, joined by run id."""
from __future__ import annotations

import datetime as dt
import hashlib
import os
import platform
import shutil
import subprocess
import time

import psutil

from . import paths


def new_run_id(now: dt.datetime | None = None) -> str:
    """Sortable, unique enough for one machine: UTC time to the second plus the pid."""
    now = now or dt.datetime.now(dt.timezone.utc)
    return now.strftime("%Y%m%dT%H%M%SZ") + f"-{os.getpid() % 100000:05d}"


def _cmd(args: list[str]) -> str | None:
    if shutil.which(args[0]) is None:
        return None
    try:
        r = subprocess.run(args, capture_output=True, text=True, timeout=30, cwd=paths.ROOT)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return r.stdout.strip() if r.returncode == 0 else None


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def rust_toolchain() -> dict:
    """rustc -vV as a dict (release, commit-hash, host, LLVM version), plus cargo's version."""
    info: dict = {}
    out = _cmd(["rustc", "-vV"])
    if out:
        for line in out.splitlines()[1:]:
            k, _, v = line.partition(":")
            info[k.strip()] = v.strip()
        info["rustc"] = out.splitlines()[0]
    info["cargo"] = _cmd(["cargo", "--version"])
    return info


def toolchain_label() -> str:
    """rustc's release as the builds see it (bench/rust-toolchain.toml pins it): part of the comparability key."""
    return _cmd_in(["rustc", "--version"], paths.BENCH) or "rustc ?"


def _cmd_in(args: list[str], cwd) -> str | None:
    try:
        r = subprocess.run(args, capture_output=True, text=True, timeout=60, cwd=cwd)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return r.stdout.strip() if r.returncode == 0 else None


BUSY_PROCESS_PCT = 20.0   # another process using more than this much of a core is worth a warning


def machine_state(sample_s: float = 0.5) -> dict:
    """The machine as a suite starts: CPU governor and frequency (where readable), load average, and the
    busiest other processes over `sample_s`; `warnings` says what would disturb a measurement."""
    state: dict = {"loadavg": [round(x, 2) for x in os.getloadavg()]}
    gov = "/sys/devices/system/cpu/cpu0/cpufreq/scaling_governor"
    try:
        with open(gov) as f:
            state["governor"] = f.read().strip()
    except OSError:
        state["governor"] = None   # not exposed (a VM)
    try:
        with open("/proc/cpuinfo") as f:
            mhz = [float(l.split(":")[1]) for l in f if l.startswith("cpu MHz")]
        state["mhz"] = round(sum(mhz) / len(mhz)) if mhz else None
    except (OSError, ValueError):
        state["mhz"] = None
    me = {os.getpid(), os.getppid()}
    procs = [p for p in psutil.process_iter(["pid", "name"]) if p.info["pid"] not in me]
    for p in procs:
        try:
            p.cpu_percent(None)
        except psutil.Error:
            pass
    time.sleep(sample_s)
    busy = []
    for p in procs:
        try:
            pct = p.cpu_percent(None)
        except psutil.Error:
            continue
        if pct >= 1.0:
            busy.append({"name": p.info["name"], "pid": p.info["pid"], "cpu_pct": round(pct, 1)})
    state["busiest"] = sorted(busy, key=lambda x: -x["cpu_pct"])[:5]
    cores = os.cpu_count() or 1
    warnings = []
    if state["loadavg"][0] > 0.5 * cores:
        warnings.append(f"busy machine: load average {state['loadavg'][0]} on {cores} cores before measuring")
    hogs = [b for b in state["busiest"] if b["cpu_pct"] > BUSY_PROCESS_PCT]
    if hogs:
        warnings.append("busy machine: " + ", ".join(f"{b['name']} ({b['pid']}) at {b['cpu_pct']}% of a core" for b in hogs))
    state["warnings"] = warnings
    return state


def state_line(state: dict | None) -> str:
    """The machine state in a few words, for the conditions line."""
    if not state:
        return ""
    parts = [f"load {state.get('loadavg', ['?'])[0]}"]
    if state.get("mhz"):
        parts.append(f"{state['mhz']} MHz")
    if state.get("governor"):
        parts.append(f"governor {state['governor']}")
    if state.get("warnings"):
        parts.append("⚠ " + "; ".join(state["warnings"]))
    return ", ".join(parts)


def project_commit() -> dict:
    commit = _cmd(["git", "rev-parse", "HEAD"])
    status = _cmd(["git", "status", "--porcelain", "--untracked-files=no"])
    return {"commit": commit, "dirty": bool(status) if status is not None else None}


def machine() -> dict:
    mem = psutil.virtual_memory().total
    m = {
        "cpu_model": cpu_model(),
        "cores": os.cpu_count(),
        "cores_usable": len(os.sched_getaffinity(0)),
        "memory_bytes": mem,
        "kernel": platform.release(),
        "os": platform.platform(),
        "hostname": platform.node(),
    }
    # Runs from different machines must never share a trend line: fingerprint what affects figures.
    basis = f"{m['cpu_model']}|{m['cores']}|{mem // 2**30}GiB|{platform.machine()}"
    m["fingerprint"] = hashlib.sha256(basis.encode()).hexdigest()[:12]
    return m


def collect(run_id: str) -> dict:
    return {
        "run_id": run_id,
        "started_utc": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "project": project_commit(),
        "machine": machine(),
        "rust": rust_toolchain(),
        "python": platform.python_version(),
    }


def conditions(meta: dict, suite: str | None = None) -> str:
    """One line of measurement conditions for chart subtitles and report headers."""
    m, r = meta.get("machine", {}), meta.get("rust", {})
    parts = [f"run {meta.get('run_id')}", f"{m.get('cpu_model')} ({m.get('cores')} cores)",
             f"kernel {m.get('kernel')}", r.get("rustc") or "rustc ?"]
    s = meta.get("suites", {}).get(suite, {}) if suite else {}
    if s.get("toolchain"):
        parts[-1] = s["toolchain"]
    if s.get("allframe"):
        parts.insert(1, s["allframe"]["label"])
    if s.get("machine_state"):
        parts.append(state_line(s["machine_state"]))
    return " · ".join(str(p) for p in parts)
