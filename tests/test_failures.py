"""Every failure fails: each path injects a real failure (a tool that fails, a probe that crashes, a server
serving a wrong page, a release that does not exist, a check that did not run) and asserts the exit code
and the message."""
import os
import subprocess
import sys

import pytest

from allframe_quality.compare import ab
from allframe_quality.commands import cli
from allframe_quality.suites import cqrs, gate, memory, size, throughput
from allframe_quality.commands import gate as gate_command
from allframe_quality.core import paths, records
from conftest import budgets_copy, fake_tool, patched_allframe, path_without

pytestmark = pytest.mark.slow
CLI = [sys.executable, "-m", "allframe_quality.commands.cli"]


def _gate(run_id, budgets, capsys):
    code = gate_command.main(["--run", run_id, "--budgets", str(budgets)])
    cap = capsys.readouterr()
    return code, cap.out + cap.err


def test_a_probe_that_builds_but_crashes_fails_the_gate(registry_allframe, tmp_path, data_dir, capsys):
    """allframe-core's Router::new panics: the minimal probe builds and then crashes when run."""
    anchor = "    pub fn new() -> Self {\n        Self {\n            handlers: HashMap::new(),"
    crash = '    pub fn new() -> Self {\n        if std::hint::black_box(true) { panic!("injected crash"); }\n'

    def edit(text):
        assert text.count(anchor) == 1, "router/mod.rs: Router::new changed; update the anchor"
        return text.replace(anchor, crash + anchor.split("\n", 1)[1], 1)
    crashing = patched_allframe(registry_allframe, tmp_path / "allframe-core", "src/router/mod.rs", edit)
    run_id, df = size.measure(["minimal"], profiles=["release"], peers=False, with_bloat=False,
                              allframe_checkout=str(crashing), printer=None)
    probe = df[df["metric"] == "probe_checks"]
    assert probe["status"].tolist() == ["failed"] and "injected crash" in probe["detail"].iloc[0]
    code, out = _gate(run_id, budgets_copy(tmp_path, ["size.minimal"]), capsys)
    assert code == 1 and "probe_checks" in out and "injected crash" in out


def test_a_cargo_bloat_failure_fails_the_gate(tmp_path, data_dir, monkeypatch, capsys):
    fake_tool(tmp_path / "bin", "cargo-bloat", 'echo "error: injected cargo-bloat failure" >&2; exit 3')
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}:{os.environ['PATH']}")
    run_id, df = size.measure(["minimal"], profiles=["release"], peers=False, with_bloat=True, printer=None)
    text = df[df["metric"] == "text_bytes"]
    assert text["status"].tolist() == ["failed"] and "injected cargo-bloat failure" in text["detail"].iloc[0]
    code, out = _gate(run_id, budgets_copy(tmp_path, ["size.minimal"]), capsys)
    assert code == 1 and "cargo bloat failed: error: injected cargo-bloat failure" in out and "text_bytes" in out


def test_a_callgrind_failure_fails_the_gate(tmp_path, data_dir, monkeypatch, capsys):
    fake_tool(tmp_path / "bin", "valgrind", 'echo "valgrind: injected failure" >&2; exit 1')
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}:{os.environ['PATH']}")
    run_id, df = cqrs.measure(["command_dispatch"], warm_up_s=0.1, measurement_s=0.2, processes=1, printer=None)
    ins = df[df["metric"] == "instructions_per_op"]
    assert ins["status"].tolist() == ["failed"] and "injected failure" in ins["detail"].iloc[0]
    code, out = _gate(run_id, budgets_copy(tmp_path, []), capsys)
    assert code == 1 and "callgrind failed" in out


def test_a_required_check_that_did_not_run_fails(tmp_path, data_dir, capsys):
    """The 1M-event bound is required; a run of 10k events did not measure it: not measured, never passed."""
    run_id, _ = memory.measure([10_000], payloads=["small"], heap_profile=False, printer=None)
    code, out = _gate(run_id, budgets_copy(tmp_path, ["memory.bound"]), capsys)
    assert code == 1 and "required, not measured" in out and "not 1,000,000" in out
    code, out = _gate(run_id, budgets_copy(tmp_path, []), capsys)    # not required: shown, counted apart, passes
    assert code == 0 and "1 not measured" in out and "❔ not measured" in out


def test_a_server_that_fails_verification_fails_the_gate(tmp_path, data_dir, monkeypatch, capsys):
    """The real server serves the real database's fortunes; the rules are told to expect one fortune fewer."""
    monkeypatch.setattr(throughput, "FORTUNES", throughput.FORTUNES[:-1])
    run_id, df = throughput.measure(["hyper"], ["fortunes"], duration_s=1, repeats=1, warmup_s=1, printer=None)
    v = df[df["metric"] == "verified"]
    assert v["status"].tolist() == ["failed"] and "fortunes HTML differs" in v["detail"].iloc[0]
    assert not (df["metric"] == "rps").any()             # a server that failed verification is never loaded
    code, out = _gate(run_id, budgets_copy(tmp_path, []), capsys)
    assert code == 1 and "fortunes HTML differs" in out


def test_a_missing_tool_fails_the_report_naming_it(tmp_path):
    env = dict(os.environ, PATH=path_without(tmp_path, "wrk"), AFQ_DATA_DIR=str(tmp_path / "data"),
               AFQ_SITE_DIR=str(tmp_path / "site"), AFQ_BUILD_DIR=str(tmp_path / "build"))
    r = subprocess.run([*CLI, "report", "--notebooks", "throughput", "-p", "throughput.tests=json", "-p",
                        "throughput.frameworks=hyper"], env=env, capture_output=True, text=True, cwd=paths.ROOT, timeout=600)
    assert r.returncode == 1, r.stdout[-2000:] + r.stderr[-2000:]
    assert "wrk not found on PATH" in r.stdout + r.stderr
    assert (tmp_path / "site" / "throughput.failed.html").exists() and not (tmp_path / "site" / "throughput.html").exists()


def test_ab_side_that_does_not_exist_exits_2(data_dir, capsys):
    assert cli.main(["ab", "--a", "0.1.99", "--b", "pinned", "--suites", "size"]) == 2
    assert "allframe-core 0.1.99 does not exist on the registry" in capsys.readouterr().err


def test_ab_side_that_fails_to_build_exits_1(registry_allframe, tmp_path, data_dir, capsys):
    broken = patched_allframe(registry_allframe, tmp_path / "allframe-core", "src/lib.rs",
                              lambda t: t + '\ncompile_error!("injected by the allframe-quality test suite");\n')
    code = cli.main(["ab", "--a", str(broken), "--b", "pinned", "--suites", "size", "-p", "size.configurations=minimal"])
    cap = capsys.readouterr()
    assert code == 1
    assert "side A" in cap.err and "injected by the allframe-quality test suite" in cap.err
    assert "## AllFrame A/B: ❌ a side failed" in cap.out


def test_ab_refuses_too_few_rounds(data_dir, capsys):
    assert cli.main(["ab", "--a", "pinned", "--b", "pinned", "--suites", "cqrs", "--rounds", "3"]) == 2
    assert f"at least {ab.MIN_ROUNDS} interleaved rounds" in capsys.readouterr().err


def test_report_refuses_bad_parameters(data_dir, capsys):
    assert cli.main(["report", "--notebooks", ""]) == 2
    assert "names no notebook" in capsys.readouterr().err
    assert cli.main(["report", "-p", "size.configuraton=[minimal]"]) == 2
    err = capsys.readouterr().err
    assert "unknown parameter(s) ['configuraton']" in err and "'configurations'" in err
    assert cli.main(["report", "--notebooks", "size", "-p", "cqrs.processs=2"]) == 2
    assert "unknown parameter(s) ['processs'] for notebook 'cqrs'" in capsys.readouterr().err


def test_papermill_alone_refuses_an_unknown_parameter(tmp_path):
    """papermill by itself only warns about an unknown name; the notebook's own check makes it an error."""
    r = subprocess.run([sys.executable, "-m", "papermill", str(paths.NOTEBOOKS / "trends.ipynb"), str(tmp_path / "out.ipynb"),
                        "--cwd", str(paths.NOTEBOOKS), "-p", "last_run", "5"],
                       env=dict(os.environ, AFQ_DATA_DIR=str(tmp_path / "data")), capture_output=True, text=True, timeout=300)
    assert r.returncode != 0
    assert "unknown parameter(s) ['last_run']" in r.stdout + r.stderr and "'last_runs'" in r.stdout + r.stderr
