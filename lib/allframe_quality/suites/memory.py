"""The memory suite: AllFrame's event store from 10k to 1M+ events, measured from outside the process.

For each run of bench/memory-probe: RSS sampled with psutil (tens of samples a second), the
probe's phases (ready / appending / appended / reading / read / done) timestamped from its stdout,
and the exact peak from the kernel: /proc/<pid>/status VmHWM, read at `done` while the probe waits
on its stdin. (wait4's ru_maxrss is no use here: Linux carries the forking Python process's
high-water mark across exec into it.) A second, dhat-instrumented build gives the
heap's own peak and allocation count. Bytes per event come from a fit of memory against N.
"""
from __future__ import annotations

from typing import Callable, Sequence

import pandas as pd

from ..core import records, registry
from . import contract
from ..core.errors import ParameterError
from ..config.budgets import Budgets, pick_names
from ..core.procs import say
from ..tools.probe import ProbeRun, run_probe, vm_hwm, why_failed  # noqa: F401 (releases reads run_probe here)
from .memory_analysis import SUITE
PACKAGE = "memory-probe"
PAYLOADS = registry.MEMORY_PAYLOADS
BACKENDS = registry.MEMORY_BACKENDS


def measure(
    events: Sequence[int | str] | int | str = (10_000, 100_000, 1_000_000, 4_000_000),
    *,
    payloads: Sequence[str] | str = PAYLOADS,
    backends: Sequence[str] | str = ("memory",),
    heap_profile: bool = True,
    heap_profile_max_events: int = 1_000_000,
    rate_hz: float = 50.0,
    allframe_version: str | None = None,
    allframe_checkout: str | None = None,
    run_id: str | None = None,
    budgets: Budgets | None = None,
    printer: Callable[[str], None] | None = say,
) -> tuple[str, pd.DataFrame]:
    counts = contract.counts(contract.as_list(events, "events"))
    payloads = pick_names(contract.as_list(payloads, "payloads"), PAYLOADS, "payload")
    backends = pick_names(contract.as_list(backends, "backends"), BACKENDS, "backend")
    if rate_hz <= 0:
        raise ParameterError("rate_hz must be positive")

    def collect(ctx: contract.Context) -> None:
        plain = ctx.build(PACKAGE, label="memory-probe [release]")   # each build measured from its own copy
        heap = ctx.build(PACKAGE, features=["dhat-heap"], label="memory-probe [dhat-heap]") if heap_profile else None
        heap_exe = heap.executable if heap is not None and heap.ok else None
        for backend in backends:
            for payload in payloads:
                for n in counts:
                    base = dict(subject="allframe", config=backend, variant=payload, item=str(n))
                    if not plain.ok:
                        ctx.record(**base, metric="peak_rss_bytes", unit="bytes", status="failed", detail=plain.failure_text())
                        continue
                    ctx.say(f"memory: {n:,} {payload} events into the {backend} store ...")
                    r = run_probe([str(plain.executable), str(n), payload, backend], rate_hz=rate_hz)
                    ctx.rows += _rows(dict(suite=SUITE, subject="allframe", config=backend, variant=payload), n, r)
                    ctx.say(f"  {n:,} {payload}/{backend}: " + (f"{r.peak_rss_bytes / 2**20:.1f} MiB peak" if r.ok
                            else "FAILED: " + why_failed(r)) + f", {len(r.samples)} samples")
                    if heap is not None and n <= heap_profile_max_events:
                        _heap_rows(ctx, base, heap, heap_exe, n, payload, backend)

    params = {"events": counts, "payloads": list(payloads), "backends": list(backends), "heap_profile": heap_profile,
              "heap_profile_max_events": heap_profile_max_events, "rate_hz": rate_hz}
    return contract.run(SUITE, collect, parameters=params, packages=[PACKAGE], budgets=budgets,
                     allframe_version=allframe_version, allframe_checkout=allframe_checkout, run_id=run_id, printer=printer)


def _heap_rows(ctx, base: dict, heap, heap_exe, n: int, payload: str, backend: str) -> None:
    if not heap.ok:
        ctx.record(**base, metric="heap_peak_bytes", unit="bytes", status="failed", detail=heap.failure_text())
        return
    h = run_probe([str(heap_exe), str(n), payload, backend], rate_hz=1.0)
    stats = h.phases.get("done", {}).get("heap")
    if h.ok and stats:
        ctx.record(**base, metric="heap_peak_bytes", unit="bytes", value=stats["max_bytes"])
        ctx.record(**base, metric="heap_allocations", unit="count", value=stats["total_blocks"])
        ctx.record(**base, metric="heap_allocated_bytes", unit="bytes", value=stats["total_bytes"])
    else:
        ctx.record(**base, metric="heap_peak_bytes", unit="bytes", status="failed", detail="dhat run: " + why_failed(h))


def _rows(base: dict, n: int, r: ProbeRun) -> list[dict]:
    item = str(n)
    if not r.ok:
        return [records.record(**base, item=item, metric="peak_rss_bytes", unit="bytes", status="failed",
                               detail=why_failed(r))]
    ready = r.phases["ready"]
    baseline = r.rss_at("ready") or r.rss_at("start")
    out = [
        records.record(**base, item=item, metric="peak_rss_bytes", unit="bytes", value=r.peak_rss_bytes,
                       detail="kernel VmHWM at done"),
        records.record(**base, item=item, metric="sampled_max_rss_bytes", unit="bytes", value=max(s[1] for s in r.samples)),
        records.record(**base, item=item, metric="baseline_rss_bytes", unit="bytes", value=baseline),
        records.record(**base, item=item, metric="used_bytes", unit="bytes", value=r.peak_rss_bytes - baseline,
                       detail="kernel peak minus the RSS at ready"),
        records.record(**base, item=item, metric="payload_json_bytes", unit="bytes", value=ready["payload_json_bytes"]),
        records.record(**base, item=item, metric="payload_mem_bytes", unit="bytes", value=ready["payload_mem_bytes"]),
        records.record(**base, item=item, metric="append_seconds", unit="s", value=r.phases["appended"]["seconds"]),
    ]
    for p in ("appended", "read"):
        v = r.rss_at(p)
        if v is not None:
            out.append(records.record(**base, item=item, metric=f"rss_after_{p}_bytes", unit="bytes", value=v))
    for i, (t, rss, phase) in enumerate(r.samples):
        out.append(records.record(**base, item=item, metric="timeline_rss_bytes", unit="bytes", value=rss, sample=i, detail=phase))
        out.append(records.record(**base, item=item, metric="timeline_t", unit="s", value=round(t, 4), sample=i, detail=phase))
    return out
