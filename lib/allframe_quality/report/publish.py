"""Publishing: execute notebooks with papermill, render them offline with nbconvert, write the site index.

Executed notebooks go to build/notebooks/ (outside git), pages to site/. Every page carries one
inline Vega bundle and no <script src>, so charts draw with no network (see
shared/reference/offline-charts.md). Each file is written atomically; the index is written last.
"""
from __future__ import annotations

import datetime as dt
import json
import shutil
import sys
import time
from functools import lru_cache
from pathlib import Path

import nbformat
import jinja2
import papermill
from nbconvert import HTMLExporter

from ..core import markdown, registry, atomic, metadata, paths, records
from . import badges, timings
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


def _section(name: str, by_suite: dict, failed_notebooks: set[str]) -> dict | None:
    """One suite on the front page: its page, its conditions and its budget checks from the latest run that measured it."""
    page = paths.site_dir() / f"{name}.html"
    failed_page = paths.site_dir() / f"{name}.failed.html"
    if name not in by_suite and not page.exists() and not failed_page.exists():
        return None
    run_id, findings = by_suite.get(name, (None, []))
    rows = [dict(level=f.level, what=f.what, target=markdown.number(f.target), limit=markdown.number(f.limit), note=f.note,
                 measured=f"{markdown.number(f.measured)} {f.unit if markdown.number(f.measured) != '—' else ''}",
                 status=f.label + (" (required)" if f.required and "required" not in f.status else ""))
            for f in sorted(findings, key=lambda f: f.verdict.order)]
    return dict(name=name, title=NOTEBOOKS[name], page=page.exists(), rows=rows,
                failed_page=failed_page.name if name in failed_notebooks or failed_page.exists() else "",
                conditions=metadata.conditions(records.load_meta(run_id), name) if run_id else "not measured yet",
                badge=f"{'❌' if gate.failed_of(findings) else '✅'} {gate.headline(findings)}" if findings else "")


def _last_run() -> dict | None:
    runs = records.list_runs()
    if not runs:
        return None
    meta = records.load_meta(runs[-1])
    m, proj = meta.get("machine", {}), meta.get("project", {})
    return dict(run=runs[-1], started=meta.get("started_utc"), cpu=m.get("cpu_model"), cores=m.get("cores"),
                gib=round((m.get("memory_bytes") or 0) / 2**30), kernel=m.get("kernel"), fingerprint=m.get("fingerprint"),
                suites=", ".join(meta["suites"]), commit=(proj.get("commit") or "?")[:12], dirty=proj.get("dirty"),
                allframe=next((v.get("allframe", {}).get("label") for v in meta["suites"].values() if v.get("allframe")), ""))


def index_html(failed_notebooks: set[str] = frozenset()) -> str:
    """The site's front page (templates/site/front.html.j2): the last run and machine, the latest changes, then for
    each suite its page and its budget checks from the latest run that measured it (a partial re-run never hides the
    other suites, and every row names its run). All text from data is escaped by the template."""
    verdicts = []
    try:
        latest = gate.latest_per_suite()
    except (FileNotFoundError, ValueError) as e:
        latest, verdicts = [], [f"gate could not run: {e}"]
    by_suite = {suite: (run_id, findings) for suite, run_id, findings in latest}
    every = [f for _, fs in by_suite.values() for f in fs]
    failed_total = sum(f.verdict.fails for f in every)
    try:
        hist = history.load()
        changed_run, listed = _latest_changes(hist)
    except Exception as e:  # the front page must still be written; the trends page shows the traceback
        hist, changed_run, listed = history.empty(), "", [f"could not compare: {type(e).__name__}: {e}"]
    hist_file = paths.site_dir() / history.path().name
    download = dict(name=hist_file.name, runs=hist["run_id"].nunique(), machines=hist["fingerprint"].nunique(),
                    rows=f"{len(hist):,}", kib=f"{hist_file.stat().st_size / 1024:,.1f}") \
        if hist_file.exists() and not hist.empty else None   # the copy publish_history made of the same file
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES / "site"), autoescape=True)
    return env.get_template("front.html.j2").render(
        nav=[(n, t) for n, t in NOTEBOOKS.items() if (paths.site_dir() / f"{n}.html").exists()],
        overall=(f"{'❌' if failed_total else '✅'} {len(every)} checks across the suites: {failed_total} failed, "
                 f"{sum(f.verdict is Verdict.NOT_MEASURED for f in every)} not measured" if every else "no runs yet: make report"),
        badges=badges.html(paths.site_dir()), last=_last_run(), verdicts=" ".join(verdicts),
        now=dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        changes=dict(run=changed_run, listed=listed, trends_page=(paths.site_dir() / "trends.html").exists())
        if changed_run or listed else None,
        sections=[s for s in (_section(n, by_suite, failed_notebooks) for n in SUITE_NOTEBOOKS) if s], download=download)


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
    expected, basis = timings.estimates(names)
    took: dict[str, float] = {}
    began = time.monotonic()
    for i, name in enumerate(names):
        started = time.monotonic()
        left = sum(expected[n] for n in names[i:])
        print(f"== {name} ({i + 1}/{len(names)}): executing notebooks/{name}.ipynb (run {run_id}); "
              f"~{timings.minutes(expected[name])} for it, ~{timings.minutes(left)} left in all ({basis})", flush=True)
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
        took[name] = time.monotonic() - started
        if ok and not (parameters or {}).get(name):   # only default runs predict the next `make report`
            timings.record(name, took[name])
        print(f"== {name}: {'ok' if ok else 'failed'} in {timings.clock(took[name])} -> {page}", flush=True)
    publish_history(site)
    badges.write_all(site)      # before the index, which shows them
    atomic.write_text(site / "index.html", index_html(failed))
    print(f"== site: {site / 'index.html'}", flush=True)
    print(f"== total: {timings.clock(time.monotonic() - began)} ("
          + ", ".join(f"{n} {timings.clock(t)}" for n, t in took.items()) + ")", flush=True)
    return site, not failed
