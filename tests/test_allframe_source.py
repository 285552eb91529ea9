import tomllib
from pathlib import Path

import pytest

from allframe_quality.tools import allframe_source
from allframe_quality.config import budgets
from allframe_quality.suites import size
from allframe_quality.core.errors import ParameterError


def test_default_is_the_pinned_release_built_locked():
    src = allframe_source.resolve()
    assert src.kind == "registry" and src.pinned and src.version == budgets.load().allframe_version
    ws, args = allframe_source.workspace(src)
    assert args == ["--locked"] and (ws / "Cargo.lock").exists()


@pytest.mark.parametrize("kwargs, message", [
    (dict(version="latest"), "not an exact version"),
    (dict(version="0.1.28", checkout="/tmp"), "not both"),
    (dict(checkout="/definitely/not/here"), "does not exist"),
])
def test_bad_sources_are_refused(kwargs, message):
    with pytest.raises(allframe_source.SourceError, match=message):
        allframe_source.resolve(**kwargs)


def test_a_directory_that_is_not_allframe_is_refused_before_any_build(tmp_path, data_dir):
    (tmp_path / "Cargo.toml").write_text('[package]\nname = "axum"\nversion = "0.8.0"\n')
    with pytest.raises(allframe_source.SourceError, match="is not an AllFrame checkout"):
        size.measure(["minimal"], allframe_checkout=str(tmp_path), printer=None)
    assert not data_dir.exists()  # refused before a run was even started


def test_unknown_configuration_is_refused_before_any_build(data_dir):
    with pytest.raises(ParameterError, match=r"unknown size configuration\(s\) \['tiny'\]; valid: .*'cqrs'"):
        size.measure(["minimal", "tiny"], printer=None)
    with pytest.raises(ParameterError, match=r"unknown build profile\(s\) \['debugg'\]"):
        size.measure(["minimal"], profiles=["debugg"], printer=None)
    with pytest.raises(ParameterError, match=r"unknown peer\(s\) \['flask'\]; valid: \['actix', 'axum', 'rocket'\]"):
        size.measure(["minimal"], peers=["flask"], printer=None)
    assert not data_dir.exists()


def test_checkout_builds_in_a_scratch_copy_with_a_patch(registry_allframe: Path):
    src = allframe_source.resolve(checkout=registry_allframe)
    assert src.kind == "checkout" and src.version == budgets.load().allframe_version
    ws, args = allframe_source.workspace(src)
    assert ws != allframe_source.paths.BENCH and "--locked" not in args
    assert args == ["--config", f'patch.crates-io.allframe-core.path="{registry_allframe.resolve()}"']
    probe = tomllib.loads((ws / "size-probe" / "Cargo.toml").read_text())
    assert probe["dependencies"]["allframe-core"]["version"] == f"={src.version}"
