"""A/B in one run: two AllFrame sources measured interleaved on the same machine, compared metric by
metric, and a Markdown comparison fit for a PR comment.

Each side is a registry version ("0.1.27"), "pinned" (quality.toml's release) or a local checkout
path (a branch and its merge-base, say). Rounds alternate the order (A B, B A, A B ...) so a
machine's drift hits both sides alike; each round is a normal run under data/ab/<id>/runs/, so
every suite's measuring code is the one the reports use. The comparison reads B against A with
regression.paired: per round, B's value over A's of the same round, with a paired bootstrap interval over
the rounds (at least MIN_ROUNDS of them); exact counts compared exactly. A side that fails to build or to
run, or that does not exist, is a failure of the A/B (exit 1 or 2), never "no regressions".
"""
from __future__ import annotations

import contextlib
import os
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator, Sequence

import pandas as pd

from ..core import markdown as md_fmt
from . import explain
from ..tools import allframe_source
from ..core import registry, atomic, metadata, paths, records
from ..config import budgets as budgets_mod
from ..suites import cqrs, memory, size
from ..verdict import history, regression
from ..config.budgets import BudgetError
from ..core.procs import say
from ..core.records import headline

SUITES = registry.AB_SUITES
MIN_ROUNDS = 5   # fewer paired ratios give no usable interval: every verdict would be "unconfirmed"
DEFAULTS = {
    "size": {"configurations": ["minimal", "default", "cqrs"], "profiles": ["release"]},
    # one process per round: the interleaved rounds are the processes whose means are compared
    "cqrs": {"operations": None, "warm_up_s": 0.5, "measurement_s": 1.0, "sample_size": 10, "processes": 1},
    "memory": {"events": [100_000, 1_000_000], "payloads": ["small", "order"]},
}


@dataclass
class Side:
    name: str                      # "A" or "B"
    spec: str                      # as given
    version: str | None = None     # registry version, or None
    checkout: str | None = None    # checkout path, or None
    label: str = ""
    runs: list[str] = field(default_factory=list)


def parse_side(name: str, spec: str, b: budgets_mod.Budgets) -> Side:
    """'pinned', an exact registry version, a checkout directory or DIR@REV -> a validated Side."""
    spec = str(spec).strip()
    if spec in ("", "pinned"):
        side = Side(name, spec or "pinned")
    elif Path(spec).expanduser().is_dir():
        side = Side(name, spec, checkout=str(Path(spec).expanduser().resolve()))
    elif re.fullmatch(r"\d+\.\d+\.\d+([-+][0-9A-Za-z.-]+)?", spec):
        side = Side(name, spec, version=spec)
    elif "@" in spec and Path(spec.rsplit("@", 1)[0]).expanduser().is_dir():
        # DIR@REV: a git checkout at a revision, exported clean (the work tree is not measured)
        repo, rev = spec.rsplit("@", 1)
        side = Side(name, spec, checkout=str(allframe_source.at_revision(repo, rev)))
        src = allframe_source.resolve(None, side.checkout, b)
        side.label = f"{allframe_source.CRATE} {src.version} ({repo} @ {rev} = {(src.commit or '?')[:10]})"
        return side
    else:
        raise BudgetError(f"side {name} {spec!r} is neither 'pinned', an exact version like "
                          f"{b.allframe_version!r}, an existing checkout directory, nor DIR@REV (a git checkout at a revision)")
    side.label = allframe_source.resolve(side.version, side.checkout, b).label
    return side


@contextlib.contextmanager
def data_root(path: Path) -> Iterator[Path]:
    """Point the data directory (runs, history) at `path` for the block: an A/B never mixes into the
    trends and baselines of regular runs."""
    old = os.environ.get("AFQ_DATA_DIR")
    os.environ["AFQ_DATA_DIR"] = str(path)
    try:
        yield path
    finally:
        if old is None:
            os.environ.pop("AFQ_DATA_DIR", None)
        else:
            os.environ["AFQ_DATA_DIR"] = old


def _measure(suite: str, side: Side, run_id: str, params: dict, first: bool, b, printer) -> None:
    src = dict(allframe_version=side.version, allframe_checkout=side.checkout, run_id=run_id, budgets=b, printer=printer)
    if suite == "size":
        size.measure(params["configurations"], profiles=params["profiles"], peers=False, with_bloat=False, **src)
    elif suite == "cqrs":  # instructions are exact: counted in the first round only
        cqrs.measure(params["operations"], warm_up_s=params["warm_up_s"], measurement_s=params["measurement_s"],
                     sample_size=params["sample_size"], processes=params["processes"], instructions=first, **src)
    elif suite == "memory":
        memory.measure(params["events"], payloads=params["payloads"], heap_profile=False, **src)


def _rounds(side: Side) -> list[pd.DataFrame]:
    """History rows of each of a side's rounds, in round order."""
    return [history.rows_for_run(run_id) for run_id in side.runs]


def _failures(side: Side) -> list[str]:
    """Every failed record of a side's rounds, as 'suite subject/config: first error'."""
    out = []
    for run_id in side.runs:
        df = records.load_records(run_id)
        for r in df[df["status"] == "failed"].drop_duplicates(["suite", "subject", "config", "variant", "metric"]).to_dict("records"):
            what = " / ".join(str(x) for x in (r["subject"], r["config"], r["variant"], r["item"]) if x)
            out.append(f"side {side.name} ({side.label}): {r['suite']} {what} {r['metric']} failed: {headline(r['detail'])}")
    return out


@dataclass
class Comparison:
    ab_id: str
    a: Side
    b: Side
    suites: list[str]
    rounds: int
    changes: pd.DataFrame
    seconds: float
    meta: dict
    threshold_pct: float
    failures: list[str] = field(default_factory=list)
    explanations: list = field(default_factory=list)     # explain.Explained, one per changed metric

    @property
    def regressed(self) -> bool:
        return bool(self.changes["gate_fail"].any()) if not self.changes.empty else False

    @property
    def failed(self) -> bool:
        """Exit 1: a side failed somewhere, or B regressed against A."""
        return self.regressed or bool(self.failures)


def run(a: str, b: str, suites: Sequence[str] = SUITES, *, rounds: int = 5, params: dict | None = None,
        budgets: budgets_mod.Budgets | None = None, printer: Callable[[str], None] | None = say,
        explain_changes: bool = True) -> Comparison:
    bud = budgets or budgets_mod.load()
    suites = budgets_mod.pick_names(suites, SUITES, "A/B suite")
    if rounds < MIN_ROUNDS and any(s != "size" for s in suites):
        raise BudgetError(f"A/B needs at least {MIN_ROUNDS} interleaved rounds for a paired interval over the "
                          f"per-round ratios of {', '.join(s for s in suites if s != 'size')}; got --rounds {rounds}")
    unknown = set(params or {}) - set(SUITES)
    if unknown:
        raise BudgetError(f"parameters for unknown suite(s) {sorted(unknown)}; valid: {list(SUITES)}")
    sides = [parse_side("A", a, bud), parse_side("B", b, bud)]
    ab_id = metadata.new_run_id()
    root = paths.data_dir() / "ab" / ab_id
    started = time.monotonic()
    with data_root(root):
        for suite in suites:
            p = dict(DEFAULTS[suite], **(params or {}).get(suite, {}))
            n = 1 if suite == "size" else rounds      # sizes are deterministic: one build each
            for r in range(n):
                for side in (sides if r % 2 == 0 else sides[::-1]):
                    run_id = f"{ab_id}-{side.name}{r + 1}"
                    if printer:
                        printer(f"A/B {suite} round {r + 1}/{n}: {side.name} = {side.label}")
                    _measure(suite, side, run_id, p, r == 0, bud, printer)
                    if run_id not in side.runs:
                        side.runs.append(run_id)
        changes = regression.paired(_rounds(sides[0]), _rounds(sides[1]), threshold_pct=bud.regression_threshold_pct,
                                    min_rounds=min(MIN_ROUNDS, rounds))
        meta = records.load_meta(sides[0].runs[0])
        failures = _failures(sides[0]) + _failures(sides[1])
    cmp = Comparison(ab_id, sides[0], sides[1], list(suites), rounds, changes, time.monotonic() - started, meta,
                     bud.regression_threshold_pct, failures)
    if explain_changes:   # where each change is: nothing is built again when nothing changed
        cmp.explanations = explain.for_changes(changes, explain.SideSource(sides[0].version, sides[0].checkout),
                                               explain.SideSource(sides[1].version, sides[1].checkout), sides[0].spec,
                                               sides[1].spec, bud, root / "explain", printer)
        explain.save(cmp.explanations, root, ab_id, sides[0].label, sides[1].label)
    atomic.write_text(root / "comparison.md", markdown(cmp))
    changes.to_csv(root / "changes.csv", index=False)
    return cmp


# ---------------------------------------------------------------- the PR comment

def _bytes(v: float) -> str:
    return f"{v:,.0f}"


def markdown(c: Comparison, limit: int = md_fmt.COMMENT_LIMIT) -> str:
    ch = c.changes
    reg = ch[ch["verdict"] == regression.REGRESSED]
    imp = ch[ch["verdict"] == regression.IMPROVED]
    broke = ch[ch["verdict"] == regression.BROKE]
    verdict = ("❌ a side failed" if c.failures else "❌ regressions" if len(reg) or len(broke) else "✅ no regressions")
    m = c.meta.get("machine", {})
    lines = [f"## AllFrame A/B: {verdict}", "",
             f"**A** {md_fmt.cell(c.a.label)} → **B** {md_fmt.cell(c.b.label)}; {len(reg)} regressed, {len(imp)} improved, "
             f"{len(broke)} broke, of {len(ch)} compared metrics. Suites {', '.join(c.suites)}, {c.rounds} interleaved "
             f"rounds (ABAB…), on {md_fmt.cell(m.get('cpu_model'))} ({m.get('cores')} cores), {c.seconds / 60:.1f} min.", ""]
    lines += [f"- ❌ {md_fmt.cell(x)}" for x in c.failures]
    listed = regression.regression_list(ch)
    lines += [f"- {md_fmt.cell(x)}" for x in listed] or ["- no metric changed past the threshold with evidence"]
    sz = ch[(ch["suite"] == "size") & (ch["metric"] == "file_bytes")]
    if not sz.empty:
        lines += ["", "### Size (release binary, bytes)", "", "| configuration | A | B | Δ bytes | Δ % |", "|---|---:|---:|---:|---:|"]
        for r in sz.to_dict("records"):
            if r["verdict"] in (regression.BROKE, regression.NEW, regression.FIXED):
                lines.append(f"| {md_fmt.cell(r['config'])} | {_bytes(r['baseline']) if r['baseline'] == r['baseline'] else '—'} "
                             f"| {_bytes(r['current']) if r['current'] == r['current'] else '—'} | — | {r['verdict']} |")
            else:
                lines.append(f"| {md_fmt.cell(r['config'])} | {_bytes(r['baseline'])} | {_bytes(r['current'])} "
                             f"| {r['current'] - r['baseline']:+,.0f} | {r['change_pct']:+.2f}% |")
    perf = ch[ch["suite"] == "cqrs"]
    if not perf.empty:
        lines += ["", "### CQRS (B against A)", "", "| operation | metric | A | B | change | paired 95% interval | verdict |",
                  "|---|---|---:|---:|---:|---:|---|"]
        lines += [_perf_row(r) for r in perf.to_dict("records")]
    mem = ch[ch["suite"] == "memory"]
    if not mem.empty:
        lines += ["", "<details><summary>Memory (" + str(len(mem)) + " metrics)</summary>", "",
                  "| store / payload / events | metric | A | B | change | verdict |", "|---|---|---:|---:|---:|---|"]
        for r in mem.to_dict("records"):
            ch_pct = "—" if r["change_pct"] != r["change_pct"] else f"{r['change_pct']:+.2f}%"
            lines.append(f"| {md_fmt.cell(r['config'])} / {md_fmt.cell(r['variant'])} / {int(r['item']):,} | {r['metric']} "
                         f"| {r['baseline'] / 2**20:,.2f} MiB | {r['current'] / 2**20:,.2f} MiB | {ch_pct} | {r['verdict']} |")
        lines += ["", "</details>"]
    other = ch[(ch["suite"] == "size") & (ch["metric"] != "file_bytes")]
    if not other.empty:
        lines += ["", "<details><summary>Other size metrics</summary>", "", "| configuration | metric | A | B | Δ % |",
                  "|---|---|---:|---:|---:|"]
        lines += [f"| {md_fmt.cell(r['config'])} | {r['metric']} | {_bytes(r['baseline'])} | {_bytes(r['current'])} | "
                  f"{r['change_pct']:+.2f}% |" for r in other.to_dict("records") if r["baseline"] == r["baseline"]]
        lines += ["", "</details>"]
    footer = ["", f"<sub>A change counts when it is past {c.threshold_pct:g}% (quality.toml) and real: exact for bytes "
              "and instructions; for times and memory the whole paired bootstrap 95% interval of B/A over the interleaved "
              "rounds. A/B "
              f"{c.ab_id}; data under data/ab/{c.ab_id}/.</sub>"]
    if c.explanations:    # where: within what the comment has left (a PR check adds its own lines: keep a margin)
        room = limit - len("\n".join(lines + footer)) - 8_000
        lines += ["", explain.markdown(c.explanations, room, f"data/ab/{c.ab_id}/explanations.json")]
    return md_fmt.fit("\n".join(lines + footer) + "\n", limit)


def _perf_row(r: dict) -> str:
    def v(x):
        return "—" if x != x else f"{x:,.1f}"
    iv = "—" if r["lo_pct"] != r["lo_pct"] or r["lo_pct"] == r["hi_pct"] else f"[{r['lo_pct']:+.1f}, {r['hi_pct']:+.1f}]"
    ch = "—" if r["change_pct"] != r["change_pct"] else f"{r['change_pct']:+.2f}%"
    return f"| {md_fmt.cell(r['config'])} | {r['metric']} | {v(r['baseline'])} | {v(r['current'])} | {ch} | {iv} | {r['verdict']} |"
