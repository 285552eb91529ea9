"""The coverage suite: AllFrame's own test suite run under LLVM source-based coverage (cargo-llvm-cov).

The source is the measured release's crate as published (cargo unpacks it under ~/.cargo/registry/src) or a
checkout, copied to a scratch directory under the cache (nothing is built inside cargo's registry), with the
lab's pinned toolchain file beside it. Its dependencies come from the lockfile published with the crate, or
one generated from crates.io when there is none (meta.json says which).

The flow is cargo-llvm-cov's own for tests run by another program: `show-env` gives the instrumenting
environment, `cargo test --no-run` builds the test executables with it, each is listed and run by libtest
with JSON events (every test's result and AllFrame's `#[ignore]` reasons), then `report --json` merges the
profiles into per-file counts, aggregated here into modules (src/<dir> or a top-level src/<file>.rs).
AllFrame's #[ignore]d tests are run too (ignored_timeout_s): one that fails because a service (Redis, a
database, the network) is not reachable, or does not finish in time, is listed as not run here, with its own words.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import shlex
import shutil
import tempfile
import time
from pathlib import Path
from typing import Callable, Sequence

import pandas as pd

from ..tools import allframe_source, cargo, libtest
from ..core import atomic, paths, procs
from . import contract
from ..core.errors import ParameterError
from ..config.budgets import Budgets
from .coverage_analysis import COUNTS, SUITE, module_of
from ..core.procs import say

TOOL = "cargo-llvm-cov"
# A failed test whose output says a service could not be reached: not run here, never a finding about AllFrame.
SERVICE = re.compile(r"connection refused|os error 111|could not connect|failed to connect|connection reset|"
                     r"failed to lookup address|dns error|network is unreachable|no route to host", re.I)


def target_dir(features: Sequence[str]) -> Path:
    """Instrumented builds get their own target directory (their flags would invalidate every other build), one
    per feature set: cargo-llvm-cov's report reads every test executable of the crate it finds there, and
    another feature set's would mix its coverage mapping into this one's."""
    return paths.cache_dir() / "target-coverage" / hashlib.sha256(",".join(sorted(features)).encode()).hexdigest()[:10]


def foreign_executables(exes: Sequence[Path]) -> list[Path]:
    """Remove the crate's test executables of an earlier build (another release) beside this build's, for the
    same reason: the report would read them too. Cargo rebuilds one if it is ever asked for again."""
    mine = {e.resolve() for e in exes}
    gone = []
    for exe in exes:
        stem = exe.name.rsplit("-", 1)[0]
        for other in exe.parent.glob(f"{stem}-*"):
            if other.suffix == "" and other.is_file() and os.access(other, os.X_OK) and other.resolve() not in mine:
                other.unlink()
                gone.append(other)
    return gone


# ---------------------------------------------------------------- the source

def unpacked_release(version: str, printer=None) -> Path:
    """allframe-core `version` as cargo unpacked it; fetched through cargo (a scratch manifest) when absent."""
    home = Path(os.environ.get("CARGO_HOME", Path.home() / ".cargo"))
    pattern = f"registry/src/*/{allframe_source.CRATE}-{version}"
    found = sorted(home.glob(pattern))
    if not found:
        scratch = paths.cache_dir() / "coverage" / f"fetch-{version}"
        (scratch / "src").mkdir(parents=True, exist_ok=True)
        (scratch / "src" / "lib.rs").write_text("")
        (scratch / "Cargo.toml").write_text(f'[package]\nname = "afq-fetch"\nversion = "0.0.0"\nedition = "2021"\n\n'
                                            f'[dependencies]\n{allframe_source.CRATE} = "={version}"\n\n[workspace]\n')
        if printer:
            printer(f"fetching {allframe_source.CRATE} {version} through cargo ...")
        done = procs.run(["cargo", "fetch"], cwd=scratch, env=cargo.env())
        found = sorted(home.glob(pattern))
        if not done.ok or not found:
            raise allframe_source.SourceError(f"could not fetch {allframe_source.CRATE} {version}: "
                                              + ("\n".join(done.stderr_tail[-10:]) or f"no {home / pattern} after cargo fetch"))
    return found[0]


def source_tree(source: allframe_source.AllFrameSource, printer=None) -> tuple[Path, Path]:
    """(root to copy, crate directory within it): a checkout's workspace root when the crate is a member."""
    if source.kind == "registry":
        crate = unpacked_release(source.version, printer)
        return crate, crate
    crate = Path(source.crate_dir)
    for d in crate.parents:
        manifest = d / "Cargo.toml"
        if manifest.is_file() and "[workspace]" in manifest.read_text():
            return d, crate
        if (d / ".git").exists():
            break
    return crate, crate


def scratch_copy(root: Path, crate: Path, slug: str) -> Path:
    """A fresh copy of the source tree (without target/ and .git) under the cache, with the lab's pinned
    toolchain file at its root; returns the crate directory in the copy. File times are kept, so cargo
    sees an unchanged source as fresh on the next run."""
    dest = paths.cache_dir() / "coverage" / slug
    if dest.exists():
        shutil.rmtree(dest)
    shutil.copytree(root, dest, ignore=shutil.ignore_patterns("target", ".git"))
    shutil.copy2(paths.BENCH / "rust-toolchain.toml", dest / "rust-toolchain.toml")
    return dest / crate.relative_to(root)


def claim_target(ws: Path, target: Path, identity: str) -> None:
    """One target directory serves every source of a feature set, sharing the dependencies' builds. When it last
    built another source, the copy's files are stamped now, so cargo rebuilds AllFrame from this one: their
    own times (kept by the copy) could be older than the last build and pass as fresh."""
    mark = target / "afq-source"
    if mark.is_file() and mark.read_text() == identity:
        return
    for f in ws.rglob("*"):
        if f.is_file():
            os.utime(f)
    target.mkdir(parents=True, exist_ok=True)
    mark.write_text(identity)


def lockfile(ws: Path, env: dict[str, str]) -> tuple[str, str]:
    """('published', '') when the source carries a Cargo.lock; otherwise one generated from crates.io now,
    ('generated', ''), or ('failed', cargo's words)."""
    if (ws / "Cargo.lock").is_file():
        return "published", ""
    done = procs.run(["cargo", "generate-lockfile"], cwd=ws, env=env)
    return ("generated", "") if done.ok else ("failed", "\n".join(done.stderr_tail[-15:]))


# ---------------------------------------------------------------- cargo-llvm-cov

def tool_env(tool: str, ws: Path, env: dict[str, str]) -> dict[str, str]:
    """cargo-llvm-cov's instrumenting environment (`show-env`, KEY=value lines) over `env`."""
    done = procs.run([tool, "llvm-cov", "show-env"], cwd=ws, env=env)
    if not done.ok:
        raise RuntimeError(f"{TOOL} show-env exit {done.returncode}: " + "\n".join(done.stderr_tail[-15:]))
    out = dict(env)
    for line in done.stdout.splitlines():
        for word in shlex.split(line):
            key, eq, value = word.partition("=")
            if eq and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key):
                out[key] = value
    if "LLVM_PROFILE_FILE" not in out or "RUSTC_WRAPPER" not in out:
        raise RuntimeError(f"{TOOL} show-env gave no LLVM_PROFILE_FILE / RUSTC_WRAPPER: {done.stdout.strip()[:300]!r}")
    return out


def stale_profiles(pattern: str) -> list[Path]:
    """Remove the profiles an earlier run left (`clean --profraw-only` leaves them in place): only this run's
    may count. `pattern` is LLVM_PROFILE_FILE (dir/name-%p-%2m.profraw); its merged .profdata goes too."""
    where = Path(pattern)
    name = where.name.split("%", 1)[0].rstrip("-")
    gone = [*where.parent.glob(f"{name}-*.profraw"), *where.parent.glob(f"{name}.profdata")]
    for p in gone:
        p.unlink()
    return gone


def export(tool: str, ws: Path, env: dict[str, str], package: str | None) -> dict:
    """`cargo llvm-cov report --json --summary-only`: llvm-cov's export document (per-file summaries)."""
    with tempfile.TemporaryDirectory(prefix="afq-coverage-") as tmp:
        out = Path(tmp) / "summary.json"
        args = [tool, "llvm-cov", "report", "--json", "--summary-only", "--output-path", str(out)]
        done = procs.run(args + (["-p", package] if package else []), cwd=ws, env=env)
        if not done.ok or not out.is_file():
            raise RuntimeError(f"{TOOL} report exit {done.returncode}: " + "\n".join(done.stderr_tail[-15:]))
        return json.loads(out.read_text())


def parse_export(doc: dict, crate_dir: str) -> tuple[pd.DataFrame, list[str]]:
    """Per-file counts of the crate's own sources (under <crate_dir>/src) from llvm-cov's export JSON;
    and the other files the report held (tests/, other workspace members), which are not AllFrame's library."""
    if doc.get("type") != "llvm.coverage.json.export" or not doc.get("data"):
        raise ValueError(f"not an llvm-cov JSON export (type {doc.get('type')!r})")
    root = crate_dir.rstrip("/") + "/"
    rows, other = [], []
    for f in doc["data"][0]["files"]:
        name = f["filename"]
        rel = name[len(root):] if name.startswith(root) else None
        if rel is None or not rel.startswith("src/"):
            other.append(rel or name)
            continue
        s = f["summary"]
        rows.append({"file": rel, "module": module_of(rel),
                     **{f"{k}": s[k]["count"] for k in COUNTS}, **{f"{k}_covered": s[k]["covered"] for k in COUNTS}})
    return pd.DataFrame(rows), other


# ---------------------------------------------------------------- the suite

def features_of(features, b: Budgets) -> tuple[str, list[str]]:
    """(label, feature list): a quality.toml [size.configurations] name, or a list of allframe-core features."""
    if isinstance(features, str):
        conf = b.size.configurations.get(features)
        if conf is None:
            raise ParameterError(f"features {features!r} is no configuration in quality.toml [size.configurations]; "
                              f"valid: {sorted(b.size.configurations)}, or a list of allframe-core features")
        return features, list(conf.features)
    chosen = contract.as_list(features, "features")
    if not chosen or not all(isinstance(f, str) and f for f in chosen):
        raise ParameterError(f"features must be a configuration name or a list of feature names, got {features!r}")
    return "+".join(chosen), chosen


def measure(
    features="crate-default",            # a quality.toml [size.configurations] name, or a list of features
    *,
    test_timeout_s: float = 600,
    ignored_timeout_s: float = 60,
    allframe_version: str | None = None,
    allframe_checkout: str | None = None,
    run_id: str | None = None,
    budgets: Budgets | None = None,
    printer: Callable[[str], None] | None = say,
) -> tuple[str, pd.DataFrame]:
    from ..config import budgets as budgets_mod
    b = budgets or budgets_mod.load()
    label, feats = features_of(features, b)
    if test_timeout_s <= 0 or ignored_timeout_s < 0:
        raise ParameterError("test_timeout_s must be positive and ignored_timeout_s at least 0")

    def collect(ctx: contract.Context) -> None:
        tool = cargo.require(TOOL)
        root, crate = source_tree(ctx.source, ctx.printer)
        slug = f"{ctx.source.kind}-{ctx.source.version}"
        if ctx.source.crate_dir:
            slug += "-" + hashlib.sha256(str(crate).encode()).hexdigest()[:10]
        # one coverage run at a time: two would replace each other's scratch copy, executables and profiles
        with atomic.locked(paths.cache_dir() / "coverage" / ".lock"):
            ws = scratch_copy(root, crate, slug)
            ctx.info.update(features=feats, features_label=label, source_tree=str(root), scratch=str(ws),
                            target_dir=str(target_dir(feats)), tool=procs.run([tool, "llvm-cov", "--version"]).stdout.strip())
            _collect(ctx, tool, ws, label, feats, test_timeout_s, ignored_timeout_s)

    params = {"features": feats, "test_timeout_s": test_timeout_s, "ignored_timeout_s": ignored_timeout_s}
    return contract.run(SUITE, collect, parameters=params, packages=[], budgets=b, allframe_version=allframe_version,
                     allframe_checkout=allframe_checkout, run_id=run_id, printer=printer,
                     tools=[TOOL])


def _collect(ctx, tool: str, ws: Path, label: str, feats: Sequence[str], timeout: float, ignored_timeout: float) -> None:
    base = dict(subject="allframe", variant=label)

    def fail(what: str, detail: str) -> None:
        ctx.record(**base, config="total", metric="line_pct", unit="%", status="failed", detail=f"{what}:\n{detail}")

    env = cargo.env(target_dir(feats))
    claim_target(ws, target_dir(feats), json.dumps(ctx.source.describe(), sort_keys=True) + str(ws))
    lock, why = lockfile(ws, env)
    ctx.info["lockfile"] = lock
    if lock == "failed":
        return fail("no lockfile could be generated for AllFrame's dev-dependencies", why)
    try:
        cov_env = tool_env(tool, ws, env)
    except RuntimeError as e:
        return fail(f"{TOOL} failed", str(e))
    stale_profiles(cov_env["LLVM_PROFILE_FILE"])
    args = ["--locked", "--tests", "-p", allframe_source.CRATE, *cargo.feature_args(feats)]
    built = libtest.build_tests(ws, args, cov_env, f"AllFrame's tests with coverage [{label}]", ctx.printer)
    if built["error"]:
        return fail(f"AllFrame's tests did not build with features {', '.join(feats) or '(none)'}", built["error"])
    ctx.record(**base, config="total", metric="build_seconds", unit="s", value=round(built["seconds"], 2),
               detail=f"{built['rebuilt']} of {built['units']} units compiled")
    foreign_executables([exe for _, exe in built["exes"]])
    seconds = 0.0
    for target, exe in built["exes"]:
        try:
            seconds += _run_tests(ctx, base, exe, target, ws, cov_env, timeout, ignored_timeout)
        except RuntimeError as e:     # an executable that cannot list its tests
            return fail(f"AllFrame's test executable {target} could not run", str(e))
    ctx.record(**base, config="total", metric="tests_seconds", unit="s", value=round(seconds, 2),
               detail=f"{len(built['exes'])} test executable(s), run one after another")
    ctx.record(**base, config="total", item="doc tests", metric="doc_tests", unit="bool", status="not_measured",
               detail="AllFrame's doc tests are not run: cargo-llvm-cov measures them only with --doctests (\"--doctests "
                      "flag requires nightly toolchain\"); the lab builds with its pinned stable toolchain")
    try:
        doc = export(tool, ws, cov_env, allframe_source.CRATE)
        files, other = parse_export(doc, str(ws))
    except (RuntimeError, ValueError, json.JSONDecodeError) as e:
        return fail(f"{TOOL} report failed", str(e))
    if files.empty:
        return fail(f"{TOOL} report held no file of {ws / 'src'}", f"files in the report: {other[:10]}")
    ctx.info["report_files_left_out"] = other
    _record_counts(ctx, base, files, ws)
    t = files[[f"{k}_covered" for k in ("lines", "regions")] + ["lines", "regions"]].sum()
    ctx.say(f"  coverage [{label}]: lines {100 * t['lines_covered'] / t['lines']:.1f}%, "
            f"regions {100 * t['regions_covered'] / t['regions']:.1f}% over {len(files)} files")


def _run_tests(ctx, base: dict, exe: Path, target: str, ws: Path, env: dict, timeout: float,
               ignored_timeout: float) -> float:
    """List, run and record one test executable's tests; returns the seconds they ran. AllFrame's #[ignore]d
    tests run after the others, all at once (one thread each) for at most `ignored_timeout` seconds: a service
    client retrying a refused connection must not hold the run (none runs when it is 0)."""
    with tempfile.TemporaryDirectory(prefix="afq-coverage-list-") as tmp:   # listing is not coverage
        listed = {t["name"]: t for t in libtest.discover(exe, dict(env, LLVM_PROFILE_FILE=f"{tmp}/list-%p.profraw"), ws)}
    ignored = [n for n, t in listed.items() if t["ignore"]]
    ctx.say(f"  running {target}: {len(listed)} tests ({len(ignored)} #[ignore]d by AllFrame)")
    started = time.monotonic()
    results = libtest.run(exe, timeout, env=env, cwd=ws)
    if ignored and ignored_timeout > 0:
        ran = {r["name"]: r for r in libtest.run(exe, ignored_timeout, args=["--ignored", f"--test-threads={len(ignored)}"],
                                                  env=env, cwd=ws)}
        results = [r for r in results if r["name"] not in ignored] + [
            ran.get(n) or {"name": n, "event": "timeout", "seconds": None, "message": "", "stdout": ""} for n in ignored]
    took = time.monotonic() - started
    counts = {"passed": 0, "failed": 0, "not_run": 0}
    for r in results:
        t = listed.get(r["name"], {})
        row = dict(base, config=module_of(t.get("source_path") or "tests"), item=f"{target}::{r['name']}",
                   metric="test_passed", unit="bool")
        status, value, detail = classify(r, t, ignored_timeout if t.get("ignore") else timeout)
        counts["passed" if value == 1 else "failed" if value == 0 else "not_run"] += 1
        ctx.record(**row, status=status, value=value, detail=detail)
    cfg = dict(base, config="total", item=target)
    ctx.record(**cfg, metric="tests_passed", unit="count", value=counts["passed"])
    ctx.record(**cfg, metric="tests_failed", unit="count", value=counts["failed"],
               detail="failed AllFrame tests are findings about AllFrame; the lab's tools worked")
    ctx.record(**cfg, metric="tests_not_run", unit="count", value=counts["not_run"],
               detail="could not run here: a service missing, ignored and not run, or not finished in time")
    ctx.record(**cfg, metric="tests_ignored", unit="count", value=len(ignored), detail="marked #[ignore] by AllFrame")
    ctx.say(f"  {target}: {counts['passed']} passed, {counts['failed']} failed, {counts['not_run']} could not run here "
            f"({took:.0f}s)")
    return took


def classify(result: dict, listed: dict, timeout: float) -> tuple[str, float, str]:
    """(status, value, detail) of one test from its own result: passed (1), failed (0: a finding about
    AllFrame), or not run here (status not_measured, NaN) — a service unreachable, ignored and not run, or
    not finished within the timeout — with AllFrame's #[ignore] reason where it gave one."""
    why = f"#[ignore] by AllFrame ({listed.get('ignore_message') or result.get('message') or 'no reason given'})" \
        if listed.get("ignore") or result["event"] == "ignored" else ""
    out = result.get("stdout") or ""
    if result["event"] == "ok":
        took = f"{result['seconds']:.3f}s" if result.get("seconds") else ""
        return "ok", 1.0, "; ".join(x for x in (why and f"{why}, passes when run here", took) if x)
    if result["event"] == "ignored":
        return "not_measured", float("nan"), f"not run: {why}; ignored_timeout_s > 0 runs it"
    if result["event"] == "timeout":
        return "not_measured", float("nan"), f"did not finish within {timeout:g} s when run here{'; ' + why if why else ''}"
    said = next((l.strip() for l in out.splitlines() if SERVICE.search(l)), None)
    if said:
        return "not_measured", float("nan"), f"needs a service not running here{'; ' + why if why else ''}; it failed with: {said[:300]}"
    return "ok", 0.0, f"test {result['name']} failed{' (' + why + ')' if why else ''}:\n{out}"


def _record_counts(ctx, base: dict, files: pd.DataFrame, ws: Path) -> None:
    """Per file, per module and in total: counts and percentages of lines, regions and functions; per module,
    the source files the chosen features did not compile (absent from the report, so from its figures too)."""
    for r in files.to_dict("records"):
        for k in COUNTS:
            ctx.record(**base, config=r["module"], item=r["file"], metric=k, unit=k, value=r[k])
            ctx.record(**base, config=r["module"], item=r["file"], metric=f"{k}_covered", unit=k, value=r[f"{k}_covered"])
    sums = files.groupby("module").sum(numeric_only=True)
    sums.loc["total"] = files.sum(numeric_only=True)
    sources = sorted(str(p.relative_to(ws)) for p in (ws / "src").rglob("*.rs"))
    reported = set(files["file"])
    for module in [*sorted({module_of(s) for s in sources} | set(sums.index) - {"total"}), "total"]:
        if module in sums.index:
            s = sums.loc[module]
            for k in COUNTS:
                ctx.record(**base, config=module, metric=k, unit=k, value=s[k])
                ctx.record(**base, config=module, metric=f"{k}_covered", unit=k, value=s[f"{k}_covered"])
                if s[k]:
                    ctx.record(**base, config=module, metric=f"{k[:-1]}_pct", unit="%", value=100 * s[f"{k}_covered"] / s[k])
        missing = [f for f in sources if f not in reported and module in ("total", module_of(f))]
        ctx.record(**base, config=module, metric="files_not_built", unit="files", value=len(missing),
                   detail=", ".join(missing[:40]) or "every source file was compiled")
