"""AllFrame's PR check on two revisions of a local git copy of allframe-core, through the command line the
reusable workflow runs: a head that links a 2.4 MB table into the Router (past Minimal's 3 MiB limit) and
spins in command dispatch fails with exit 1, and its one comment says both; base against itself passes
(exit 0); a revision that does not exist is exit 2, named."""
import os
import random
import subprocess
import sys

import pytest

from allframe_quality.core import paths
from allframe_quality.compare import pr_check
from conftest import SPIN_ANCHOR, allframe_git_history

pytestmark = pytest.mark.slow

ROUTER_NEW = "    pub fn new() -> Self {\n        Self {\n            handlers: HashMap::new(),\n"
TABLE_BYTES = 1_200_000          # hex text: 2.4 MB of data the linker must keep
PARAMS = ["-p", "size.configurations=[minimal]", "-p", "cqrs.operations=[command_dispatch, query_dispatch]",
          "-p", "cqrs.warm_up_s=0.3", "-p", "cqrs.measurement_s=0.8", "-p", "cqrs.sample_size=10"]


def _use_table(text: str) -> str:
    assert text.count(ROUTER_NEW) == 1, "router/mod.rs: Router::new changed; update ROUTER_NEW"
    return (text.replace(ROUTER_NEW, "    pub fn new() -> Self {\n        std::hint::black_box(AFQ_TABLE);\n"
                         + ROUTER_NEW.split("\n", 1)[1])
            + '\nstatic AFQ_TABLE: &[u8] = include_bytes!("afq_table.bin");\n')


def _spin(text: str) -> str:
    assert text.count(SPIN_ANCHOR) == 1, "command_bus.rs: dispatch signature changed; update SPIN_ANCHOR"
    return text.replace(SPIN_ANCHOR, SPIN_ANCHOR + "        for i in 0..300u64 { std::hint::black_box(i); }\n")


@pytest.fixture(scope="module")
def history(tmp_path_factory, registry_allframe):
    repo = tmp_path_factory.mktemp("allframe-git") / "allframe-core"
    shas = allframe_git_history(registry_allframe, repo, [
        ("a table for the router", "src/router/afq_table.bin", lambda _: random.Random(14).randbytes(TABLE_BYTES).hex()),
        ("Router::new keeps the table", "src/router/mod.rs", _use_table),
        ("dispatch spins", "src/cqrs/command_bus.rs", _spin),
    ])
    return repo, shas


def _pr_check(repo, base, head, out, data, *extra):
    """The reusable workflow's command line (make pr-check ARGS=...), run as a process."""
    env = dict(os.environ, AFQ_DATA_DIR=str(data), PYTHONUNBUFFERED="1")
    env.pop("GITHUB_STEP_SUMMARY", None)
    r = subprocess.run([sys.executable, "-m", "allframe_quality.commands.cli", "pr-check", "--repo", str(repo), "--base", base,
                        "--head", head, "--out", str(out), *extra], capture_output=True, text=True, env=env,
                       cwd=paths.ROOT, timeout=3600)
    print(f"$ cli pr-check --base {base[:10]} --head {head[:10]} {' '.join(extra)}\nexit {r.returncode}\n"
          f"--- stderr (tail)\n{r.stderr[-1500:]}")
    return r


def test_a_grown_and_slowed_head_fails_with_one_comment(history, tmp_path):
    repo, shas = history
    out = tmp_path / "comment.md"
    r = _pr_check(repo, shas[0], shas[-1], out, tmp_path / "data", "--suites", "size,cqrs", "--rounds", "5", *PARAMS)
    md = out.read_text()
    print("--- comment\n" + md)
    assert r.returncode == 1, r.stderr[-3000:]
    assert md.startswith(pr_check.MARKER + "\n## AllFrame quality check: ❌ **failed**: a hard limit broken at head")
    assert "head regressed against base" in md and md.count(pr_check.MARKER) == 1
    assert "| size | Minimal (minimal) | 3." in md and "| 2.00 | 3.00 | ❌ over limit |" in md
    assert f"= {shas[0][:10]})" in md and f"= {shas[-1][:10]})" in md      # both sides named by their commit
    size_row = next(line for line in md.splitlines() if line.startswith("| minimal |"))
    assert int(size_row.split("|")[4].replace(",", "").strip()) > 2_000_000          # Δ bytes of the table
    assert "| command_dispatch | ns_per_op |" in md and "| command_dispatch | instructions_per_op |" in md
    assert "regressed: cqrs: allframe / command_dispatch" in md
    assert not any(l.startswith("| query_dispatch | instructions_per_op |") and "regressed" in l for l in md.splitlines())
    assert "pr-check: FAILED size: Minimal (minimal) — over limit" in r.stderr
    # where: the table's bytes and the spin's instructions, each the first row of its explanation
    assert "### Where the changes are" in md
    size_where = md.split("#### Where: size, Minimal (minimal)")[1].split("#### Where:")[0]
    first = next(line for line in size_where.splitlines() if line.startswith("| +"))
    assert "Router::new" in first and float(first.split("|")[2].strip(" %")) >= 90, first
    assert "Reproduce: `python -m allframe_quality.compare.explain_cli size --a" in size_where
    cqrs_where = md.split("#### Where: CQRS command_dispatch")[1].split("#### Where:")[0]
    first = next(line for line in cqrs_where.splitlines() if line.startswith("| +"))
    assert "cqrs_bench::timed::{{closure}}" in first and float(first.split("|")[2].strip(" %")) >= 90, first
    assert "#### Where: CQRS query_dispatch" not in md        # unchanged: not explained
    assert list((tmp_path / "data").glob("ab/*/explanations.parquet"))


def test_base_against_itself_passes_and_a_bad_revision_is_named(history, tmp_path):
    repo, shas = history
    out = tmp_path / "comment.md"
    r = _pr_check(repo, shas[0], shas[0], out, tmp_path / "data", "--suites", "size", "-p", "size.configurations=[minimal]")
    print("--- comment\n" + out.read_text())
    assert r.returncode == 0, r.stderr[-3000:]
    assert out.read_text().startswith(pr_check.MARKER + "\n## AllFrame quality check: ✅ **passed**")
    assert "### Where the changes are" not in out.read_text() and "explain:" not in r.stdout + r.stderr   # A/A: nothing
    bad = _pr_check(repo, shas[0], "no-such-branch", tmp_path / "bad.md", tmp_path / "data", "--suites", "size")
    assert bad.returncode == 2 and "'no-such-branch' is not a commit in" in bad.stderr
    assert not (tmp_path / "bad.md").exists()
