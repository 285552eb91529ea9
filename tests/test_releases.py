"""The releases suite: the registry's list as cargo caches it (recorded), feature trimming, and real
measurements of old releases, each kind of "could not measure" kept apart; lab failures fail and are
never cached; the notebook end to end on two releases."""
import json
import os
import tomllib
from pathlib import Path

import pytest

from allframe_quality.config import budgets
from allframe_quality.core import paths, records
from allframe_quality.report import publish
from allframe_quality.suites import releases, releases_analysis as ra
from conftest import FIXTURES, fake_tool, patched_allframe


@pytest.fixture
def fresh_cache(tmp_path, monkeypatch) -> Path:
    """A private cache of measured parts, so a test measures for real instead of reading the machine's cache."""
    root = tmp_path / "releases-cache"
    monkeypatch.setattr(releases, "cache_root", lambda: root)
    return root


def _recorded() -> list[releases.Release]:
    return releases.parse_index_cache((FIXTURES / "allframe-core.index-cache").read_bytes())


def test_index_cache_gives_versions_features_and_yanked_flags():
    rs = _recorded()
    assert [r.version for r in rs] == ["0.1.0", "0.1.13", "0.1.28"]
    assert [r.yanked for r in rs] == [False, True, False]
    assert "cqrs" in rs[0].features and "auth" not in rs[0].features and "auth" in rs[2].features
    assert "allsource-core" in rs[0].features          # an optional dependency is an implicit feature


def test_the_registry_list_comes_through_cargo():
    rs = releases.list_releases()
    versions = [r.version for r in rs]
    assert budgets.load().allframe_version in versions and "0.1.0" in versions
    assert versions == sorted(versions, key=ra.semver)


def test_features_a_release_lacks_are_trimmed_with_what_depends_on_them():
    old = _recorded()[0]
    text, dropped = releases.trim_features((paths.BENCH / "size-probe" / "Cargo.toml").read_text(), old.features)
    feats = tomllib.loads(text)["features"]
    assert {"auth", "auth-jwt", "auth-tonic", "offline", "cqrs-sqlite"} <= dropped
    assert "cqrs" in feats and "router" in feats and "auth" not in feats
    for items in feats.values():   # nothing left forwards to a feature 0.1.0 does not have
        assert all(i.split("/", 1)[1] in old.features for i in items if i.startswith("allframe-core/"))
    assert "auth-jwt" in (paths.BENCH / "size-probe" / "Cargo.toml").read_text()   # the lab's own file untouched


def test_choice_of_releases_is_validated():
    rs = _recorded()
    assert [r.version for r in releases.choose(rs, "all", 2)] == ["0.1.0", "0.1.13", "0.1.28"]
    assert [r.version for r in releases.choose(rs, ["0.1.28", "0.1.0"], 2)] == ["0.1.0", "0.1.28"]
    with pytest.raises(budgets.BudgetError, match=r"no release 0\.1\.99.*valid: \['0\.1\.0'"):
        releases.choose(rs, ["0.1.99"], 2)


def test_nothing_to_measure_is_refused_before_any_build(fresh_cache, data_dir):
    with pytest.raises(budgets.BudgetError, match="no release to measure"):
        releases.measure(None, newest=0, printer=None)
    assert not data_dir.exists()


@pytest.mark.slow
def test_an_old_release_is_measured_where_it_can_be_and_says_why_not_elsewhere(fresh_cache):
    """allframe-core 0.1.0: Minimal builds; Full names the features it lacks; the sagas' and queries' API is
    not there yet (the compiler's words); the operations that exist are counted."""
    b = budgets.load()
    m = releases.Measurer(releases.of_release(_recorded()[0]), b, printer=None)
    size = {r["metric"]: r for r in m.part("size-minimal").rows}
    assert size["file_bytes"]["status"] == "ok" and size["file_bytes"]["value"] > 100_000
    assert size["dep_crates"]["value"] > 5
    full = m.part("size-full").rows[0]
    assert full["status"] == "not_measured" and full["detail"].startswith(ra.NOT_IN) and "auth" in full["detail"]
    cq = {r["config"]: r for r in m.part("cqrs").rows}
    assert cq["saga_2step"]["status"] == "not_measured" and cq["saga_2step"]["detail"].startswith(ra.NOT_IN)
    assert "OrchestratorSagaStep" in cq["saga_2step"]["detail"]
    assert cq["command_dispatch"]["status"] == "ok" and 100 < cq["command_dispatch"]["value"] < 100_000
    assert (fresh_cache / "0.1.0" / "cqrs.json").is_file()
    assert m.part("cqrs").cached                                               # a second ask costs nothing


@pytest.mark.slow
def test_allframe_failing_to_build_is_a_finding_and_a_lab_failure_fails(tmp_path, registry_allframe, monkeypatch,
                                                                       fresh_cache):
    broken = patched_allframe(registry_allframe, tmp_path / "allframe-core-broken", "src/lib.rs",
                              lambda t: t + '\ncompile_error!("injected by the allframe-quality test suite");\n')
    b = budgets.load()
    m = releases.Measurer(releases.of_checkout(broken), b, printer=None)
    row = m.part("size-minimal").rows[0]
    assert row["status"] == "not_measured" and row["detail"].startswith(ra.ALLFRAME_FAILS)
    assert "injected by the allframe-quality test suite" in row["detail"]
    df = records.frame(m.part("size-minimal").rows, "t")
    assert [f.verdict.level for f in ra.evaluate(df, b)] == ["info"]          # a finding, not a failure

    fine = patched_allframe(registry_allframe, tmp_path / "allframe-core-fine", "README.md", lambda t: t + "\n")
    monkeypatch.setenv("PATH", f"{fake_tool(tmp_path / 'bin', 'strip', 'echo injected strip failure >&2; exit 3').parent}"
                               f"{os.pathsep}{os.environ['PATH']}")
    m = releases.Measurer(releases.of_checkout(fine), b, printer=None)
    p = m.part("size-minimal")
    bad = [r for r in p.rows if r["status"] == "failed"]
    assert bad and "injected strip failure" in bad[0]["detail"]
    assert not (fresh_cache / m.s.key / "size-minimal.json").exists()   # never cached
    fs = ra.evaluate(records.frame(p.rows, "t"), b)
    assert any(f.verdict.fails and "injected strip failure" in f.note for f in fs)


@pytest.mark.slow
def test_notebook_runs_two_releases_and_explains_the_step(data_dir, tmp_path):
    # the notebook runs in its own kernel: it uses the machine's cache of parts (a cold machine measures them)
    """The page end to end through papermill: two releases, Minimal, the step between them explained."""
    out = publish.execute("releases", {"releases": ["0.1.27", "0.1.28"], "configurations": ["minimal"], "cqrs": False,
                                       "memory_events": 100_000, "explain_steps": 1}, stream=False)
    assert out.exists()
    run_id = records.latest_run_id("releases")
    df = records.load_records(run_id, "releases")
    sizes = df[(df["metric"] == "file_bytes") & (df["status"] == "ok")]
    assert set(sizes["variant"]) == {"0.1.27", "0.1.28"}
    steps = ra.largest_steps(df, 1)
    if steps:   # the two releases differ in size: the step is explained by cargo-bloat's crates, and per symbol
        assert not ra.crate_diff(df, "minimal", steps[0]["before"], steps[0]["after"]).empty
        assert not ra.symbol_diff(df, "minimal", steps[0]["before"], steps[0]["after"]).empty
    meta = records.load_meta(run_id)["suites"]["releases"]
    assert meta["releases"] == ["0.1.27", "0.1.28"] and meta["parameters"]["configurations"] == ["minimal"]
    html = publish.render(out, tmp_path / "releases.html").read_text()
    assert "Size across releases" in html and "0.1.27" in html and "Traceback" not in html


@pytest.mark.slow
def test_the_step_0_1_24_to_0_1_25_is_explained_per_symbol():
    """Minimal, 0.1.24 -> 0.1.25, every symbol of both executables (a cached part once measured): the
    release added Router's argument transformation, and with it serde_json's Value parsing."""
    import pandas as pd
    b = budgets.load()
    by_version = {r.version: r for r in releases.list_releases()}
    rows = []
    for v in ("0.1.24", "0.1.25"):
        part = releases.Measurer(releases.of_release(by_version[v]), b, None).symbols_part("minimal")
        assert all(r["status"] == "ok" for r in part.rows), part.rows[:1]
        rows += part.rows
    df = records.frame(rows, "test")
    d = ra.symbol_diff(df, "minimal", "0.1.24", "0.1.25")
    print(d.head(12).to_string())
    added = d[(d["before"] == 0) & (d["after"] > 0)]
    assert {"allframe_core::router::camel_to_snake", "allframe_core::router::Router::maybe_transform_args"} <= set(added["name"])
    assert d.groupby("crate")["delta"].sum()["serde_json"] > 9_000
    steps = ra.step_explanations(pd.concat([df, records.frame([records.record(
        suite="releases", subject="allframe", config="minimal", variant=v, metric="file_bytes", unit="bytes", value=n)
        for v, n in (("0.1.24", 1_101_304), ("0.1.25", 1_175_696))], "test")]), 1)
    assert steps and steps[0][0]["after"] == "0.1.25" and steps[0][1].equals(d)
