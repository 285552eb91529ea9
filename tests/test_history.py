"""The history file: append through the real save path, no duplicates, corrupt files, concurrent
writers, the size policy, machines kept apart, baselines. Records here are written through the
same records API the suites use; their values are made up (storage is under test, not AllFrame)."""
import multiprocessing
import os

import pandas as pd
import pytest

from allframe_quality.suites import contract
from allframe_quality.verdict import history, regression
from allframe_quality.core import records
from conftest import save_cqrs


def test_every_saved_suite_lands_once(data_dir):
    save_cqrs("20260101T000000Z-00001", 140)
    save_cqrs("20260101T000000Z-00001", 150)   # the suite saved again into the same run: replaces
    save_cqrs("20260102T000000Z-00002", 141)
    h = history.load()
    assert h.groupby("run_id").size().to_dict() == {"20260101T000000Z-00001": 21, "20260102T000000Z-00002": 21}
    first = h[(h["run_id"] == "20260101T000000Z-00001") & (h["metric"] == "ns_per_op")]["value"]
    assert abs(first.mean() - 150) < 2               # the newer save won
    assert set(h["metric"]) == {"ns_per_op", "instructions_per_op"}  # summary time rows are not stored twice
    assert (h["fingerprint"] != "unknown").all() and h["params"].nunique() == 1


def test_a_corrupt_history_is_named_and_never_overwritten(data_dir, capsys):
    save_cqrs("20260101T000000Z-00001", 140)
    save_cqrs("20260102T000000Z-00002", 141)      # now a backup of the one-run history exists
    p = history.path()
    good = p.read_bytes()
    p.write_bytes(good[: len(good) // 2])           # truncated, as by a full disk
    bad = p.read_bytes()
    with pytest.raises(history.HistoryError, match=r"history\.parquet is unreadable.*history\.parquet\.bak"):
        history.append("20260102T000000Z-00002")
    assert p.read_bytes() == bad                     # not rewritten
    # a suite saved meanwhile keeps its records and says why the history did not take them
    save_cqrs("20260103T000000Z-00003", 142)
    assert "not added to the history" in capsys.readouterr().err
    assert not records.load_records("20260103T000000Z-00003", "cqrs").empty
    # the backup holds the earlier good data; rebuilding from data/runs recovers everything
    assert set(history.load(history.backup_path())["run_id"]) == {"20260101T000000Z-00001"}
    p.unlink()
    assert history.rebuild()["run_id"].nunique() == 3


def _writer(data: str, k: int) -> None:
    os.environ["AFQ_DATA_DIR"] = data
    for i in range(4):
        save_cqrs(f"20260101T0000{k}{i}Z-0000{k}", 100 + i)


@pytest.mark.slow   # two real writer processes
def test_two_writers_at_once_lose_nothing(data_dir):
    ctx = multiprocessing.get_context("fork")
    procs = [ctx.Process(target=_writer, args=(str(data_dir), k)) for k in (1, 2)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    assert history.load()["run_id"].nunique() == 8


def test_size_policy_folds_old_samples_and_drops_the_oldest(data_dir):
    for i in range(6):
        save_cqrs(f"2026010{i + 1}T000000Z-0000{i}", 100 + i)
    h = history.load()
    small = history.compact(h, keep_samples_runs=2, max_runs=4)
    assert small["run_id"].nunique() == 4
    per_run = small[small["metric"] == "ns_per_op"].groupby("run_id").size()
    assert per_run.tolist() == [1, 1, 20, 20]     # two older runs folded to one point, newest two keep samples
    folded = small[(small["run_id"] == per_run.index[0]) & (small["metric"] == "ns_per_op")]["value"].iloc[0]
    kept = h[(h["run_id"] == per_run.index[0]) & (h["metric"] == "ns_per_op")]["value"].mean()
    assert folded == pytest.approx(kept)
    # bytes per run stay small: a run of this suite is well under 4 KiB in the file
    assert history.path().stat().st_size / 6 < 4096


def test_baselines_stay_on_one_machine_and_one_way_of_measuring(data_dir):
    save_cqrs("20260101T000000Z-00001", 100)
    save_cqrs("20260102T000000Z-00002", 100, fingerprint="othermachine")
    save_cqrs("20260103T000000Z-00003", 100, params={"measurement_s": 0.5})
    save_cqrs("20260104T000000Z-00004", 100)
    h = history.load()
    assert regression.find_baseline(h, "20260104T000000Z-00004", "cqrs") == "20260101T000000Z-00001"
    assert regression.find_baseline(h, "20260101T000000Z-00001", "cqrs") is None
    assert regression.find_baseline(h, "20260104T000000Z-00004", "cqrs", "20260103T000000Z-00003") == "20260103T000000Z-00003"
    with pytest.raises(regression.BaselineError, match="no-such-run.*not in the history; latest runs"):
        regression.find_baseline(h, "20260104T000000Z-00004", "cqrs", "no-such-run")


def test_a_slower_run_is_caught_and_an_equal_one_is_not(data_dir):
    save_cqrs("20260101T000000Z-00001", 100)
    save_cqrs("20260102T000000Z-00002", 100.3)           # A/A: the same, within 1 % noise
    save_cqrs("20260103T000000Z-00003", 125, instructions=1500)   # 25 % slower, and more instructions
    _, same = regression.against_baseline("20260102T000000Z-00002")
    assert not same["gate_fail"].any() and set(same["verdict"]) <= {"no change", "within noise"}
    bases, slower = regression.against_baseline("20260103T000000Z-00003")
    assert bases == {"cqrs": "20260102T000000Z-00002"}
    row = slower[slower["metric"] == "ns_per_op"].iloc[0]
    assert row["verdict"] == "regressed" and row["gate_fail"] and row["lo_pct"] > 10
    assert any(x.startswith("regressed: cqrs: allframe / command_dispatch — ns_per_op +2")
               for x in regression.regression_list(slower))


def test_a_time_change_between_runs_needs_its_instructions_to_move(data_dir):
    # the whole machine got slower: every sample 25 % up, the code path (instructions) the same
    save_cqrs("20260101T000000Z-00001", 100)
    save_cqrs("20260102T000000Z-00002", 125)
    _, ch = regression.against_baseline("20260102T000000Z-00002")
    row = ch[ch["metric"] == "ns_per_op"].iloc[0]
    assert row["verdict"] == "unconfirmed" and not row["gate_fail"] and "instructions_per_op unchanged" in row["evidence"]


def test_trend_points_keep_machines_apart(data_dir):
    from allframe_quality.report import trends
    save_cqrs("20260101T000000Z-00001", 100)
    save_cqrs("20260102T000000Z-00002", 100, fingerprint="othermachine")
    save_cqrs("20260103T000000Z-00003", 110)
    p = trends.points(history.load(), "cqrs", "ns_per_op", scale=1e9, invert=True, series=("config",))
    assert p.groupby("machine").size().sort_values().tolist() == [1, 2]
    assert isinstance(p["started"].dtype, pd.DatetimeTZDtype)


def test_runs_from_parallel_jobs_merge_into_one(tmp_path, monkeypatch):
    from allframe_quality.commands import cli
    run = "20260105T000000Z-00005"
    monkeypatch.setenv("AFQ_DATA_DIR", str(tmp_path / "job-cqrs"))
    save_cqrs(run, 100)
    monkeypatch.setenv("AFQ_DATA_DIR", str(tmp_path / "job-size"))
    records.start_run(run)
    rows = [records.record(suite="size", subject="allframe", config="minimal", variant="release", metric="file_bytes",
                           unit="bytes", value=1_180_024)]
    records.save_suite(run, "size", records.frame(rows, run), {"parameters": {}})
    contract.add_to_history(run, "size")
    monkeypatch.setenv("AFQ_DATA_DIR", str(tmp_path / "merged"))
    assert cli.main(["merge", str(tmp_path / "job-size"), str(tmp_path / "job-cqrs")]) == 0
    meta = records.load_meta(run)
    assert set(meta["suites"]) == {"cqrs", "size"} and meta["suites"]["cqrs"]["machine"]["fingerprint"]
    assert set(history.load()["suite"]) == {"cqrs", "size"}
    assert history.load()["run_id"].nunique() == 1
    # a truncated artifact is refused before anything is copied
    bad = tmp_path / "job-bad" / "runs" / "20260106T000000Z-00006"
    bad.mkdir(parents=True)
    (bad / "meta.json").write_text('{"run_id": "20260106T000000Z-00006"}')
    (bad / "size.parquet").write_bytes(b"PAR1 truncated")
    assert cli.main(["merge", str(tmp_path / "job-bad")]) == 2
    assert not (tmp_path / "merged" / "runs" / "20260106T000000Z-00006").exists()
