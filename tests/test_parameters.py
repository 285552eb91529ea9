"""Every parameter each notebook declares, run through papermill with a value other than its default (a scalar
where a list is expected among them), on small real runs. The documented `size.with_bloat=false` included."""
import json

import nbformat
import pytest

from allframe_quality.verdict import history
from allframe_quality.core import params, records
from allframe_quality.report import publish
from conftest import budgets_copy

pytestmark = pytest.mark.slow
OTHER_RELEASE = "0.1.27"


@pytest.fixture(scope="module")
def lab(tmp_path_factory, registry_allframe):
    root = tmp_path_factory.mktemp("params")
    budgets = budgets_copy(root, [])
    with pytest.MonkeyPatch.context() as mp:
        for var, sub in (("AFQ_DATA_DIR", "data"), ("AFQ_SITE_DIR", "site"), ("AFQ_BUILD_DIR", "build")):
            mp.setenv(var, str(root / sub))
        yield root, str(budgets), str(registry_allframe)


def _run(root, name, values, tag):
    out = publish.execute(name, values, out_dir=root / "build" / tag, stream=False)
    nb = nbformat.read(out, as_version=4)
    errors = [o for c in nb.cells for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors, errors
    return nb


def _exercised(name, runs):
    """Each declared parameter got a value other than its default in at least one run."""
    declared = params.declared(name)
    missing = [k for k in declared if not any(k in r and repr(r[k]) != declared[k]["default"] for r in runs)]
    assert missing == [], f"{name}: parameters never given a non-default value: {missing}"


def test_size_every_parameter(lab):
    root, budgets, checkout = lab
    runs = [dict(run_id="20260101T000001Z-size1", configurations=["minimal"], profiles=["size-opt"], peers=["axum"],
                 allframe_checkout=checkout, with_bloat=False, top_crates=5, budgets_file=budgets),
            # a scalar where a list is expected is a one-item list; another registry release
            dict(run_id="20260101T000002Z-size2", configurations="minimal", profiles="release", peers=False,
                 allframe_version=OTHER_RELEASE, with_bloat=False, budgets_file=budgets)]
    for i, r in enumerate(runs):
        _run(root, "size", r, f"size{i}")
    _exercised("size", runs)
    df = records.load_records("20260101T000002Z-size2", "size")
    assert set(df["config"]) == {"minimal"} and (df["status"] == "ok").all()
    meta = records.load_meta("20260101T000001Z-size1")["suites"]["size"]
    assert meta["allframe"]["kind"] == "checkout" and meta["parameters"]["with_bloat"] is False
    assert records.load_meta("20260101T000002Z-size2")["suites"]["size"]["allframe"]["version"] == OTHER_RELEASE


def test_cqrs_and_memory_every_parameter(lab):
    root, budgets, checkout = lab
    cq = [dict(run_id="20260101T000003Z-cqrs1", operations=["command_dispatch"], warm_up_s=0.1, measurement_s=0.2,
               sample_size=11, processes=2, instructions=False, compare_to="20260101T000001Z-size1",
               allframe_version=OTHER_RELEASE, budgets_file=budgets),
          dict(run_id="20260101T000004Z-cqrs2", operations="query_dispatch", warm_up_s=0.1, measurement_s=0.2,
               processes=1, instructions=False, allframe_checkout=checkout, budgets_file=budgets)]
    for i, r in enumerate(cq):
        _run(root, "cqrs", r, f"cqrs{i}")
    _exercised("cqrs", cq)
    mem = [dict(run_id="20260101T000005Z-mem1", events=[5000, 12000], payloads=["order"], backends=["sqlite"],
                heap_profile=True, heap_profile_max_events=5000, rate_hz=20.0, allframe_version=OTHER_RELEASE,
                budgets_file=budgets),
           dict(run_id="20260101T000006Z-mem2", events=5000, payloads="small", backends="memory", heap_profile=False,
                allframe_checkout=checkout, budgets_file=budgets)]
    for i, r in enumerate(mem):
        _run(root, "memory", r, f"mem{i}")
    _exercised("memory", mem)
    df = records.load_records("20260101T000005Z-mem1", "memory")
    assert set(df["config"]) == {"sqlite"} and set(df["variant"]) == {"order"}
    heap = df[df["metric"] == "heap_peak_bytes"]
    assert set(heap["item"]) == {"5000"}          # dhat only up to heap_profile_max_events


def test_throughput_and_trends_every_parameter(lab):
    root, budgets, _ = lab
    tp = [dict(run_id="20260101T000007Z-tp1", frameworks=["hyper"], tests=["plaintext", "queries"], duration_s=1,
               concurrency=[8, 16], repeats=1, warmup_s=0.5, pipeline=4, query_levels=True, server_cpu_quota=0.8,
               budgets_file=budgets)]
    _run(root, "throughput", tp[0], "tp")
    _exercised("throughput", tp)
    df = records.load_records("20260101T000007Z-tp1", "throughput")
    rps = df[(df["metric"] == "rps") & (df["status"] == "ok")]
    assert {"c8", "c16", "c8-q1", "c16-q20"} <= set(rps["variant"]) and (rps["value"] > 0).all()
    assert "capped at 0.8 core" in records.load_meta("20260101T000007Z-tp1")["suites"]["throughput"]["cpu_quota"]
    fp = history.load()["fingerprint"].iloc[0]
    tr = [dict(run_id="20260101T000006Z-mem2", baseline="20260101T000005Z-mem1", last_runs=3, machine=fp,
               budgets_file=budgets)]
    nb = _run(root, "trends", tr[0], "trends")
    _exercised("trends", tr)
    text = json.dumps(nb.cells)
    assert "20260101T000006Z-mem2" in text


def test_releases_every_parameter(lab):
    root, budgets, _ = lab
    runs = [dict(run_id="20260101T000008Z-rel1", releases=["0.1.28"], configurations="minimal", cqrs=False,
                 memory_events=0, explain_steps=0, budgets_file=budgets),
            dict(run_id="20260101T000009Z-rel2", newest=1, configurations=["minimal"], cqrs=False, memory_events=0,
                 explain_steps=1)]
    for k, r in enumerate(runs):
        _run(root, "releases", r, f"releases{k}")
    _exercised("releases", runs)
    one = records.load_records("20260101T000008Z-rel1", "releases")
    assert set(one["variant"]) == {"0.1.28"} and set(one[one["metric"] == "file_bytes"]["config"]) == {"minimal"}
    from allframe_quality.suites import releases
    chosen = records.load_meta("20260101T000009Z-rel2")["suites"]["releases"]["releases"]
    assert chosen[-1] == releases.list_releases()[-1].version      # the newest, plus whatever is cached here


def test_micro_every_parameter(lab):
    root, budgets, checkout = lab
    runs = [dict(run_id="20260101T000010Z-micro1", operations=["route_path_10"], libraries=["allframe", "matchit"],
                 warm_up_s=0.1, measurement_s=0.2, sample_size=11, processes=1, instructions=False, memory_events=[],
                 projection_events=[], allframe_version=OTHER_RELEASE, budgets_file=budgets),
            # scalars where lists are expected; a local checkout; callgrind and the memory probe on
            dict(run_id="20260101T000011Z-micro2", operations="decide", libraries="allframe", warm_up_s=0.1,
                 measurement_s=0.2, processes=1, memory_events=20000, projection_events=5000, allframe_checkout=checkout,
                 postgres=True, budgets_file=budgets)]
    for k, r in enumerate(runs):
        _run(root, "micro", r, f"micro{k}")
    _exercised("micro", runs + [dict(backends=True)])   # backends=True: test_micro_backends_parameter (heavy)
    one = records.load_records("20260101T000010Z-micro1", "micro")
    assert set(one["subject"]) == {"allframe", "matchit"} and set(one["config"]) == {"route", "scenario"}
    assert records.load_meta("20260101T000010Z-micro1")["suites"]["micro"]["allframe"]["version"] == OTHER_RELEASE
    two = records.load_records("20260101T000011Z-micro2", "micro")
    assert set(two["subject"]) == {"allframe"} and {"decide", "memory_store", "projection_memory"} <= set(two["config"])
    assert set(two[two["config"] == "projection_memory"]["item"]) == {"5000"}
    ins = two[two["metric"] == "instructions_per_op"]
    assert (ins["value"] > 0).all(), ins[["config", "variant", "status", "detail"]].to_dict("records")


def test_coverage_every_parameter(lab):
    root, budgets, checkout = lab
    runs = [dict(run_id="20260101T000012Z-cov1", features=["di"], test_timeout_s=300, ignored_timeout_s=0,
                 allframe_checkout=checkout, budgets_file=budgets),
            # a configuration of quality.toml by name (no features at all); another registry release
            dict(run_id="20260101T000013Z-cov2", features="minimal", test_timeout_s=300, ignored_timeout_s=5,
                 allframe_version=OTHER_RELEASE, budgets_file=budgets)]
    for k, r in enumerate(runs):
        _run(root, "coverage", r, f"coverage{k}")
    _exercised("coverage", runs)
    one = records.load_meta("20260101T000012Z-cov1")["suites"]["coverage"]
    assert one["allframe"]["kind"] == "checkout" and one["features"] == ["di"]
    two = records.load_meta("20260101T000013Z-cov2")["suites"]["coverage"]
    assert two["allframe"]["version"] == OTHER_RELEASE and two["features"] == [] and two["parameters"]["ignored_timeout_s"] == 5
    for run_id in ("20260101T000012Z-cov1", "20260101T000013Z-cov2"):
        df = records.load_records(run_id, "coverage")
        assert not (df["status"] == "failed").any(), df[df["status"] == "failed"]["detail"].tolist()
        total = df[(df["config"] == "total") & (df["metric"] == "line_pct")]["value"]
        assert len(total) == 1 and 0 < total.iloc[0] <= 100


@pytest.mark.heavy
def test_micro_backends_parameter(lab):
    """backends=True through papermill: AllFrame's heavy backends built (or failed in the compiler's words), never absent."""
    root, budgets, _ = lab
    _run(root, "micro", dict(run_id="20260101T000012Z-micro3", operations="decide", libraries="allframe", warm_up_s=0.1,
                             measurement_s=0.2, processes=1, memory_events=[], projection_events=[], backends=True,
                             budgets_file=budgets), "micro-backends")
    df = records.load_records("20260101T000012Z-micro3", "micro")
    back = df[df["config"] == "backend"]
    assert set(back["variant"]) == {"allsource", "postgres", "rocksdb"}
    assert back[back["status"] == "failed"]["detail"].str.contains("error").all()
