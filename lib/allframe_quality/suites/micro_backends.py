"""AllFrame's AllSource-based event store backends beside the micro suite (bench/micro-backends, a workspace of its
own: allsource-core's zstd-sys cannot share bench/'s lockfile, and its cold build — arrow, parquet, datafusion —
is long, so it runs only when asked: `micro.measure(backends=True)`, the weekly job).

One crate per allframe-core feature (cqrs-allsource, cqrs-postgres, cqrs-rocksdb); allframe-core 0.1.28 gives the
last two no backend type of their own, so all three run `AllSourceBackend`: what differs is what the feature
compiles in (build time, binary size). `AllSourceBackend::production` writes Parquet in batches of 10,000 and, though
it asks for one, no WAL (allframe-core's `with_config` drops it): `append_parquet` is not a per-event durable append.
A build that fails is a failed row with the compiler's first error.
"""
from __future__ import annotations

import json
import os

from . import timing
from ..core import paths
from ..tools.probe import growth, run_probe
from ..core.procs import run

WORKSPACE = "micro-backends"
BACKENDS = {"allsource": ("backend-allsource", "allsource-ops"), "postgres": ("backend-postgres", "postgres-ops"),
            "rocksdb": ("backend-rocksdb", "rocksdb-ops")}
# operation: (events per clocked process, the two callgrind counts)
# append_parquet over whole batches of allsource-core's 10,000: each count includes its Parquet flushes
OPS = {"append_memory": (20_000, (200, 2200)), "append_parquet": (20_000, (10_000, 20_000))}


def collect(ctx, processes: int, instructions: bool, memory_events: int | None, names=tuple(BACKENDS)) -> None:
    target = paths.cache_dir() / "target-micro-backends"
    for name in names:
        package, ops_bin = BACKENDS[name]
        base = dict(subject="allframe", config="backend", variant=name)
        built = _build(ctx, package, ops_bin, target, name)
        if not built.ok:
            first = _first_error(built)
            ctx.record(**base, item="build", metric="build_seconds", unit="s", status="failed",
                       detail=f"cargo build -p {package} failed after {built.seconds:.0f}s; the compiler's first error:\n{first}")
            continue
        ctx.record(**base, item="build", metric="build_seconds", unit="s", value=built.seconds,
                   detail=f"{built.rebuilt} of {built.units} units compiled (a warm build when few)")
        ctx.record(**base, item="binary", metric="file_bytes", unit="bytes", value=built.executable.stat().st_size,
                   detail=f"{ops_bin}, release profile")
        _default_name_row(ctx, base, built.executable)
        for op, (n, counts) in OPS.items():
            _clock_rows(ctx, dict(base, item=op), built.executable, op, n, processes)
            if instructions:
                timing.instruction_row(ctx, dict(base, item=op), built, [op], counts)
        if memory_events:
            _memory_row(ctx, name, built.executable, memory_events)


def _build(ctx, package: str, ops_bin: str, target, name: str):
    """Build scripts (librocksdb-sys, zstd-sys) panic on a missing system library: without a backtrace, cargo's
    last lines still hold the panic's own words."""
    before = os.environ.get("RUST_BACKTRACE")
    os.environ["RUST_BACKTRACE"] = "0"
    try:
        return ctx.build(package, workspace=ctx.workspace / WORKSPACE, bin=ops_bin, target_dir=target,
                         label=f"{name} backend [ops]")
    finally:
        if before is None:
            os.environ.pop("RUST_BACKTRACE", None)
        else:
            os.environ["RUST_BACKTRACE"] = before


def _first_error(built) -> str:
    """The compiler's first error, or cargo's from its `error:` line on (a build script's failure is no diagnostic)."""
    if built.errors:
        return built.errors[0]
    lines = built.stderr_tail
    start = next((i for i, ln in enumerate(lines) if ln.startswith("error")), 0)
    return "\n".join(lines[start:start + 15]) or built.failure_text()


def _default_name_row(ctx, base: dict, exe) -> None:
    """Does AllSourceBackend take an event named by allframe-core's default EventTypeName (its Rust type name)?
    allsource-core wants lowercase names; the answer is a finding, in the backend's own words."""
    done = run([str(exe), "append_default_name", "1"])
    ctx.record(**base, item="default event type name", metric="accepted", unit="bool", value=1.0 if done.ok else 0.0,
               detail="appended" if done.ok else "\n".join(done.stderr_tail[-3:]).strip())


def _clock_rows(ctx, base: dict, exe, op: str, n: int, processes: int) -> None:
    """ns per operation from the probe's own clock, one process each: the mean, and the range across processes."""
    per = []
    for _ in range(processes):
        done = run([str(exe), op, str(n)])
        line = [ln for ln in done.stdout.splitlines() if ln.startswith("{")] if done.ok else []
        if not line:
            ctx.record(**base, metric="ns_per_op", unit="ns", status="failed",
                       detail=f"{exe.name} {op} {n}: exit {done.returncode}\n" + "\n".join(done.stderr_tail[-10:]))
            return
        per.append(json.loads(line[-1])["ns"] / n)
    mean = sum(per) / len(per)
    ctx.record(**base, metric="ns_per_op", unit="ns", value=mean, lo=min(per), hi=max(per),
               detail=f"{n} operations per process, {len(per)} processes; lo/hi: the fastest and slowest process")
    ctx.record(**base, metric="ops_per_s", unit="ops/s", value=1e9 / mean, lo=1e9 / max(per), hi=1e9 / min(per))


def _memory_row(ctx, name: str, exe, n: int) -> None:
    """Bytes per event of AllSource's in-memory store, as the micro suite's memory_store rows."""
    base = dict(subject="allframe", config="memory_store", variant=f"AllSource ({name})", item=str(n),
                metric="bytes_per_event", unit="bytes")
    r = run_probe([str(exe), "memory", str(n)])
    before, held, why = growth(r, "ready", "appended")
    if why:
        ctx.record(**base, status="failed", detail=why)
        return
    ctx.record(**base, value=(held - before) / n, detail="(RSS with the store built - RSS before) / events")
