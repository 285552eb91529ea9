"""CQRS suite: criterion files and callgrind output recorded from real runs, then small real runs."""
from pathlib import Path

import pytest

from allframe_quality.tools import callgrind, criterion
from allframe_quality.config import budgets
from allframe_quality.suites import cqrs
from allframe_quality.commands import gate as gate_command
from allframe_quality.verdict import regression
from allframe_quality.core.errors import ParameterError
from allframe_quality.core.errors import ToolMissing

FIX = Path(__file__).parent / "fixtures"


def test_criterion_files_recorded_from_a_real_run():
    r = criterion.read(FIX / "criterion" / "cqrs" / "command_dispatch")
    assert (r.group, r.function, r.elements_per_iter) == ("cqrs", "command_dispatch", 1)
    assert r.mean.lo <= r.mean.point <= r.mean.hi and r.mean.confidence == 0.95
    assert len(r.per_iter_ns) >= 10 and min(r.per_iter_ns) > 0
    assert set(criterion.read_group(FIX / "criterion", "cqrs")) == {"command_dispatch"}


def test_missing_criterion_files_are_an_error(tmp_path):
    with pytest.raises(criterion.CriterionError, match="criterion results missing"):
        criterion.read(tmp_path / "nothing")


def test_callgrind_total_recorded_from_a_real_run():
    text = (FIX / "callgrind.out.cqrs-ops").read_text()
    assert callgrind.parse_total(text) > 100_000
    with pytest.raises(callgrind.CallgrindError):
        callgrind.parse_total("events: Ir\n")


def test_unknown_operation_lists_the_valid_ones(data_dir):
    with pytest.raises(ParameterError, match=r"unknown CQRS operation\(s\) \['dispatch'\]; valid: .*'command_dispatch'"):
        cqrs.measure(["dispatch"], printer=None)
    assert not data_dir.exists()


def test_budget_operations_match_the_rust_bench():
    src = (budgets.paths.BENCH / "cqrs-bench" / "src" / "lib.rs").read_text()
    rust_ops = src.split("pub const OPS: &[&str] = &[", 1)[1].split("];", 1)[0]
    names = [l.strip().strip('",') for l in rust_ops.splitlines() if l.strip().startswith('"')]   # not the #[cfg] lines
    assert sorted(budgets.load().cqrs.operations) == sorted(names)
    # and every operation has its cargo feature, which the releases suite builds it by
    from allframe_quality.suites import releases
    assert set(releases.OP_FEATURES) | {"event_append_sqlite"} == set(names)


@pytest.mark.slow
def test_instruction_counts_repeat_within_a_tenth_of_a_percent():
    from allframe_quality.tools import allframe_source, cargo
    ws, extra = allframe_source.workspace(allframe_source.resolve())
    built = cargo.build(ws, "cqrs-bench", bin="cqrs-ops", no_default_features=False, extra_args=extra)
    assert built.ok, built.failure_text()
    a = callgrind.per_operation([str(built.executable), "command_dispatch"], 200, 2200)
    b = callgrind.per_operation([str(built.executable), "command_dispatch"], 200, 2200)
    assert a.instructions > 100
    assert abs(a.instructions - b.instructions) / a.instructions < 0.001, (a, b)


@pytest.mark.slow
def test_short_real_run_lands_in_records_and_the_gate_compares(data_dir, capsys):
    quick = dict(warm_up_s=0.2, measurement_s=0.5, sample_size=10, processes=2, printer=None)
    first, df = cqrs.measure(["command_dispatch", "saga_compensation"], **quick)
    ops = df[(df["metric"] == "ops_per_s") & (df["status"] == "ok")].set_index("config")["value"]
    assert set(ops.index) == {"command_dispatch", "saga_compensation"} and (ops > 1000).all()
    ins = df[df["metric"] == "instructions_per_op"].set_index("config")
    assert (ins["status"] == "ok").all() and (ins["value"] > 100).all()
    assert (df[df["metric"] == "ns_per_op_sample"].groupby("config").size() == 20).all()   # 2 processes x 10
    means = df[df["metric"] == "ns_per_op_process"].groupby("config")["value"]
    assert (means.size() == 2).all()
    summary = df[(df["metric"] == "ns_per_op") & (df["status"] == "ok")].set_index("config")
    assert (abs(summary["value"] - means.mean()) < 1e-9).all() and (summary["lo"] <= summary["value"]).all()
    assert df[df["config"] == "event_append_allsource"]["status"].tolist() == ["not_measured"]
    # a second run compares with the first (same machine); the comparison is well-formed
    second, _ = cqrs.measure(["command_dispatch"], **quick)
    bases, changes = regression.against_baseline(second, ["cqrs"])
    assert bases == {"cqrs": first} and set(changes["metric"]) == {"ns_per_op", "instructions_per_op"}
    # same build, same operation: the exact count shows no change (A/A on instructions)
    assert changes[changes["metric"] == "instructions_per_op"]["verdict"].tolist() == ["no change"]
    gate_command.main(["--run", second])
    assert "| cqrs | Command dispatch |" in capsys.readouterr().out


@pytest.mark.slow
def test_instructions_false_is_time_only_and_a_missing_valgrind_is_an_error(data_dir, monkeypatch, tmp_path):
    _, df = cqrs.measure(["event_upcast"], warm_up_s=0.2, measurement_s=0.3, sample_size=10, processes=1,
                         instructions=False, printer=None)
    assert not (df["metric"] == "instructions_per_op").any()
    assert (df[df["metric"] == "ops_per_s"]["status"] == "ok").all()
    from conftest import path_without
    monkeypatch.setenv("PATH", path_without(tmp_path, "valgrind"))
    with pytest.raises(ToolMissing, match="valgrind not found on PATH"):
        cqrs.measure(["event_upcast"], printer=None)
