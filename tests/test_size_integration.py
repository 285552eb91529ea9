"""End to end on small real runs: real cargo builds of two configurations, real cargo-bloat, the gate."""
import json
import os
import subprocess

import pytest

from allframe_quality.config import budgets
from allframe_quality.suites import gate, size, size_analysis
from allframe_quality.tools import bloat
from allframe_quality.commands import gate as gate_command
from allframe_quality.core import paths, records
from conftest import budgets_copy, patched_allframe

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def measured(tmp_path_factory):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("AFQ_DATA_DIR", str(tmp_path_factory.mktemp("data")))
        run_id, df = size.measure(["minimal", "cqrs"], profiles=["release", "size-opt"], peers=False)
        yield run_id, df


def _one(df, config, variant, metric):
    v = df[(df["config"] == config) & (df["variant"] == variant) & (df["metric"] == metric) & (df["item"] == "")]
    assert len(v) == 1, (config, variant, metric)
    assert v["status"].iloc[0] == "ok", v["detail"].iloc[0]
    return float(v["value"].iloc[0])


def test_sizes_are_real_and_consistent(measured):
    _, df = measured
    assert (df["status"] == "ok").all(), size_analysis.failures(df)
    for config in ("minimal", "cqrs"):
        built = _one(df, config, "release", "file_bytes")
        stripped = _one(df, config, "release", "stripped_bytes")
        small = _one(df, config, "size-opt", "file_bytes")
        text = _one(df, config, "release", "text_bytes")
        assert 0 < stripped <= built
        assert 0 < small <= built  # opt-level z + LTO + strip never grows the binary
        crates = df[(df["config"] == config) & (df["metric"] == "crate_text_bytes")]
        assert {"std", "tokio", "allframe_core"} <= set(crates["item"])
        assert 0 < crates["value"].sum() <= text
    # CQRS brings code Minimal does not have
    assert _one(df, "cqrs", "release", "file_bytes") > _one(df, "minimal", "release", "file_bytes")


def test_probe_exercised_the_enabled_features(measured):
    _, df = measured
    checks = {c: json.loads(df[(df["config"] == c) & (df["metric"] == "probe_checks") & (df["variant"] == "release")]["detail"].iloc[0])
              for c in ("minimal", "cqrs")}
    assert checks["minimal"]["router"] == "Hello, World!" and "cqrs_events" not in checks["minimal"]
    assert checks["cqrs"]["cqrs_events"] == 1 and "di" in checks["cqrs"] and checks["cqrs"]["openapi_paths"] == 1


def test_feature_cost_and_status(measured):
    _, df = measured
    b = budgets.load()
    cost = size_analysis.feature_cost(df, b)
    assert set(cost["config"]) == {"cqrs"}
    assert cost[cost["crate"] == "allframe_core"]["delta_bytes"].iloc[0] > 0
    status = size_analysis.status_table(df, b)
    assert list(status["name"]) == ["minimal", "cqrs"]
    assert status["level"].isin(["pass", "warn", "fail"]).all()


def _budgets_with_limits(tmp_path, df, factor):
    """quality.toml with minimal's and cqrs's limits set at `factor` x the measured size."""
    b = budgets.load()
    text = paths.BUDGETS_FILE.read_text()
    for name in ("minimal", "cqrs"):
        c = b.size.configurations[name]
        mib = _one(df, name, "release", "file_bytes") / b.size.unit_bytes
        text = text.replace(f"target_mib = {c.target_mib:g}\nlimit_mib = {c.limit_mib:g}\nbasis = \"{c.basis}",
                            f"target_mib = {mib * factor * 0.9:.4f}\nlimit_mib = {mib * factor:.4f}\nbasis = \"{c.basis}", 1)
    return budgets_copy(tmp_path, ["size.minimal", "size.cqrs"], edit=lambda _: text)


def test_gate_fails_when_a_limit_is_below_the_measured_size(measured, tmp_path, monkeypatch, capsys):
    run_id, df = measured
    monkeypatch.setenv("AFQ_DATA_DIR", str(records.paths.data_dir()))  # same tree as the fixture wrote
    summary = tmp_path / "summary.md"
    assert gate_command.main(["--run", run_id, "--budgets", str(_budgets_with_limits(tmp_path, df, 2.0)), "--summary", str(summary)]) == 0
    assert "✅ **passed**" in summary.read_text()
    assert gate_command.main(["--run", run_id, "--budgets", str(_budgets_with_limits(tmp_path, df, 0.5))]) == 1
    cap = capsys.readouterr()
    out = cap.out + cap.err
    assert "❌ **failed**" in out and "| size | Minimal (minimal) |" in out and "over limit" in out
    assert "gate: FAILED size: Minimal (minimal) — over limit" in out


def test_gate_without_a_run_exits_2(data_dir, capsys):
    assert gate_command.main([]) == 2
    assert "no run" in capsys.readouterr().err


def test_a_configuration_that_fails_to_compile_is_recorded(registry_allframe, tmp_path, data_dir, capsys):
    """A real compile failure: a copy of allframe-core with an injected error, measured as a checkout."""
    broken = patched_allframe(registry_allframe, tmp_path / "allframe-core", "src/lib.rs",
                              lambda t: t + '\ncompile_error!("injected by the allframe-quality test suite");\n')
    run_id, df = size.measure(["minimal"], profiles=["release"], peers=False, allframe_checkout=str(broken), printer=None)
    row = df[df["metric"] == "file_bytes"].iloc[0]
    assert row["status"] == "failed" and "injected by the allframe-quality test suite" in row["detail"]
    meta = records.load_meta(run_id)
    assert meta["suites"]["size"]["allframe"]["kind"] == "checkout"
    assert meta["suites"]["size"]["failed"] == 1
    assert gate_command.main(["--run", run_id]) == 1
    err = capsys.readouterr().err
    assert "gate: FAILED size: allframe / minimal / release: file_bytes — failed" in err
    assert "injected by the allframe-quality test suite" in err


def test_feature_cost_totals(measured):
    _, df = measured
    totals = size_analysis.feature_cost_totals(size_analysis.feature_cost(df, budgets.load()))
    assert list(totals.index) == ["cqrs"] and totals.loc["cqrs", "added_KiB"] > 0


def test_the_gated_size_is_a_plain_cargo_build_release(measured):
    """cargo-bloat analysed the lab's own build (through its shim) and left it as `cargo build --release` makes it:
    a plain build of the probe has the recorded bytes."""
    _, df = measured
    done = subprocess.run(["cargo", "build", "--release", "--locked", "-p", size.PROBE, "--no-default-features",
                           "--message-format", "json"], cwd=paths.BENCH, capture_output=True, text=True, check=True)
    msgs = [json.loads(l) for l in done.stdout.splitlines() if l.startswith("{")]
    exe = next(m["executable"] for m in msgs if m.get("reason") == "compiler-artifact" and m.get("executable"))
    assert os.path.getsize(exe) == _one(df, "minimal", "release", "file_bytes")


def test_cargo_bloat_of_the_shared_build_equals_its_own_build():
    """The breakdown from the lab's build is cargo-bloat's own: the same .text and the same bytes per crate as the
    second, unstripped build cargo-bloat makes by itself."""
    shared = bloat.crates(paths.BENCH, size.PROBE)
    own = bloat.crates(paths.BENCH, size.PROBE, own_build=True)
    assert (shared.text_size, shared.crates) == (own.text_size, own.crates)
    assert shared.file_size < own.file_size   # only its copy keeps std's debuginfo
