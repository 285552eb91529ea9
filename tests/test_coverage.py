"""The coverage suite: llvm-cov's export and libtest's events parsed from real recorded output, a real
cargo-llvm-cov failure recorded with its words (and failing the gate), and AllFrame's tests run under coverage
end to end through the notebook."""
import json
import math

import nbformat
import pytest

from allframe_quality.config import budgets
from allframe_quality.suites import coverage, coverage_analysis, gate
from allframe_quality.commands import gate as gate_command
from allframe_quality.verdict import history
from allframe_quality.tools import libtest
from allframe_quality.report import publish
from allframe_quality.core import records
from allframe_quality.config.budgets import BudgetError
from allframe_quality.core.errors import ParameterError
from conftest import FIXTURES, budgets_copy, fake_tool

# a real report: allframe-core 0.1.28, crate-default features, built in /tmp/cov-try/src (five of its 37 files)
EXPORT = FIXTURES / "llvm-cov-export-excerpt.json"
EXPORT_ROOT = "/tmp/cov-try/src"


def test_module_of_a_source_path():
    assert coverage_analysis.module_of("src/router/mod.rs") == "router"
    assert coverage_analysis.module_of("src/application/resilience.rs") == "application"
    assert coverage_analysis.module_of("src/lib.rs") == "lib.rs"
    assert coverage_analysis.module_of("tests/integration.rs") == "tests"


def test_export_parsed_per_file_from_a_real_report():
    doc = json.loads(EXPORT.read_text())
    files, other = coverage.parse_export(doc, EXPORT_ROOT)
    assert other == []
    by = files.set_index("file")
    assert set(by.index) == {"src/lib.rs", "src/router/mod.rs", "src/shutdown.rs", "src/application/resilience.rs",
                             "src/di/mod.rs"}
    assert by.loc["src/router/mod.rs", "module"] == "router" and by.loc["src/lib.rs", "module"] == "lib.rs"
    for f in doc["data"][0]["files"]:    # every count is the report's own, none recomputed
        rel = f["filename"][len(EXPORT_ROOT) + 1:]
        for k in coverage_analysis.COUNTS:
            assert by.loc[rel, k] == f["summary"][k]["count"] and by.loc[rel, f"{k}_covered"] == f["summary"][k]["covered"]
    assert by.loc["src/application/resilience.rs", "lines_covered"] == 0 < by.loc["src/router/mod.rs", "lines_covered"]
    # files outside the crate's src/ are not AllFrame's library: left out, and named
    files, other = coverage.parse_export(doc, "/elsewhere")
    assert files.empty and len(other) == 5
    with pytest.raises(ValueError, match="not an llvm-cov JSON export"):
        coverage.parse_export({"type": "something else", "data": []}, EXPORT_ROOT)


def test_classify_from_a_test_s_own_result():
    # real libtest events: allframe-core 0.1.28's #[ignore = "requires Redis"] test run here with no Redis; the
    # 60-second `timeout` warning comes first, the failure after 492 s
    events = libtest.results((FIXTURES / "libtest-redis-refused.jsonl").read_text(), "allframe_core")
    assert len(events) == 1 and events[0]["event"] == "failed" and events[0]["seconds"] > 60
    listed = {"name": events[0]["name"], "ignore": True, "ignore_message": "requires Redis"}
    status, value, detail = coverage.classify(events[0], listed, 600)
    assert status == "not_measured" and math.isnan(value)
    assert "requires Redis" in detail and "Connection refused (os error 111)" in detail
    # the same test still running at its timeout: not finished, not a failure
    first = libtest.results("\n".join((FIXTURES / "libtest-redis-refused.jsonl").read_text().splitlines()[:3]), "allframe_core")
    status, value, detail = coverage.classify(first[0], listed, 60)
    assert first[0]["event"] == "timeout" and status == "not_measured" and "did not finish within 60 s" in detail
    # a failure with no service in its words is a finding about AllFrame; a pass is a pass
    status, value, detail = coverage.classify(dict(events[0], stdout="assertion `left == right` failed"), {}, 60)
    assert (status, value) == ("ok", 0.0) and "assertion" in detail
    assert coverage.classify(dict(events[0], event="ok", stdout=""), listed, 60)[:2] == ("ok", 1.0)


def test_stale_profiles_go_and_nothing_else(tmp_path):
    for name in ("registry-0.1.28-17-1_0.profraw", "registry-0.1.28.profdata", "registry-0.1.28-profraw-list",
                 "other-5-1_0.profraw", "keep.txt"):
        (tmp_path / name).write_text("x")
    gone = coverage.stale_profiles(str(tmp_path / "registry-0.1.28-%p-%2m.profraw"))
    assert sorted(p.name for p in gone) == ["registry-0.1.28-17-1_0.profraw", "registry-0.1.28.profdata"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.txt", "other-5-1_0.profraw", "registry-0.1.28-profraw-list"]


def test_feature_sets_come_from_quality_toml_or_a_list():
    b = budgets.load()
    assert coverage.features_of("full", b) == ("full", list(b.size.configurations["full"].features))
    assert coverage.features_of(["di", "cqrs"], b) == ("di+cqrs", ["di", "cqrs"])
    assert coverage.features_of("crate-default", b)[1] == ["di", "openapi", "router", "otel", "health"]
    with pytest.raises(ParameterError, match="valid: .*'full'"):
        coverage.features_of("fulll", b)
    # a target directory per feature set, whatever the order they are named in
    assert coverage.target_dir(["di", "cqrs"]) == coverage.target_dir(["cqrs", "di"]) != coverage.target_dir(["di"])


def test_a_failing_cargo_llvm_cov_fails_the_suite_with_its_words(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("AFQ_DATA_DIR", str(tmp_path / "data"))
    bin_dir = tmp_path / "bin"
    fake_tool(bin_dir, "cargo-llvm-cov", 'echo "error: failed to find llvm-tools-preview, please install it" >&2; exit 1')
    monkeypatch.setenv("PATH", f"{bin_dir}:{__import__('os').environ['PATH']}")
    run_id, df = coverage.measure(printer=None)
    bad = df[df["status"] == "failed"]
    assert len(bad) == 1 and "failed to find llvm-tools-preview" in bad["detail"].iloc[0]
    assert "cargo-llvm-cov show-env exit 1" in bad["detail"].iloc[0]
    assert not ((df["metric"] == "line_pct") & (df["status"] == "ok")).any()    # nothing passes as measured
    checks = {f.check: f for f in coverage_analysis.evaluate(df, budgets.load())}
    assert checks["coverage.lines"].verdict.level == "not_measured"
    assert gate_command.main(["--run", run_id]) == 1
    assert "failed to find llvm-tools-preview" in capsys.readouterr().err


@pytest.mark.slow
def test_allframe_tests_under_coverage_through_the_notebook(tmp_path, monkeypatch):
    for var, sub in (("AFQ_DATA_DIR", "data"), ("AFQ_SITE_DIR", "site"), ("AFQ_BUILD_DIR", "build")):
        monkeypatch.setenv(var, str(tmp_path / sub))
    out = publish.execute("coverage", {"budgets_file": str(budgets_copy(tmp_path, []))}, out_dir=tmp_path / "build",
                          stream=False)
    nb = nbformat.read(out, as_version=4)
    assert not [o for c in nb.cells for o in c.get("outputs", []) if o.get("output_type") == "error"]
    run_id = records.latest_run_id("coverage")
    df = records.load_records(run_id, "coverage")
    assert not (df["status"] == "failed").any(), df[df["status"] == "failed"]["detail"].tolist()
    ok = df[df["status"] == "ok"]

    def v(config, metric, item=""):
        s = ok[(ok["config"] == config) & (ok["metric"] == metric) & (ok["item"] == item)]["value"]
        assert len(s) == 1, (config, metric, item)
        return float(s.iloc[0])
    # totals: the sums over files, percentages from them; AllFrame's tests do cover most of its code
    files = ok[(ok["item"] != "") & (ok["metric"] == "lines")]
    assert v("total", "lines") == files["value"].sum() > 1000
    assert v("total", "line_pct") == pytest.approx(100 * v("total", "lines_covered") / v("total", "lines"))
    assert 30 < v("total", "line_pct") < 100 and 30 < v("total", "region_pct") < 100
    assert v("router", "lines") < v("total", "lines")
    # the crate's default features leave the CQRS module out: counted, not hidden
    assert v("cqrs", "files_not_built") > 0 and not ((ok["config"] == "cqrs") & (ok["metric"] == "lines")).any()
    t = coverage_analysis.totals(df)
    assert t["tests_passed"] > 100 and t["tests_passed"] == int((ok["metric"] == "test_passed").sum() - t["tests_failed"])
    assert (df[df["metric"] == "doc_tests"]["status"] == "not_measured").all()
    info = records.load_meta(run_id)["suites"]["coverage"]
    assert info["lockfile"] in ("published", "generated") and info["features_label"] == "crate-default"
    assert "cargo-llvm-cov" in info["tool"]
    # the history carries the totals for the trends
    h = history.load()
    assert set(h[(h["suite"] == "coverage") & (h["config"] == "total")]["metric"]) >= {"line_pct", "region_pct", "tests_passed"}
    checks = {f.check: f for f in gate.suite_findings(df, budgets.load(str(tmp_path / "quality.toml")))}
    assert checks["coverage.lines"].measured == pytest.approx(v("total", "line_pct"))
    assert not any(f.verdict.fails for f in checks.values())
