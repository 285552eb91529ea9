"""Every change explained: for each metric a comparison found changed, where it happened, from the same
sources built again (cargo's cache makes that a relink at most), with names normalised so two builds match.

    size (file_bytes, stripped_bytes, text_bytes) of a configuration -> explain_size: symbols
    cqrs instructions_per_op of an operation                         -> explain_instructions: functions
                                                                        (and a differential flame graph)
    memory heap metrics (heap_peak_bytes, heap_allocated_bytes, ...) -> explain_heap: allocation sites

Nothing is built or run when nothing changed. Each explanation is kept as records (suite, config, metric,
function, before, after) next to the comparison, and as Markdown for the comment. Run by hand with
`python -m allframe_quality.compare.explain_cli` (explain_cli.py).
"""
from __future__ import annotations

import json
import shlex
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import pandas as pd

from ..core.errors import ToolMissing
from ..config.budgets import BudgetError, Budgets
from ..core import atomic, records
from ..core.procs import say
from ..report import explanations as render
from ..tools import callgrind, dhat, inferno, symbols
from . import explain_heap, explain_instructions, explain_size
from .explain_builds import ExplainError, SideSource, executable

SIZE_METRICS = ("file_bytes", "stripped_bytes", "text_bytes")
INSTRUCTION_METRICS = ("instructions_per_op",)
HEAP_METRICS = ("heap_peak_bytes", "heap_allocated_bytes", "heap_allocations", "bytes_per_event", "peak_rss_bytes")
EXPLAINED_VERDICTS = ("regressed", "improved")
FAILURES = (ExplainError, symbols.SymbolsError, callgrind.CallgrindError, ToolMissing, inferno.InfernoError,
            dhat.DhatError)
HEAP_EVENTS = 2_000        # valgrind's DHAT runs ~50x slower: sites show at a few thousand events
MODULE = "python -m allframe_quality.compare.explain_cli"


@dataclass
class Explained:
    suite: str
    config: str
    metric: str           # the metric that changed (for size: the configuration's, explained once)
    markdown: str
    records: list[dict] = field(default_factory=list)
    seconds: float = 0.0
    error: str = ""
    svg: str = ""
    explanation: object = None


def size_records(e: explain_size.SizeExplanation, config: str, metric: str, limit: int = 500) -> list[dict]:
    out = []
    for r in e.rows.head(limit).to_dict("records"):
        out.append(records.record(suite="size", subject="allframe", config=config, variant="release", item=r["name"],
                                  metric=f"{metric}/explained", unit="bytes", value=float(r["delta"]),
                                  detail=json.dumps(dict(crate=r["crate"], before=int(r["before"]), after=int(r["after"]),
                                                         section=r["section"], kind=r["kind"],
                                                         copies_before=int(r["copies_before"]), copies_after=int(r["copies_after"]),
                                                         share=e.share(r["delta"])))))
    return out


def instruction_records(e: explain_instructions.InstructionExplanation, limit: int = 200) -> list[dict]:
    out = []
    for r in e.rows.head(limit).to_dict("records"):
        out.append(records.record(suite="cqrs", subject="allframe", config=e.operation, item=r["name"],
                                  metric="instructions_per_op/explained", unit="instructions", value=float(r["delta"]),
                                  detail=json.dumps(dict(crate=r["crate"], before=r["excl_a"], after=r["excl_b"],
                                                         share=r["share"], more_calls=r["more_calls"],
                                                         costlier_calls=r["costlier_calls"], incl_before=r["incl_a"],
                                                         incl_after=r["incl_b"], calls_before=r["calls_a"],
                                                         calls_after=r["calls_b"]))))
    return out


def size(a: SideSource, b: SideSource, config: str, budgets: Budgets, work: Path, *, metric: str = "file_bytes",
         reproduce: str = "", printer: Callable[[str], None] | None = None) -> Explained:
    """The size explanation of one configuration: size-probe built for both sides, symbol by symbol."""
    started = time.monotonic()
    c = budgets.size.config(config)
    try:
        pa, _ = executable(a, "size-probe", work / f"A-{config}-size-probe", budgets, features=c.features, printer=printer)
        pb, _ = executable(b, "size-probe", work / f"B-{config}-size-probe", budgets, features=c.features, printer=printer)
    except FAILURES as err:
        return failed("size", config, metric, err, started)
    return size_of(pa, pb, config, f"size, {c.label} ({config}), {metric}", metric=metric, reproduce=reproduce,
                   started=started)


def size_of(pa: Path, pb: Path, config: str, title: str, *, metric: str = "file_bytes", reproduce: str = "",
            started: float | None = None) -> Explained:
    """The size explanation of two executables already built."""
    started = time.monotonic() if started is None else started
    try:
        e = explain_size.explain(pa, pb)
    except FAILURES as err:
        return failed("size", config, metric, err, started)
    return Explained("size", config, metric, render.size_markdown(e, title, reproduce), size_records(e, config, metric),
                     time.monotonic() - started, explanation=e)


def instructions(a: SideSource, b: SideSource, operation: str, budgets: Budgets, work: Path, *, reproduce: str = "",
                 printer: Callable[[str], None] | None = None) -> Explained:
    """The instruction explanation of one CQRS operation: cqrs-ops under callgrind at both sides."""
    started = time.monotonic()
    if operation not in budgets.cqrs.operations:
        raise BudgetError(f"unknown CQRS operation {operation!r}; valid: {list(budgets.cqrs.operations)}")
    try:
        pa, _ = executable(a, "cqrs-bench", work / "A-cqrs-ops", budgets, bin="cqrs-ops", no_default_features=False, printer=printer)
        pb, _ = executable(b, "cqrs-bench", work / "B-cqrs-ops", budgets, bin="cqrs-ops", no_default_features=False, printer=printer)
    except FAILURES as err:
        return failed("cqrs", operation, "instructions_per_op", err, started)
    return instructions_of(pa, pb, operation, budgets, work, reproduce=reproduce, started=started)


def instructions_of(pa: Path, pb: Path, operation: str, budgets: Budgets, work: Path, *, reproduce: str = "",
                    started: float | None = None) -> Explained:
    """The instruction explanation of one operation of two cqrs-ops executables already built."""
    started = time.monotonic() if started is None else started
    n1, n2 = budgets.cqrs.operations[operation].callgrind_n
    try:
        xa = explain_instructions.measure(pa, [operation], n1, n2)
        xb = explain_instructions.measure(pb, [operation], n1, n2)
        e = explain_instructions.explain(operation, xa, xb)
    except FAILURES as err:
        return failed("cqrs", operation, "instructions_per_op", err, started)
    svg = ""
    try:
        svg = str(inferno.diff_svg(explain_instructions.folded_per_op(xa), explain_instructions.folded_per_op(xb),
                                   work / f"{operation}.diff.svg", f"{operation}: instructions per operation, B against A"))
    except (inferno.InfernoError, ToolMissing) as err:     # the table stands without the picture
        svg = f"not drawn: {err}"
    title = f"CQRS {operation}, instructions per operation"
    return Explained("cqrs", operation, "instructions_per_op",
                     render.instructions_markdown(e, title, reproduce, svg=svg), instruction_records(e),
                     time.monotonic() - started, svg=svg, explanation=e)


def heap(a: SideSource, b: SideSource, budgets: Budgets, work: Path, *, events: int = HEAP_EVENTS, payload: str = "small",
         backend: str = "memory", reproduce: str = "", printer: Callable[[str], None] | None = None) -> Explained:
    """The heap explanation of the memory probe: valgrind's DHAT at both sides, allocation sites compared."""
    started = time.monotonic()
    config = f"{backend}/{payload}/{events}"
    try:
        pa, _ = executable(a, "memory-probe", work / "A-memory-probe", budgets, printer=printer)
        pb, _ = executable(b, "memory-probe", work / "B-memory-probe", budgets, printer=printer)
        args = [str(events), payload, backend]
        e = explain_heap.explain(dhat.profile([str(pa), *args]), dhat.profile([str(pb), *args]))
    except FAILURES as err:
        return failed("memory", config, "heap", err, started)
    recs = [records.record(suite="memory", subject="allframe", config=backend, variant=payload, item=r["site"],
                           metric="heap_allocated_bytes/explained", unit="bytes", value=float(r["delta_total"]),
                           detail=json.dumps(dict(before=int(r["total_a"]), after=int(r["total_b"]), peak_before=int(r["peak_a"]),
                                                  peak_after=int(r["peak_b"]), blocks_before=int(r["blocks_a"]),
                                                  blocks_after=int(r["blocks_b"]), events=events)))
            for r in e.rows.head(200).to_dict("records")]
    return Explained("memory", config, "heap", render.heap_markdown(e, f"heap, {backend} store, {payload} events, "
                                                                        f"{events:,} appended and read", reproduce),
                     recs, time.monotonic() - started, explanation=e)


def failed(suite: str, config: str, metric: str, err: Exception, started: float) -> Explained:
    msg = f"could not explain {suite} {config} {metric}: {err}"
    return Explained(suite, config, metric, f"#### Where: {suite} {config} {metric}\n\n❌ {msg}\n", [],
                     time.monotonic() - started, error=msg)


def changed(changes: pd.DataFrame) -> list[tuple[str, str, str]]:
    """(suite, config, metric) worth explaining: a size configuration once (its first changed size metric),
    each operation whose instruction count changed."""
    if changes is None or changes.empty:
        return []
    hit = changes[changes["verdict"].isin(EXPLAINED_VERDICTS)]
    out, seen = [], set()
    for r in hit.to_dict("records"):
        if r["suite"] == "size" and r["metric"] in SIZE_METRICS and r["subject"] == "allframe":
            k = ("size", r["config"])
        elif r["suite"] == "cqrs" and r["metric"] in INSTRUCTION_METRICS:
            k = ("cqrs", r["config"])
        elif r["suite"] == "memory" and r["metric"] in HEAP_METRICS:
            k = ("memory", "heap")          # one heap explanation covers the probe
        else:
            continue
        if k not in seen:
            seen.add(k)
            out.append((k[0], k[1], r["metric"]))
    return out


def reproduce_command(kind: str, a_spec: str, b_spec: str, config: str) -> str:
    opt = {"size": f" --config {config}", "instructions": f" --operation {config}", "heap": ""}[kind]
    return f"{MODULE} {kind} --a {shlex.quote(a_spec)} --b {shlex.quote(b_spec)}{opt}"


def for_changes(changes: pd.DataFrame, a: SideSource, b: SideSource, a_spec: str, b_spec: str, budgets: Budgets,
                work: Path, printer: Callable[[str], None] | None = say) -> list[Explained]:
    """An explanation for each changed metric; none, and nothing built, when nothing changed."""
    out = []
    for suite, config, metric in changed(changes):
        if printer:
            printer(f"explain: {suite} {config} {metric} changed; finding where")
        kind = {"size": "size", "cqrs": "instructions", "memory": "heap"}[suite]
        rep = reproduce_command(kind, a_spec, b_spec, config)
        if suite == "size":
            ex = size(a, b, config, budgets, work, metric=metric, reproduce=rep, printer=printer)
        elif suite == "cqrs":
            ex = instructions(a, b, config, budgets, work, reproduce=rep, printer=printer)
        else:
            ex = heap(a, b, budgets, work, reproduce=rep, printer=printer)
        if printer:
            printer(f"explain: {suite} {config} {metric}: " + (ex.error or f"{len(ex.records)} rows in {ex.seconds:.1f}s"))
        out.append(ex)
    return out


def save(explained: list[Explained], root: Path, run_id: str, a_label: str = "", b_label: str = "") -> Path | None:
    """The explanations kept next to the comparison (nothing when none): their records in the one record
    schema (explanations.parquet) and, for the pages, each one's Markdown and flame graph (explanations.json)."""
    if not explained:
        return None
    rows = [r for x in explained for r in x.records]
    if rows:
        df = records.frame(rows, run_id)
        atomic.write_with(root / "explanations.parquet", lambda p: df.to_parquet(p, index=False))
    return atomic.write_json(root / "explanations.json", {
        "comparison": run_id, "a": a_label, "b": b_label,
        "explanations": [dict(suite=x.suite, config=x.config, metric=x.metric, markdown=x.markdown, svg=x.svg,
                              seconds=round(x.seconds, 1), error=x.error, rows=len(x.records)) for x in explained]})


def markdown(explained: list[Explained], room: int | None = None, kept: str = "explanations.json") -> str:
    """The explanations for a comment within `room` characters: in full; else each without its folded rest;
    else as many of those as fit and a line naming where the others are kept."""
    if not explained:
        return ""
    head = ["### Where the changes are", ""]
    full = "\n".join(head + [x.markdown for x in explained])
    if room is None or len(full) <= room:
        return full
    compact = [render.without_folds(x.markdown) for x in explained]
    out, used = list(head), len(head[0]) + 2
    for i, md in enumerate(compact):
        if used + len(md) + 200 > room:
            out.append(f"… {len(compact) - i} more explanations did not fit this comment: they are in {kept}.")
            break
        out.append(md)
        used += len(md) + 1
    return "\n".join(out)
