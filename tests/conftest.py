"""Shared fixtures. Generated data goes to a temporary tree; Rust builds reuse the shared cache."""
from __future__ import annotations

import os

from pathlib import Path

from allframe_quality.suites import contract
from allframe_quality.core import records

import pytest

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture
def data_dir(tmp_path, monkeypatch) -> Path:
    """A private data/ (runs) so tests never touch the developer's own runs."""
    d = tmp_path / "data"
    monkeypatch.setenv("AFQ_DATA_DIR", str(d))
    return d


@pytest.fixture
def fixture_text():
    return lambda name: (FIXTURES / name).read_text()


@pytest.fixture(scope="session")
def registry_allframe() -> Path:
    """The pinned allframe-core's source as cargo unpacked it: a real crate directory to use as a checkout."""
    import os
    from allframe_quality.config import budgets
    version = budgets.load().allframe_version
    home = Path(os.environ.get("CARGO_HOME", Path.home() / ".cargo"))
    found = sorted(home.glob(f"registry/src/*/allframe-core-{version}"))
    if not found:
        pytest.fail(f"allframe-core {version} source not unpacked under {home}: run `make setup` (cargo fetch)")
    return found[0]


SPIN_ANCHOR = "    pub async fn dispatch<C: Command>(&self, command: C) -> CommandResult<E> {\n"


def patched_allframe(src: Path, dest: Path, relpath: str, edit) -> Path:
    """A copy of allframe-core with one source file rewritten by `edit(text) -> text`, to measure as a checkout."""
    import shutil
    shutil.copytree(src, dest)
    f = dest / relpath
    f.write_text(edit(f.read_text()))
    return dest


def allframe_git_history(src: Path, dest: Path, edits) -> list[str]:
    """A git repository at `dest` whose first commit is a copy of allframe-core `src`, then one commit per
    (message, relpath or None, edit(text) -> text or None) in `edits`: the file is rewritten (a missing
    file is created from ""), or the commit is empty when relpath is None. Returns the shas, oldest first
    (the base, then one per edit)."""
    import shutil
    import subprocess
    shutil.copytree(src, dest)

    def git(*args: str) -> str:
        return subprocess.run(["git", "-C", str(dest), "-c", "user.name=afq-test", "-c", "user.email=afq@example.invalid",
                               "-c", "commit.gpgsign=false", *args], check=True, capture_output=True, text=True).stdout.strip()
    git("init", "-q", "-b", "main")
    git("add", "-A")
    git("commit", "-q", "-m", f"allframe-core as in {src.name}")
    shas = [git("rev-parse", "HEAD")]
    for message, relpath, edit in edits:
        if relpath is not None:
            f = dest / relpath
            f.parent.mkdir(parents=True, exist_ok=True)
            f.write_text(edit(f.read_text() if f.exists() else "") if edit else "")
            git("add", "--", relpath)
        git("commit", "-q", "--allow-empty", "-m", message)
        shas.append(git("rev-parse", "HEAD"))
    return shas


def slowed_allframe(src: Path, dest: Path, spins: int) -> Path:
    """A copy of allframe-core whose CommandBus::dispatch first spins `spins` times: an injected,
    known slowdown of one operation (and only that one) for the regression detector to catch."""
    def spin(text: str) -> str:
        assert text.count(SPIN_ANCHOR) == 1, "command_bus.rs: dispatch signature changed; update SPIN_ANCHOR"
        return text.replace(SPIN_ANCHOR, SPIN_ANCHOR + f"        for i in 0..{spins}u64 {{ std::hint::black_box(i); }}\n")
    return patched_allframe(src, dest, "src/cqrs/command_bus.rs", spin)


def save_cqrs(run_id: str, ns: float, n: int = 20, params: dict | None = None, fingerprint: str | None = None,
              instructions: float = 1253.0) -> str:
    """A CQRS suite saved the way cqrs.measure saves it: samples, a summary row, instructions."""
    records.start_run(run_id)
    if fingerprint:  # another machine: rewrite the fingerprint in meta.json
        import json
        p = records.run_dir(run_id) / "meta.json"
        meta = json.loads(p.read_text())
        meta["machine"]["fingerprint"] = fingerprint
        p.write_text(json.dumps(meta))
    import zlib
    import numpy as np
    samples = np.random.default_rng(zlib.crc32(f"{run_id}:{ns}".encode())).normal(ns, ns * 0.01, n)   # seeded per run
    rows = [records.record(suite="cqrs", subject="allframe", config="command_dispatch", metric="ns_per_op_process",
                           unit="ns", value=v, sample=i) for i, v in enumerate(samples)]
    rows += [records.record(suite="cqrs", subject="allframe", config="command_dispatch", metric="ns_per_op", unit="ns",
                            value=samples.mean(), lo=samples.min(), hi=samples.max()),
             records.record(suite="cqrs", subject="allframe", config="command_dispatch", metric="instructions_per_op",
                            unit="instructions", value=instructions)]
    records.save_suite(run_id, "cqrs", records.frame(rows, run_id),
                       {"parameters": params or {"measurement_s": 3.0}, "allframe": {"label": "allframe-core 0.1.28"}})
    contract.add_to_history(run_id, "cqrs")
    return run_id


def budgets_copy(tmp_path: Path, required: list[str] | None = None, edit=None) -> Path:
    """quality.toml copied, with [gate].required replaced (a small run need not measure every required check)
    and `edit(text) -> text` applied."""
    import re
    from allframe_quality.core import paths
    text = paths.BUDGETS_FILE.read_text()
    if edit is not None:
        text = edit(text)
    if required is not None:
        text, n = re.subn(r"(?m)^required = \[.*\]$", "required = " + repr(list(required)).replace("'", '"'), text)
        assert n == 1, "quality.toml [gate].required line not found"
    p = tmp_path / "quality.toml"
    p.write_text(text)
    return p


def fake_tool(dirpath: Path, name: str, script: str) -> Path:
    """An executable `name` in `dirpath` (put first on PATH) that runs the shell `script`: a tool that fails for real."""
    dirpath.mkdir(parents=True, exist_ok=True)
    p = dirpath / name
    p.write_text("#!/bin/sh\n" + script + "\n")
    p.chmod(0o755)
    return p


def path_without(tmp_path: Path, tool: str) -> str:
    """A PATH on which `tool` does not exist: links to every other program of /usr/bin, plus cargo's bin."""
    import os
    farm = tmp_path / f"bin-without-{tool}"
    farm.mkdir()
    for d in ("/usr/local/bin", "/usr/bin"):
        for f in Path(d).iterdir():
            if f.name != tool and not (farm / f.name).exists():
                (farm / f.name).symlink_to(f)
    cargo_bin = Path(os.environ.get("CARGO_HOME", Path.home() / ".cargo")) / "bin"
    return f"{farm}:{cargo_bin}"


@pytest.fixture
def lab_mark(monkeypatch):
    """A marker every process this test starts inherits (AFQ_TEST_MARK in its environment, kept by runuser too):
    the lab's own processes are found by it, never by name, so another user's wrk or PostgreSQL is never counted."""
    import uuid
    mark = f"afq-test-{uuid.uuid4().hex[:12]}"
    monkeypatch.setenv("AFQ_TEST_MARK", mark)
    return mark


def marked_processes(mark: str) -> list:
    """The living processes (zombies aside) that carry `mark` in their environment."""
    import psutil
    found = []
    for p in psutil.process_iter(["pid", "status"]):
        if p.info["pid"] == os.getpid() or p.info["status"] == psutil.STATUS_ZOMBIE:
            continue
        try:
            if p.environ().get("AFQ_TEST_MARK") == mark:
                found.append(p)
        except psutil.Error:
            continue
    return found
