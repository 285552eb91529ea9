import re
import tomllib

import pytest

from allframe_quality.config import budgets
from allframe_quality.core import paths
from allframe_quality.core.errors import ParameterError

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
    with pytest.raises(budgets.BudgetError, match=r"\[size.configurations.cqrs\].features\[2\]: 'cqrz' is not a valid choice; valid: .*'cqrs'"):
        budgets.load(p)


def test_unknown_key_and_bad_numbers(tmp_path):
    with pytest.raises(budgets.BudgetError, match=r"\[size.configurations.minimal\]: unknown key\(s\) \['limit_mb'\]; valid: \[.*'limit_mib'"):
        budgets.load(_write(tmp_path, _with("limit_mib = 3", "limit_mb = 3")))
    with pytest.raises(budgets.BudgetError, match="target_mib 2.0 is above limit_mib 1.0"):
        budgets.load(_write(tmp_path, _with("limit_mib = 3", "limit_mib = 1")))
    with pytest.raises(budgets.BudgetError, match="must be a positive number"):
        budgets.load(_write(tmp_path, _with("limit_mib = 3", 'limit_mib = "3"')))
    with pytest.raises(budgets.BudgetError, match="not valid TOML"):
        budgets.load(_write(tmp_path, "schema = "))


def test_pick_lists_valid_names():
    b = budgets.load()
    with pytest.raises(ParameterError, match=r"unknown size configuration\(s\) \['tiny'\]; valid: \[.*'minimal'"):
        b.size.config("tiny")


def test_schema_is_a_valid_json_schema_with_its_enums_from_the_registry():
    import jsonschema
    from allframe_quality.config import schema
    from allframe_quality.core import registry
    jsonschema.Draft202012Validator.check_schema(schema.schema())
    props = schema.schema()["properties"]
    assert props["throughput"]["properties"]["min_share_pct"]["propertyNames"]["enum"] == list(registry.THROUGHPUT_PEERS)
    assert props["memory"]["properties"]["backend"]["enum"] == list(registry.MEMORY_BACKENDS)
    assert "cqrs" in schema.schema()["$defs"]["profile"]["enum"] or "size-opt" in schema.schema()["$defs"]["profile"]["enum"]


def test_gate_required_takes_every_measuring_suite_and_refuses_others(tmp_path):
    old = 'required = ["size.minimal",'
    ok = budgets.load(_write(tmp_path, _with(old, 'required = ["micro.decide", "coverage.total", "releases.*", "size.minimal",')))
    assert ok.gate.required[:3] == ("micro.decide", "coverage.total", "releases.*")
    with pytest.raises(budgets.BudgetError, match=r"\[gate\].required\[0\]: must be a check id starting with a suite's name"):
        budgets.load(_write(tmp_path, _with(old, 'required = ["sizes.minimal", "size.minimal",')))


def test_every_problem_is_listed_at_once_with_its_toml_path(tmp_path):
    text = _with('payload = "small"', 'payload = "huge"').replace("[throughput.min_share_pct]\n", "[throughput.min_share_pct]\nrocket = 50\n", 1)
    with pytest.raises(budgets.BudgetError) as e:
        budgets.load(_write(tmp_path, text))
    msg = str(e.value)
    assert "[memory].payload: 'huge' is not a valid choice; valid: ['small', 'order']" in msg
    assert "[throughput.min_share_pct]: 'rocket' is not a valid choice; valid: ['axum', 'actix', 'hyper']" in msg


def test_relations_the_schema_cannot_say_are_still_checked(tmp_path):
    with pytest.raises(budgets.BudgetError, match=r"callgrind_n must be two increasing positive integers, got \[2200, 200\]"):
        budgets.load(_write(tmp_path, _with("callgrind_n = [200, 2200]", "callgrind_n = [2200, 200]")))
    with pytest.raises(budgets.BudgetError, match=r"gated_profile 'size-opt' is not among profiles \['release'\]"):
        budgets.load(_write(tmp_path, _with('gated_profile = "release"', 'gated_profile = "size-opt"')
                            .replace('profiles = ["release", "size-opt"]', 'profiles = ["release"]')))
