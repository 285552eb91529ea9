"""The micro suite: AllFrame next to its peers on the same operations (bench/micro, a workspace of its own).

One crate per library; each exposes the same named operations through `timed(op, n)`, built into a
criterion bench (time) and a `*-ops` binary (callgrind instructions at two counts; the fairness scenario;
the memory probe). Criterion runs round-robin — process k of every (operation, library) before process
k + 1 — so a ratio between libraries is taken within one round, where the machine's drift hits both.
"""
from __future__ import annotations

import json
import os
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import pandas as pd

from . import micro_backends, contract
from ..core import paths
from ..core.errors import ParameterError
from ..config.budgets import Budgets, pick_names
from ..tools import cpu
from ..tools.probe import growth, run_probe
from . import timing
from .micro_analysis import OPERATIONS, SUITE, Operation, ratio_rows  # noqa: F401 (the catalogue lives with its analysis)
from ..core.procs import run, say

WORKSPACE = "micro"
GROUP = "micro"


@dataclass(frozen=True)
class Library:
    package: str
    ops_bin: str
    memory: bool = False      # has an in-memory store the memory probe can fill
    scenario: bool = False    # runs the fairness scenario (the order domain's events and read model)
    postgres: bool = False    # needs the harness's PostgreSQL (MICRO_PG_URL): runs only with postgres=True


LIBRARIES = {
    "allframe": Library("micro-allframe", "allframe-ops", memory=True, scenario=True),
    "cqrs-es": Library("micro-cqrs-es", "cqrses-ops", memory=True, scenario=True),
    "handwritten": Library("micro-handwritten", "handwritten-ops"),
    "axum": Library("micro-axum", "axum-ops"),
    "matchit": Library("micro-matchit", "matchit-ops"),
    "serde_json": Library("micro-serde-json", "serdejson-ops"),
    "sqlite-es": Library("micro-sqlite-es", "sqlitees-ops", scenario=True),
    "esrs": Library("micro-esrs", "esrs-ops", scenario=True, postgres=True),
}
# Why AllFrame has no row beside esrs on PostgreSQL.
NO_ALLFRAME_POSTGRES = ("allframe-core 0.1.28 has no PostgreSQL event store: its cqrs-postgres feature only compiles "
                        "allsource-core's `postgres` in, and AllSourceBackend persists to Parquet files "
                        "(measured with backends=True)")


# What the report runs by default (≲ 2 min warm); "all" is the weekly job's full scope.
DEFAULT_OPERATIONS = ("decide", "end_to_end_memory", "append_memory", "replay", "projection_update", "saga_2step",
                      "route_path_100", "json_order")


def choose(operations, libraries) -> tuple[list[str], list[str]]:
    ops = contract.as_list(operations, "operations")
    if ops == ["all"]:
        ops = list(OPERATIONS)
    ops = pick_names(ops or list(DEFAULT_OPERATIONS), tuple(OPERATIONS), "micro operation")
    libs = pick_names(contract.as_list(libraries, "libraries") or list(LIBRARIES), tuple(LIBRARIES), "library")
    if "allframe" not in libs:
        raise ParameterError("libraries must include allframe: every figure here is AllFrame beside a peer")
    return ops, libs


def scenario(executable: Path) -> dict:
    """The fairness scenario's outcome from a library's ops binary (its last stdout line is the JSON)."""
    done = run([str(executable), "scenario"])
    lines = [ln for ln in done.stdout.splitlines() if ln.startswith("{")] if done.ok else []
    if not lines:
        raise RuntimeError(f"{executable.name} scenario failed (exit {done.returncode}): " + "\n".join(done.stderr_tail[-10:]))
    return json.loads(lines[-1])


def measure(
    operations: Sequence[str] | str | None = None,
    *,
    libraries: Sequence[str] | str | None = None,
    warm_up_s: float = 0.3,
    measurement_s: float = 0.5,
    sample_size: int = 10,
    processes: int = 2,
    instructions: bool = True,
    memory_events: Sequence[int | str] | int | str = (100_000,),
    projection_events: Sequence[int | str] | int | str = (10_000, 100_000),
    backends: bool = False,
    postgres: bool = False,
    allframe_version: str | None = None,
    allframe_checkout: str | None = None,
    run_id: str | None = None,
    budgets: Budgets | None = None,
    printer: Callable[[str], None] | None = say,
) -> tuple[str, pd.DataFrame]:
    """Measure the chosen operations for every chosen library that has them; save data/runs/<run_id>/micro.parquet."""
    ops, libs = choose(operations, libraries)
    counts = contract.counts(contract.as_list(memory_events, "memory_events")) if memory_events not in ([], (), 0, None) else []
    sweep = contract.counts(contract.as_list(projection_events, "projection_events")) \
        if projection_events not in ([], (), 0, None) else []
    timing.check_criterion(sample_size, processes, warm_up_s, measurement_s)
    for name, flag in (("backends", backends), ("postgres", postgres)):
        if not isinstance(flag, bool):
            raise ParameterError(f"{name} must be true or false, got {flag!r}")
    tools = [("valgrind", "or pass instructions=False")] \
        if instructions else []
    params = {"operations": ops, "libraries": libs, "warm_up_s": warm_up_s, "measurement_s": measurement_s,
              "sample_size": sample_size, "processes": processes, "instructions": instructions,
              "memory_events": counts, "projection_events": sweep, "backends": backends,
              "postgres": postgres}
    packages = [WORKSPACE, micro_backends.WORKSPACE] if backends else [WORKSPACE]
    return contract.run(SUITE, lambda ctx: _collect(ctx, params), parameters=params, packages=packages, budgets=budgets,
                        allframe_version=allframe_version, allframe_checkout=allframe_checkout, run_id=run_id,
                        printer=printer, tools=tools)


def _wanted(p: dict) -> tuple[set[str], set[str]]:
    """The libraries to build (those with a chosen operation, a store to fill, AllFrame for the projection sweep
    and for any peer's fairness scenario), and those left out because they need PostgreSQL and postgres=False."""
    wanted = {lib for lib in p["libraries"] if any(lib in OPERATIONS[o].libraries for o in p["operations"])
              or (p["memory_events"] and LIBRARIES[lib].memory) or (p["projection_events"] and lib == "allframe")}
    needs_pg = {lib for lib in wanted if LIBRARIES[lib].postgres}
    if not p["postgres"]:
        wanted -= needs_pg
    if any(LIBRARIES[lib].scenario for lib in wanted):
        wanted.add("allframe")          # a peer's scenario is judged against AllFrame's
    return wanted, needs_pg


def _collect(ctx: contract.Context, p: dict) -> None:
    pin, ctx.info["pinning"] = cpu.last_core()
    wanted, needs_pg = _wanted(p)
    with _postgres(bool(p["postgres"] and needs_pg), ctx):
        ws = ctx.workspace / WORKSPACE
        target = paths.cache_dir() / "target-micro"     # its own target dir: never blocks bench/'s builds
        benches, bins = {}, {}
        for lib in sorted(wanted):
            spec = LIBRARIES[lib]
            benches[lib] = ctx.build(spec.package, workspace=ws, bench="micro", target_dir=target, label=f"{lib} [criterion]")
            bins[lib] = ctx.build(spec.package, workspace=ws, bin=spec.ops_bin, target_dir=target, label=f"{lib} [ops]")
        _fairness_rows(ctx, {lib: bins[lib] for lib in sorted(wanted) if LIBRARIES[lib].scenario})
        _not_measured_rows(ctx, p, wanted)
        _operation_rows(ctx, p, wanted, benches, bins, pin)
        for lib in sorted(wanted):
            if LIBRARIES[lib].memory:
                for n in p["memory_events"]:
                    _memory_rows(ctx, lib, bins[lib], n)
        for n in p["projection_events"]:
            _projection_memory_rows(ctx, bins["allframe"], n)
        if p["backends"]:
            counts = p["memory_events"]
            micro_backends.collect(ctx, p["processes"], p["instructions"], counts[-1] if counts else None)
    ctx.rows += ratio_rows(pd.DataFrame(ctx.rows))


def _not_measured_rows(ctx, p: dict, wanted: set[str]) -> None:
    """AllFrame has no PostgreSQL store; a PostgreSQL peer without postgres=True was not started."""
    for o in p["operations"]:
        op = OPERATIONS[o]
        base = dict(config=op.config, variant=op.variant, metric="ns_per_op", unit="ns", status="not_measured")
        if op.variant == "postgres":
            ctx.record(**base, subject="allframe", detail=NO_ALLFRAME_POSTGRES)
        for lib in op.libraries:
            if lib in p["libraries"] and lib not in wanted and LIBRARIES[lib].postgres:
                ctx.record(**base, subject=lib, detail="postgres=False: no PostgreSQL started (the weekly job runs it)")


def _operation_rows(ctx, p: dict, wanted: set[str], benches: dict, bins: dict, pin: list[str]) -> None:
    """Every (operation, library): criterion in rounds, then callgrind's instructions per operation."""
    pairs = [(o, lib) for o in p["operations"] for lib in OPERATIONS[o].libraries if lib in wanted]
    timings, failed = timing.criterion_rounds(ctx, [((o, lib), benches[lib], o, f"{o} / {lib}") for o, lib in pairs],
                                              pin, p, GROUP)
    for o, lib in pairs:
        op = OPERATIONS[o]
        base = dict(subject=lib, config=op.config, variant=op.variant)
        if (o, lib) in failed:
            ctx.record(**base, metric="ns_per_op", unit="ns", status="failed", detail=failed[(o, lib)])
        else:
            timing.time_rows(ctx, base, timings[(o, lib)])
        if p["instructions"]:
            timing.instruction_row(ctx, base, bins[lib], [o], op.callgrind_n)


def _fairness_rows(ctx, built: dict) -> None:
    """Each library's scenario against AllFrame's: the same events per order, rejections and read model,
    or the comparison is not like for like (a failed row, with both outcomes)."""
    outcomes, errors = {}, {}
    for lib, b in built.items():
        try:
            if not b.ok:
                raise RuntimeError(b.failure_text())
            outcomes[lib] = scenario(b.executable)
        except RuntimeError as e:
            errors[lib] = str(e)
    mine = outcomes.get("allframe")
    for lib in built:
        base = dict(subject=lib, config="scenario", metric="same_outcome", unit="bool")
        if lib in errors or mine is None:
            ctx.record(**base, status="failed", detail=errors.get(lib) or "AllFrame's scenario did not run: " + errors["allframe"])
        elif outcomes[lib] == mine:
            ctx.record(**base, value=1.0, detail=json.dumps(mine, sort_keys=True))
        else:
            ctx.record(**base, value=0.0, status="failed", detail=f"{lib}: {json.dumps(outcomes[lib], sort_keys=True)}\n"
                                                                 f"allframe: {json.dumps(mine, sort_keys=True)}")


def _memory_rows(ctx, lib: str, built, n: int) -> None:
    """Bytes per event of the library's in-memory store holding n events: the RSS with the store built
    minus the RSS before it, over n (aggregates of 100 events, one append per aggregate)."""
    base = dict(subject=lib, config="memory_store", variant="memory", item=str(n))
    if not built.ok:
        ctx.record(**base, metric="bytes_per_event", unit="bytes", status="failed", detail=built.failure_text())
        return
    ctx.say(f"memory: {n:,} events into {lib}'s in-memory store ...")
    r = run_probe([str(built.executable), "memory", str(n)])
    before, held, why = growth(r, "ready", "appended")
    if why:
        ctx.record(**base, metric="bytes_per_event", unit="bytes", status="failed", detail=why)
        return
    if held <= before:   # RSS moves in pages and the allocator keeps slack: a small store may not show at all
        ctx.record(**base, metric="bytes_per_event", unit="bytes", status="not_measured",
                   detail=f"the store's growth at {n:,} events is below what RSS sampling resolves "
                          f"(RSS {before:,} → {held:,} bytes); measure with more events")
        return
    ctx.record(**base, metric="bytes_per_event", unit="bytes", value=(held - before) / n,
               detail="(RSS with the store built - RSS before) / events")
    ctx.record(**base, metric="store_rss_bytes", unit="bytes", value=held - before)
    ctx.record(**base, metric="peak_rss_bytes", unit="bytes", value=r.peak_rss_bytes, detail="kernel VmHWM at done")
    ctx.record(**base, metric="fill_seconds", unit="s", value=r.phases["appended"]["seconds"])


def _projection_memory_rows(ctx, built, n: int) -> None:
    """AllFrame's ProjectionRegistry with one projection rebuilt over n events, beside the event store it reads,
    in one process: the store's RSS growth, what the rebuild left resident, and the rebuild's peak above the store."""
    base = dict(subject="allframe", config="projection_memory", item=str(n), metric="bytes_per_event", unit="bytes")
    parts = {"event store": ("ready", "appended"), "projection (retained)": ("appended", "projected"),
             "projection (peak)": ("appended", None)}
    if not built.ok:
        for variant in parts:
            ctx.record(**base, variant=variant, status="failed", detail=built.failure_text())
        return
    ctx.say(f"projection memory: {n:,} events, then one projection rebuilt over them ...")
    r = run_probe([str(built.executable), "projection-memory", str(n)])
    for variant, (before, after) in parts.items():
        lo, hi, why = growth(r, before, after)
        if why:
            ctx.record(**base, variant=variant, status="failed", detail=why)
            continue
        how = f"(RSS at {after} - RSS at {before}) / events" if after else f"(kernel VmHWM - RSS at {before}) / events"
        ctx.record(**base, variant=variant, value=(hi - lo) / n, detail=how)


@contextmanager
def _postgres(on: bool, ctx):
    """The harness's private PostgreSQL for the libraries that need one, its URL in MICRO_PG_URL for their binaries."""
    if not on:
        yield
        return
    from ..tools.postgres import Postgres
    ctx.say("starting a private PostgreSQL for esrs ...")
    before = os.environ.get("MICRO_PG_URL")
    with Postgres() as pg:
        os.environ["MICRO_PG_URL"] = pg.url
        try:
            yield
        finally:
            if before is None:
                os.environ.pop("MICRO_PG_URL", None)
            else:
                os.environ["MICRO_PG_URL"] = before
