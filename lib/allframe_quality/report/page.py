"""The pages' shared presentation: what every notebook shows the same way, written once.

A notebook is its parameters, `_params.check(globals())`, then a handful of calls into this module and into
its suite's analysis: `measure` (the house theme, the budgets, the suite run with the notebook's own
parameters, and the **Conditions:** line every chart carries as its subtitle), `findings` (the verdict
bullets), `table` (a table in the house number formats, or what to say when it is empty), `draw` and
`draw_each` (a chart, or why there is none), `failures` (what did not measure), the blocks pages share or
keep to one call (`beside_peers`, `against_baseline`, `shares`, `release_step`) and the trends page's
(`start`, `show_history`, `latest_changes`, `trend`).

What shows something returns nothing (a cell's last call never echoes a frame onto the page); the frames
come from the suites' analysis modules, so a cell stays explorable.
"""
from __future__ import annotations

import inspect
import os

import pandas as pd
from IPython.display import Markdown, display

from ..config import budgets
from ..config.budgets import Budgets
from ..core import metadata, params, records
from ..suites import (
    memory_analysis,
    micro_analysis,
    releases_analysis,
    throughput_analysis,
)
from ..verdict import history, regression
from ..verdict.verdicts import Finding
from . import charts, trends

NA = "—"   # a missing value in every table

# One number format per column name, on every page (a column not named here keeps pandas' own format).
FORMATS = {
    # CQRS and micro: operations
    "ops/s": "{:,.0f}", "ns/op": "{:,.1f}", "instructions/op": "{:,.0f}", "bytes/event": "{:,.1f}",
    "target ops/s": "{:,.0f}", "stretch ops/s": "{:,.0f}", "PRD target ops/s": "{:,.0f}",
    # micro: ratios to the best peer, AllSource backends
    "speed ×": "{:.2f}", "speed lo": "{:.2f}", "speed hi": "{:.2f}", "instructions ×": "{:.2f}", "bytes/event ×": "{:.2f}",
    "build s": "{:,.0f}", "binary MB": "{:,.1f}", "append memory ops/s": "{:,.0f}", "append memory instructions": "{:,.0f}",
    "append parquet ops/s": "{:,.0f}", "append parquet instructions": "{:,.0f}",
    # changes against a baseline
    "baseline": "{:,.1f}", "current": "{:,.1f}", "change_pct": "{:+.2f}", "lo_pct": "{:+.2f}", "hi_pct": "{:+.2f}",
    "band_pct": "{:.1f}",
    # demos' scorecard
    "code lines": "{:,.0f}", "release MiB": "{:.2f}", "stripped MiB": "{:.2f}", "start-up ms": "{:.1f}",
    "idle RSS MiB": "{:.1f}", "req/s": "{:,.0f}", "p99 ms": "{:.2f}", "peak RSS MiB": "{:.1f}",
    # coverage
    "line %": "{:.1f}", "region %": "{:.1f}", "function %": "{:.1f}",
    # releases: size steps and crate diffs
    "Δ MiB": "{:+.3f}", "Δ %": "{:+.1f}", "before bytes": "{:,.0f}", "after bytes": "{:,.0f}", "Δ bytes": "{:+,.0f}",
}

# The verdicts the trends page charts when the latest run has more changes than a chart can hold.
NOTABLE = (regression.REGRESSED, regression.IMPROVED, regression.BELOW, regression.UNCONFIRMED)
MANY_CHANGES = 40


def start(budgets_file=None) -> Budgets:
    """The house chart theme, and the budgets (quality.toml, or the notebook's `budgets_file`)."""
    charts.enable()
    return budgets.load(budgets_file)


def note(text: str) -> None:
    """A line of Markdown on the page."""
    display(Markdown(text))


# ---- the run and its conditions ---------------------------------------------------------------------------

def measure(suite, namespace: dict) -> tuple[Budgets, str, pd.DataFrame, str]:
    """The suite's page run: the house theme, the budgets (the notebook's `budgets_file`), then
    `suite.measure` with every parameter the notebook declares that it takes (the others, such as
    `compare_to`, are the page's), and the run's conditions line shown. Returns
    (budgets, run_id, records, conditions)."""
    b = start(namespace.get("budgets_file"))
    name = suite.__name__.rsplit(".", 1)[-1]
    takes = inspect.signature(suite.measure).parameters
    kwargs = {k: namespace[k] for k in params.declared(name) if k in takes and k in namespace}
    run_id, df = suite.measure(**kwargs, budgets=b)
    line = conditions(run_id, name, df, namespace)
    note(f"**Conditions:** {line}")
    return b, run_id, df, line


def parameters(run_id: str, suite: str) -> dict:
    """The suite's parameters as it validated them (a single name given becomes a list)."""
    return records.load_meta(run_id)["suites"][suite]["parameters"]


def conditions(run_id: str, suite: str, df: pd.DataFrame | None = None, namespace: dict | None = None) -> str:
    """The run's one line of measurement conditions (machine, toolchain, AllFrame, machine state) and what
    this suite adds: its pinning, load settings, feature set or releases. Chart subtitles carry it."""
    meta = records.load_meta(run_id)
    s = meta.get("suites", {}).get(suite, {})
    p = {**s.get("parameters", {}), **(namespace or {})}
    if suite == "releases":
        order = releases_analysis.releases(df if df is not None else records.load_records(run_id, suite))
        return (metadata.conditions(meta) + f" · {len(order)} releases ({order[0]} … {order[-1]}), "
                f"{len(s['measured_now'])} parts measured in this run, the rest from the cache")
    line = metadata.conditions(meta, suite)
    if suite in ("cqrs", "micro"):
        line += f" · pinned: {s['pinning']}"
    elif suite == "coverage":
        line += (f" · features {s['features_label']} ({', '.join(s['features']) or 'none'})"
                 f" · lockfile {s.get('lockfile', '?')} · {s.get('tool', '')}")
    elif suite == "demos":
        line += (f" · demo on core {s['pinning']['demo_core']}, wrk on core {s['pinning']['load_core']}"
                 f" · {p['load_duration_s']:g}s load, {p['connections']} connections, {p['starts']} starts")
    elif suite == "throughput":
        line += (f" · servers on core {s['pinning']['server_core']}, wrk on core {s['pinning']['load_core']}"
                 f" · {s['cpu_quota']} · {s['wrk']} · {p['duration_s']:g}s × {p['repeats']} repeats")
    return line


# ---- findings, tables, charts ------------------------------------------------------------------------------

def _measured_used(f: Finding) -> str:
    return f", {f.measured:.1f} MiB used (limit {f.limit:g} MiB)" if f.measured is not None else f" — {f.note}"


def _measured_pct_note(f: Finding) -> str:
    return ((f" — {f.measured:.1f} %" if f.unit == "%" and f.measured is not None else "")
            + (f" ({f.note})" if f.note else ""))


def _note(f: Finding) -> str:
    return f" — {f.note}" if f.note else ""


# What follows a finding's verdict in its bullet, per suite (the others: the verdict alone).
DETAIL = {"memory": _measured_used, "coverage": _measured_pct_note, "releases": _note}


def finding_lines(findings: list[Finding], suite: str | None = None) -> list[str]:
    """One Markdown bullet per finding: **what**: symbol and status, then the suite's detail."""
    detail = DETAIL.get(suite, lambda f: "")
    return [f"- **{f.what}**: {f.label}" + detail(f) for f in findings]


def findings(findings: list[Finding], suite: str | None = None, empty: str | None = None) -> None:
    """The findings as bullets; `empty` is the bullet when there are none (else nothing is shown)."""
    lines = finding_lines(findings, suite) or ([f"- {empty}"] if empty else [])
    if lines:
        note("\n".join(lines))


def styled(frame: pd.DataFrame, fmt=None, precision: int | None = None, thousands: str | None = None,
           index: bool | None = None):
    """The table as the pages show it: `fmt` (one format for every cell, or per column), else `precision`,
    else the house FORMATS of the columns it has; missing values as —; the index only when it is named
    (a pivot's, a groupby's), never a row number."""
    if fmt is None and precision is None:
        fmt = {c: f for c, f in FORMATS.items() if c in frame.columns}
    st = frame.style.format(fmt, na_rep=NA, precision=precision, thousands=thousands)
    if index is None:
        index = any(n is not None for n in frame.index.names)
    return st if index else st.hide(axis="index")


def table(frame: pd.DataFrame, *, drop=(), fmt=None, precision: int | None = None, thousands: str | None = None,
          index: bool | None = None, title: str | None = None, empty: str | None = None) -> None:
    """Show a table (without the columns in `drop`); when it has no rows and `empty` is given, print that
    instead ("" says nothing, title included). `title`: a Markdown line before it."""
    if frame.empty and empty == "":
        return
    if title:
        note(title)
    if frame.empty and empty is not None:
        print(empty)
    else:
        display(styled(frame.drop(columns=list(drop), errors="ignore"), fmt, precision, thousands, index))


def draw(frame: pd.DataFrame, make, *args, need: str | None = None, when: bool = True, empty: str | None = None,
         **kwargs) -> None:
    """Show `make(frame, *args, **kwargs)` when the frame has rows (and a value in its column `need`) and
    `when` holds; otherwise print `empty` if given."""
    has = not frame.empty and (need is None or (need in frame.columns and frame[need].notna().any()))
    if has and when:
        display(make(frame, *args, **kwargs))
    elif empty is not None:
        print(empty)


def draw_each(frame: pd.DataFrame, makes: dict, *args, **kwargs) -> None:
    """`draw` each chart of `makes` ({column: chart function}) whose column has a value."""
    for need, make in makes.items():
        draw(frame, make, *args, need=need, **kwargs)


FAILURE_COLUMNS = ["config", "variant", "item", "metric", "status", "detail"]


def failures(df: pd.DataFrame, empty: str, columns=FAILURE_COLUMNS) -> None:
    """The records that did not measure (status other than ok), or `empty` when every one did."""
    table(df[df["status"] != "ok"][list(columns)], empty=empty)


# ---- blocks two pages share --------------------------------------------------------------------------------

def beside_peers(run_id: str, suite: str, b: Budgets) -> None:
    """AllFrame beside its peers on this page's operations, from this run's micro records or the latest micro
    run's: the ratios to the best peer and the charts (cqrs: speed and instructions; memory: bytes per event
    with the PRD's bound), or how to get a micro run."""
    m = micro_analysis.latest(run_id)
    if m is None:
        print("No micro run yet: run the micro notebook (notebooks/micro.ipynb, or make report) to see AllFrame "
              "beside its peers here.")
        return
    micro_run, mdf = m
    cqrs = suite == "cqrs"
    ratio, t = (micro_analysis.beside(mdf, micro_analysis.CQRS_CONFIGS, b) if cqrs
                else micro_analysis.beside(mdf, micro_analysis.MEMORY_CONFIGS))
    cond = metadata.conditions(records.load_meta(micro_run), "micro")
    note(f"From micro run **{micro_run}**" + (" (this run)." if micro_run == run_id else " (the latest; not this run)."))
    if cqrs:
        if ratio.empty:
            print(f"Micro run {micro_run} measured no CQRS operation for AllFrame and a peer.")
        else:
            display(micro_analysis.ratio_style(ratio))
            draw(ratio, micro_analysis.ratio_chart, cond, need="speed ×")
        draw_each(t, {"ops/s": micro_analysis.speed_chart, "instructions/op": micro_analysis.instructions_chart}, cond)
    else:
        if not ratio.empty:
            display(micro_analysis.ratio_style(ratio.dropna(axis=1, how="all")))
        draw(t, micro_analysis.bytes_chart, cond, need="bytes/event", reference=memory_analysis.bound_per_event(b),
             empty=f"Micro run {micro_run} measured no bytes per event (memory_events=[]).")


NAMES = {"cqrs": "CQRS"}   # a suite's name in a sentence, where it is not its id


def against_baseline(run_id: str, suite: str, compare_to: str | None, b: Budgets, subtitle: str) -> None:
    """This run's changes against the suite's baseline (the previous comparable run, or `compare_to`): the
    table and the chart, or why there is no baseline yet."""
    bases, changes = regression.against_baseline(run_id, [suite], compare_to, b)
    if bases.get(suite) is None:
        print(f"No earlier comparable {NAMES.get(suite, suite)} run on this machine: "
              "this run becomes the next one's baseline.")
        return
    table(changes, drop=["suite", "subject", "variant", "item", "gate_fail"], title=f"Baseline: run **{bases[suite]}**")
    display(charts.changes(changes, b.regression_threshold_pct, subtitle))


def shares(df: pd.DataFrame, b: Budgets, subtitle: str, references=("hyper", "axum", "actix")) -> None:
    """AllFrame's share of each reference's req/s in the same run, one chart per reference that has one
    (nothing when nothing was loaded)."""
    if throughput_analysis.summary(df).empty:
        return
    for ref in references:
        draw(throughput_analysis.relative(df, ref), charts.share_of, throughput_analysis.LABELS[ref],
             b.throughput.min_share_pct.get(ref), subtitle, need="share_pct")


def release_step(df: pd.DataFrame, b: Budgets, step: dict) -> None:
    """One size step between two releases (releases_analysis.largest_steps), explained: cargo-bloat's crates
    that changed most, and the dependency tree's diff."""
    config, before, after = step["config"], step["before"], step["after"]
    note(f"### {b.size.config(config).label}: {before} → {after}, {step['delta'] / 2**20:+.3f} MiB ({step['pct']:+.1f} %)")
    table(releases_analysis.crate_diff(df, config, before, after), title="**Crates (.text bytes, cargo-bloat)**",
          empty="cargo-bloat breakdown not measured for this step")
    table(releases_analysis.dependency_diff(df, config, before, after), title="**Dependency tree**",
          empty="no crate came, went or changed version")


# ---- the trends page ---------------------------------------------------------------------------------------

def history_frame(machine: str | None = None) -> pd.DataFrame:
    """The history, only `machine`'s runs when one is named (an unknown fingerprint is an error naming the
    known ones)."""
    hist = history.load()
    if machine is not None:
        known = sorted(set(hist["fingerprint"]))
        if machine not in known:
            raise ValueError(f"machine {machine!r} is not in the history; valid fingerprints: {known}")
        hist = hist[hist["fingerprint"] == machine]
    return hist


def show_history(machine: str | None = None) -> pd.DataFrame:
    """The history's size (runs, rows, KiB on disk) and its runs per machine; returns the history."""
    hist = history_frame(machine)
    size_kib = os.path.getsize(history.path()) / 1024 if history.path().exists() else 0
    runs = hist["run_id"].nunique()
    note(f"**History:** {runs} runs, {len(hist):,} rows, {size_kib:,.1f} KiB"
         + (f" ({size_kib / runs:,.1f} KiB per run)" if runs else ""))
    table(trends.runs_table(hist))
    return hist


def latest_changes(hist: pd.DataFrame, run_id: str | None, baseline: str | None, b: Budgets) -> None:
    """The run's changes against each suite's baseline: what it was compared with, why a baseline was new, the
    regression list, the verdict counts and the chart (only the notable verdicts when there are many)."""
    if hist.empty:
        print("The history is empty: run the suites first (make report).")
        return
    current = run_id if run_id is not None and run_id in set(hist["run_id"]) else str(hist["run_id"].max())
    bases, changes, notes = regression.against_baseline(current, baseline=baseline, b=b, hist=hist, with_notes=True)
    note(f"Run **{current}** against: " + ", ".join(f"{s} → {r or 'nothing comparable yet'}" for s, r in bases.items()))
    if notes:
        note("\n".join(f"- {n}" for n in notes))
    listed = regression.regression_list(changes)
    note("\n".join(f"- {x}" for x in listed) if listed else
         "No regressions or improvements: every compared metric is unchanged, within noise or below the threshold.")
    if not changes.empty:
        note("Verdicts: " + ", ".join(f"{n} {k}" for k, n in changes["verdict"].value_counts().items()))
        shown = changes[changes["verdict"].isin(NOTABLE)] if len(changes) > MANY_CHANGES else changes
        display(charts.changes(shown, b.regression_threshold_pct, f"run {current}"))


def trend(points: pd.DataFrame, title: str, y_title: str, empty: str | None = None, log: bool = False,
          **kwargs) -> None:
    """A metric over runs (charts.trend), or the Markdown `empty` when there is no point yet. On a log scale
    a value of zero or less has no place (memory used below one page at small N): it is left out."""
    if log:
        points = points[points["value"] > 0]
    if not points.empty:
        display(charts.trend(points, title, y_title, log=log, **kwargs))
    elif empty is not None:
        note(empty)
