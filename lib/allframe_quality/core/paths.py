"""Where things live: the project tree, generated data, the site, and the Rust build cache."""
from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
BENCH = ROOT / "bench"
NOTEBOOKS = ROOT / "notebooks"
BUDGETS_FILE = ROOT / "quality.toml"


def data_dir() -> Path:
    """Generated data (runs, history). AFQ_DATA_DIR overrides, e.g. for tests."""
    return Path(os.environ.get("AFQ_DATA_DIR", ROOT / "data"))


def runs_dir() -> Path:
    return data_dir() / "runs"


def site_dir() -> Path:
    return Path(os.environ.get("AFQ_SITE_DIR", ROOT / "site"))


def build_dir() -> Path:
    """Executed notebooks and other intermediate outputs, kept out of git."""
    return Path(os.environ.get("AFQ_BUILD_DIR", ROOT / "build"))


def cache_dir() -> Path:
    return Path(os.environ.get("AFQ_CACHE_DIR", Path.home() / ".cache" / "allframe-quality"))


def cargo_target_dir() -> Path:
    """Rust builds are cached outside the clone, so a fresh clone reuses them."""
    return Path(os.environ.get("CARGO_TARGET_DIR", cache_dir() / "target"))
