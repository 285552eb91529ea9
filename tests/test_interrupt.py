"""Interrupting a real throughput run: Ctrl-C (SIGINT to the foreground process group), SIGTERM, or a killed
notebook kernel stop it within seconds and leave no PostgreSQL, server, wrk or kernel behind."""
import os
import signal
import subprocess
import sys
import time

import psutil
import pytest
from conftest import marked_processes

from allframe_quality.core import paths

pytestmark = pytest.mark.slow


MARK = f"afq-interrupt-test-{os.getpid()}"


def _lab_processes() -> list[str]:
    """Processes this test's report started (they inherit its marker variable; runuser keeps it), still alive."""
    out = []
    for p in marked_processes(MARK):
        try:
            out.append(f"{p.pid}: {' '.join(p.cmdline())[:120]}")
        except psutil.Error:
            continue
    return out


def _start_report(tmp_path):
    env = dict(os.environ, AFQ_TEST_MARK=MARK, AFQ_DATA_DIR=str(tmp_path / "data"), AFQ_SITE_DIR=str(tmp_path / "site"),
               AFQ_BUILD_DIR=str(tmp_path / "build"))
    args = [sys.executable, "-m", "allframe_quality.commands.cli", "report", "--notebooks", "throughput",
            "-p", "throughput.frameworks=[hyper]", "-p", "throughput.tests=[json]", "-p", "throughput.duration_s=60",
            "-p", "throughput.repeats=1", "-p", "throughput.warmup_s=1"]
    # its own session, as a terminal gives `make report` its own foreground process group
    return subprocess.Popen(args, env=env, cwd=paths.ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True)


def _is_measured_wrk(p) -> bool:
    try:
        return p.name() == "wrk" and "-d60s" in "".join(p.cmdline())
    except psutil.Error:
        return False


def _wait_for_load(proc, timeout=300):
    """Until wrk is loading the server (the measured 60 s run, after build, PostgreSQL, verification, warm-up)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.stdout.read()[-3000:]
        wrks = [p for p in marked_processes(MARK) if _is_measured_wrk(p)]
        if wrks:
            return
        time.sleep(0.5)
    raise AssertionError("wrk never started its measured run")


def _kernel(proc) -> psutil.Process:
    kids = psutil.Process(proc.pid).children(recursive=True)
    return next(k for k in kids if "ipykernel" in " ".join(k.cmdline()))


@pytest.mark.parametrize("how", ["SIGINT to the process group", "SIGTERM", "kernel killed"])
def test_interrupting_a_throughput_run_leaves_nothing_behind(how, tmp_path):
    proc = _start_report(tmp_path)
    try:
        _wait_for_load(proc)
        stopped_at = time.monotonic()
        if how == "SIGINT to the process group":
            os.killpg(proc.pid, signal.SIGINT)
        elif how == "SIGTERM":
            proc.send_signal(signal.SIGTERM)
        else:
            _kernel(proc).kill()
        out, _ = proc.communicate(timeout=60)
        took = time.monotonic() - stopped_at
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    time.sleep(1)
    assert _lab_processes() == [], out[-3000:]
    assert took < 20, f"took {took:.0f}s to stop"
    if how == "kernel killed":
        assert proc.returncode == 1 and "FAILED" in out
        assert (tmp_path / "site" / "throughput.failed.html").exists()
    else:
        assert proc.returncode == 130 and "stopping every process it started" in out
    assert not (tmp_path / "site" / "throughput.html").exists()     # nothing half-measured was published
