"""Child processes never outlive the harness: grandchildren included, on timeout and on Ctrl-C."""
import time

import psutil
import pytest

from allframe_quality.core import procs

# A shell that leaves a grandchild (sleep) running, prints its pid, then waits.
SCRIPT = "sleep 60 & echo $!; wait"


def _gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


@pytest.mark.slow   # sleeps through a real timeout and grace period
def test_ctrl_c_kills_the_whole_group():
    seen = []

    def on_line(line):
        seen.append(int(line))
        raise KeyboardInterrupt  # what Ctrl-C in a notebook or terminal raises mid-run

    with pytest.raises(KeyboardInterrupt):
        procs.run(["sh", "-c", SCRIPT], on_line=on_line)
    time.sleep(0.2)
    assert seen and _gone(seen[0])


@pytest.mark.slow   # sleeps through a real timeout and grace period
def test_timeout_kills_grandchildren_too():
    started = time.monotonic()
    r = procs.run(["sh", "-c", SCRIPT], timeout=1.0)
    assert not r.ok and time.monotonic() - started < 15
    assert _gone(int(r.stdout.strip()))


def test_stderr_tail_and_exit_code():
    r = procs.run(["sh", "-c", "for i in $(seq 1 100); do echo line$i >&2; done; exit 3"], tail=5)
    assert r.returncode == 3 and r.stderr_tail == [f"line{i}" for i in range(96, 101)]
