"""Publishing: execute notebooks with papermill, render them offline with nbconvert, write the site index.

Executed notebooks go to build/notebooks/ (outside git), pages to site/. Every page carries one
inline Vega bundle and no <script src>, so charts draw with no network (see
shared/reference/offline-charts.md). Each file is written atomically; the index is written last.
"""
from __future__ import annotations

import datetime as dt
import html
import json
import sys
import time
from functools import lru_cache
from pathlib import Path

import nbformat
import papermill
from nbconvert import HTMLExporter

from . import atomic, gate, metadata, paths, records

# The report's notebooks, in page order. A later suite adds its notebook here.
NOTEBOOKS = {"size": "Binary size", "cqrs": "CQRS micro-benchmarks"}
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


def render(executed: Path, out_html: Path) -> Path:
    """One offline HTML page from an executed notebook (code cells hidden)."""
    nb = nbformat.read(executed, as_version=4)
    exporter = HTMLExporter(template_name="offline", extra_template_basedirs=[str(TEMPLATES)], exclude_input=True)
    body, _ = exporter.from_notebook_node(nb, resources=dict(_vega_resources()))
    if "<script src=" in body:
        raise PublishError(f"{out_html.name} would load a script from the network; the offline template failed")
    return atomic.write_text(out_html, body)


def _esc(v) -> str:
    return html.escape("" if v is None else str(v))


def index_html(pages: list[dict], run_id: str | None) -> str:
    """The site's front page: gate status per check, run conditions, links to each suite's page."""
    rows, conditions, verdict = "", "no run yet", ""
    if run_id:
        try:
            _, findings, meta = gate.evaluate(run_id)
            conditions = metadata.conditions(meta, "size")
            failed = sum(f["level"] == "fail" for f in findings)
            verdict = f"{'❌' if failed else '✅'} {len(findings)} checks, {failed} failed"
            for f in findings:
                rows += (f"<tr class='{_esc(f['level'])}'><td>{_esc(f['suite'])}</td><td>{_esc(f['what'])}</td>"
                         f"<td>{_esc(gate._fmt(f['measured']))} {_esc(f['unit'] if f['measured'] is not None else '')}</td><td>{_esc(gate._fmt(f['target']))}</td>"
                         f"<td>{_esc(gate._fmt(f['limit']))}</td><td>{_esc(f['status'])}</td></tr>\n")
        except (FileNotFoundError, ValueError) as e:
            verdict = f"gate could not run: {e}"
    links = "".join(
        f"<li><a href='{_esc(p['href'])}'>{_esc(p['title'])}</a> {'' if p['ok'] else '— ❌ the notebook failed; the page shows where'}</li>"
        for p in pages)
    now = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>AllFrame quality lab</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
 body {{ font: 15px/1.5 system-ui, sans-serif; max-width: 1000px; margin: 2em auto; padding: 0 1em; color: #222; }}
 table {{ border-collapse: collapse; width: 100%; font-size: 14px; }}
 th, td {{ border-bottom: 1px solid #e4e4e4; padding: 4px 8px; text-align: left; }}
 tr.fail td {{ background: #fdecec; }} tr.warn td {{ background: #fff6e0; }}
 .muted {{ color: #666; font-size: 13px; }}
</style></head><body>
<h1>AllFrame quality lab</h1>
<p class="muted">{_esc(conditions)}<br>published {now}</p>
<h2>Reports</h2><ul>{links}</ul>
<h2>Budgets <small class="muted">{_esc(verdict)}</small></h2>
<table><thead><tr><th>suite</th><th>check</th><th>measured</th><th>target</th><th>limit</th><th>status</th></tr></thead>
<tbody>
{rows}</tbody></table>
<p class="muted">Targets and limits come from quality.toml (the PRD's tables as data). Figures come from the run named above, on this machine.</p>
</body></html>
"""


def report(notebooks: list[str] | None = None, parameters: dict[str, dict] | None = None,
           run_id: str | None = None) -> tuple[Path, bool]:
    """Execute every report notebook into one run, render the pages and the index. Returns (site dir, all ok)."""
    names = notebooks or list(NOTEBOOKS)
    unknown = [n for n in names if n not in NOTEBOOKS]
    if unknown:
        raise PublishError(f"unknown notebook(s) {unknown}; valid: {sorted(NOTEBOOKS)}")
    run_id = records.start_run(run_id)
    site = paths.site_dir()
    pages, all_ok = [], True
    for name in names:
        started = time.monotonic()
        print(f"== {name}: executing notebooks/{name}.ipynb (run {run_id})", flush=True)
        ok = True
        try:
            executed = execute(name, dict((parameters or {}).get(name, {}), run_id=run_id))
        except papermill.PapermillExecutionError as e:
            ok = all_ok = False
            executed = paths.build_dir() / "notebooks" / f"{name}.ipynb"
            print(f"== {name}: FAILED in cell {e.exec_count}: {e.ename}: {e.evalue}", file=sys.stderr, flush=True)
        render(executed, site / f"{name}.html")
        pages.append({"title": NOTEBOOKS[name], "href": f"{name}.html", "ok": ok})
        print(f"== {name}: {'ok' if ok else 'failed'} in {time.monotonic() - started:.0f}s -> {site / (name + '.html')}", flush=True)
    atomic.write_text(site / "index.html", index_html(pages, run_id))
    print(f"== site: {site / 'index.html'}", flush=True)
    return site, all_ok
