"""Publishing: execute notebooks with papermill, render them offline with nbconvert, write the site index.

Executed notebooks go to build/notebooks/ (outside git), pages to site/. Every page carries one
inline Vega bundle and no <script src>, so charts draw with no network (see
shared/reference/offline-charts.md). Each file is written atomically; the index is written last.
"""
from __future__ import annotations

import datetime as dt
import html
import json
import shutil
import sys
import time
from functools import lru_cache
from pathlib import Path

import nbformat
import papermill
from nbconvert import HTMLExporter

from ..core import markdown, registry, atomic, metadata, paths, records
from . import badges
from ..suites import gate
from ..verdict import history, regression
from ..verdict.verdicts import Verdict

# The report's notebooks in page order, and the ones that measure (trends reads the history): the registry's
NOTEBOOKS = registry.PAGES
SUITE_NOTEBOOKS = registry.MEASURING
TEMPLATES = Path(__file__).parent / "templates"


class PublishError(RuntimeError):
    pass


def execute(name: str, parameters: dict | None = None, out_dir: Path | None = None,
            stream: bool = True) -> Path:
    """Run notebooks/<name>.ipynb with papermill; the executed copy lands in build/notebooks/.

    A failing cell still leaves the executed copy (with the traceback) for the report, then raises.
    """
    if name not in NOTEBOOKS:
        raise PublishError(f"unknown notebook {name!r}; valid: {sorted(NOTEBOOKS)}")
    src = paths.NOTEBOOKS / f"{name}.ipynb"
    out = (out_dir or paths.build_dir() / "notebooks") / f"{name}.ipynb"
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{name}.running.ipynb")
    try:
        papermill.execute_notebook(
            str(src), str(tmp), parameters=parameters or {}, cwd=str(paths.NOTEBOOKS),
            kernel_name="python3", progress_bar=False, stdout_file=sys.stdout if stream else None,
            stderr_file=sys.stderr if stream else None)
    finally:
        if tmp.exists():
            tmp.replace(out)
    return out


@lru_cache(maxsize=1)
def _vega_resources() -> dict:
    import altair.vegalite.v6.display as d
    import vl_convert

    debug = {"vega_version": d.VEGA_VERSION, "vegalite_version": d.VEGALITE_VERSION, "vegaembed_version": d.VEGAEMBED_VERSION}
    vl = "v" + ".".join(d.VEGALITE_VERSION.split(".")[:2])
    return {"vega_debug": json.dumps(debug), "vega_bundle": vl_convert.javascript_bundle(vl_version=vl)}


PROGRESS_TAG = "progress-log"


def drop_progress_logs(nb) -> None:
    """Build and run logs are for people watching a run, not for the report: cells tagged
    `progress-log` lose their stdout/stderr streams on the page; their errors and displays stay."""
    for cell in nb.cells:
        if PROGRESS_TAG in cell.get("metadata", {}).get("tags", []):
            cell.outputs = [o for o in cell.get("outputs", []) if o.get("output_type") != "stream"]


def render(executed: Path, out_html: Path) -> Path:
    """One offline HTML page from an executed notebook (code cells hidden)."""
    nb = nbformat.read(executed, as_version=4)
    drop_progress_logs(nb)
    exporter = HTMLExporter(template_name="offline", extra_template_basedirs=[str(TEMPLATES)], exclude_input=True)
    body, _ = exporter.from_notebook_node(nb, resources=dict(_vega_resources()))
    if "<script src=" in body:
        raise PublishError(f"{out_html.name} would load a script from the network; the offline template failed")
    return atomic.write_text(out_html, body)


def _esc(v) -> str:
    return html.escape("" if v is None else str(v))


def _latest_changes(hist) -> tuple[str, list[str]]:
    """The newest run in the history and its regression list (empty when there is no history)."""
    if hist.empty:
        return "", []
    run = str(hist["run_id"].max())
    _, changes, notes = regression.against_baseline(run, hist=hist, with_notes=True)
    return run, notes + regression.regression_list(changes)


def publish_history(site: Path) -> Path | None:
    """The history file, copied beside the pages for download (it is small by its size policy)."""
    src = history.path()
    if not src.exists():
        return None
    return atomic.write_with(site / src.name, lambda tmp: shutil.copyfile(src, tmp))


def index_html(failed_notebooks: set[str] = frozenset()) -> str:
    """The site's front page: the last run and machine, the latest changes, then for each suite its page and
    its budget checks from the latest run that measured it (a partial re-run never hides the other suites,
    and every row names its run). All text from data is escaped."""
    sections, verdicts = "", []
    try:
        latest = gate.latest_per_suite()
    except (FileNotFoundError, ValueError) as e:
        latest, verdicts = [], [f"gate could not run: {e}"]
    by_suite = {suite: (run_id, findings) for suite, run_id, findings in latest}
    every = [f for _, fs in by_suite.values() for f in fs]
    total, failed_total = len(every), sum(f.verdict.fails for f in every)
    unmeasured_total = sum(f.verdict is Verdict.NOT_MEASURED for f in every)
    for name in SUITE_NOTEBOOKS:
        title = NOTEBOOKS[name]
        page = paths.site_dir() / f"{name}.html"
        failed_page = paths.site_dir() / f"{name}.failed.html"
        if name not in by_suite and not page.exists() and not failed_page.exists():
            continue
        run_id, findings = by_suite.get(name, (None, []))
        cond = metadata.conditions(records.load_meta(run_id), name) if run_id else "not measured yet"
        badge = f"{'❌' if gate.failed_of(findings) else '✅'} {gate.headline(findings)}" if findings else ""
        rows = "".join(
            f"<tr class='{_esc(f.level)}'><td>{_esc(f.what)}</td>"
            f"<td>{_esc(markdown.number(f.measured))} {_esc(f.unit if markdown.number(f.measured) != '—' else '')}</td>"
            f"<td>{_esc(markdown.number(f.target))}</td><td>{_esc(markdown.number(f.limit))}</td>"
            f"<td>{_esc(f.label)}{' (required)' if f.required and 'required' not in f.status else ''}</td><td class='muted'>{_esc(f.note)}</td></tr>\n"
            for f in sorted(findings, key=lambda f: f.verdict.order))
        link = f"<a href='{_esc(name)}.html'>{_esc(title)}</a>" if page.exists() else _esc(title)
        if name in failed_notebooks or failed_page.exists():
            badge = ("❌ the notebook failed in the last report (<a href='" + _esc(failed_page.name) + "'>where it failed</a>); "
                     "the page and checks below are from the last run that measured it")
        else:
            badge = _esc(badge)
        sections += (f"<h2>{link} <small class='muted'>{badge}</small></h2>\n<p class='muted'>{_esc(cond)}</p>\n"
                     + (f"<table><thead><tr><th>check</th><th>measured</th><th>target</th><th>limit</th><th>status</th>"
                        f"<th>note</th></tr></thead><tbody>\n{rows}</tbody></table>\n" if rows else ""))
    last = ""
    runs = records.list_runs()
    if runs:
        meta = records.load_meta(runs[-1])
        m, proj = meta.get("machine", {}), meta.get("project", {})
        af = next((v.get("allframe", {}).get("label") for v in meta["suites"].values() if v.get("allframe")), "")
        last = (f"<p><b>Last run</b> {_esc(runs[-1])}, started {_esc(meta.get('started_utc'))} on "
                f"{_esc(m.get('cpu_model'))} ({_esc(m.get('cores'))} cores, {_esc(round((m.get('memory_bytes') or 0) / 2**30))} GiB, "
                f"kernel {_esc(m.get('kernel'))}; machine {_esc(m.get('fingerprint'))}) — suites {_esc(', '.join(meta['suites']))}; "
                f"{_esc(af)}; project commit {_esc((proj.get('commit') or '?')[:12])}{' (dirty)' if proj.get('dirty') else ''}.</p>")
    try:
        hist = history.load()
        changed_run, listed = _latest_changes(hist)
    except Exception as e:  # the front page must still be written; the trends page shows the traceback
        hist, changed_run, listed = history.empty(), "", [f"could not compare: {type(e).__name__}: {e}"]
    trends_link = "<a href='trends.html'>Trends and regressions</a>" if (paths.site_dir() / "trends.html").exists() else "Trends (not rendered yet)"
    changes = (f"<h2>{trends_link}</h2>\n<p class='muted'>Run {_esc(changed_run)} against each suite's previous comparable run.</p>\n<ul>"
               + ("".join(f"<li>{_esc(x)}</li>" for x in listed) or "<li>no regressions or improvements</li>") + "</ul>\n"
               if changed_run or listed else "")
    hist_file = paths.site_dir() / history.path().name
    download = ""
    if hist_file.exists() and not hist.empty:  # the copy publish_history made of the same file
        download = (f"<p class='muted'>History: <a href='{_esc(hist_file.name)}' download>{_esc(hist_file.name)}</a> "
                    f"({hist['run_id'].nunique()} runs on {hist['fingerprint'].nunique()} machine(s), {len(hist):,} rows, "
                    f"{hist_file.stat().st_size / 1024:,.1f} KiB; Parquet, columns as in lib/allframe_quality/history.py).</p>")
    overall = (f"{'❌' if failed_total else '✅'} {total} checks across the suites: {failed_total} failed, "
               f"{unmeasured_total} not measured" if total else "no runs yet: make report")
    now = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>AllFrame quality lab</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
 body {{ font: 15px/1.5 system-ui, sans-serif; max-width: 1100px; margin: 2em auto; padding: 0 1em; color: #222; }}
 table {{ border-collapse: collapse; width: 100%; font-size: 14px; margin-bottom: 1.5em; }}
 th, td {{ border-bottom: 1px solid #e4e4e4; padding: 4px 8px; text-align: left; vertical-align: top; }}
 tr.fail td {{ background: #fdecec; }} tr.warn td {{ background: #fff6e0; }} tr.not_measured td {{ background: #eef0fa; }}
 .muted {{ color: #666; font-size: 13px; }}
 nav a {{ margin-right: 1em; }}
</style></head><body>
<h1>AllFrame quality lab</h1>
<nav>{" ".join(f"<a href='{_esc(n)}.html'>{_esc(t)}</a>" for n, t in NOTEBOOKS.items() if (paths.site_dir() / f"{n}.html").exists())}</nav>
<p><b>{_esc(overall)}</b></p>
<p class="badges">{badges.html(paths.site_dir())}</p>
{last}
<p class="muted">published {now}. {_esc(' '.join(verdicts))} Targets and limits come from quality.toml (the PRD's
tables as data); every figure comes from the run named under its suite, on the machine named there.</p>
{changes}
{sections}
{download}
</body></html>
"""


def report(notebooks: list[str] | None = None, parameters: dict[str, dict] | None = None,
           run_id: str | None = None) -> tuple[Path, bool]:
    """Execute every report notebook into one run, render the pages and the index. Returns (site dir, all ok)."""
    names = notebooks or list(NOTEBOOKS)
    unknown = [n for n in names if n not in NOTEBOOKS]
    if unknown:
        raise PublishError(f"unknown notebook(s) {unknown}; valid: {sorted(NOTEBOOKS)}")
    names = [n for n in NOTEBOOKS if n in names]  # page order: trends after the suites it reads
    if any(n in SUITE_NOTEBOOKS for n in names):  # trends alone measures nothing: no run to start
        run_id = records.start_run(run_id)
    site = paths.site_dir()
    failed: set[str] = set()
    for name in names:
        started = time.monotonic()
        print(f"== {name}: executing notebooks/{name}.ipynb (run {run_id})", flush=True)
        ok = True
        try:
            executed = execute(name, dict((parameters or {}).get(name, {}), run_id=run_id))
        except (papermill.PapermillExecutionError, RuntimeError) as e:  # a cell failed, or the kernel died
            ok = False
            failed.add(name)
            executed = paths.build_dir() / "notebooks" / f"{name}.ipynb"
            why = f"cell {e.exec_count}: {e.ename}: {e.evalue}" if isinstance(e, papermill.PapermillExecutionError) \
                else f"{type(e).__name__}: {e}"
            print(f"== {name}: FAILED in {why}", file=sys.stderr, flush=True)
        # a failed notebook's page goes beside the last good one, never over it
        page = site / (f"{name}.html" if ok else f"{name}.failed.html")
        if executed.exists():
            render(executed, page)
        if ok and (site / f"{name}.failed.html").exists():
            (site / f"{name}.failed.html").unlink()
        print(f"== {name}: {'ok' if ok else 'failed'} in {time.monotonic() - started:.0f}s -> {page}", flush=True)
    publish_history(site)
    badges.write_all(site)      # before the index, which shows them
    atomic.write_text(site / "index.html", index_html(failed))
    print(f"== site: {site / 'index.html'}", flush=True)
    return site, not failed
