"""Child processes: each in its own process group, gone when we return (success, error or Ctrl-C).

The command line (cli report, ab) also guards the whole tree: it becomes a child subreaper, so a process
orphaned below it (a daemonised PostgreSQL, the children of a killed notebook kernel) is reparented to it
instead of to init, and on exit, SIGINT or SIGTERM it ends every descendant (`guard`).
"""
from __future__ import annotations

import collections
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence, TypeVar


T = TypeVar("T")


def say(text: str) -> None:
    """Progress lines: flushed at once, so papermill and make show them while builds run."""
    print(text, flush=True)


@dataclass
class Completed:
    args: list[str]
    returncode: int
    stdout: str
    stderr_tail: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.returncode == 0


def kill_group(proc: subprocess.Popen, grace: float = 3.0) -> None:
    """SIGTERM the child's whole process group, then SIGKILL what is left after `grace` seconds."""
    if proc.poll() is not None and not _group_alive(proc.pid):
        return
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            if proc.poll() is not None and not _group_alive(proc.pid):
                return
            time.sleep(0.05)


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
        return True
    except ProcessLookupError:
        return False
    except PermissionError:
        return True


def spawn(args: Sequence[str | os.PathLike], **kw) -> subprocess.Popen:
    """Popen in a new session (its own process group, so kill_group ends it and its children)."""
    kw.setdefault("stdin", subprocess.DEVNULL)
    return subprocess.Popen([str(a) for a in args], start_new_session=True, **kw)


def become_subreaper() -> bool:
    """PR_SET_CHILD_SUBREAPER: orphans below this process are reparented to it (Linux)."""
    try:
        import ctypes
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(36, 1, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def kill_descendants(grace: float = 3.0) -> list[str]:
    """SIGTERM every descendant process (and its process group), SIGKILL what is left after `grace`;
    returns the names of what had to be ended."""
    import psutil
    try:
        kids = psutil.Process().children(recursive=True)
    except psutil.Error:
        return []
    names = []
    for k in kids:
        try:
            names.append(f"{k.name()}({k.pid})")
            pgid = os.getpgid(k.pid)
            if pgid != os.getpgid(0):
                os.killpg(pgid, signal.SIGTERM)
            k.terminate()
        except (psutil.Error, ProcessLookupError, PermissionError):
            pass
    _, alive = psutil.wait_procs(kids, timeout=grace)
    for k in alive:
        try:
            k.kill()
        except psutil.Error:
            pass
    psutil.wait_procs(alive, timeout=5)
    while True:   # reap orphans that were reparented to us
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            break
        if pid == 0:
            break
    return names


class Interrupted(KeyboardInterrupt):
    """SIGINT or SIGTERM reached the command line; its descendants are already gone."""


def guard(what: str) -> None:
    """For a command-line entry point: subreaper, and SIGINT/SIGTERM end every descendant at once, then
    raise Interrupted in the main thread (so `finally` blocks run and nothing half-written is published)."""
    become_subreaper()

    def stop(signum, frame):
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        name = signal.Signals(signum).name
        print(f"\n{what}: {name} received, stopping every process it started ...", flush=True)
        ended = kill_descendants()
        print(f"{what}: ended {len(ended)} process(es){': ' + ', '.join(ended[:12]) if ended else ''}", flush=True)
        raise Interrupted(name)

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)


def run(
    args: Sequence[str | os.PathLike],
    *,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    on_line: Callable[[str], None] | None = None,
    keep_stdout: bool = True,
    tail: int = 40,
    timeout: float | None = None,
    heartbeat: tuple[float, Callable[[float], None]] | None = None,
    on_spawn: Callable[[int], None] | None = None,
) -> Completed:
    """Run a command in a new process group, streaming stdout lines to `on_line`.

    stderr is drained on a thread and its last `tail` lines kept. On any exception
    (including KeyboardInterrupt) or timeout the whole group is killed before raising.
    `heartbeat=(seconds, fn)` calls fn(elapsed) every `seconds` while the command runs;
    `on_spawn(pid)` is called once the child exists.
    """
    argv = [str(a) for a in args]
    started = time.monotonic()
    proc = spawn(argv, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                 encoding="utf-8", errors="replace")
    if on_spawn is not None:
        on_spawn(proc.pid)
    err_tail: collections.deque[str] = collections.deque(maxlen=tail)
    drain = threading.Thread(target=lambda: err_tail.extend(l.rstrip("\n") for l in proc.stderr), daemon=True)
    drain.start()
    out: list[str] = []
    stop = threading.Event()
    if heartbeat is not None:
        every, beat = heartbeat
        threading.Thread(target=lambda: [beat(time.monotonic() - started) for _ in iter(lambda: stop.wait(every), True)],
                         daemon=True).start()
    timer = None
    if timeout is not None:
        timer = threading.Timer(timeout, kill_group, args=(proc,))
        timer.start()
    try:
        for line in proc.stdout:
            if keep_stdout:
                out.append(line)
            if on_line is not None:
                on_line(line.rstrip("\n"))
        proc.wait()
        drain.join(timeout=5)
    except BaseException:
        kill_group(proc)
        raise
    finally:
        stop.set()
        if timer is not None:
            timer.cancel()
        kill_group(proc)  # stray grandchildren of a finished command
    return Completed(argv, proc.returncode, "".join(out), list(err_tail), time.monotonic() - started)


def guarded(command: str, work: Callable[[], T], *, interrupted: str,
            errors: tuple[type[BaseException], ...] = ()) -> tuple[int | None, T | None]:
    """A command's work under the lab's one exit-code contract: (None, result) when it ran; (2, None) when its
    input cannot be measured (errors.InputError, or one of `errors`); (130, None) on SIGINT/SIGTERM, saying
    `interrupted` (what was kept). Every process it started is gone when this returns."""
    from .errors import InputError
    guard(command)
    try:
        return None, work()
    except (InputError, *errors) as e:
        print(f"{command}: {e}", file=sys.stderr)
        return 2, None
    except Interrupted as e:
        print(f"{command}: interrupted by {e}; {interrupted}", file=sys.stderr)
        return 130, None
    finally:
        kill_descendants()
