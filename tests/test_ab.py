"""A/B in one run, end to end on small real runs: two registry versions render their comparison; an
injected slowdown in one operation (a patched allframe-core) is caught in time and instructions while
the untouched operation is not flagged; the same build against itself raises no alarm."""
import pytest

from allframe_quality.compare import ab
from allframe_quality.core import markdown
from allframe_quality.config import budgets
from allframe_quality.core.errors import ParameterError
from conftest import slowed_allframe

pytestmark = pytest.mark.slow
QUICK = {"cqrs": {"operations": ["command_dispatch", "query_dispatch"], "warm_up_s": 0.3, "measurement_s": 0.8,
                  "sample_size": 10}}


def test_two_registry_versions_render_a_comparison(data_dir):
    older = "0.1.27"
    assert older != budgets.load().allframe_version
    c = ab.run(older, "pinned", ["size"], params={"size": {"configurations": ["minimal"]}}, printer=None)
    md = ab.markdown(c)
    assert f"**A** allframe-core {older} (registry)" in md and "(registry, pinned)" in md
    row = c.changes[(c.changes["metric"] == "file_bytes") & (c.changes["config"] == "minimal")].iloc[0]
    assert row["baseline"] > 500_000 and row["current"] > 500_000      # both sides really built
    assert f"| minimal | {row['baseline']:,.0f} | {row['current']:,.0f} | {row['current'] - row['baseline']:+,.0f} |" in md
    assert len(md) < markdown.COMMENT_LIMIT
    assert (data_dir / "ab" / c.ab_id / "comparison.md").read_text() == md
    assert not (data_dir / "runs").exists()        # an A/B never mixes into the regular runs and trends


def test_injected_slowdown_is_caught_and_a_a_is_quiet(data_dir, tmp_path, registry_allframe):
    # ten times the dispatch: a slowdown the paired interval proves even while the other core compiles
    slow = slowed_allframe(registry_allframe, tmp_path / "allframe-core-slow", spins=3000)
    c = ab.run("pinned", str(slow), ["cqrs"], rounds=5, params=QUICK, printer=None)
    v = c.changes.set_index(["config", "metric"])["verdict"]
    assert v[("command_dispatch", "ns_per_op")] == "regressed"
    assert v[("command_dispatch", "instructions_per_op")] == "regressed"
    assert v[("query_dispatch", "instructions_per_op")] == "no change"
    assert v[("query_dispatch", "ns_per_op")] != "regressed"
    assert c.regressed and "❌ regressions" in ab.markdown(c)
    same = ab.run("pinned", "pinned", ["cqrs"], rounds=5, params=QUICK, printer=None)
    assert not same.regressed, same.changes
    assert set(same.changes[same.changes["metric"] == "instructions_per_op"]["verdict"]) == {"no change"}


def test_bad_sides_name_the_valid_forms():
    with pytest.raises(budgets.BudgetError, match="neither 'pinned', an exact version"):
        ab.run("latest", "pinned", ["size"], printer=None)
    with pytest.raises(ParameterError, match="unknown A/B suite"):
        ab.run("pinned", "pinned", ["throughput"], printer=None)
