"""Explanations of a change, drawn: Markdown for PR comments, A/B and bisect output, and the pages' tables
and Altair charts. Takes the explanation objects of compare/ (size: rows, crates, rest, header(); instructions:
rows, totals) by their attributes (this layer sits below compare/ and imports nothing from it), and the
explanation records kept with a run (explanation_records)."""
from __future__ import annotations

import json
import math

import pandas as pd

from ..core.markdown import cell

TOP = 5


def _b(v) -> str:
    return f"{int(v):,}"


def _d(v) -> str:
    return f"{int(v):+,}"


def _pct(x) -> str:
    return "—" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x * 100:.1f} %"


def _ir(v: float) -> str:
    return f"{v:,.1f}"


def _dir(v: float) -> str:
    return f"{v:+,.1f}"


def _size_rows(rows: pd.DataFrame, total: int) -> list[str]:
    out = ["| Δ bytes | share of Δ | before | after | copies | crate | symbol | section |", "|---:|---:|---:|---:|---:|---|---|---|"]
    for r in rows.to_dict("records"):
        copies = (f"{r['copies_before']}→{r['copies_after']}" if r["copies_before"] != r["copies_after"]
                  else str(r["copies_after"]))
        out.append(f"| {_d(r['delta'])} | {_pct(r['delta'] / total if total else math.nan)} | {_b(r['before'])} "
                   f"| {_b(r['after'])} | {copies} | {cell(r['crate'])} | `{cell(r['name'])[:160]}` | {r['section']} |")
    return out


def size_markdown(e, title: str, reproduce: str = "", top: int = TOP, more_rows: int = 40) -> str:
    """One size explanation: the bloat-o-meter line, how much the rows explain, the top rows, the rest folded."""
    total = e.file_delta
    lines = [f"#### Where: {title}", "",
             f"`{e.header()}` · file {_b(e.file_before)} → {_b(e.file_after)} bytes ({_d(total)}); the symbols below "
             f"explain {_d(e.explained)} ({_pct(e.explained / total if total else math.nan)}) of it.", ""]
    if e.rows.empty:
        lines += ["No function or data symbol changed size (names normalised: hashes, disambiguators and clone "
                  "suffixes removed)."]
    else:
        lines += _size_rows(e.rows.head(top), total)
    more = e.rows.iloc[top:]
    fold = []
    if not more.empty:
        fold += ["", f"{len(more)} more symbols:", "", *_size_rows(more.head(more_rows), total)]
        if len(more) > more_rows:
            fold.append(f"| {_d(more.iloc[more_rows:]['delta'].sum())} | | | | | | … {len(more) - more_rows} more symbols, "
                        "kept with the run | |")
    if not e.crates.empty:
        fold += ["", "By crate (every symbol, not only .text):", "", "| crate | before | after | Δ bytes |", "|---|---:|---:|---:|"]
        fold += [f"| {cell(r['crate'])} | {_b(r['before'])} | {_b(r['after'])} | {_d(r['delta'])} |"
                 for r in e.crates.head(30).to_dict("records")]
    if not e.rest.empty:
        fold += ["", "The rest of the file's Δ, by section:", "", "| part | before | after | Δ bytes |", "|---|---:|---:|---:|"]
        fold += [f"| {cell(r['part'])} | {_b(r['before'])} | {_b(r['after'])} | {_d(r['delta'])} |"
                 for r in e.rest.to_dict("records")]
    if fold:
        lines += ["", "<details><summary>More symbols, crates, and the rest of the Δ</summary>", *fold, "", "</details>"]
    if reproduce:
        lines += ["", f"Reproduce: `{reproduce}`"]
    return "\n".join(lines) + "\n"


def without_folds(md: str) -> str:
    """An explanation's Markdown without its folded rest (<details> blocks): what fits a crowded comment."""
    import re
    return re.sub(r"\n*<details>.*?</details>\n*", "\n\n(more rows are kept with the comparison)\n\n", md, flags=re.S)


def _instr_rows(rows: pd.DataFrame) -> list[str]:
    out = ["| Δ Ir/op | share of Δ | called more often | each call costs more | A excl | B excl | A incl | B incl "
           "| calls/op A → B | function |", "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
    for r in rows.to_dict("records"):
        out.append(f"| {_dir(r['delta'])} | {_pct(r['share'])} | {_dir(r['more_calls'])} | {_dir(r['costlier_calls'])} "
                   f"| {_ir(r['excl_a'])} | {_ir(r['excl_b'])} | {_ir(r['incl_a'])} | {_ir(r['incl_b'])} "
                   f"| {r['calls_a']:,.3g} → {r['calls_b']:,.3g} | `{cell(r['name'])[:160]}` |")
    return out


def instructions_markdown(e, title: str, reproduce: str = "", top: int = TOP, svg: str = "", more_rows: int = 40) -> str:
    """One instruction explanation: the operation's Δ, the top functions with their share of it, the rest folded."""
    explained = e.rows.head(top)["delta"].sum() if not e.rows.empty else 0.0
    lines = [f"#### Where: {title}", "",
             f"Instructions per operation {_ir(e.total_a)} → {_ir(e.total_b)} ({_dir(e.delta)}); the top "
             f"{min(top, len(e.rows))} functions explain {_pct(explained / e.delta if e.delta else math.nan)} of it "
             "(exclusive Ir per operation, from callgrind at the suite's two operation counts; inlining moves cost "
             "between functions, the inclusive columns are steadier).", ""]
    lines += _instr_rows(e.rows.head(top)) if not e.rows.empty else ["No function's cost per operation changed by half an instruction or more."]
    more = e.rows.iloc[top:]
    if not more.empty:
        lines += ["", f"<details><summary>{len(more)} more functions</summary>", "", *_instr_rows(more.head(more_rows)), "",
                  "</details>"]
    if svg:
        lines += ["", f"Differential flame graph (B against A; red: more instructions): `{svg}`"]
    if reproduce:
        lines += ["", f"Reproduce: `{reproduce}`"]
    return "\n".join(lines) + "\n"


def heap_markdown(e, title: str, reproduce: str = "", top: int = TOP) -> str:
    """One heap explanation: allocation sites (top user frames) by Δ total bytes and Δ bytes at the peak."""
    lines = [f"#### Where: {title}", "",
             f"Heap: total {_b(e.total_a)} → {_b(e.total_b)} bytes ({_d(e.total_b - e.total_a)}), at the global peak "
             f"{_b(e.peak_a)} → {_b(e.peak_b)} ({_d(e.peak_b - e.peak_a)}); program points grouped by their top "
             "user frames (dhat).", ""]
    rows = e.rows
    head = ["| Δ total bytes | Δ at peak | Δ blocks | total A → B | allocation site |", "|---:|---:|---:|---:|---|"]

    def fmt(rs):
        return [f"| {_d(r['delta_total'])} | {_d(r['delta_peak'])} | {_d(r['delta_blocks'])} | {_b(r['total_a'])} → "
                f"{_b(r['total_b'])} | `{cell(r['site'])[:200]}` |" for r in rs.to_dict("records")]
    lines += (head + fmt(rows.head(top))) if not rows.empty else ["No allocation site changed."]
    if len(rows) > top:
        lines += ["", f"<details><summary>{len(rows) - top} more sites</summary>", "", *head, *fmt(rows.iloc[top:top + 100]),
                  "", "</details>"]
    if reproduce:
        lines += ["", f"Reproduce: `{reproduce}`"]
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------- the pages: from the records kept with a run

def explanation_records(df: pd.DataFrame) -> pd.DataFrame:
    """Explanation records (metric ending in `/explained`) as a flat table: suite, config, metric, function,
    crate, before, after, delta, share (before/after/... from each record's detail)."""
    ex = df[df["metric"].str.endswith("/explained")] if not df.empty else df
    rows = []
    for r in ex.to_dict("records"):
        d = json.loads(r["detail"] or "{}")
        rows.append(dict(suite=r["suite"], config=r["config"], metric=r["metric"].rsplit("/", 1)[0], function=r["item"],
                         delta=r["value"], unit=r["unit"], **d))
    return pd.DataFrame(rows)


def chart(table: pd.DataFrame, title: str, top: int = 12, name: str = "function", unit: str = ""):
    """Altair bars: the top rows of one explanation by Δ, grown red and shrunk blue, the function (or symbol,
    `name`) on the axis."""
    import altair as alt
    t = table.assign(_abs=table["delta"].abs()).sort_values("_abs", ascending=False).head(top).drop(columns="_abs")
    t = t.assign(label=t[name].str.slice(0, 90), direction=t["delta"].map(lambda v: "grew" if v > 0 else "shrank"))
    unit = unit or (t["unit"].iloc[0] if "unit" in t and len(t) else "")
    return (alt.Chart(t).mark_bar().encode(
        x=alt.X("delta:Q", title=f"Δ {unit}"),
        y=alt.Y("label:N", sort=alt.EncodingSortField("delta", op="sum", order="descending"), title=None),
        color=alt.Color("direction:N", scale=alt.Scale(domain=["grew", "shrank"], range=["#c0392b", "#2e86c1"]), legend=None),
        tooltip=[c for c in (name, "crate", "before", "after", "delta", "share") if c in t.columns],
    ).properties(title=title, width=520, height=max(60, 18 * len(t))))


def page_section(records: pd.DataFrame, suite: str, top: int = TOP) -> str:
    """Markdown for a page: each explained change of `suite` kept with the run, its top rows (or a line saying
    that nothing changed, so no explanation was needed)."""
    t = explanation_records(records)
    t = t[t["suite"] == suite] if not t.empty else t
    if t.empty:
        return f"No {suite} change was explained in this run: explanations are made where a comparison found a change.\n"
    out = []
    for (config, metric), g in t.groupby(["config", "metric"], sort=True):
        g = g.assign(_abs=g["delta"].abs()).sort_values("_abs", ascending=False)
        out += [f"**{cell(config)} · {metric}**: {len(g)} rows, the top {min(top, len(g))}:", "",
                "| Δ | before | after | function |", "|---:|---:|---:|---|"]
        out += [f"| {r['delta']:+,.1f} | {r.get('before', float('nan')):,.1f} | {r.get('after', float('nan')):,.1f} | "
                f"`{cell(r['function'])[:160]}` |" for r in g.head(top).to_dict("records")]
        out.append("")
    return "\n".join(out)


def release_steps_markdown(steps: list[tuple[dict, pd.DataFrame]], labels: dict[str, str] | None = None,
                           top: int = TOP) -> str:
    """The releases page: each of the largest steps (releases_analysis.step_explanations) with its top
    symbols, the rest folded; a step whose symbols were not taken says so."""
    if not steps:
        return "No size step between the measured releases.\n"
    out = []
    for s, rows in steps:
        cfg = (labels or {}).get(s["config"], s["config"])
        total = int(s["delta"])
        head = f"**{cfg}, {s['before']} → {s['after']}**: {total:+,} bytes ({s['pct']:+.1f} %)"
        if rows.empty:
            out += [head + ": its symbols were not taken (see the releases suite's records for why).", ""]
            continue
        explained = int(rows["delta"].sum())
        out += [head + f"; the symbols explain {explained:+,} ({_pct(explained / total if total else math.nan)}).", "",
                *_size_rows(rows.head(top), total), ""]
        if len(rows) > top:
            out += [f"<details><summary>{len(rows) - top} more symbols</summary>", "", *_size_rows(rows.iloc[top:top + 60], total),
                    "", "</details>", ""]
    return "\n".join(out)


# ---------------------------------------------------------------- the pages' cells

def latest_comparison(root) -> dict | None:
    """The newest A/B or PR check under `root` (data/ab) that explained something: its explanations.json."""
    from pathlib import Path
    found = sorted(Path(root).glob("*/explanations.json")) if Path(root).is_dir() else []
    return json.loads(found[-1].read_text()) if found else None


def show_latest(suite: str | None) -> None:
    """A page's cell: where the newest comparison's changes of `suite` (None: every suite) are, as it
    explained them (top rows, the rest folded, the flame graph of an instruction change), or one line
    saying that no comparison explained one."""
    from pathlib import Path
    from IPython.display import SVG, Markdown, display
    from ..core import paths
    doc = latest_comparison(paths.data_dir() / "ab")
    heading = "## Where the changes are (the latest A/B or PR check)\n\n"
    items = [x for x in (doc or {}).get("explanations", []) if suite is None or x["suite"] == suite]
    if not items:
        display(Markdown(heading + f"No {'' if suite is None else suite + ' '}change was explained: explanations are made "
                         "where an A/B, a PR check or a bisect found one (`make ab`, `make pr-check`, `make bisect`)."))
        return
    display(Markdown(heading + f"A/B {doc['comparison']}: **A** {cell(doc['a'])} → **B** {cell(doc['b'])}."))
    for x in items:
        display(Markdown(x["markdown"]))
        svg = Path(x.get("svg") or "")
        if x.get("svg") and svg.is_file():
            display(SVG(svg.read_text()))


def show_release_steps(df: pd.DataFrame, b, n: int = TOP) -> None:
    """The releases page's cell: each of the n largest steps per symbol, and a chart of the largest."""
    from IPython.display import Markdown, display
    from ..suites import releases_analysis
    steps = releases_analysis.step_explanations(df, n)
    labels = {c: b.size.config(c).label for c in b.size.configurations}
    display(Markdown("## The largest steps, per symbol\n\nEvery function and data symbol of both executables (names "
                     "normalised: hashes, disambiguators and clone suffixes removed; anonymous data charged to what points "
                     "to it), so a step reads per function, not only per crate.\n\n" + release_steps_markdown(steps, labels)))
    if steps and not steps[0][1].empty:
        s = steps[0][0]
        display(chart(steps[0][1], f"{labels.get(s['config'], s['config'])} {s['before']} → {s['after']}: the largest "
                      "symbol changes", name="name", unit="bytes"))
