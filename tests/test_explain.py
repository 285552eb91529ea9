"""Every change explained, on real builds: the pr-check test's local allframe-core history (a 2.4 MB table
kept by Router::new, a spin loop in CommandBus::dispatch) plus an empty commit, so one source exported at
two paths is an A/A whose -C metadata hashes differ. The size explanation's first row holds the table and
explains >= 90 % of the Δ; the instruction explanation's first row is dispatch's async body with >= 90 % of
the operation's Δ; the A/A pairs give no rows. The parsers and the demangler are tested on outputs recorded
from those real builds (tests/fixtures/explain/)."""
import os
import random
import shutil
import subprocess
from pathlib import Path

import pytest

from allframe_quality.compare import explain_builds, explain_size
from allframe_quality.config import budgets
from allframe_quality.core import paths
from allframe_quality.tools import allframe_source, symbols
from conftest import FIXTURES, SPIN_ANCHOR, allframe_git_history
from test_pr_check import TABLE_BYTES, _spin, _use_table

FIX = FIXTURES / "explain"
# the function the spin loop lands in: dispatch is an async fn, its body is the future's poll
DISPATCH_BODY = "allframe_core::cqrs::command_bus::CommandBus<E>::dispatch::{{closure}}"
EDITS = [
    ("a table for the router", "src/router/afq_table.bin", lambda _: random.Random(14).randbytes(TABLE_BYTES).hex()),
    ("Router::new keeps the table", "src/router/mod.rs", _use_table),
    ("nothing changed", None, None),
    ("dispatch spins", "src/cqrs/command_bus.rs", _spin),
]


@pytest.fixture(scope="module")
def history(registry_allframe):
    """The history at a fixed path with fixed commit dates: the same shas and export paths every run, so a warm
    cache rebuilds nothing of allframe-core."""
    repo = paths.cache_dir() / "test-explain" / registry_allframe.name
    want = len(EDITS) + 1
    try:
        shas = allframe_source.git(repo, "rev-list", "--reverse", "HEAD").split()
    except allframe_source.SourceError:
        shas = []
    if len(shas) != want:
        shutil.rmtree(repo, ignore_errors=True)
        repo.parent.mkdir(parents=True, exist_ok=True)
        old = {k: os.environ.get(k) for k in ("GIT_AUTHOR_DATE", "GIT_COMMITTER_DATE")}
        os.environ.update(GIT_AUTHOR_DATE="2026-01-01T00:00:00Z", GIT_COMMITTER_DATE="2026-01-01T00:00:00Z")
        try:
            shas = allframe_git_history(registry_allframe, repo, EDITS)
        finally:
            for k, v in old.items():
                os.environ.pop(k) if v is None else os.environ.__setitem__(k, v)
    return repo, dict(zip(["base", "table", "router_new", "same", "spin"], shas))


def _side(history, name):
    repo, shas = history
    return explain_builds.SideSource(checkout=str(allframe_source.at_revision(repo, shas[name])))


@pytest.fixture(scope="module")
def probes(history, tmp_path_factory):
    """size-probe, Minimal, at base, at the table commit and at the empty commit after it (another export path)."""
    d = tmp_path_factory.mktemp("probes")
    b = budgets.load()
    return {n: explain_builds.executable(_side(history, n), "size-probe", d / f"{n}-size-probe", b)[0]
            for n in ("base", "router_new", "same")}


@pytest.mark.slow
def test_the_table_is_the_first_row_and_explains_the_size_step(probes):
    e = explain_size.explain(probes["base"], probes["router_new"])
    print(e.header())
    print(e.rows.head(8).to_string())
    print(e.rest.to_string())
    first = e.rows.iloc[0]
    assert "Router::new" in first["name"] or "AFQ_TABLE" in first["name"], first
    assert first["crate"] == "allframe_core"
    assert first["delta"] >= 0.9 * e.file_delta, (first["delta"], e.file_delta)
    assert e.file_delta > 2 * TABLE_BYTES * 0.99
    # every byte of the file's Δ is placed: the rows plus the rest
    assert e.explained + int(e.rest["delta"].sum()) == e.file_delta


@pytest.mark.slow
def test_one_source_at_two_export_paths_diffs_to_zero_rows(probes):
    a, b = symbols.read(probes["router_new"]), symbols.read(probes["same"])
    raw_a, raw_b = {s.raw for s in a.symbols}, {s.raw for s in b.symbols}
    assert raw_a != raw_b, "the two builds should differ in their -C metadata hashes (else this test proves nothing)"
    e = explain_size.explain(probes["router_new"], probes["same"])
    print(e.header(), f"file Δ {e.file_delta:+}", e.rest.to_string())
    assert e.rows.empty, e.rows.head(20).to_string()
    named = [{symbols.key(s.raw) for s in e.symbols if not s.anonymous} for e in (a, b)]
    assert named[0] == named[1] and len(named[0]) > 1000
