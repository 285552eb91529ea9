"""The notebook through papermill with small parameters, and the published page in headless Chromium, offline."""
import re
import shutil
import subprocess
import tempfile

import nbformat
import pytest

from allframe_quality import publish, records

pytestmark = pytest.mark.slow

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    root = tmp_path_factory.mktemp("report")
    with pytest.MonkeyPatch.context() as mp:
        for var, sub in (("AFQ_DATA_DIR", "data"), ("AFQ_SITE_DIR", "site"), ("AFQ_BUILD_DIR", "build")):
            mp.setenv(var, str(root / sub))
        params = {"size": {"configurations": ["minimal", "cqrs"], "profiles": ["release"], "peers": ["axum"]}}
        site_dir, ok = publish.report(["size"], params)
        yield root, site_dir, ok


def test_notebook_ran_into_one_run(site):
    root, site_dir, ok = site
    assert ok
    nb = nbformat.read(root / "build" / "notebooks" / "size.ipynb", as_version=4)
    injected = [c for c in nb.cells if "injected-parameters" in c.metadata.get("tags", [])]
    assert injected and "run_id" in injected[0].source
    runs = sorted((root / "data" / "runs").iterdir())
    assert len(runs) == 1 and (runs[0] / "size.parquet").exists()
    df = __import__("pandas").read_parquet(runs[0] / "size.parquet")
    assert set(df["subject"]) == {"allframe", "axum"} and (df["status"] == "ok").all()


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


def test_size_page_draws_its_charts_offline(site):
    _, site_dir, _ = site
    page = site_dir / "size.html"
    html = page.read_text()
    assert "<script src=" not in html
    dom = _dump_dom(page)
    charts = dom.count('aria-roledescription="visualization"')
    assert charts >= 5, f"only {charts} charts drew"
    assert _data_marks(dom) >= 10
    assert "Minimal" in dom and "CQRS" in dom and "Axum" in dom


def test_index_links_pages_and_shows_budgets(site):
    _, site_dir, _ = site
    index = (site_dir / "index.html").read_text()
    assert "href='size.html'" in index
    assert "Minimal (minimal)" in index and "CQRS (cqrs)" in index
    assert re.search(r"✅ \d+ checks, 0 failed|❌ \d+ checks, [1-9]\d* failed", index)
