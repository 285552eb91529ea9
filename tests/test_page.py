"""The pages' shared presentation (report/page.py): the conditions line, findings bullets, tables in the house
formats, charts or why not, failure tables, the peers block and the trends page's blocks; and the nine notebooks
thin (at most 35 code lines each) with the parameters cell they declare."""
from __future__ import annotations

import json
import types

import numpy as np
import pandas as pd
import pytest
from allframe_quality.config import budgets
from allframe_quality.core import metadata, params, paths, records
from allframe_quality.report import charts, page, publish
from allframe_quality.suites import memory_analysis, size_analysis
from allframe_quality.verdict import regression
from allframe_quality.verdict.verdicts import Finding, Verdict
from IPython.display import Markdown

RUN = "20260101T000000Z-00001"
MAX_CODE_LINES = 35


@pytest.fixture
def shown(monkeypatch):
    """What the page helpers display, in order (Markdown text, Styler, chart); print() goes to capsys."""
    out = []
    monkeypatch.setattr(page, "display", out.append)
    return out


def _markdown(shown) -> list[str]:
    return [x.data for x in shown if isinstance(x, Markdown)]


def _save(run, suite, rows, info):
    records.start_run(run)
    df = records.frame([records.record(suite=suite, **r) for r in rows], run)
    records.save_suite(run, suite, df, info)
    return df


def _code_lines(nb) -> int:
    return sum(1 for c in nb["cells"] if c["cell_type"] == "code" for line in "".join(c["source"]).splitlines()
               if line.strip() and not line.strip().startswith("#"))


# ---- the notebooks -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", list(publish.NOTEBOOKS))
def test_notebooks_are_thin(name):
    nb = json.loads((paths.NOTEBOOKS / f"{name}.ipynb").read_text())
    assert _code_lines(nb) <= MAX_CODE_LINES, f"{name}.ipynb has {_code_lines(nb)} code lines"
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    assert "parameters" in code[1]["metadata"].get("tags", []) and params.declared(name)
    assert "".join(code[2]["source"]).startswith("_params.check(globals())")
    text = (paths.NOTEBOOKS / f"{name}.ipynb").read_text()
    assert text == json.dumps(nb, indent=1, ensure_ascii=False) + "\n"


# ---- the run and its conditions ----------------------------------------------------------------------------

def test_measure_passes_the_declared_parameters_the_suite_takes(data_dir, shown, monkeypatch):
    """The size notebook's own parameters: those measure takes go to it, top_crates and budgets_file do not."""
    got = {}

    def measure(configurations=None, *, profiles=None, peers=True, with_bloat=True, run_id=None, budgets=None):
        got.update(configurations=configurations, profiles=profiles, peers=peers, with_bloat=with_bloat,
                   run_id=run_id, budgets=budgets)
        return RUN, _save(RUN, "size", [{"subject": "allframe", "config": "minimal", "variant": "release",
                                              "metric": "file_bytes", "unit": "bytes", "value": 1.0}], {"parameters": {}})

    fake = types.ModuleType("allframe_quality.suites.size")
    fake.measure = measure
    namespace = {k: eval(v["default"]) for k, v in params.declared("size").items()}
    namespace.update(configurations=["minimal"], peers=False, with_bloat=False, top_crates=3)
    b, run_id, df, line = page.measure(fake, namespace)
    assert got["configurations"] == ["minimal"] and got["peers"] is False and got["with_bloat"] is False
    assert got["run_id"] is None and got["budgets"] is b and isinstance(b, budgets.Budgets)
    assert run_id == RUN and len(df) == 1
    assert line == metadata.conditions(records.load_meta(RUN), "size")
    assert _markdown(shown) == [f"**Conditions:** {line}"]


# A notebook's parameters that only the page reads; every other one goes to its suite's measure.
PAGE_ONLY = {"size": {"top_crates"}, "cqrs": {"compare_to"}}


@pytest.mark.parametrize("name", publish.SUITE_NOTEBOOKS)
def test_every_measuring_parameter_reaches_measure(name):
    import importlib
    import inspect
    takes = inspect.signature(importlib.import_module(f"allframe_quality.suites.{name}").measure).parameters
    dropped = {k for k in params.declared(name) if k not in takes}
    assert dropped == {"budgets_file"} | PAGE_ONLY.get(name, set())


def test_conditions_add_what_each_suite_measures_under(data_dir):
    _save(RUN, "cqrs", [{"subject": "allframe", "config": "command_dispatch", "metric": "ns_per_op", "unit": "ns", "value": 5.0}],
          {"parameters": {}, "pinning": "core 1 (taskset)"})
    _save(RUN, "throughput", [{"subject": "allframe", "config": "json", "variant": "c64", "metric": "rps", "unit": "req/s",
                                   "value": 1e4}],
          {"parameters": {"duration_s": 2.0, "repeats": 3}, "pinning": {"server_core": 1, "load_core": 0},
           "cpu_quota": "servers capped at 0.5 core", "wrk": "wrk 4.2.0"})
    _save(RUN, "demos", [{"subject": "ecommerce-api", "config": "ecommerce-api", "metric": "startup_seconds", "unit": "s",
                              "value": 0.1}],
          {"parameters": {"load_duration_s": 1.0, "connections": 8, "starts": 2},
           "pinning": {"demo_core": 1, "load_core": 0}})
    meta = records.load_meta(RUN)
    assert page.conditions(RUN, "cqrs") == metadata.conditions(meta, "cqrs") + " · pinned: core 1 (taskset)"
    assert page.conditions(RUN, "throughput").endswith(
        " · servers on core 1, wrk on core 0 · servers capped at 0.5 core · wrk 4.2.0 · 2s × 3 repeats")
    # the notebook's own values win over the validated ones (they are the same in a real run)
    assert page.conditions(RUN, "demos", namespace={"load_duration_s": 3, "connections": 32, "starts": 5}).endswith(
        " · demo on core 1, wrk on core 0 · 3s load, 32 connections, 5 starts")
    assert page.parameters(RUN, "demos") == {"load_duration_s": 1.0, "connections": 8, "starts": 2}


# ---- findings, tables, charts ------------------------------------------------------------------------------

def test_findings_bullets_per_suite(shown):
    b = budgets.load()
    used = Finding("memory", "memory.bound", "1,000,000 small events", Verdict.PASS, "under limit", 42.25, None,
                   b.memory.limit_mib, "MiB")
    missing = Finding("memory", "memory.bound", "1,000,000 events", Verdict.NOT_MEASURED, "not measured",
                      note="not 1,000,000 events in this run")
    page.findings([used, missing], "memory")
    assert _markdown(shown)[-1] == (f"- **1,000,000 small events**: ✅ under limit, 42.2 MiB used (limit {b.memory.limit_mib:g} MiB)\n"
                                    "- **1,000,000 events**: ❔ not measured — not 1,000,000 events in this run")
    pct = Finding("coverage", "coverage.lines", "line coverage", Verdict.INFO, "measured", 71.04, unit="%",
                  note="crate-default features")
    page.findings([pct], "coverage")
    assert _markdown(shown)[-1] == "- **line coverage**: ℹ️ measured — 71.0 % (crate-default features)"
    build = Finding("releases", "releases.build.0.1.20", "0.1.20 minimal", Verdict.INFO, "AllFrame fails to build",
                    note="error[E0433]")
    page.findings([build], "releases")
    assert _markdown(shown)[-1] == "- **0.1.20 minimal**: ℹ️ AllFrame fails to build — error[E0433]"
    page.findings([build], "demos")   # the verdict alone
    assert _markdown(shown)[-1] == "- **0.1.20 minimal**: ℹ️ AllFrame fails to build"
    n = len(shown)
    page.findings([], "releases")
    assert len(shown) == n
    page.findings([], "releases", empty="no findings")
    assert _markdown(shown)[-1] == "- no findings"


def test_table_formats_and_empty(shown, capsys):
    t = pd.DataFrame({"operation": ["Command dispatch", "Saga"], "ops/s": [1234567.8, np.nan], "ns/op": [810.04, 2.0],
                      "other": [0.123456789, np.nan]})
    page.table(t, drop=["other"])
    html = shown[-1].to_html()
    assert "1,234,568" in html and "810.0" in html and "—" in html and "other" not in html
    assert "<th" not in html.split("<tbody>")[1]          # no row numbers
    page.table(t, precision=2)
    assert "1234567.80" in shown[-1].to_html() and "0.12" in shown[-1].to_html()
    pivot = pd.DataFrame({"test": ["json"], "level": ["c64"], "label": ["Axum"], "v": [12.0]}).pivot_table(
        index=["test", "level"], columns="label", values="v")
    page.table(pivot, fmt="{:.1f} %")
    assert "12.0 %" in shown[-1].to_html() and "json" in shown[-1].to_html()   # a named index is shown
    n = len(shown)
    empty = t.iloc[:0]
    page.table(empty, empty="nothing failed", title="**Failures**")
    assert capsys.readouterr().out == "nothing failed\n" and _markdown(shown[n:]) == ["**Failures**"]
    page.table(empty, empty="", title="**Failures**")       # "" says nothing at all
    assert capsys.readouterr().out == "" and len(shown) == n + 1
    page.table(empty)                                       # no message: the empty table, as the page always showed
    assert len(shown) == n + 2


def test_draw_needs_rows_and_a_value(shown, capsys):
    made = []

    def chart(frame, subtitle, extra=None):
        made.append((len(frame), subtitle, extra))
        return "chart"

    t = pd.DataFrame({"ops/s": [1.0, 2.0], "instructions/op": [np.nan, np.nan]})
    page.draw(t, chart, "run x", extra=3)
    page.draw(t, chart, "run x", need="instructions/op", empty="no instruction counts")
    page.draw(t, chart, "run x", need="bytes/event")
    page.draw(t, chart, "run x", when=False, empty="one level only")
    page.draw(t.iloc[:0], chart, "run x", empty="nothing measured")
    page.draw_each(t, {"ops/s": chart, "instructions/op": chart}, "run y")
    assert made == [(2, "run x", 3), (2, "run y", None)] and shown == ["chart", "chart"]
    assert capsys.readouterr().out == "no instruction counts\none level only\nnothing measured\n"


def test_failures_are_the_records_that_did_not_measure(data_dir, shown, capsys):
    df = _save(RUN, "size", [{"subject": "allframe", "config": "minimal", "variant": "release", "metric": "file_bytes",
                                  "unit": "bytes", "value": 1.0},
                             {"subject": "allframe", "config": "cqrs", "variant": "release", "metric": "file_bytes",
                                  "unit": "bytes", "status": "failed", "detail": "error[E0433]: failed to resolve"}],
               {"parameters": {}})
    page.failures(df, "every run measured")
    html = shown[-1].to_html()
    assert "cqrs" in html and "error[E0433]" in html and "minimal" not in html
    page.failures(df[df["status"] == "ok"], "every run measured")
    assert capsys.readouterr().out == "every run measured\n"
    # the size suite's own failure frame through the same table
    page.table(size_analysis.failures(df), empty="0 failed or unmeasured rows")
    assert "error[E0433]" in shown[-1].to_html()


# ---- blocks ------------------------------------------------------------------------------------------------

def test_beside_peers_without_and_with_a_micro_run(data_dir, shown, capsys):
    b = budgets.load()
    page.beside_peers(RUN, "cqrs", b)
    assert capsys.readouterr().out.startswith("No micro run yet: run the micro notebook")
    other = "20251231T000000Z-00009"
    _save(other, "micro", [{"subject": "allframe", "config": "decide", "variant": "pure decision", "metric": "ops_per_s",
                                "unit": "ops/s", "value": 1e7, "lo": 9e6, "hi": 1.1e7}], {"parameters": {}, "pinning": "core 1"})
    page.beside_peers(RUN, "cqrs", b)
    assert _markdown(shown)[0] == f"From micro run **{other}** (the latest; not this run)."
    assert capsys.readouterr().out == f"Micro run {other} measured no CQRS operation for AllFrame and a peer.\n"
    assert len(shown) == 2                                   # the heading, and AllFrame's speed on its own
    shown.clear()
    page.beside_peers(other, "memory", b)
    assert _markdown(shown) == [f"From micro run **{other}** (this run)."]
    assert capsys.readouterr().out == f"Micro run {other} measured no bytes per event (memory_events=[]).\n"
    assert memory_analysis.bound_per_event(b) == b.memory.limit_mib * 2**20 / b.memory.events


def test_latest_changes_and_trends(data_dir, shown, capsys, monkeypatch):
    b = budgets.load()
    page.latest_changes(pd.DataFrame(columns=["run_id"]), None, None, b)
    assert capsys.readouterr().out == "The history is empty: run the suites first (make report).\n"
    assert set(page.NOTABLE) < set(charts.VERDICT_COLORS) and regression.REGRESSED in page.NOTABLE
    made = []
    monkeypatch.setattr(charts, "trend", lambda p, title, y, **kw: made.append((list(p["value"]), title, kw)) or "trend")
    pts = pd.DataFrame({"value": [0.0, 2.0, 3.0]})
    page.trend(pts, "Memory used", "MiB", log=True)     # a log scale has no place for 0
    page.trend(pts.iloc[:0], "Memory used", "MiB", empty="No memory runs yet.")
    page.trend(pts, "Linear", "MiB", column="test")
    assert made == [([2.0, 3.0], "Memory used", {"log": True}), ([0.0, 2.0, 3.0], "Linear", {"log": False, "column": "test"})]
    assert _markdown(shown) == ["No memory runs yet."]


def test_history_frame_names_the_known_machines(data_dir):
    with pytest.raises(ValueError, match="valid fingerprints"):
        page.history_frame("no-such-machine")
