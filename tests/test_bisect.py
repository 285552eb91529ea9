"""Bisect over the commits of a small local git history of allframe-core, through the command line that
`make bisect` runs: a commit that adds 8,000 functions to the Router is named as the first bad one, with
the steps measured and allframe_core's growth in cargo-bloat's crate diff; a range with no step, an
unknown metric and a reversed range are told apart by their exit codes."""
import os
import subprocess
import sys

import pytest

from allframe_quality.compare import bisect
from allframe_quality.config import budgets
from allframe_quality.core import paths
from allframe_quality.suites import releases
from conftest import allframe_git_history
from test_pr_check import ROUTER_NEW

pytestmark = pytest.mark.slow
FUNCTIONS = 8000      # ~15 % of Minimal's executable: past the 10 % threshold


def _grow(text: str) -> str:
    assert text.count(ROUTER_NEW) == 1, "router/mod.rs: Router::new changed; update ROUTER_NEW"
    fns = "\n".join(f"#[inline(never)] fn afq_f{k}(x: u64) -> u64 {{ x.wrapping_mul({2 * k + 1}).rotate_left({k % 63}) "
                    f"^ (x >> {k % 17}) }}" for k in range(FUNCTIONS))
    table = f"static AFQ_FNS: [fn(u64) -> u64; {FUNCTIONS}] = [" + ", ".join(f"afq_f{k}" for k in range(FUNCTIONS)) + "];"
    return (text.replace(ROUTER_NEW, "    pub fn new() -> Self {\n        std::hint::black_box(AFQ_FNS.as_ptr());\n"
                         + ROUTER_NEW.split("\n", 1)[1]) + "\n" + fns + "\n" + table + "\n")


@pytest.fixture(scope="module")
def history(tmp_path_factory, registry_allframe):
    repo = tmp_path_factory.mktemp("allframe-bisect") / "allframe-core"
    shas = allframe_git_history(registry_allframe, repo, [
        ("docs: a note", "NOTES.md", lambda _: "a commit that changes no code\n"),
        ("router: grow", "src/router/mod.rs", _grow),
        ("an empty commit", None, None),
    ])
    return repo, shas


def _bisect(tmp_path, *args):
    env = dict(os.environ, AFQ_DATA_DIR=str(tmp_path / "data"), AFQ_BISECT_TEST="1")
    r = subprocess.run([sys.executable, "-m", "allframe_quality.commands.cli", "bisect", *args], capture_output=True, text=True,
                       env=env, cwd=paths.ROOT, timeout=3600)
    print(f"$ cli bisect {' '.join(args)}\nexit {r.returncode}\n{r.stdout[-3000:]}\n--- stderr\n{r.stderr[-1500:]}")
    return r


def test_the_commit_that_grew_the_binary_is_named(history, tmp_path):
    repo, shas = history
    out = tmp_path / "bisect.md"
    r = _bisect(tmp_path, "--metric", "size.minimal.file_bytes", "--checkout", str(repo), "--good", shas[0],
                "--bad", shas[-1], "--out", str(out))
    assert r.returncode == 0, r.stderr
    md = out.read_text()
    assert f"**First bad: {shas[2][:10]} router: grow**" in md
    assert f"last good: {shas[1][:10]} docs: a note" in md
    steps = [l for l in md.splitlines() if l.startswith("| ") and ("| good |" in l or "| bad |" in l)]
    assert len(steps) == 4                                  # both ends, then the two between
    crates = md.split("### Crates across the culprit")[1].split("###")[0]
    assert "| allframe_core |" in crates and "| +" in crates.split("| allframe_core |")[1].splitlines()[0]
    # where, symbol by symbol: the 8,000 new functions added; the largest rows their table's dynamic
    # relocations (one 24-byte RELATIVE entry per pointer) and the table itself (8 bytes per pointer)
    where = md.split("### Where, across the culprit")[1]
    adds = int(where.split("add/remove: ")[1].split("/")[0])
    assert adds >= FUNCTIONS, where[:600]
    rows = [line for line in where.splitlines() if line.startswith("| +")]
    assert "`allframe_core::router::AFQ_FNS [relocations]`" in rows[0] and f"| +{FUNCTIONS * 24:,} |" in rows[0], rows[0]
    assert "`allframe_core::router::AFQ_FNS`" in rows[1] and f"| +{FUNCTIONS * 8:,} |" in rows[1], rows[1]


def test_no_step_unknown_metric_and_reversed_range_are_told_apart(history, tmp_path):
    repo, shas = history
    r = _bisect(tmp_path, "--metric", "size.minimal.file_bytes", "--checkout", str(repo), "--good", shas[0], "--bad", shas[1])
    assert r.returncode == 1 and "nothing to bisect" in r.stderr
    r = _bisect(tmp_path, "--metric", "size.minimal.bytes", "--good", "0.1.27", "--bad", "0.1.28")
    assert r.returncode == 2 and "unknown metric 'size.minimal.bytes'" in r.stderr and "size.minimal.file_bytes" in r.stderr
    r = _bisect(tmp_path, "--metric", "size.minimal.file_bytes", "--checkout", str(repo), "--good", shas[-1], "--bad", shas[0])
    assert r.returncode == 2 and "is not an ancestor" in r.stderr
    r = _bisect(tmp_path, "--metric", "size.minimal.file_bytes", "--good", "0.1.28", "--bad", "0.1.99")
    assert r.returncode == 2 and "no release '0.1.99'" in r.stderr
