"""Memory suite: bad input, a probe killed mid-run, and a real small run measured end to end."""
import signal
import sys

import pytest

from allframe_quality.config import budgets
from allframe_quality.suites import memory, memory_analysis
from allframe_quality.core.errors import ParameterError



@pytest.mark.parametrize("events", [[0], [-5], ["ten"], [True], []])
def test_bad_event_counts_are_refused(events, data_dir):
    with pytest.raises(ParameterError, match="positive integer|no event counts"):
        memory.measure(events, printer=None)
    assert not data_dir.exists()


def test_unknown_payload_and_backend(data_dir):
    with pytest.raises(ParameterError, match=r"unknown payload\(s\) \['huge'\]; valid: \['small', 'order'\]"):
        memory.measure([10], payloads=["huge"], printer=None)
    with pytest.raises(ParameterError, match=r"unknown backend\(s\) \['redis'\]; valid: \['memory', 'sqlite'\]"):
        memory.measure([10], backends=["redis"], printer=None)


def test_a_killed_probe_is_recorded_with_its_signal_not_a_zero():
    # a stand-in process that announces a phase, then is killed the way the OOM killer kills
    code = "import os,signal,sys; print('{\"phase\": \"ready\"}', flush=True); os.kill(os.getpid(), signal.SIGKILL)"
    r = memory.run_probe([sys.executable, "-c", code], rate_hz=100)
    assert not r.ok and r.signal == signal.SIGKILL and r.peak_rss_bytes is None
    rows = memory._rows(dict(suite="memory", subject="allframe", config="memory", variant="small"), 10, r)
    assert [(x["status"], x["metric"]) for x in rows] == [("failed", "peak_rss_bytes")]
    assert "SIGKILL" in rows[0]["detail"] and "out-of-memory" in rows[0]["detail"] and "ready" in rows[0]["detail"]


@pytest.mark.slow
def test_small_real_run_end_to_end(data_dir):
    run_id, df = memory.measure([10_000, 400_000], payloads=["small"], rate_hz=100, printer=None)
    assert (df["status"] == "ok").all(), df[df["status"] != "ok"]["detail"].tolist()
    sc = memory_analysis.scalars(df)
    assert list(sc["events"]) == [10_000, 400_000]
    for r in sc.to_dict("records"):
        # the kernel's peak (VmHWM) and the sampled maximum agree within 5 %: VmHWM is only
        # refreshed at some kernel events, and sampling can miss a short spike
        assert abs(r["peak_rss_bytes"] - r["sampled_max_rss_bytes"]) <= 0.05 * r["peak_rss_bytes"], r
        # 10k events of 8 bytes can fit in pages already resident at start: used may be 0 there
        assert r["used_bytes"] >= 0 and r["heap_peak_bytes"] > 0 and r["heap_allocations"] >= r["events"]
        assert r["payload_json_bytes"] > 0 and r["payload_mem_bytes"] > 0
    assert sc["used_bytes"].iloc[1] > 8 * 400_000 * 0.9  # 400k events of 8 bytes are really there
    tl = memory_analysis.timeline(df)
    assert {"ready", "appending", "appended", "read"} <= set(tl["phase"])
    pe = memory_analysis.per_event(df)
    # fitted from two real runs: more events cost more memory, at least the event's own size
    assert pe["heap_bytes_per_event"].iloc[0] >= pe["payload_mem_bytes"].iloc[0] * 0.9
