"""The GitHub Actions workflows: valid YAML of the right shape, and every make target, notebook, notebook
parameter and CLI command they call exists (a renamed target or parameter fails here, not on GitHub)."""
import re
import shlex
from pathlib import Path

import nbformat
import pytest
import yaml
from papermill.translators import PythonTranslator

from allframe_quality.compare import ab
from allframe_quality.commands import cli
from allframe_quality.core import paths
from allframe_quality.report import publish

WORKFLOWS = sorted((paths.ROOT / ".github" / "workflows").glob("*.yml"))
MAKEFILE = (paths.ROOT / "Makefile").read_text()
TARGETS = set(re.findall(r"^([A-Za-z][\w-]*):", MAKEFILE, re.M))


def _load(p: Path) -> dict:
    doc = yaml.safe_load(p.read_text())
    doc["on"] = doc.pop(True, doc.get("on"))  # YAML 1.1 reads the key `on` as true
    return doc


def _steps(doc: dict):
    for name, job in doc["jobs"].items():
        for step in job.get("steps", []):
            yield name, step


def _notebook_params(name: str) -> set[str]:
    nb = nbformat.read(paths.NOTEBOOKS / f"{name}.ipynb", as_version=4)
    cell = next(c for c in nb.cells if "parameters" in c.metadata.get("tags", []))
    return {p.name for p in PythonTranslator.inspect(cell)}


def test_there_are_the_four_workflows():
    assert {p.stem for p in WORKFLOWS} == {"pr", "main", "weekly", "suites"}


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_workflow_is_well_formed(path):
    doc = _load(path)
    assert doc.get("name") and doc["on"] and doc["jobs"]
    for name, job in doc["jobs"].items():
        assert "uses" in job or ("runs-on" in job and job.get("steps")), name
        for need in ([job["needs"]] if isinstance(job.get("needs"), str) else job.get("needs", [])):
            assert need in doc["jobs"], f"{path.name}: job {name} needs unknown job {need}"
        if "uses" in job and job["uses"].startswith("./"):
            called = _load(paths.ROOT / job["uses"])
            declared = called["on"]["workflow_call"]["inputs"]
            assert set(job.get("with", {})) <= set(declared), f"{path.name}: {name} passes undeclared inputs"
            assert all(k in job.get("with", {}) for k, v in declared.items() if v.get("required"))
    for _, step in _steps(doc):
        assert ("run" in step) != ("uses" in step), step


def _make_calls(doc):
    for job, step in _steps(doc):
        for line in step.get("run", "").splitlines():
            if re.match(r"\s*make\s", line):
                yield job, line.strip()


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_workflows_call_targets_notebooks_and_parameters_that_exist(path):
    doc = _load(path)
    text = path.read_text()
    for job, line in _make_calls(doc):
        target = shlex.split(line)[1]
        assert target in TARGETS, f"{path.name} job {job}: make {target} is not a Makefile target"
        m = re.search(r'ARGS="([^"]*)"', line)
        args = shlex.split(re.sub(r"\$\{\{[^}]*\}\}", "X", m.group(1))) if m else []
        if target == "report" and "--notebooks" in args:
            for nb in args[args.index("--notebooks") + 1].split(","):
                assert nb == "X" or nb in publish.NOTEBOOKS, f"{path.name}: unknown notebook {nb}"
        if target == "ab" and "--suites" in args:
            assert set(args[args.index("--suites") + 1].split(",")) <= set(ab.SUITES)
    # papermill parameters, wherever they are written (inputs.params too)
    for nb, key in re.findall(r"-p (\w+)\.(\w+)=", text):
        assert nb in publish.NOTEBOOKS, f"{path.name}: -p for unknown notebook {nb}"
        assert key in _notebook_params(nb), f"{path.name}: {nb}.ipynb has no parameter {key!r}"
    # the suites named in JSON lists are notebooks the report knows
    for js in re.findall(r"suites: '(\[.*?\])'", text):
        assert set(yaml.safe_load(js)) <= set(publish.SUITE_NOTEBOOKS), js


def test_cli_commands_the_makefile_uses_exist():
    for sub in set(re.findall(r"allframe_quality\.cli ([\w-]+)", MAKEFILE)):
        with pytest.raises(SystemExit) as e:
            cli.main([sub, "--help"])
        assert e.value.code == 0, sub


def test_workflow_params_parse_like_the_cli_does():
    # the exact strings the workflows pass are accepted by the report's parameter parser
    for path in WORKFLOWS:
        for pair in re.findall(r"-p (\S+=\S+)", path.read_text()):
            pair = pair.rstrip('"')
            nb, rest = pair.split(".", 1)
            assert cli._params([pair])[nb]


ACTION = paths.ROOT / "action.yml"
SHELL_SCRIPTS = [paths.ROOT / ".ci" / "container-setup", paths.ROOT / ".ci" / "run"]


def _tool(name: str) -> str:
    """A linter the tests need: on PATH (make setup-test puts actionlint in ~/go/bin, shellcheck in .venv/bin)."""
    import os
    import shutil
    import sys
    extra = [str(Path(sys.executable).parent), str(Path.home() / "go" / "bin")]
    found = shutil.which(name, path=os.pathsep.join([*extra, os.environ.get("PATH", "")]))
    assert found, f"{name} not found: run `make setup-test` (actionlint needs Go; shellcheck comes from requirements.lock)"
    return found


def test_workflows_are_clean_under_actionlint_with_shellcheck():
    import subprocess
    r = subprocess.run([_tool("actionlint"), "-shellcheck", _tool("shellcheck"), *map(str, WORKFLOWS)],
                       capture_output=True, text=True, cwd=paths.ROOT)
    assert r.returncode == 0, r.stdout + r.stderr


def test_every_job_that_runs_make_runs_in_debian_12():
    # make setup installs Debian 12's package names; hosted runners are Ubuntu (whose chromium is a snap)
    for path in WORKFLOWS:
        for name, job in _load(path)["jobs"].items():
            if any(re.search(r"(^|\s)make\s", s.get("run", "")) for s in job.get("steps", [])):
                assert job.get("container") == "debian:12", f"{path.name}: job {name} runs make outside debian:12"
                assert any(".ci/container-setup" in s.get("run", "") for s in job["steps"]), f"{path.name}: {name}"


def test_make_report_needs_no_browser():
    apt = re.search(r"^APT_PACKAGES := (.*)$", MAKEFILE, re.M).group(1).split()
    test_apt = re.search(r"^TEST_APT_PACKAGES := (.*)$", MAKEFILE, re.M).group(1).split()
    assert "chromium" not in apt and "chromium" in test_apt
    assert re.search(r"^report: setup$", MAKEFILE, re.M) and re.search(r"^test: setup-test$", MAKEFILE, re.M)


def test_the_action_is_well_formed_and_runs_what_exists():
    import subprocess
    from allframe_quality.compare import pr_check
    doc = yaml.safe_load(ACTION.read_text())
    assert doc["name"] and doc["description"] and doc["runs"]["using"] == "composite"
    text = ACTION.read_text()
    assert pr_check.MARKER in text                           # the comment step finds pr-check's comment by it
    help_text = subprocess.run([sys_python(), "-m", "allframe_quality.commands.cli", "pr-check", "--help"], capture_output=True,
                               text=True, cwd=paths.ROOT).stdout
    for step in doc["runs"]["steps"]:
        assert ("run" in step) != ("uses" in step), step
        if "run" in step:
            assert step.get("shell") == "bash", step      # a composite run step must name its shell
            for line in step["run"].splitlines():
                m = re.search(r"\bmake ([\w-]+)", line)
                if m:
                    assert m.group(1) in TARGETS, line
                    for opt in re.findall(r"(--[a-z-]+)", line):
                        assert opt in help_text, f"action.yml passes {opt}, which pr-check does not take"
            for ref in re.findall(r"\$\{\{\s*inputs\.([\w-]+)", step["run"]):
                assert ref in doc["inputs"], ref
    # the run steps (expressions replaced by a word) and the CI scripts pass shellcheck
    tmp = []
    for i, step in enumerate(s for s in doc["runs"]["steps"] if "run" in s):
        body = re.sub(r"\$\{\{[^}]*\}\}", "X", step["run"])
        tmp.append(("#!/usr/bin/env bash\n" + body, f"action step {i}"))
    for script, what in tmp:
        r = subprocess.run([_tool("shellcheck"), "-s", "bash", "-"], input=script, capture_output=True, text=True)
        assert r.returncode == 0, f"{what}:\n{r.stdout}"
    r = subprocess.run([_tool("shellcheck"), *map(str, SHELL_SCRIPTS)], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout


def sys_python() -> str:
    import sys
    return sys.executable


def test_the_readme_calling_example_is_clean_and_uses_the_actions_inputs(tmp_path):
    """The YAML AllFrame's repository is told to add: actionlint-clean, and every input it passes is one of
    action.yml's."""
    import subprocess
    readme = (paths.ROOT / "README.md").read_text()
    block = re.search(r"```yaml\n(# \.github/workflows/quality\.yml in AllFrame's repository\n.*?)```", readme, re.S)
    assert block, "README: the calling example (```yaml # .github/workflows/quality.yml ...) is missing"
    wf = tmp_path / ".github" / "workflows" / "quality.yml"
    wf.parent.mkdir(parents=True)
    wf.write_text(block.group(1))
    r = subprocess.run([_tool("actionlint"), "-shellcheck", _tool("shellcheck"), str(wf)], capture_output=True,
                       text=True, cwd=tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    doc = _load(wf)
    inputs = yaml.safe_load(ACTION.read_text())["inputs"]
    steps = [s for _, s in _steps(doc) if s.get("uses", "").split("@")[0].endswith("/allframe-quality")]
    assert steps and all(set(s.get("with", {})) <= set(inputs) for s in steps)
    assert doc["jobs"]["quality"]["container"] == "debian:12"
    for pair in re.findall(r"-p (\S+=\S+)", steps[0]["with"]["params"]):
        suite_name = pair.split(".", 1)[0]
        assert cli._params([pair], ab.SUITES, "suite")[suite_name]
