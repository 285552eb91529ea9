"""The site's index: text from data (failure messages, machine names, versions) is escaped."""
import json

from allframe_quality.suites import contract
from allframe_quality.report import publish
from allframe_quality.core import records

EVIL = "<script>alert('x')</script>"


def test_text_from_data_is_escaped(data_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("AFQ_SITE_DIR", str(tmp_path / "site"))
    run = records.start_run("20260101T000000Z-00001")
    meta_path = records.run_dir(run) / "meta.json"
    meta = json.loads(meta_path.read_text())
    meta["machine"]["cpu_model"] = "<img src=x onerror=alert(1)>"
    meta_path.write_text(json.dumps(meta))
    rows = [records.record(suite="size", subject="allframe", config="minimal", variant="release", metric="file_bytes",
                           unit="bytes", status="failed", detail=f"error[E0433]: {EVIL}")]
    records.save_suite(run, "size", records.frame(rows, run),
                       {"parameters": {}, "allframe": {"label": f"allframe-core {EVIL}"}})
    contract.add_to_history(run, "size")
    html = publish.index_html()
    assert "<script>alert" not in html and "<img src=x" not in html
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in html and "&lt;img src=x" in html
    assert "❌" in html and "Last run</b> 20260101T000000Z-00001" in html
