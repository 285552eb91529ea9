"""Run metadata: collected once per run, stored beside the records, joined by run id."""
from __future__ import annotations

import datetime as dt
import hashlib
import os
import platform
import shutil
import subprocess

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
    if s.get("allframe"):
        parts.insert(1, s["allframe"]["label"])
    return " · ".join(str(p) for p in parts)
