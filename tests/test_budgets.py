import re
import tomllib

import pytest

from allframe_quality.config import budgets
from allframe_quality.core import paths

PRD_SIZE_TABLE = {  # PRD 1.1: configuration -> (target MB, hard limit MB)
    "minimal": (2, 3), "default": (4, 5), "cqrs": (5, 6), "full": (8, 10),
    "router-graphql": (6, 7), "router-grpc": (7, 8), "router-full": (8, 10),
}


def test_quality_toml_holds_the_prd_table():
    b = budgets.load()
    for name, (target, limit) in PRD_SIZE_TABLE.items():
        c = b.size.configurations[name]
        assert (c.target_mib, c.limit_mib) == (target, limit), name
    assert b.size.configurations["default"].features == ("di", "openapi", "router")
    assert b.size.configurations["cqrs"].features == ("di", "openapi", "cqrs")
    default = set(b.size.configurations["default"].features)
    for router in ("router-graphql", "router-grpc", "router-full"):
        assert set(b.size.configurations[router].features) == default | {router}
    assert b.regression_threshold_pct == 10


def test_pinned_version_matches_cargo_lock():
    b = budgets.load()
    lock = tomllib.loads((paths.BENCH / "Cargo.lock").read_text())
    locked = {p["name"]: p["version"] for p in lock["package"]}
    assert locked["allframe-core"] == b.allframe_version
    manifest = (paths.BENCH / "size-probe" / "Cargo.toml").read_text()
    assert re.search(rf'allframe-core = {{ version = "={re.escape(b.allframe_version)}"', manifest)


def _write(tmp_path, text):
    p = tmp_path / "q.toml"
    p.write_text(text)
    return p


def _with(old, new):
    return paths.BUDGETS_FILE.read_text().replace(old, new, 1)


def test_unknown_feature_names_the_valid_ones(tmp_path):
    p = _write(tmp_path, _with('features = ["di", "openapi", "cqrs"]', 'features = ["di", "openapi", "cqrz"]'))
    with pytest.raises(budgets.BudgetError, match=r"\[size.configurations.cqrs\] has unknown feature\(s\) \['cqrz'\]; valid: .*'cqrs'"):
        budgets.load(p)


def test_unknown_key_and_bad_numbers(tmp_path):
    with pytest.raises(budgets.BudgetError, match=r"unknown key\(s\) \['limit_mb'\]"):
        budgets.load(_write(tmp_path, _with("limit_mib = 3", "limit_mb = 3")))
    with pytest.raises(budgets.BudgetError, match="target_mib 2.0 is above limit_mib 1.0"):
        budgets.load(_write(tmp_path, _with("limit_mib = 3", "limit_mib = 1")))
    with pytest.raises(budgets.BudgetError, match="must be a positive number"):
        budgets.load(_write(tmp_path, _with("limit_mib = 3", 'limit_mib = "3"')))
    with pytest.raises(budgets.BudgetError, match="not valid TOML"):
        budgets.load(_write(tmp_path, "schema = "))


def test_pick_lists_valid_names():
    b = budgets.load()
    with pytest.raises(budgets.BudgetError, match=r"unknown size configuration\(s\) \['tiny'\]; valid: \[.*'minimal'"):
        b.size.config("tiny")
