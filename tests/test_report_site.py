"""The notebook through papermill with small parameters, and the published page in headless Chromium, offline."""
import re
import shutil
import subprocess
import tempfile

import nbformat
import pytest

from allframe_quality.report import publish

pytestmark = pytest.mark.slow

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    root = tmp_path_factory.mktemp("report")
    with pytest.MonkeyPatch.context() as mp:
        for var, sub in (("AFQ_DATA_DIR", "data"), ("AFQ_SITE_DIR", "site"), ("AFQ_BUILD_DIR", "build")):
            mp.setenv(var, str(root / sub))
        params = {
            "size": {"configurations": ["minimal", "cqrs"], "profiles": ["release"], "peers": ["axum"]},
            "throughput": {"frameworks": ["allframe", "axum"], "tests": ["json"], "duration_s": 1, "repeats": 1,
                           "warmup_s": 1},
            "cqrs": {"operations": ["command_dispatch", "event_append_memory"], "warm_up_s": 0.2,
                     "measurement_s": 0.5, "sample_size": 10, "processes": 2},
            "memory": {"events": [10_000, 20_000], "payloads": ["small"], "heap_profile_max_events": 20_000},
            "micro": {"operations": ["decide", "route_path_10"], "warm_up_s": 0.1, "measurement_s": 0.2, "processes": 2,
                      "memory_events": [20_000]},
            "demos": {"demos": ["ecommerce-api"], "starts": 2, "load_duration_s": 1, "connections": 8},
            "releases": {"releases": ["0.1.27", "0.1.28"], "configurations": ["minimal"], "cqrs": False,
                         "memory_events": 0, "explain_steps": 0},
        }
        # two consecutive reports, as `make report` twice: the second one has a baseline and a trend
        publish.report(None, params)
        site_dir, ok = publish.report(None, params)
        yield root, site_dir, ok


def test_each_report_is_one_run(site):
    root, site_dir, ok = site
    assert ok
    runs = sorted((root / "data" / "runs").iterdir())
    for name in publish.NOTEBOOKS:
        nb = nbformat.read(root / "build" / "notebooks" / f"{name}.ipynb", as_version=4)
        injected = [c for c in nb.cells if "injected-parameters" in c.metadata.get("tags", [])]
        assert injected and f"run_id = \"{runs[-1].name}\"" in injected[0].source, name
    assert len(runs) == 2
    for run in runs:
        assert {p.name for p in run.glob("*.parquet")} == {f"{n}.parquet" for n in publish.SUITE_NOTEBOOKS}
    df = __import__("pandas").read_parquet(runs[0] / "size.parquet")
    assert set(df["subject"]) == {"allframe", "axum"} and (df["status"] == "ok").all()


def test_two_reports_give_two_point_trends_and_a_regression_list(site):
    from allframe_quality.verdict import history, regression
    from allframe_quality.report import trends
    root, site_dir, _ = site
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("AFQ_DATA_DIR", str(root / "data"))
        h = history.load()
        runs = sorted(h["run_id"].unique())
        bases, changes = regression.against_baseline(runs[1], hist=h)
    tracked = {s for s, _ in history.TRACKED} & set(publish.SUITE_NOTEBOOKS)   # releases stay out of the history
    assert len(runs) == 2 and set(h["suite"]) == tracked and "releases" not in tracked
    assert bases == {s: runs[0] for s in tracked}     # each suite compared with the first run
    for suite, metric in [("size", "file_bytes"), ("throughput", "rps"), ("cqrs", "ns_per_op"),
                          ("cqrs", "instructions_per_op"), ("memory", "used_bytes")]:
        p = trends.points(h, suite, metric)
        assert not p.empty and (p.groupby("series").size() == 2).all(), (suite, metric)
    # size is deterministic: the second build of the same sources is byte for byte the first
    size = changes[(changes["suite"] == "size") & (changes["metric"] == "file_bytes")]
    assert not size.empty and set(size["verdict"]) == {"no change"}
    index = (site_dir / "index.html").read_text()
    assert f"Run {runs[1]} against each suite" in index and "<li>" in index
    assert "href='history.parquet' download" in index and (site_dir / "history.parquet").exists()


def _dump_dom(page) -> str:
    """Render the page in headless Chromium with no network at all and return the DOM after scripts ran."""
    assert CHROMIUM, "chromium is not installed: run `make setup`"
    with tempfile.TemporaryDirectory() as profile:
        return _chromium(page, profile)


def _chromium(page, profile) -> str:
    cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync",
           f"--user-data-dir={profile}", "--virtual-time-budget=10000", "--dump-dom", page.as_uri()]
    if subprocess.run(["unshare", "-n", "true"], capture_output=True).returncode == 0:
        cmd = ["unshare", "-n", *cmd]  # a private network namespace: nothing outside can be reached
    else:  # fall back to a dead proxy for everything but file://
        cmd.insert(2, "--proxy-server=127.0.0.1:9")
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr[-2000:]
    return r.stdout


def _data_marks(dom: str) -> int:
    marks = re.findall(r'<path[^>]*role="graphics-symbol"[^>]*aria-roledescription="([^"]+)"', dom)
    marks += re.findall(r'<path[^>]*aria-roledescription="([^"]+)"[^>]*role="graphics-symbol"', dom)
    return sum(1 for m in marks if m in ("bar", "tick", "rect", "point", "line", "area", "circle"))


@pytest.mark.parametrize("page, charts, words", [
    ("size", 5, ["Minimal", "CQRS", "Axum"]),
    ("throughput", 3, ["AllFrame router on hyper", "Axum"]),
    ("cqrs", 2, ["Command dispatch", "Event append (memory)"]),
    ("memory", 3, ["not measured", "not 1,000,000", "Bytes per event"]),
    ("micro", 3, ["AllFrame's ratio to the best peer", "cqrs-es", "matchit"]),
    ("demos", 3, ["ecommerce-api", "Scorecard", "capability audit"]),
    ("releases", 1, ["Size across releases", "0.1.27", "0.1.28", "Minimal"]),
    ("coverage", 2, ["Coverage per module", "router", "AllFrame's total coverage per run"]),
    ("trends", 7, ["Release binary size per configuration", "Operations per second", "Regressions and improvements",
                   "Release executable size per demo"]),
])
def test_pages_draw_their_charts_offline(site, page, charts, words):
    _, site_dir, _ = site
    path = site_dir / f"{page}.html"
    assert "<script src=" not in path.read_text()
    dom = _dump_dom(path)
    drawn = dom.count('aria-roledescription="visualization"')
    assert drawn >= charts, f"only {drawn} charts drew on {page}.html"
    assert _data_marks(dom) >= 2 * charts
    for w in words:
        assert w in dom, w
    assert "building allframe:" not in dom  # build logs stay out of the published page


def test_index_links_pages_and_shows_budgets(site):
    _, site_dir, _ = site
    index = (site_dir / "index.html").read_text()
    assert all(f"href='{n}.html'" in index for n in publish.NOTEBOOKS)
    assert "Minimal (minimal)" in index and "CQRS (cqrs)" in index
    assert re.search(r"(✅|❌) \d+ checks: \d+ failed, \d+ not measured", index)
