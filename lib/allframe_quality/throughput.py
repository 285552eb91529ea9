"""The throughput suite: TechEmpower's six tests served by AllFrame, Axum, Actix-web and raw Hyper.

All servers run at once, pinned to one core, against one private PostgreSQL; wrk runs pinned to the
other core. Every (server, test) is verified by TechEmpower's rules first and loaded only if it
passes. Loads are interleaved (each repeat visits every framework, in a rotating order), so the
machine's drift hits all of them alike; ratios between frameworks come from the same run.
"""
from __future__ import annotations

import os
import resource
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import pandas as pd
import psutil

from . import allframe_source, cargo, records, tfb_verify, wrk
from . import budgets as budgets_mod
from .budgets import Budgets, BudgetError, pick_names
from .memory import vm_hwm
from .postgres import FORTUNES, Postgres, free_port
from .procs import kill_group, say
from .size import headline

SUITE = "throughput"
PACKAGE = "tfb"
FRAMEWORKS = {"allframe": "tfb-allframe", "axum": "tfb-axum", "actix": "tfb-actix", "hyper": "tfb-hyper"}
LABELS = {"allframe": "AllFrame router on hyper", "axum": "Axum", "actix": "Actix-web", "hyper": "Hyper (ceiling)"}
TESTS = tfb_verify.TESTS


def cores() -> tuple[int, int]:
    """(server core, load-generator core): the first and last cores this process may use."""
    c = sorted(os.sched_getaffinity(0))
    return c[0], c[-1]


def pin(core: int) -> list[str]:
    return ["taskset", "-c", str(core)] if shutil.which("taskset") and len(os.sched_getaffinity(0)) > 1 else []


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
                 ready_timeout: float = 30.0) -> Server:
    """Start one server on a free port (another one if the port is taken), wait until it accepts."""
    for attempt in range(3):
        port = free_port()
        log = logdir / f"{framework}.log"
        with open(log, "w") as err:
            proc = subprocess.Popen([*pin(core), str(exe), f"127.0.0.1:{port}"], stdout=subprocess.DEVNULL,
                                    stderr=err, stdin=subprocess.DEVNULL, start_new_session=True,
                                    env=dict(os.environ, DATABASE_URL=db_url, TFB_POOL=str(pool)))
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
    frameworks: Sequence[str] | None = None,
    tests: Sequence[str] | None = None,
    *,
    duration_s: float = 5.0,
    concurrency: Sequence[int] = (64,),
    repeats: int = 3,
    warmup_s: float = 3.0,
    pipeline: int = 16,
    query_levels: bool = False,
    run_id: str | None = None,
    budgets: Budgets | None = None,
    printer: Callable[[str], None] | None = say,
) -> tuple[str, pd.DataFrame]:
    b = budgets or budgets_mod.load()
    fws = pick_names(frameworks, list(FRAMEWORKS), "framework")
    tsts = pick_names(tests, TESTS, "test")
    levels = [int(c) for c in concurrency]
    if not levels or any(c < 1 for c in levels) or repeats < 1 or duration_s < 1:
        raise BudgetError("concurrency levels, repeats and duration_s must be positive (duration at least 1 s)")
    cargo.require("wrk", "Install it: `apt-get install wrk`, or run `make setup`.")
    source = allframe_source.resolve(budgets=b)
    workspace, extra = allframe_source.workspace(source)
    run_id = records.start_run(run_id)
    started = time.monotonic()
    server_core, load_core = cores()
    rows: list[dict] = []

    def rec(fw, test, metric, unit, **kw):
        rows.append(records.record(suite=SUITE, subject=fw, config=test, metric=metric, unit=unit, **kw))

    exes: dict[str, Path] = {}
    for fw in fws:
        built = cargo.build(workspace, PACKAGE, bin=FRAMEWORKS[fw], no_default_features=False, extra_args=extra,
                            label=f"{FRAMEWORKS[fw]} [release]", printer=printer)
        if built.ok:
            exes[fw] = built.executable
        else:
            for t in tsts:
                rec(fw, t, "verified", "bool", status="failed", detail=built.failure_text())

    servers: dict[str, Server] = {}
    with Postgres() as pg, tempfile.TemporaryDirectory(prefix="afq-tfb-") as logdir:
        if printer:
            printer(f"throughput: PostgreSQL on port {pg.port}; servers pinned to core {server_core}, wrk to core {load_core}")
        try:
            for fw, exe in exes.items():
                try:
                    servers[fw] = start_server(fw, exe, pg.url, server_core, Path(logdir))
                except RuntimeError as e:
                    for t in tsts:
                        rec(fw, t, "verified", "bool", status="failed", detail=str(e))
            verified: dict[str, list[str]] = {t: [] for t in tsts}
            for fw, s in servers.items():
                for t in tsts:
                    problems = tfb_verify.verify(s.port, t, fortunes=FORTUNES, worlds=pg.worlds)
                    if not problems:
                        problems = tfb_verify.check_statement_counts(s.port, t, pg.reset_statements, pg.statement_calls)
                    if problems:
                        rec(fw, t, "verified", "bool", status="failed", detail="\n".join(problems))
                    else:
                        rec(fw, t, "verified", "bool", value=1)
                        verified[t].append(fw)
                    if printer:
                        printer(f"verify {fw}/{t}: {'ok' if not problems else 'FAILED: ' + problems[0]}")
            for t in tsts:
                _load_test(t, verified[t], servers, levels, repeats, duration_s, warmup_s, pipeline,
                           query_levels, load_core, rec, printer)
            for fw, s in servers.items():
                peak = vm_hwm(s.proc.pid)
                if peak:
                    rec(fw, "all", "server_peak_rss_bytes", "bytes", value=peak, detail="VmHWM after every load")
        finally:
            for s in servers.values():
                kill_group(s.proc)
    df = records.frame(rows, run_id)
    records.save_suite(run_id, SUITE, df, {
        "allframe": source.describe(),
        "pinning": {"server_core": server_core, "load_core": load_core},
        "parameters": {"frameworks": fws, "tests": tsts, "duration_s": duration_s, "concurrency": levels,
                       "repeats": repeats, "warmup_s": warmup_s, "pipeline": pipeline, "query_levels": query_levels},
        "wrk": subprocess.run(["wrk", "--version"], capture_output=True, text=True).stdout.split(" Copyright")[0].strip(),
        "seconds": round(time.monotonic() - started, 1),
    })
    if printer:
        printer(f"throughput suite: saved {len(df)} records to run {run_id} in {time.monotonic() - started:.0f}s")
    return run_id, df


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
                    if not s.alive():
                        rec(fw, test, "rps", "req/s", status="failed", detail="server died during the run: " + s.stderr_tail(),
                            variant=variant, sample=rep)
                if printer:
                    printer(f"  {test} {variant} repeat {rep + 1}/{repeats} done")


# ---------------------------------------------------------------- analysis

def summary(df: pd.DataFrame) -> pd.DataFrame:
    """Median req/s, CV and the repeats per framework, test and level; server and wrk CPU medians."""
    ok = df[df["status"] == "ok"]
    rps = ok[ok["metric"] == "rps"].groupby(["subject", "config", "variant"])["value"]
    out = pd.DataFrame({"median_rps": rps.median(), "cv_pct": rps.std(ddof=1) / rps.mean() * 100, "repeats": rps.count(),
                        "min_rps": rps.min(), "max_rps": rps.max()})
    for metric, name in (("server_cpu_pct", "server_cpu_pct"), ("load_cpu_pct", "load_cpu_pct"),
                         ("latency_p50_ms", "p50_ms"), ("latency_p99_ms", "p99_ms")):
        out[name] = ok[ok["metric"] == metric].groupby(["subject", "config", "variant"])["value"].median()
    out = out.reset_index().rename(columns={"subject": "framework", "config": "test", "variant": "level"})
    out["label"] = out["framework"].map(LABELS)
    return out


def relative(df: pd.DataFrame, reference: str) -> pd.DataFrame:
    """Each framework's median req/s as a share of `reference`'s in the same run (per test and level)."""
    s = summary(df)
    ref = s[s["framework"] == reference].set_index(["test", "level"])["median_rps"]
    s["share_pct"] = [r.median_rps / ref.get((r.test, r.level), float("nan")) * 100 for r in s.itertuples()]
    return s


def failures(df: pd.DataFrame) -> pd.DataFrame:
    f = df[df["status"] != "ok"][["subject", "config", "variant", "metric", "detail"]]
    return f.assign(reason=f["detail"].map(headline)).drop(columns="detail").reset_index(drop=True)


def evaluate(df: pd.DataFrame, b: Budgets) -> list[dict]:
    """Relative budgets (AllFrame's share of a peer in the same run) per test; failed verification fails."""
    findings = []
    rel = {ref: relative(df, ref) for ref in b.throughput.min_share_pct}
    for ref, min_pct in b.throughput.min_share_pct.items():
        r = rel[ref]
        for row in r[r["framework"] == "allframe"].to_dict("records"):
            if pd.isna(row["share_pct"]):
                continue
            ok = row["share_pct"] >= min_pct
            findings.append({"suite": SUITE, "what": f"{row['test']} {row['level']}: AllFrame vs {LABELS[ref]}",
                             "level": "pass" if ok else "fail", "status": "✅ within budget" if ok else "❌ below budget",
                             "measured": row["share_pct"], "target": None, "limit": min_pct, "unit": "%",
                             "note": f"median {row['median_rps']:,.0f} req/s"})
    for row in df[(df["status"] == "failed")].to_dict("records"):
        findings.append({"suite": SUITE, "what": f"{row['subject']}/{row['config']} {row['metric']}", "level": "fail",
                         "status": "❌ failed", "measured": None, "target": None, "limit": None, "unit": "",
                         "note": headline(row["detail"])})
    return findings


def server_memory(df: pd.DataFrame) -> pd.DataFrame:
    """Each server's peak RSS (the kernel's VmHWM) after all its loads."""
    m = df[(df["metric"] == "server_peak_rss_bytes") & (df["status"] == "ok")]
    return pd.DataFrame({"server": m["subject"].map(LABELS), "peak RSS MiB": m["value"] / 2**20}).reset_index(drop=True)
