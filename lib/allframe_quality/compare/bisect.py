"""Bisect: the first release (or commit of a local AllFrame checkout) where a metric crossed its limit or
stepped past a threshold.

    METRIC=size.full.file_bytes GOOD=0.1.20 BAD=0.1.28          releases of the registry, between the two
    METRIC=... CHECKOUT=path GOOD=rev BAD=rev                   commits on BAD's first-parent line

Each point is measured by the releases suite's parts (releases.Measurer), so a release measured once,
by the releases notebook or an earlier bisect, is never built again. A point that cannot be measured
(not in that release, the probe does not apply, AllFrame does not build) is skipped, as `git bisect
skip` would. The answer: the culprit, every step measured, the cargo-bloat crate diff and the
dependency diff across the culprit, as Markdown fit for an issue or PR comment.
"""
from __future__ import annotations

import math
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import pandas as pd

from ..tools import allframe_source
from . import explain
from ..core import records
from ..suites import releases
from ..config.budgets import BudgetError, Budgets
from ..config import budgets as budgets_mod
from ..core.procs import say
from ..suites.releases_analysis import crate_diff, dependency_diff, semver

METRICS = {"size": ("file_bytes", "stripped_bytes"), "cqrs": ("instructions_per_op",), "memory": ("bytes_per_event",)}


@dataclass(frozen=True)
class MetricSpec:
    kind: str        # size | cqrs | memory
    config: str      # size configuration, CQRS operation, or "memory"
    metric: str
    part: str        # the releases part that measures it
    limit: float | None = None   # the PRD's hard limit, in the metric's unit, where there is one

    @property
    def name(self) -> str:
        return f"{self.kind}.{self.config}.{self.metric}" if self.kind != "memory" else f"memory.{self.metric}"

    @property
    def explained_by(self) -> str:
        """The size configuration whose crates and dependencies explain a step."""
        return self.config if self.kind == "size" else "cqrs"


def parse_metric(spec: str, b: Budgets, memory_events: int = 1_000_000) -> MetricSpec:
    """'size.<configuration>.file_bytes|stripped_bytes', 'cqrs.<operation>.instructions_per_op', 'memory.bytes_per_event'."""
    parts = str(spec).split(".")
    valid = ([f"size.{c}.{m}" for c in b.size.configurations for m in METRICS["size"]]
             + [f"cqrs.{o}.instructions_per_op" for o in b.cqrs.operations if o in releases.OP_FEATURES]
             + ["memory.bytes_per_event"])
    if spec not in valid:
        raise BudgetError(f"unknown metric {spec!r}; valid: {', '.join(valid)}")
    if parts[0] == "size":
        c = b.size.config(parts[1])
        return MetricSpec("size", parts[1], parts[2], f"size-{parts[1]}",
                          c.limit_mib * b.size.unit_bytes if c.limit_mib is not None and parts[2] == "file_bytes" else None)
    if parts[0] == "cqrs":
        return MetricSpec("cqrs", parts[1], parts[2], "cqrs")
    return MetricSpec("memory", "memory", "bytes_per_event", f"memory-{memory_events}")


@dataclass
class Step:
    key: str
    label: str
    value: float | None
    why: str = ""          # why not measured
    verdict: str = ""      # good | bad | skipped


@dataclass
class Result:
    metric: MetricSpec
    threshold_pct: float
    steps: list[Step]                 # in the order measured
    order: list[str]                  # every candidate key, oldest first
    culprit: str | None = None
    last_good: str | None = None
    skipped_between: list[str] = field(default_factory=list)
    crates: pd.DataFrame | None = None
    deps: pd.DataFrame | None = None
    message: str = ""
    labels: dict = field(default_factory=dict)
    explanation: explain.Explained | None = None    # where the step is, across the culprit

    @property
    def found(self) -> bool:
        return self.culprit is not None


def _value(m: releases.Measurer, spec: MetricSpec) -> tuple[float | None, str, list[dict]]:
    rows = m.part(spec.part).rows
    hit = [r for r in rows if r["config"] == spec.config and r["metric"] == spec.metric]
    if not hit:
        return None, f"no {spec.metric} row for {spec.config}", rows
    r = hit[0]
    if r["status"] == "ok":
        return float(r["value"]), "", rows
    return None, records.headline(r["detail"], 160), rows


def run(metric: str, good: str, bad: str, *, checkout: str | None = None, threshold_pct: float | None = None,
        budgets: Budgets | None = None, printer: Callable[[str], None] | None = say) -> Result:
    b = budgets or budgets_mod.load()
    spec = parse_metric(metric, b)
    thr = b.regression_threshold_pct if threshold_pct is None else float(threshold_pct)
    if thr <= 0:
        raise BudgetError(f"threshold must be a positive percentage, got {thr}")
    order, labels, subject = _commits(checkout, good, bad) if checkout else _releases(good, bad)
    measurers: dict[str, releases.Measurer] = {}
    steps: list[Step] = []

    def measure(key: str) -> Step:
        m = measurers.setdefault(key, releases.Measurer(subject(key), b, printer))
        if printer:
            printer(f"bisect: measuring {labels[key]} ({len(steps) + 1} measured so far)")
        v, why, _ = _value(m, spec)
        st = Step(key, labels[key], v, why)
        steps.append(st)
        return st

    res = Result(spec, thr, steps, order, labels=labels)
    g, last = measure(order[0]), measure(order[-1])
    if g.value is None or last.value is None:
        which = g if g.value is None else last
        res.message = f"cannot bisect: {spec.name} is not measurable at {which.label}: {which.why}"
        return res

    def is_bad(v: float) -> bool:
        crossed = spec.limit is not None and g.value <= spec.limit < v
        return crossed or v > g.value * (1 + thr / 100)

    g.verdict = "good"
    if not is_bad(last.value):
        last.verdict = "good"
        res.message = (f"nothing to bisect: {spec.name} at {last.label} is {_fmt(last.value, spec)}, against "
                       f"{_fmt(g.value, spec)} at {g.label} ({_pct(g.value, last.value)}): not past {thr:g}%"
                       + (f" nor across the limit {_fmt(spec.limit, spec)}" if spec.limit else ""))
        return res
    last.verdict = "bad"
    _search(res, order, measure, is_bad)
    _explain_across(res, spec, b, lambda key: measurers.setdefault(key, releases.Measurer(subject(key), b, printer)),
                    printer)
    return res


def _commits(checkout: str, good: str, bad: str):
    """The checkout's commits from good to bad (first-parent), their labels, and each one's subject, exported when measured."""
    shas = allframe_source.revisions_between(checkout, good, bad)
    subjects = {s: None for s in shas}      # made when measured: each is an exported tree

    def subject(key: str) -> releases.Subject:
        if subjects[key] is None:
            subjects[key] = releases.of_checkout(allframe_source.at_revision(checkout, key))
        return subjects[key]
    labels = {s: f"{s[:10]} {allframe_source.git(checkout, 'log', '-1', '--format=%s', s)[:60]}" for s in shas}
    return shas, labels, subject


def _releases(good: str, bad: str):
    """The registry's releases from good to bad (yanked ones only as the ends), their labels, and each one's subject."""
    all_r = {r.version: r for r in releases.list_releases()}
    for v in (good, bad):
        if v not in all_r:
            raise BudgetError(f"allframe-core has no release {v!r} on the registry; valid: {list(all_r)}")
    if semver(good) >= semver(bad):
        raise BudgetError(f"GOOD {good} must be an older release than BAD {bad}")
    order = [v for v in all_r if semver(good) <= semver(v) <= semver(bad) and (not all_r[v].yanked or v in (good, bad))]
    labels = {v: v + (" (yanked)" if all_r[v].yanked else "") for v in order}
    return order, labels, lambda key: releases.of_release(all_r[key])


def _search(res: Result, order: list[str], measure, is_bad) -> None:
    """Binary search between the good first and the bad last point; a point that cannot be measured is skipped."""
    lo, hi, skipped = 0, len(order) - 1, set()
    while hi - lo > 1:
        cands = [i for i in range(lo + 1, hi) if i not in skipped]
        if not cands:
            break
        mid = cands[len(cands) // 2]
        st = measure(order[mid])
        if st.value is None:
            st.verdict = "skipped"
            skipped.add(mid)
        elif is_bad(st.value):
            st.verdict, hi = "bad", mid
        else:
            st.verdict, lo = "good", mid
    res.culprit, res.last_good = order[hi], order[lo]
    res.skipped_between = [order[i] for i in range(lo + 1, hi)]


def _explain_across(res: Result, spec: MetricSpec, b: Budgets, measurer, printer) -> None:
    """Across the culprit: crates, dependencies, and the explanation per symbol or function."""
    cfg = spec.explained_by
    good, bad = measurer(res.last_good), measurer(res.culprit)
    df = pd.DataFrame([row for m in (good, bad) for row in m.part(f"size-{cfg}").rows + m.part(f"bloat-{cfg}").rows])
    res.crates = crate_diff(df, cfg, good.s.key, bad.s.key, top=12)
    res.deps = dependency_diff(df, cfg, good.s.key, bad.s.key)
    res.explanation = explain_culprit(spec, good, bad, b, f"{res.labels[res.last_good]} → {res.labels[res.culprit]}")
    if printer and res.explanation:
        printer(f"bisect: explained across the culprit in {res.explanation.seconds:.1f}s"
                + (f" ({res.explanation.error})" if res.explanation.error else ""))


def explain_culprit(spec: MetricSpec, good: releases.Measurer, bad: releases.Measurer, b: Budgets,
                    step: str) -> explain.Explained | None:
    """Where the step is: symbols for a size metric, functions for instructions (memory: not yet)."""
    started = time.monotonic()
    work = Path(tempfile.mkdtemp(prefix="afq-bisect-explain-"))
    try:
        if spec.kind == "size":
            c = b.size.config(spec.config)
            pa, pb = (m.executable("size-probe", f"{spec.config} [release] to explain", features=c.features,
                                   no_default_features=True) for m in (good, bad))
            return explain.size_of(pa, pb, spec.config, f"size, {c.label} ({spec.config}), {step}", metric=spec.metric,
                                   started=started)
        if spec.kind == "cqrs":
            feats = sorted({releases.OP_FEATURES[o] for o in b.cqrs.operations if o in releases.OP_FEATURES})
            pa, pb = (m.executable("cqrs-bench", "cqrs-ops to explain", features=feats, bin="cqrs-ops",
                                   no_default_features=True) for m in (good, bad))
            return explain.instructions_of(pa, pb, spec.config, b, work, started=started)
    except releases.ReleasesError as e:
        return explain.failed(spec.kind, spec.config, spec.metric, e, started)
    return None


def _fmt(v: float | None, spec: MetricSpec) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "—"
    if spec.metric.endswith("_bytes") and spec.kind == "size":
        return f"{v:,.0f} bytes ({v / 2**20:.2f} MiB)"
    return f"{v:,.1f}"


def _pct(a: float, b: float) -> str:
    return f"{(b - a) / a * 100:+.1f} %" if a else "—"


def markdown(r: Result) -> str:
    spec = r.metric
    good = next((s for s in r.steps if s.key == r.order[0]), None)
    lines = [f"## Bisect: `{spec.name}`", ""]
    if not r.found:
        lines += [f"**No culprit.** {r.message}", ""]
    else:
        by = {s.key: s for s in r.steps}
        c, lg = by[r.culprit], by[r.last_good]
        lines += [f"**First bad: {c.label}** (last good: {lg.label}). {spec.name}: {_fmt(lg.value, spec)} → "
                  f"{_fmt(c.value, spec)} ({_pct(lg.value, c.value)}); a step counts past {r.threshold_pct:g} % above "
                  f"{good.label if good else r.order[0]}'s {_fmt(good.value if good else None, spec)}"
                  + (f" or across the limit {_fmt(spec.limit, spec)}" if spec.limit else "") + ".", ""]
        if r.skipped_between:
            lines += [f"⚠️ Between them, {len(r.skipped_between)} point(s) could not be measured, so the change is in one of "
                      f"{', '.join(r.labels[k] for k in r.skipped_between)} or {c.label}.", ""]
    lines += [f"### Steps measured ({len(r.steps)} of {len(r.order)} candidates)", "", "| # | point | value | verdict |",
              "|---:|---|---:|---|"]
    lines += [f"| {i + 1} | {s.label} | {_fmt(s.value, spec) if s.value is not None else s.why} | {s.verdict or '—'} |"
              for i, s in enumerate(r.steps)]
    if r.found:
        cfg = spec.explained_by
        lines += ["", f"### Crates across the culprit (cargo-bloat .text, {cfg} configuration)", ""]
        if r.crates is not None and not r.crates.empty:
            lines += ["| crate | before | after | Δ bytes |", "|---|---:|---:|---:|"]
            lines += [f"| {x['crate']} | {x['before bytes']:,.0f} | {x['after bytes']:,.0f} | {x['Δ bytes']:+,.0f} |"
                      for x in r.crates.to_dict("records")]
        else:
            lines += ["no crate's .text changed (or cargo-bloat could not attribute them)"]
        lines += ["", f"### Dependency tree across the culprit ({cfg} configuration)", ""]
        if r.deps is not None and not r.deps.empty:
            lines += ["| crate | change | before | after |", "|---|---|---|---|"]
            lines += [f"| {x['crate']} | {x['change']} | {x['before']} | {x['after']} |" for x in r.deps.to_dict("records")]
        else:
            lines += ["no crate came, went or changed version"]
        if r.explanation is not None:
            lines += ["", "### Where, across the culprit", "", r.explanation.markdown]
    return "\n".join(lines) + "\n"
