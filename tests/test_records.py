import math

import pandas as pd
import pytest

from allframe_quality.core import atomic, records


def test_record_rejects_unknown_fields():
    with pytest.raises(records.RecordError, match="unknown record field.*'colour'"):
        records.record(suite="size", subject="allframe", config="minimal", metric="file_bytes", unit="bytes", colour=1)


@pytest.mark.parametrize("row, message", [
    (dict(status="ok"), "no finite value"),
    (dict(status="failed"), "without a reason"),
    (dict(status="broken", value=1), "status 'broken'"),
    (dict(value=1, metric=""), "lacks"),
])
def test_frame_rejects_invalid_rows(row, message):
    base = dict(suite="size", subject="allframe", config="minimal", metric="file_bytes", unit="bytes")
    with pytest.raises(records.RecordError, match=message):
        records.frame([records.record(**{**base, **row})], "r1")


def test_frame_schema_and_failure_rows():
    df = records.frame([
        records.record(suite="size", subject="allframe", config="minimal", metric="file_bytes", unit="bytes", value=10),
        records.record(suite="size", subject="allframe", config="full", metric="file_bytes", unit="bytes",
                       status="failed", detail="error[E0308]"),
    ], "r1")
    assert list(df.columns) == list(records.SCHEMA)
    assert df["run_id"].tolist() == ["r1", "r1"]
    assert math.isnan(df.loc[1, "value"]) and df.loc[1, "detail"] == "error[E0308]"


def test_save_and_load_round_trip(data_dir):
    run = records.start_run("20260101T000000Z-00001")
    df = records.frame([records.record(suite="size", subject="axum", config="hello-world", variant="release",
                                       metric="file_bytes", unit="bytes", value=123.0)], run)
    records.save_suite(run, "size", df, {"note": "test"})
    back = records.load_records(suite="size")
    pd.testing.assert_frame_equal(back, df)
    meta = records.load_meta(run)
    assert meta["suites"]["size"]["rows"] == 1 and meta["machine"]["cores"] >= 1
    assert records.latest_run_id("size") == run
    with pytest.raises(FileNotFoundError, match="no run 'nope'"):
        records.load_meta("nope")


def test_interrupted_write_keeps_previous_file(tmp_path):
    target = tmp_path / "size.parquet"
    atomic.write_text(target, "previous")

    def crash(path):
        path.write_text("half of the new")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        atomic.write_with(target, crash)
    assert target.read_text() == "previous"
    assert [p.name for p in tmp_path.iterdir()] == ["size.parquet"]  # no temp file left behind
