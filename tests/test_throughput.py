"""Throughput suite: TechEmpower's verification against deliberately wrong responses, wrk output
recorded from real runs, and a short real run against a real server and a real PostgreSQL."""
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import psutil
import pytest
from conftest import marked_processes

from allframe_quality.config import budgets
from allframe_quality.tools import postgres, tfb_verify, wrk
from allframe_quality.suites import throughput, throughput_analysis
from allframe_quality.core.errors import ParameterError

FIX = Path(__file__).parent / "fixtures"
GOOD_FORTUNES = tfb_verify.expected_fortunes_html(postgres.FORTUNES)


def fake_server(faults: set[str]):
    """A tiny TechEmpower server that is right except for the named faults."""
    class H(BaseHTTPRequestHandler):
        def log_message(self, *a):
            pass

        def reply(self, ct, body: bytes):
            self.send_response_only(200)
            self.send_header("Server", "fake")
            if "no-date" not in faults:
                self.send_header("Date", self.date_time_string())
            self.send_header("Content-Type", ct)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self):
            path, _, query = self.path.partition("?")
            raw = query.partition("=")[2]
            if path == "/json":
                ct = "text/plain" if "json-content-type" in faults else "application/json"
                self.reply(ct, json.dumps({"message": "Hello, World!"}).encode())
            elif path == "/plaintext":
                self.reply("text/plain", b"Hello, World!")
            elif path == "/db":
                self.reply("application/json", json.dumps({"id": 5, "randomnumber": 7} if "key-case" in faults else {"id": 5, "randomNumber": 7}).encode())
            elif path in ("/queries", "/updates"):
                try:
                    n = int(raw)
                except ValueError:
                    n = 0 if "clamping" in faults else 1
                n = n if "clamping" in faults else max(1, min(500, n))
                self.reply("application/json", json.dumps([{"id": i + 1, "randomNumber": 1} for i in range(n)]).encode())
            elif path == "/fortunes":
                page = GOOD_FORTUNES
                if "unescaped" in faults:
                    page = page.replace("&lt;script&gt;", "<script>")
                if "unsorted" in faults:
                    a, b = "<tr><td>8</td>", "<tr><td>7</td>"
                    page = page.replace(a, "@@").replace(b, a).replace("@@", b)
                self.reply("text/html; charset=utf-8" if "no-charset" not in faults else "text/html", page.encode())

    srv = ThreadingHTTPServer(("127.0.0.1", 0), H)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv


def _verify(faults, test):
    srv = fake_server(faults)
    try:
        return tfb_verify.verify(srv.server_address[1], test, fortunes=postgres.FORTUNES, date_wait=1.05)
    finally:
        srv.shutdown()


@pytest.mark.slow   # waits for the Date header to change
def test_a_correct_server_passes():
    for test in ("json", "plaintext", "fortunes"):
        assert _verify(set(), test) == [], test


@pytest.mark.parametrize("fault, test, message", [
    ("json-content-type", "json", "Content-Type 'text/plain' does not match"),
    ("no-date", "json", "no Date header"),
    ("key-case", "db", "no 'randomNumber' key"),
    ("clamping", "queries", "queries?queries='foo': 0 rows, expected 1"),
    ("unescaped", "fortunes", "fortunes HTML differs"),
    ("unsorted", "fortunes", "fortunes HTML differs"),
    ("no-charset", "fortunes", "Content-Type 'text/html' does not match"),
])
@pytest.mark.slow   # waits for the Date header to change
def test_each_wrong_response_is_caught(fault, test, message):
    problems = _verify({fault}, test)
    assert any(message in p for p in problems), problems


@pytest.mark.parametrize("name, pipelined", [("wrk-json.txt", False), ("wrk-plaintext-pipelined.txt", True)])
def test_wrk_done_hook_output(name, pipelined):
    text = (FIX / name).read_text()
    r = wrk.parse(text)
    assert r.requests > 1000 and 0.9 < r.duration_s < 1.2 and r.non_2xx == 0 and r.socket_errors == 0
    assert r.latency_us["p50"] <= r.latency_us["max"]
    assert r.rps == pytest.approx(r.requests / r.duration_s)
    # the human table says roughly the same (a cross-check, never what we parse)
    human = float(next(l for l in text.splitlines() if l.startswith("Requests/sec:")).split()[1])
    assert r.rps == pytest.approx(human, rel=0.02)


def test_wrk_without_the_hook_is_an_error():
    with pytest.raises(wrk.WrkError, match="done\\(\\) hook did not run"):
        wrk.parse("Running 1s test @ http://127.0.0.1:1/\nRequests/sec: 1.0\n")


def test_unknown_framework_or_test_names_the_valid_ones(data_dir):
    with pytest.raises(ParameterError, match=r"unknown framework\(s\) \['rocket'\]; valid: \['allframe', 'axum', 'actix', 'hyper'\]"):
        throughput.measure(["rocket"], printer=None)
    with pytest.raises(ParameterError, match=r"unknown test\(s\) \['cached'\]; valid: \['json'"):
        throughput.measure(["axum"], ["cached"], printer=None)
    assert not data_dir.exists()


@pytest.mark.slow
def test_short_real_run_leaves_no_process_behind(data_dir, lab_mark):
    run_id, df = throughput.measure(["allframe", "hyper"], ["json", "fortunes"], duration_s=1, repeats=2,
                                    warmup_s=1, printer=None)
    verified = df[df["metric"] == "verified"]
    assert (verified["status"] == "ok").all(), verified["detail"].tolist()
    rps = df[(df["metric"] == "rps") & (df["status"] == "ok")]
    assert len(rps) == 2 * 2 * 2 and (rps["value"] > 100).all()
    rel = throughput_analysis.relative(df, "hyper")
    assert rel[rel["framework"] == "hyper"]["share_pct"].round(6).eq(100).all()
    assert {"server_cpu_pct", "load_cpu_pct", "latency_p99_ms", "server_peak_rss_bytes"} <= set(df["metric"])
    strays = [" ".join(p.cmdline()) for p in marked_processes(lab_mark)]
    assert strays == []
