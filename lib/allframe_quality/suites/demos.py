"""The demos suite: the PRD's five applications (bench/demos/, a Cargo workspace of its own) built, tested
and measured, with the PRD's feature list of each mapped to the test that demonstrates it, and an audit of
what AllFrame itself delivers (bench/capability-audit).

Per demo: the release executable as built and stripped; its tests, run from the executables cargo built
(`cargo test --no-run --message-format json`), each reporting through libtest's JSON events; its Rust code
lines against the PRD's 500; cold start to the first successful `GET /health` (median of `starts`); idle RSS;
and a short wrk load on the endpoint its README names (`Load endpoint: GET /path`), verified first.
"""
from __future__ import annotations

import json
import os
import re
import secrets
import socket
import statistics
import subprocess
import tempfile
import time
import tomllib
import urllib.error
import urllib.request
from pathlib import Path
from typing import Callable, Sequence

import pandas as pd

from ..tools import cargo, libtest, wrk
from ..core import procs
from . import contract
from ..core.errors import ParameterError
from ..config.budgets import Budgets, pick_names
from ..tools.probe import proc_status_bytes, vm_hwm
from ..tools.postgres import free_port
from ..core.procs import kill_group, say, spawn
from ..tools.cpu import cores, pin
from .demos_analysis import SUITE
WORKSPACE = "demos"            # bench/demos: the five applications
AUDIT = "capability-audit"     # bench/capability-audit: AllFrame's promises, probed
OUTCOMES = {"works": 2.0, "partly": 1.0, "not": 0.0}
# The demos that sign tokens refuse to start without a secret (no fallback); the lab gives each run a fresh one.
JWT_SECRET = secrets.token_hex(32)


# ---------------------------------------------------------------- the workspace

def _workspace_members(bench: Path) -> list[str]:
    return list(tomllib.loads((bench / WORKSPACE / "Cargo.toml").read_text())["workspace"]["members"])


def members(bench: Path) -> list[str]:
    """The demos: the workspace's members that are applications (a `src/main.rs`)."""
    return [m for m in _workspace_members(bench) if (bench / WORKSPACE / m / "src" / "main.rs").exists()]


def support_crates(bench: Path) -> list[str]:
    """The workspace's library crates the demos share (demo-support): counted apart from every demo."""
    return [m for m in _workspace_members(bench) if m not in members(bench)]


def features(bench: Path) -> dict[str, list[dict]]:
    """bench/demos/features.toml: per demo, its PRD features, each with the test that demonstrates it and
    what provides it (allframe: which API; other: which crate)."""
    p = bench / WORKSPACE / "features.toml"
    return tomllib.loads(p.read_text()) if p.exists() else {}


def load_endpoint(readme: Path) -> str | None:
    """The path of `Load endpoint: GET /path` in a demo's README (None when it names none)."""
    m = re.search(r"Load endpoint:\s*`?GET\s+(/\S*?)`?\s*$", readme.read_text(), re.M) if readme.exists() else None
    return m.group(1) if m else None


def count_code_lines(text: str) -> int:
    """Rust code lines: not blank, not comments (line, block, doc), not inside a #[cfg(test)] item."""
    n, in_block, skip_depth, pending_test = 0, 0, None, False
    for raw in text.splitlines():
        line = raw.strip()
        code = ""
        i = 0
        while i < len(line):   # strip comments, keeping code around block comments
            if in_block:
                end = line.find("*/", i)
                if end < 0:
                    i = len(line)
                    break
                in_block, i = in_block - 1, end + 2
                continue
            if line.startswith("//", i):
                break
            if line.startswith("/*", i):
                in_block, i = in_block + 1, i + 2
                continue
            if line[i] == '"':   # a string literal: copy it whole (it may hold // or /*)
                j = i + 1
                while j < len(line) and line[j] != '"':
                    j += 2 if line[j] == "\\" else 1
                code += line[i:j + 1]
                i = j + 1
                continue
            code += line[i]
            i += 1
        code = code.strip()
        if not code:
            continue
        if skip_depth is not None:
            skip_depth += code.count("{") - code.count("}")
            if skip_depth <= 0:
                skip_depth = None
            continue
        if code.startswith("#[cfg(test)]"):
            pending_test = True
            rest = code[len("#[cfg(test)]"):].strip()
            if not rest:
                continue
            code = rest
        if pending_test:
            pending_test = False
            depth = code.count("{") - code.count("}")
            if depth > 0:
                skip_depth = depth
            continue
        n += 1
    return n


def crate_lines(crate_dir: Path) -> int:
    """Code lines of a crate's src/ (tests/ and benches/ are not counted)."""
    return sum(count_code_lines(p.read_text(errors="replace")) for p in sorted((crate_dir / "src").rglob("*.rs")))


# ---------------------------------------------------------------- tests, from cargo's and libtest's JSON

def test_executables(ws: Path, names: Sequence[str], cargo_args: Sequence[str], printer) -> dict[str, tuple[list[Path], str]]:
    """Build the demos' tests in one cargo invocation (release profile, sharing one compile of what they have in
    common; --keep-going, so a demo that does not compile leaves the others' tests): {demo: (test executables,
    failure text or "")}. cargo test takes --no-fail-fast, not --keep-going, for the same."""
    args = ["--release", "--no-fail-fast", *[a for n in names for a in ("-p", n)], *cargo_args]
    built = libtest.build_tests(ws, args, cargo.env(), f"tests of {', '.join(names)} [release]", printer)
    out = {}
    for n in names:
        exes, error = built["by_package"].get(n, []), built["errors_by_package"].get(n, "")
        out[n] = ([], error) if error else (exes, "" if exes else built["error"] or "cargo built no test executable")
    return out


run_test_executable = libtest.run


# ---------------------------------------------------------------- running a demo

def _get(url: str, timeout: float = 2.0) -> tuple[int, bytes, str]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status, r.read(), r.headers.get("Content-Type", "")
    except urllib.error.HTTPError as e:
        return e.code, e.read(), e.headers.get("Content-Type", "")


def start(exe: Path, core: int | None = None, timeout: float = 30.0) -> tuple[subprocess.Popen, str, float]:
    """Start a demo on a free port; returns (process, base url, seconds from spawn to the first 200 on /health)."""
    port = free_port()
    addr = f"127.0.0.1:{port}"
    began = time.perf_counter()
    proc = spawn([*(pin(core) if core is not None else []), str(exe), addr], stdout=subprocess.DEVNULL,
                 stderr=subprocess.PIPE, env=dict(os.environ, DEMO_ADDR=addr, RUST_LOG="warn", JWT_SECRET=JWT_SECRET))
    url = f"http://{addr}"
    deadline = began + timeout
    while time.perf_counter() < deadline:
        if proc.poll() is not None:
            err = proc.stderr.read().decode(errors="replace")[-1500:] if proc.stderr else ""
            raise RuntimeError(f"{exe.name} exited with {proc.returncode} before answering /health: {err}")
        try:
            status, _, _ = _get(url + "/health", timeout=0.5)
            if status == 200:
                return proc, url, time.perf_counter() - began
        except (urllib.error.URLError, ConnectionError, OSError, socket.timeout):
            pass
        time.sleep(0.005)
    kill_group(proc)
    raise RuntimeError(f"{exe.name} did not answer GET /health with 200 within {timeout:.0f}s")


def verify_endpoint(url: str) -> str | None:
    """The load endpoint must answer 200 with a JSON body before it is loaded; the problem, or None."""
    try:
        status, body, ctype = _get(url)
    except (urllib.error.URLError, OSError) as e:
        return f"GET {url}: {e}"
    if status != 200:
        return f"GET {url}: status {status}: {body[:200]!r}"
    if "json" in ctype:
        try:
            json.loads(body)
        except ValueError:
            return f"GET {url}: Content-Type {ctype} but the body is not JSON: {body[:200]!r}"
    return None


# ---------------------------------------------------------------- the suite

def measure(
    demos: Sequence[str] | str | None = None,       # None or "all": every member of bench/demos
    *,
    load_duration_s: float = 3.0,
    starts: int = 5,
    connections: int = 32,
    audit: bool = True,
    allframe_version: str | None = None,
    allframe_checkout: str | None = None,
    run_id: str | None = None,
    budgets: Budgets | None = None,
    printer: Callable[[str], None] | None = say,
) -> tuple[str, pd.DataFrame]:
    from ..core import paths
    valid = members(paths.BENCH)
    chosen = pick_names(None if demos == "all" else contract.as_list(demos, "demos"), valid, "demo")
    if starts < 1 or load_duration_s < 1 or connections < 1:
        raise ParameterError("starts and connections must be at least 1, load_duration_s at least 1 second")
    tools = ["wrk", "strip"]

    def collect(ctx: contract.Context) -> None:
        ws = ctx.workspace / WORKSPACE
        server_core, load_core = cores()
        ctx.info["pinning"] = {"demo_core": server_core, "load_core": load_core}
        feats = features(ctx.workspace)
        for crate in support_crates(ctx.workspace):   # shared by the demos, so counted once, apart from them
            ctx.record(subject=crate, config=crate, metric="support_code_lines", unit="lines", value=crate_lines(ws / crate),
                       detail=f"Rust code lines in {crate}/src, shared by every demo (not in any demo's count)")
        tests = test_executables(ws, chosen, ctx.cargo_args, ctx.printer)
        for name in chosen:
            _measure_demo(ctx, ws, name, chosen, tests[name], feats.get(name, []), load_duration_s, starts,
                          connections, server_core, load_core)
        if audit:
            _audit(ctx)

    params = {"demos": chosen, "load_duration_s": load_duration_s, "starts": starts, "connections": connections,
              "audit": audit}
    return contract.run(SUITE, collect, parameters=params, packages=[WORKSPACE, AUDIT], budgets=budgets,
                     allframe_version=allframe_version, allframe_checkout=allframe_checkout, run_id=run_id,
                     printer=printer, tools=tools)


def _measure_demo(ctx, ws: Path, name: str, chosen: list[str], tests: tuple[list[Path], str], feats: list[dict],
                  load_s: float, starts: int, connections: int, server_core: int, load_core: int) -> None:
    base = dict(subject="allframe", config=name, variant="release")
    ctx.record(**base, metric="code_lines", unit="lines", value=crate_lines(ws / name),
               detail=f"Rust code lines in {name}/src (blank, comments and #[cfg(test)] not counted)")
    # resolved with the other demos, as `cargo build --release` in the workspace does: one compile of what they share
    built = ctx.build(name, workspace=ws, label=f"{name} [release]", resolved_with=chosen)
    if not contract.size_rows(ctx, base, built):
        return
    exes, results = _test_rows(ctx, base, tests)
    _feature_rows(ctx, base, feats, exes, results)
    _run_rows(ctx, base, built.executable, load_endpoint(ws / name / "README.md"), load_s, starts, connections,
              server_core, load_core)


def _test_rows(ctx, base: dict, tests: tuple[list[Path], str]) -> tuple[list[Path], list[dict]]:
    """The demo's tests from libtest's JSON events, and the figures its invariant and sweep tests report."""
    (exes, why), name = tests, base["config"]
    results = []
    if not exes:
        ctx.record(**base, metric="tests_failed", unit="count", status="failed", detail=f"tests did not build: {why}")
    with tempfile.TemporaryDirectory(prefix=f"afq-{name}-reports-") as reports:
        for exe in exes:
            results += run_test_executable(exe, env=dict(os.environ, DEMO_REPORT_DIR=reports))
        _report_rows(ctx, base, Path(reports))
    for r in results:
        item = f"{r['binary']}::{r['name']}"
        if r["event"] == "ok":
            ctx.record(**base, item=item, metric="test_passed", unit="bool", value=1.0,
                       detail=f"{r['seconds']:.3f}s" if r["seconds"] is not None else "")
        elif r["event"] == "ignored":
            ctx.record(**base, item=item, metric="test_passed", unit="bool", status="not_measured", detail="ignored")
        else:
            ctx.record(**base, item=item, metric="test_passed", unit="bool", status="failed",
                       detail=f"test {r['name']} failed:\n{r['stdout']}")
    if exes:
        ctx.record(**base, metric="tests_passed", unit="count", value=sum(r["event"] == "ok" for r in results))
        ctx.record(**base, metric="tests_failed", unit="count", value=sum(r["event"] not in ("ok", "ignored") for r in results))
    ctx.say(f"  {name}: {sum(r['event'] == 'ok' for r in results)} of {len(results)} tests passed")
    return exes, results


def _report_rows(ctx, base: dict, reports: Path) -> None:
    """What the invariant and sweep tests wrote to DEMO_REPORT_DIR (demo-support's `testing::report`): per test,
    the cases it tried and the failures it found, with its other figures in the detail."""
    for f in sorted(reports.glob("*.json")):
        doc = json.loads(f.read_text())
        figures = {k: v for k, v in doc.items() if k not in ("demo", "test")}
        for metric in ("cases", "failures"):
            ctx.record(**base, item=doc["test"], metric=f"report_{metric}", unit="count", value=float(doc[metric]),
                       detail=json.dumps(figures, sort_keys=True))


def _feature_rows(ctx, base: dict, feats: list[dict], exes: list[Path], results: list[dict]) -> None:
    """The PRD's features: each demonstrated by a named test that exists and passed."""
    passed = {r["name"].rsplit("::", 1)[-1] for r in results if r["event"] == "ok"}
    for f in feats:
        test = f.get("test", "")
        detail = json.dumps({k: f.get(k, "") for k in ("test", "provided_by", "api")})
        if test in passed:
            ctx.record(**base, item=f["feature"], metric="feature_demonstrated", unit="bool", value=1.0, detail=detail)
        elif exes:
            known = any(r["name"].rsplit("::", 1)[-1] == test for r in results)
            ctx.record(**base, item=f["feature"], metric="feature_demonstrated", unit="bool", status="failed",
                       detail=f"feature {f['feature']!r}: its test {test!r} " + ("failed" if known else "does not exist")
                       + f"\n{detail}")


def _run_rows(ctx, base: dict, exe: Path, endpoint: str | None, load_s: float, starts: int, connections: int,
              server_core: int, load_core: int) -> None:
    """Start-up to the first 200 on /health (`starts` times), idle RSS, then a short verified wrk load."""
    name = base["config"]
    times, proc = [], None
    try:
        for i in range(starts):
            proc, url, took = start(exe, server_core)
            times.append(took)
            if i < starts - 1:
                kill_group(proc)
                proc = None
        for i, t in enumerate(times):
            ctx.record(**base, metric="startup_seconds", unit="s", value=t, sample=i,
                       detail="spawn to the first 200 on GET /health")
        time.sleep(1.0)
        ctx.record(**base, metric="idle_rss_bytes", unit="bytes", value=proc_status_bytes(proc.pid, "VmRSS"),
                   detail="VmRSS 1 s after start-up")
        ctx.say(f"  {name}: start-up median {statistics.median(times) * 1000:.1f} ms over {starts} starts")
        if endpoint is None:
            ctx.record(**base, metric="rps", unit="req/s", status="not_measured",
                       detail=f"{name}/README.md names no `Load endpoint: GET /path`")
            return
        _load_rows(ctx, base, proc, url, endpoint, load_s, connections, load_core)
    except (RuntimeError, wrk.WrkError) as e:
        ctx.record(**base, metric="startup_seconds", unit="s", status="failed", detail=str(e))
    finally:
        if proc is not None:
            kill_group(proc)


def _load_rows(ctx, base: dict, proc, url: str, endpoint: str, load_s: float, connections: int, load_core: int) -> None:
    problem = verify_endpoint(url + endpoint)
    if problem:
        ctx.record(**base, item=endpoint, metric="rps", unit="req/s", status="failed", detail=problem)
        return
    r, _ = wrk.run(url + endpoint, test="default", duration_s=load_s, connections=connections, pin=pin(load_core))
    ctx.record(**base, item=endpoint, metric="rps", unit="req/s", value=r.rps,
               detail=f"{r.requests} requests in {r.duration_s:.2f}s, {r.non_2xx} non-2xx, {connections} connections")
    ctx.record(**base, item=endpoint, metric="latency_p99_ms", unit="ms", value=r.latency_us["p99"] / 1000)
    if r.non_2xx or r.socket_errors:
        ctx.record(**base, item=endpoint, metric="load_errors", unit="count", status="failed",
                   detail=f"{r.non_2xx} non-2xx responses and {r.socket_errors} socket errors under load")
    ctx.record(**base, metric="peak_rss_bytes", unit="bytes", value=vm_hwm(proc.pid), detail="VmHWM after the load")
    ctx.say(f"  {base['config']}: GET {endpoint} {r.rps:,.0f} req/s, p99 {r.latency_us['p99'] / 1000:.2f} ms")


def _audit(ctx) -> None:
    """Each capability AllFrame promises, probed (bench/capability-audit): works / partly / not. A capability
    that does not work is a finding about AllFrame, recorded with the probe's own words; it fails nothing."""
    ws = ctx.workspace / AUDIT
    base = dict(subject="allframe", config="capability-audit", variant="release")
    if not (ws / "Cargo.toml").exists():
        ctx.record(**base, metric="capability", unit="outcome", status="not_measured", detail=f"no bench/{AUDIT}")
        return
    built = ctx.build(AUDIT, workspace=ws, label=f"{AUDIT} [release]")
    if not built.ok:
        ctx.record(**base, metric="capability", unit="outcome", status="failed", detail=built.failure_text())
        return
    done = procs.run([str(built.executable)], timeout=300)
    found = [json.loads(l) for l in done.stdout.splitlines() if l.startswith("{")]
    if not done.ok or not found:
        ctx.record(**base, metric="capability", unit="outcome", status="failed",
                   detail=f"capability-audit exit {done.returncode}: " + "\n".join(done.stderr_tail[-15:]))
        return
    for c in found:
        outcome = c.get("outcome")
        if outcome not in OUTCOMES:
            ctx.record(**base, item=c.get("capability", "?"), metric="capability", unit="outcome", status="failed",
                       detail=f"unknown outcome {outcome!r}; valid: {list(OUTCOMES)}")
            continue
        ctx.record(**base, item=c["capability"], metric="capability", unit="outcome", value=OUTCOMES[outcome],
                   detail=json.dumps({k: c.get(k, "") for k in ("area", "promise", "outcome", "api", "evidence")}))
    ctx.say(f"  capability audit: {sum(c.get('outcome') == 'works' for c in found)} of {len(found)} capabilities work")
