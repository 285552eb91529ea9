"""Shared fixtures. Generated data goes to a temporary tree; Rust builds reuse the shared cache."""
from __future__ import annotations

from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture
def data_dir(tmp_path, monkeypatch) -> Path:
    """A private data/ (runs) so tests never touch the developer's own runs."""
    d = tmp_path / "data"
    monkeypatch.setenv("AFQ_DATA_DIR", str(d))
    return d


@pytest.fixture
def fixture_text():
    return lambda name: (FIXTURES / name).read_text()


@pytest.fixture(scope="session")
def registry_allframe() -> Path:
    """The pinned allframe-core's source as cargo unpacked it: a real crate directory to use as a checkout."""
    import os
    from allframe_quality import budgets
    version = budgets.load().allframe_version
    home = Path(os.environ.get("CARGO_HOME", Path.home() / ".cargo"))
    found = sorted(home.glob(f"registry/src/*/allframe-core-{version}"))
    if not found:
        pytest.fail(f"allframe-core {version} source not unpacked under {home}: run `make setup` (cargo fetch)")
    return found[0]
