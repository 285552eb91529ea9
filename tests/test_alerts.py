"""The alert paths: the gate's exit code, its Markdown summary file, and the webhook POST received by a
real local HTTP server."""
import json
import re
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from allframe_quality.alerts import webhook as alerts
from allframe_quality.commands import gate as gate_command
from allframe_quality.core import markdown
from conftest import save_cqrs


@pytest.fixture
def webhook():
    """A local Slack-compatible endpoint that keeps what it receives."""
    got = []

    class Hook(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"]))
            got.append((self.headers["Content-Type"], json.loads(body)))
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *a):
            pass

    srv = HTTPServer(("127.0.0.1", 0), Hook)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    yield f"http://127.0.0.1:{srv.server_port}/hooks/T000/B000", got
    srv.shutdown()


def test_a_regression_fails_the_gate_writes_the_summary_and_posts(data_dir, tmp_path, webhook, monkeypatch):
    url, got = webhook
    monkeypatch.setenv(alerts.WEBHOOK_ENV, url)
    monkeypatch.setenv(alerts.REPORT_URL_ENV, "https://example.org/allframe-quality/")
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    save_cqrs("20260101T000000Z-00001", 100)
    save_cqrs("20260102T000000Z-00002", 130, instructions=1600)   # 30 % slower, 28 % more instructions
    out = tmp_path / "summary.md"
    assert gate_command.main(["--run", "20260102T000000Z-00002", "--summary", str(out)]) == 1
    md = out.read_text()
    assert md.startswith("## AllFrame quality gate: ❌ **failed**")
    assert re.search(r"- regressed: cqrs: allframe / command_dispatch — ns_per_op \+(29|3\d)\.\d%", md)
    assert len(got) == 1
    ctype, payload = got[0]
    assert ctype == "application/json" and set(payload) == {"text"}
    assert "quality gate failed" in payload["text"] and "command_dispatch" in payload["text"]
    assert "https://example.org/allframe-quality/" in payload["text"]


def test_a_passing_gate_sends_nothing(data_dir, webhook, monkeypatch):
    url, got = webhook
    monkeypatch.setenv(alerts.WEBHOOK_ENV, url)
    save_cqrs("20260101T000000Z-00001", 100)
    save_cqrs("20260102T000000Z-00002", 100.2)
    assert gate_command.main(["--run", "20260102T000000Z-00002"]) == 0
    assert got == []


def test_an_unreachable_webhook_is_reported_and_keeps_the_verdict(data_dir, monkeypatch, capsys):
    monkeypatch.setenv(alerts.WEBHOOK_ENV, "http://127.0.0.1:9/nothing-listens-here")
    save_cqrs("20260101T000000Z-00001", 100)
    save_cqrs("20260102T000000Z-00002", 130, instructions=1600)
    assert gate_command.main(["--run", "20260102T000000Z-00002"]) == 1
    assert "alert webhook AFQ_ALERT_WEBHOOK_URL could not be reached" in capsys.readouterr().err


def test_a_missing_baseline_is_a_clear_error(data_dir, capsys):
    save_cqrs("20260101T000000Z-00001", 100)
    assert gate_command.main(["--run", "20260101T000000Z-00001", "--baseline", "20250101T000000Z-99999"]) == 2
    assert "baseline run '20250101T000000Z-99999' is not in the history; latest runs: ['20260101T000000Z-00001']" in capsys.readouterr().err


def test_comments_fit_githubs_limit():
    long = "## head\n\n<details><summary>all</summary>\n\n" + "".join(f"| row {i} | {'x' * 80} |\n" for i in range(2000))
    cut = markdown.fit(long)
    assert len(cut) <= markdown.COMMENT_LIMIT and cut.startswith("## head")
    assert cut.count("<details>") == cut.count("</details>") and "cut to fit" in cut
    assert markdown.fit("short") == "short"
