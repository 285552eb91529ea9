"""Micro suite: the libraries really do the same thing (the fairness scenario), and a short real run side by side."""
import pytest

from allframe_quality.config import budgets
from allframe_quality.tools import cargo
from allframe_quality.suites import gate, micro, micro_analysis
from allframe_quality.core import paths
from allframe_quality.core.errors import ParameterError

WS = paths.BENCH / micro.WORKSPACE


def _ops_bin(lib: str):
    spec = micro.LIBRARIES[lib]
    built = cargo.build(WS, spec.package, bin=spec.ops_bin, no_default_features=False, extra_args=["--locked"],
                        target_dir=paths.cache_dir() / "target-micro")
    assert built.ok, built.failure_text()
    return built.executable


def test_unknown_operation_or_library_lists_the_valid_ones(data_dir):
    with pytest.raises(ParameterError, match=r"unknown micro operation\(s\) \['dispatch'\]; valid: .*'decide'"):
        micro.measure(["dispatch"], printer=None)
    with pytest.raises(ParameterError, match=r"unknown library\(s\) \['eventually'\]"):
        micro.measure(libraries=["allframe", "eventually"], printer=None)
    with pytest.raises(ParameterError, match="must include allframe"):
        micro.measure(libraries=["cqrs-es"], printer=None)
    assert not data_dir.exists()


@pytest.mark.slow
def test_each_crate_offers_exactly_the_operations_the_catalogue_gives_it():
    import json
    from allframe_quality.core.procs import run
    for lib in micro.LIBRARIES:
        listed = json.loads(run([str(_ops_bin(lib)), "list"]).stdout.strip().splitlines()[-1])
        assert sorted(listed) == sorted(o for o, op in micro.OPERATIONS.items() if lib in op.libraries), lib


@pytest.mark.slow
def test_every_library_gives_allframes_events_rejections_and_read_model():
    outcomes = {lib: micro.scenario(_ops_bin(lib)) for lib, spec in micro.LIBRARIES.items()
                if spec.scenario and not spec.postgres}      # esrs: test_esrs_on_postgres_side_by_side
    assert len(outcomes) >= 2
    mine = outcomes["allframe"]
    # the scenario itself: o1 placed then cancelled, o2 placed, a second place and a cancel of o3 rejected, o3 placed
    assert mine["rejected"] == 2
    assert mine["read_model"] == {"placed": 3, "cancelled": 1, "open_value": 25}
    assert [list(e)[0] for e in mine["events"]["o1"]] == ["Placed", "Cancelled"]
    for lib, outcome in outcomes.items():
        assert outcome == mine, lib


@pytest.mark.slow
def test_a_library_without_the_scenario_is_a_failed_fairness_row_with_its_own_words():
    from allframe_quality.suites import contract
    ctx = contract.Context("micro", "r", budgets.load(), None, WS, [], None)
    built = {lib: cargo.build(WS, micro.LIBRARIES[lib].package, bin=micro.LIBRARIES[lib].ops_bin, no_default_features=False,
                              extra_args=["--locked"], target_dir=paths.cache_dir() / "target-micro")
             for lib in ("allframe", "handwritten")}
    micro._fairness_rows(ctx, built)
    rows = {r["subject"]: r for r in ctx.rows}
    assert rows["allframe"]["status"] == "ok" and rows["allframe"]["value"] == 1.0
    assert rows["handwritten"]["status"] == "failed" and "usage: handwritten-ops" in rows["handwritten"]["detail"]


@pytest.mark.slow
def test_short_run_side_by_side(data_dir):
    run_id, df = micro.measure(["decide", "saga_2step"], warm_up_s=0.1, measurement_s=0.2, processes=2,
                               memory_events=[200_000], printer=None)
    ok = df[df["status"] == "ok"]
    ns = ok[ok["metric"] == "ns_per_op"]
    assert set(zip(ns["subject"], ns["config"])) == {("allframe", "decide"), ("cqrs-es", "decide"),
                                                     ("allframe", "saga"), ("handwritten", "saga")}
    assert (ns["value"] > 0).all() and (ns["lo"] <= ns["value"]).all() and (ns["value"] <= ns["hi"]).all()
    ins = ok[ok["metric"] == "instructions_per_op"]
    assert len(ins) == 4 and (ins["value"] > 50).all()
    ratio = ok[ok["metric"] == "ratio_to_best"].set_index("config")
    assert set(ratio.index) == {"decide", "saga"} and (ratio["lo"] <= ratio["value"]).all() and (ratio["value"] <= ratio["hi"]).all()
    assert "handwritten" in ratio.loc["saga", "detail"]
    # the ratio is what the records say: AllFrame's ops/s over the peer's
    ops = ok[(ok["metric"] == "ops_per_s") & (ok["config"] == "decide")].set_index("subject")["value"]
    assert ratio.loc["decide", "value"] == pytest.approx(ops["allframe"] / ops["cqrs-es"], rel=1e-6)
    mem = ok[ok["metric"] == "bytes_per_event"].set_index("subject")["value"]
    assert set(mem.index) == {"allframe", "cqrs-es"} and (mem > 0).all()
    assert set(df[df["metric"] == "same_outcome"]["status"]) == {"ok"}
    findings = gate.EVALUATORS["micro"](df, budgets.load())
    assert {f.check for f in findings} == {"micro.decide.pure_decision", "micro.saga.2_steps"}
    t = micro_analysis.table(df, budgets.load())
    assert t.loc[(t["operation"] == "decide") & (t["library"] == "allframe"), "PRD target ops/s"].iloc[0] == 1_000_000


@pytest.mark.slow
def test_durable_append_and_projection_memory_side_by_side(data_dir):
    assert micro_analysis.latest() is None                   # no micro run yet: the other pages say so
    run_id, df = micro.measure(["append_sqlite"], warm_up_s=0.1, measurement_s=0.2, processes=2, memory_events=[],
                               projection_events=[10_000, 40_000], printer=None)
    ok = df[df["status"] == "ok"]
    ins = ok[(ok["metric"] == "instructions_per_op") & (ok["config"] == "append")].set_index("subject")["value"]
    assert set(ins.index) == {"allframe", "sqlite-es"} and (ins > 1000).all()      # a SQLite insert, not a no-op
    ratio = ok[(ok["metric"] == "ratio_to_best") & (ok["config"] == "append")]
    assert len(ratio) == 1 and "sqlite-es" in ratio["detail"].iloc[0]
    assert set(df[df["metric"] == "same_outcome"]["subject"]) == {"allframe", "sqlite-es"}
    assert set(df[df["metric"] == "same_outcome"]["status"]) == {"ok"}
    sweep = micro_analysis.projection_sweep(df)
    assert set(sweep["events"]) == {10_000, 40_000}
    assert set(sweep["part"]) == {"event store", "projection (retained)", "projection (peak)"}
    store = sweep[sweep["part"] == "event store"]["bytes/event"]
    assert (store > 10).all()           # an event is a String id and a value: tens of bytes at least, never zero
    # the CQRS and memory pages read this run
    latest_id, latest_df = micro_analysis.latest()
    assert latest_id == run_id
    r, t = micro_analysis.beside(latest_df, micro_analysis.CQRS_CONFIGS, budgets.load())
    assert list(r["operation"]) == ["append"] and set(t["library"]) == {"allframe", "sqlite-es"}
    assert t["PRD target ops/s"].notna().all()
    _, m = micro_analysis.beside(latest_df, micro_analysis.MEMORY_CONFIGS)
    assert set(m["variant"]) == {"event store", "projection (retained)", "projection (peak)"}


def test_a_page_beside_a_micro_run_without_its_operations_gets_empty_tables_with_columns():
    import pandas as pd
    r, t = micro_analysis.beside(pd.DataFrame(columns=["suite", "subject", "config", "variant", "item", "metric", "value",
                                                       "lo", "hi", "unit", "status", "detail", "sample"]),
                                 micro_analysis.CQRS_CONFIGS)
    assert r.empty and t.empty and {"speed ×", "operation"} <= set(r.columns) and "ops/s" in t.columns


def test_without_postgres_esrs_and_allframe_on_postgres_are_not_measured_with_the_reason(data_dir):
    _, df = micro.measure(["append_postgres"], instructions=False, memory_events=[], projection_events=[], printer=None)
    rows = df.set_index("subject")
    assert set(df["status"]) == {"not_measured"} and set(rows.index) == {"allframe", "esrs"}
    assert "postgres=False" in rows.loc["esrs", "detail"]
    assert "no PostgreSQL event store" in rows.loc["allframe", "detail"]


@pytest.mark.slow
def test_esrs_on_postgres_side_by_side(data_dir):
    _, df = micro.measure(["append_postgres", "end_to_end_postgres"], postgres=True, warm_up_s=0.1, measurement_s=0.3,
                          processes=1, memory_events=[], projection_events=[], printer=None)
    esrs = df[(df["subject"] == "esrs")]
    assert set(esrs[esrs["config"] == "scenario"]["status"]) == {"ok"}     # esrs gave AllFrame's outcome
    ok = esrs[esrs["status"] == "ok"]
    ns = ok[ok["metric"] == "ns_per_op"].set_index("config")["value"]
    assert set(ns.index) == {"append", "end_to_end"} and (ns > 0).all()
    ins = ok[ok["metric"] == "instructions_per_op"]["value"]
    assert len(ins) == 2 and (ins > 1000).all()       # a round trip to the server, not a no-op
    mine = df[(df["subject"] == "allframe") & (df["config"] != "scenario")]
    assert set(mine["status"]) == {"not_measured"} and set(mine["variant"]) == {"postgres"}


@pytest.mark.heavy
def test_allsource_backend_short_run():
    """The cqrs-allsource probe built in its own workspace (a long cold build the first time), then measured."""
    from allframe_quality.suites import micro_backends, contract
    ctx = contract.Context("micro", "r", budgets.load(), None, paths.BENCH, ["--locked"], None)
    micro_backends.collect(ctx, 1, True, 20_000, names=["allsource"])
    rows = {(r["item"], r["metric"]): r for r in ctx.rows}
    assert all(r["status"] == "ok" for r in ctx.rows), [r["detail"] for r in ctx.rows if r["status"] != "ok"]
    assert rows[("binary", "file_bytes")]["value"] > 1e6
    for op in micro_backends.OPS:
        assert rows[(op, "ns_per_op")]["value"] > 0 and rows[(op, "instructions_per_op")]["value"] > 1000
    named = rows[("default event type name", "accepted")]
    assert named["value"] == 1 or "lowercase" in named["detail"]      # allsource-core's own words when it refuses
    assert rows[("20000", "bytes_per_event")]["value"] > 10
