"""The throughput suite: TechEmpower's six tests served by AllFrame, Axum, Actix-web and raw Hyper.

All servers run at once, pinned to one core, against one private PostgreSQL; wrk runs pinned to the
other core. Every (server, test) is verified by TechEmpower's rules first and loaded only if it
passes. Loads are interleaved (each repeat visits every framework, in a rotating order), so the
machine's drift hits all of them alike; ratios between frameworks come from the same run.
"""
from __future__ import annotations

import os
import resource
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import pandas as pd
import psutil

from . import contract
from ..core import registry
from ..tools import tfb_verify, wrk
from ..core.errors import ParameterError
from ..config.budgets import Budgets, pick_names
from ..tools.cgroups import CpuQuota
from ..tools.probe import vm_hwm
from ..tools.cpu import cores, pin
from ..tools.postgres import FORTUNES, Postgres, free_port
from ..core.procs import kill_group, say, spawn
from .throughput_analysis import SUITE
PACKAGE = "tfb"
FRAMEWORKS = {f: f"tfb-{f}" for f in registry.THROUGHPUT_FRAMEWORKS}   # framework -> its server package
TESTS = tfb_verify.TESTS


@dataclass
class Server:
    framework: str
    proc: subprocess.Popen
    port: int
    log: Path

    def alive(self) -> bool:
        return self.proc.poll() is None

    def stderr_tail(self, n: int = 15) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-n:]) if self.log.exists() else ""

    def cpu_seconds(self) -> float:
        try:
            t = psutil.Process(self.proc.pid).cpu_times()
            return t.user + t.system
        except psutil.Error:
            return float("nan")




def start_server(framework: str, exe: Path, db_url: str, core: int, logdir: Path, pool: int = 4,
                 ready_timeout: float = 30.0, quota: CpuQuota | None = None) -> Server:
    """Start one server on a free port (another one if the port is taken), wait until it accepts."""
    for attempt in range(3):
        port = free_port()
        log = logdir / f"{framework}.log"
        with open(log, "w") as err:
            proc = spawn([*pin(core), str(exe), f"127.0.0.1:{port}"], stdout=subprocess.DEVNULL, stderr=err,
                         env=dict(os.environ, DATABASE_URL=db_url, TFB_POOL=str(pool)))
        if quota is not None:
            quota.add(proc.pid)
        s = Server(framework, proc, port, log)
        deadline = time.monotonic() + ready_timeout
        while time.monotonic() < deadline and s.alive():
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                    return s
            except OSError:
                time.sleep(0.1)
        kill_group(proc)
        if "Address already in use" not in s.stderr_tail():
            break
    raise RuntimeError(f"{framework} server did not start: " + (s.stderr_tail() or "no output"))


def measure(
    frameworks: Sequence[str] | str | None = None,
    tests: Sequence[str] | str | None = None,
    *,
    duration_s: float = 5.0,
    concurrency: Sequence[int] | int = (64,),
    repeats: int = 3,
    warmup_s: float = 3.0,
    pipeline: int = 16,
    query_levels: bool = False,
    server_cpu_quota: float | None = 0.5,
    run_id: str | None = None,
    budgets: Budgets | None = None,
    printer: Callable[[str], None] | None = say,
) -> tuple[str, pd.DataFrame]:
    fws = pick_names(contract.as_list(frameworks, "frameworks"), list(FRAMEWORKS), "framework")
    tsts = pick_names(contract.as_list(tests, "tests"), TESTS, "test")
    levels = [int(c) for c in contract.as_list(concurrency, "concurrency")]
    if not levels or any(c < 1 for c in levels) or repeats < 1 or duration_s < 1:
        raise ParameterError("concurrency levels, repeats and duration_s must be positive (duration at least 1 s)")
    if server_cpu_quota is not None and not 0 < float(server_cpu_quota) <= 1:
        raise ParameterError(f"server_cpu_quota is a share of one core in (0, 1], or None for no quota; got {server_cpu_quota!r}")
    tools = ["wrk", "taskset"]

    params = {"frameworks": fws, "tests": tsts, "duration_s": duration_s, "concurrency": levels, "repeats": repeats,
              "warmup_s": warmup_s, "pipeline": pipeline, "query_levels": query_levels,
              "server_cpu_quota": server_cpu_quota}
    return contract.run(SUITE, lambda ctx: _collect(ctx, params), parameters=params, packages=[PACKAGE],
                        budgets=budgets, run_id=run_id, printer=printer, tools=tools)


def _collect(ctx: contract.Context, p: dict) -> None:
    server_core, load_core = cores()
    ctx.info["pinning"] = {"server_core": server_core, "load_core": load_core}
    ctx.info["wrk"] = subprocess.run(["wrk", "--version"], capture_output=True, text=True).stdout.split(" Copyright")[0].strip()
    rec = _recorder(ctx)
    exes: dict[str, Path] = {}
    for fw in p["frameworks"]:
        built = ctx.build(PACKAGE, bin=FRAMEWORKS[fw], label=f"{FRAMEWORKS[fw]} [release]")
        if built.ok:
            exes[fw] = built.executable
        else:
            for t in p["tests"]:
                rec(fw, t, "verified", "bool", status="failed", detail=built.failure_text())
    servers: dict[str, Server] = {}
    with Postgres() as pg, tempfile.TemporaryDirectory(prefix="afq-tfb-") as logdir, \
            CpuQuota(p["server_cpu_quota"]) as quota:
        ctx.info["cpu_quota"] = quota.describe()
        ctx.say(f"throughput: PostgreSQL on port {pg.port}; servers pinned to core {server_core}, wrk to core "
                f"{load_core}; {quota.describe()}")
        try:
            for fw, exe in exes.items():
                try:
                    servers[fw] = start_server(fw, exe, pg.url, server_core, Path(logdir), quota=quota)
                except RuntimeError as e:
                    for t in p["tests"]:
                        rec(fw, t, "verified", "bool", status="failed", detail=str(e))
            verified = _verify_all(ctx, servers, p["tests"], pg, rec)
            for t in p["tests"]:
                _load_test(t, verified[t], servers, p["concurrency"], p["repeats"], p["duration_s"], p["warmup_s"],
                           p["pipeline"], p["query_levels"], load_core, rec, ctx.printer)
            for fw, s in servers.items():
                peak = vm_hwm(s.proc.pid)
                if peak:
                    rec(fw, "all", "server_peak_rss_bytes", "bytes", value=peak, detail="VmHWM after every load")
        finally:
            for s in servers.values():
                kill_group(s.proc)


def _recorder(ctx: contract.Context):
    def rec(fw, test, metric, unit, **kw):
        ctx.record(subject=fw, config=test, metric=metric, unit=unit, **kw)
    return rec


def _verify_all(ctx, servers: dict, tests: list[str], pg, rec) -> dict[str, list[str]]:
    """Each (server, test) verified by TechEmpower's rules, statement counts included; test -> the servers that passed."""
    verified: dict[str, list[str]] = {t: [] for t in tests}
    for fw, s in servers.items():
        for t in tests:
            problems = tfb_verify.verify(s.port, t, fortunes=FORTUNES, worlds=pg.worlds)
            if not problems:
                problems = tfb_verify.check_statement_counts(s.port, t, pg.reset_statements, pg.statement_calls)
            if problems:
                rec(fw, t, "verified", "bool", status="failed", detail="TechEmpower verification: " + "\n".join(problems))
            else:
                rec(fw, t, "verified", "bool", value=1)
                verified[t].append(fw)
            ctx.say(f"verify {fw}/{t}: {'ok' if not problems else 'FAILED: ' + problems[0]}")
    return verified


def _paths(test: str, query_levels: bool) -> list[tuple[str, str]]:
    """(variant suffix, path) pairs for a test."""
    if test in ("queries", "updates"):
        qs = (1, 5, 10, 15, 20) if query_levels else (20,)
        return [(f"-q{q}", tfb_verify.PATHS[test] + str(q)) for q in qs]
    return [("", tfb_verify.PATHS[test])]


def _load_test(test, fws, servers, levels, repeats, duration_s, warmup_s, pipeline, query_levels, load_core, rec, printer):
    if not fws:
        return
    depth = pipeline if test == "plaintext" else 0
    for suffix, path in _paths(test, query_levels):
        for fw in fws:  # primer and warm-up, as TechEmpower does (not recorded)
            url = f"http://127.0.0.1:{servers[fw].port}{path}"
            for d, c in ((1, 8), (warmup_s, max(levels))):
                try:
                    wrk.run(url, test=test, duration_s=d, connections=c, pipeline=depth, pin=pin(load_core))
                except wrk.WrkError:
                    pass
        for c in levels:
            variant = f"c{c}{suffix}"
            for rep in range(repeats):
                order = fws[rep % len(fws):] + fws[:rep % len(fws)]  # rotate who goes first
                for fw in order:
                    s = servers[fw]
                    base = dict(variant=variant, sample=rep)
                    if not s.alive():
                        rec(fw, test, "rps", "req/s", status="failed", detail="server died: " + s.stderr_tail(), **base)
                        continue
                    cpu0, kids0 = s.cpu_seconds(), resource.getrusage(resource.RUSAGE_CHILDREN)
                    try:
                        r, done = wrk.run(f"http://127.0.0.1:{s.port}{path}", test=test, duration_s=duration_s,
                                          connections=c, pipeline=depth, pin=pin(load_core))
                    except wrk.WrkError as e:
                        rec(fw, test, "rps", "req/s", status="failed", detail=str(e), **base)
                        continue
                    kids1 = resource.getrusage(resource.RUSAGE_CHILDREN)
                    wall = r.duration_s
                    load_cpu = (kids1.ru_utime - kids0.ru_utime + kids1.ru_stime - kids0.ru_stime) / wall * 100
                    server_cpu = (s.cpu_seconds() - cpu0) / wall * 100
                    rec(fw, test, "rps", "req/s", value=r.rps, **base,
                        detail=f"{r.requests} requests in {wall:.2f}s, {r.non_2xx} non-2xx excluded")
                    for k, v in r.latency_us.items():
                        if k in ("p50", "p75", "p90", "p99", "max"):
                            rec(fw, test, f"latency_{k}_ms", "ms", value=v / 1000, **base)
                    rec(fw, test, "non_2xx", "count", value=r.non_2xx, **base)
                    rec(fw, test, "socket_errors", "count", value=r.socket_errors, **base)
                    rec(fw, test, "server_cpu_pct", "% of a core", value=server_cpu, **base)
                    rec(fw, test, "load_cpu_pct", "% of a core", value=load_cpu, **base)
                    if server_cpu > 0:   # the server's own efficiency, whatever bounded the run
                        rec(fw, test, "requests_per_cpu_s", "req/CPU-s", value=r.requests / (server_cpu / 100 * wall), **base)
                    if not s.alive():
                        rec(fw, test, "rps", "req/s", status="failed", detail="server died during the run: " + s.stderr_tail(),
                            variant=variant, sample=rep)
                if printer:
                    printer(f"  {test} {variant} repeat {rep + 1}/{repeats} done")
