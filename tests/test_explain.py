"""Every change explained, on real builds: the pr-check test's local allframe-core history (a 2.4 MB table
kept by Router::new, a spin loop in CommandBus::dispatch) plus an empty commit, so one source exported at
two paths is an A/A whose -C metadata hashes differ. The size explanation's first row holds the table and
explains >= 90 % of the Δ; the instruction explanation's first row is dispatch's async body with >= 90 % of
the operation's Δ; the A/A pairs give no rows. The parsers and the demangler are tested on outputs recorded
from those real builds (tests/fixtures/explain/)."""
import os
import random
import shutil
from pathlib import Path

import pandas as pd
import pytest
from allframe_quality.compare import explain_builds, explain_size
from allframe_quality.config import budgets
from allframe_quality.core import paths
from allframe_quality.tools import allframe_source, symbols
from conftest import FIXTURES, allframe_git_history
from test_pr_check import TABLE_BYTES, _spin, _use_table

FIX = FIXTURES / "explain"
# the function the spin loop lands in: dispatch is an async fn, its body is the future's poll
DISPATCH_BODY = "allframe_core::cqrs::command_bus::CommandBus<E>::dispatch::{{closure}}"
EDITS = [
    ("a table for the router", "src/router/afq_table.bin", lambda _: random.Random(14).randbytes(TABLE_BYTES).hex()),
    ("Router::new keeps the table", "src/router/mod.rs", _use_table),
    ("nothing changed", None, None),
    ("dispatch spins", "src/cqrs/command_bus.rs", _spin),
    ("append reserves room", "src/cqrs/memory_backend.rs", lambda t: _reserve(t)),
]
APPEND_ANCHOR = "        stream.extend(events);\n"


def _reserve(text: str) -> str:
    """The in-memory backend's append keeps room for 16 more events in its stream after each append."""
    assert text.count(APPEND_ANCHOR) == 1, "memory_backend.rs: append changed; update APPEND_ANCHOR"
    return text.replace(APPEND_ANCHOR, APPEND_ANCHOR + "        stream.reserve(16);\n")


@pytest.fixture(scope="module")
def history(registry_allframe):
    """The history at a fixed path with fixed commit dates: the same shas and export paths every run, so a warm
    cache rebuilds nothing of allframe-core."""
    repo = paths.cache_dir() / "test-explain" / registry_allframe.name
    want = len(EDITS) + 1
    try:
        shas = allframe_source.git(repo, "rev-list", "--reverse", "HEAD").split()
    except allframe_source.SourceError:
        shas = []
    if len(shas) != want:
        shutil.rmtree(repo, ignore_errors=True)
        repo.parent.mkdir(parents=True, exist_ok=True)
        old = {k: os.environ.get(k) for k in ("GIT_AUTHOR_DATE", "GIT_COMMITTER_DATE")}
        os.environ.update(GIT_AUTHOR_DATE="2026-01-01T00:00:00Z", GIT_COMMITTER_DATE="2026-01-01T00:00:00Z")
        try:
            shas = allframe_git_history(registry_allframe, repo, EDITS)
        finally:
            for k, v in old.items():
                os.environ.pop(k) if v is None else os.environ.__setitem__(k, v)
    return repo, dict(zip(["base", "table", "router_new", "same", "spin", "reserve"], shas))


def _side(history, name):
    repo, shas = history
    return explain_builds.SideSource(checkout=str(allframe_source.at_revision(repo, shas[name])))


@pytest.fixture(scope="module")
def probes(history, tmp_path_factory):
    """size-probe, Minimal, at base, at the table commit and at the empty commit after it (another export path)."""
    d = tmp_path_factory.mktemp("probes")
    b = budgets.load()
    return {n: explain_builds.executable(_side(history, n), "size-probe", d / f"{n}-size-probe", b)[0]
            for n in ("base", "router_new", "same")}


@pytest.mark.slow
def test_the_table_is_the_first_row_and_explains_the_size_step(probes):
    e = explain_size.explain(probes["base"], probes["router_new"])
    print(e.header())
    print(e.rows.head(8).to_string())
    print(e.rest.to_string())
    first = e.rows.iloc[0]
    assert "Router::new" in first["name"] or "AFQ_TABLE" in first["name"], first
    assert first["crate"] == "allframe_core"
    assert first["delta"] >= 0.9 * e.file_delta, (first["delta"], e.file_delta)
    assert e.file_delta > 2 * TABLE_BYTES * 0.99
    # every byte of the file's Δ is placed: the rows plus the rest
    assert e.explained + int(e.rest["delta"].sum()) == e.file_delta
    from allframe_quality.report import explanations as render
    md = render.size_markdown(e, "size, Minimal", "python -m allframe_quality.compare.explain size --a A --b B")
    assert md.startswith("#### Where: size, Minimal\n") and e.header() in md
    table = [line for line in md.split("<details>")[0].splitlines() if line.startswith("| +")]
    assert len(table) == min(5, len(e.rows)) and "`allframe_core::router::Router::new [data]`" in table[0]
    assert md.count("<details>") == md.count("</details>") == 1 and "Reproduce: `python -m" in md
    # a crowded comment: the folds go first, then whole explanations, named where they are kept
    from allframe_quality.compare import explain
    ex = explain.Explained("size", "minimal", "file_bytes", md)
    assert explain.markdown([ex]).count("<details>") == 1
    many = explain.markdown([ex] * 30, room=5_000, kept="data/ab/X/explanations.json")
    assert len(many) <= 5_000 and "<details>" not in many and many.count("#### Where: size, Minimal") >= 3
    assert "more explanations did not fit this comment: they are in data/ab/X/explanations.json" in many


@pytest.mark.slow
def test_the_copy_is_the_builds_own_file(probes):
    """The executable an explanation reads is this build's file under deps/ (its -C metadata hash in the name),
    not the linked name a concurrent build may replace."""
    from allframe_quality.tools import cargo, executable_copy
    exe = cargo.build(paths.BENCH, "size-probe", extra_args=["--locked"]).executable
    own = executable_copy.own_file(exe)
    assert own.parent.name == "deps" and own.name.startswith("size_probe-") and own.read_bytes() == exe.read_bytes()
    sizes = {n: p.stat().st_size for n, p in probes.items()}
    assert sizes["router_new"] > sizes["base"] + 2_000_000      # each copy is its own source's build


@pytest.mark.slow
def test_one_source_at_two_export_paths_diffs_to_zero_rows(probes):
    a, b = symbols.read(probes["router_new"]), symbols.read(probes["same"])
    raw_a, raw_b = {s.raw for s in a.symbols}, {s.raw for s in b.symbols}
    assert raw_a != raw_b, "the two builds should differ in their -C metadata hashes (else this test proves nothing)"
    e = explain_size.explain(probes["router_new"], probes["same"])
    print(e.header(), f"file Δ {e.file_delta:+}", e.rest.to_string())
    assert e.rows.empty, e.rows.head(20).to_string()
    named = [{symbols.key(s.raw) for s in e.symbols if not s.anonymous} for e in (a, b)]
    assert named[0] == named[1] and len(named[0]) > 1000
    # What the export path costs: the lab's export paths (revisions/<10 hex>-<12 hex>) are of one length, so
    # the loaded bytes do not move at all (stripped sizes equal; --remap-path-prefix could not make the files
    # identical anyway: the -C metadata hashes are in type ids and symbol names). The unstripped files differ
    # only by the names' lengths (v0 crate disambiguators are base-62 numbers of varying length) in
    # .strtab/.symtab and the alignment after them.
    from allframe_quality.tools import binaries
    assert binaries.stripped_size(probes["router_new"]) == binaries.stripped_size(probes["same"])
    assert set(e.rest["part"]) <= {".strtab (not loaded)", ".symtab (not loaded)", "ELF headers and alignment between sections"}
    assert abs(e.file_delta) < 200, e.file_delta


# ---------------------------------------------------------------- parsers, on outputs recorded from real runs

def test_the_demangler_agrees_with_libiberty_on_real_names():
    """400 legacy and v0 names of a real size-probe: the same identifiers in the same order as binutils'
    demangler prints (less its hashes and crate disambiguators), and none of the build's hashes left."""
    import re
    raw = (FIX / "size-probe-symbols.txt").read_text().split()
    theirs = (FIX / "size-probe-symbols.c++filt.txt").read_text().splitlines()
    assert len(raw) == len(theirs) == 400 and sum(r.startswith("_R") for r in raw) > 100

    def words(t: str) -> list[str]:
        t = re.sub(r"::h[0-9a-f]{16}$", "", symbols.strip_suffixes(t))
        t = re.sub(r"\[[0-9a-f]+\]|for<[^>]*> |'[a-z_]+|: [a-z0-9]+size\b", "", t)
        return re.findall(r"[A-Za-z_][A-Za-z0-9_]*|\d+", t)
    mismatched = [(r, symbols.demangle(r), t) for r, t in zip(raw, theirs) if words(symbols.demangle(r)) != words(t)]
    assert not mismatched, mismatched[:3]
    for r in raw:
        n = symbols.demangle(r)
        assert not re.search(r"::h[0-9a-f]{16}\b|\.llvm\.|Cs[0-9A-Za-z]{6,}_", n), (r, n)


def test_suffixes_and_crates():
    assert symbols.strip_suffixes("foo.llvm.2330742643920070129") == "foo"
    assert symbols.strip_suffixes("bar.cold.1") == symbols.strip_suffixes("bar.constprop.0.isra.0") == "bar"
    assert symbols.key("_ZN63_$LT$serde_json..value..Value$u20$as$u20$core..fmt..Display$GT$3fmt17h82cd75b6dae0459fE") \
        == symbols.Key("serde_json", "<serde_json::value::Value as core::fmt::Display>::fmt")
    assert symbols.key("_ZN42_$LT$$RF$T$u20$as$u20$core..fmt..Debug$GT$3fmt17hc48ba1ebd8ddad88E").crate == "core"
    # two builds' hashes of one function: one key
    assert symbols.key("_ZN5tokio7runtime4park16CachedParkThread8block_on17h8422ce4ff9c594b3E.llvm.1") \
        == symbols.key("_ZN5tokio7runtime4park16CachedParkThread8block_on17h0000000000000000E")
    assert symbols.demangle("_RNvNtNtCsjrHSEGnQ3l9_3std6thread9functions21available_parallelism") \
        == symbols.demangle("_RNvNtNtCs1234567890A_3std6thread9functions21available_parallelism") \
        == "std::thread::functions::available_parallelism"


def test_sections_from_readelf():
    secs = symbols.parse_sections((FIX / "size-probe.readelf-S.txt").read_text())
    names = [s.name for s in secs]
    assert names[:2] == [".interp", ".note.ABI-tag"] and ".rodata" in names and ".symtab" in names
    text = next(s for s in secs if s.name == ".text")
    assert text.size == 0x84328 and text.alloc and "X" in text.flags
    assert not next(s for s in secs if s.name == ".bss").in_file
    with pytest.raises(symbols.SymbolsError, match="no section headers"):
        symbols.parse_sections("readelf: Error: Not an ELF file")


def test_callgrind_profile_parsed_from_a_real_run():
    from allframe_quality.tools import callgrind
    text = (FIX / "cqrs-ops-command_dispatch-200.callgrind.out").read_text()
    p = callgrind.parse_profile(text)
    assert p.total == callgrind.parse_total(text) == 727_851
    assert sum(p.exclusive.values()) == p.total              # every instruction is some function's own
    incl = p.inclusive()
    main = next(k for k in p.exclusive if k == "main")
    assert 0.5 * p.total < incl[main] <= p.total
    calls = p.calls()
    assert max(calls.values()) > 200                         # the 200 operations' calls
    with pytest.raises(callgrind.CallgrindError, match="no fn= lines"):
        callgrind.parse_profile("events: Ir\nsummary: 5\n")


# ---------------------------------------------------------------- instructions, on real builds

# the function the spin loop lands in: CommandBus::dispatch is inlined into the bench's timed async block
SPIN_LANDS_IN = "cqrs_bench::timed::{{closure}}"


@pytest.fixture(scope="module")
def cqrs_ops(history, tmp_path_factory):
    d = tmp_path_factory.mktemp("cqrs-ops")
    b = budgets.load()
    return {n: explain_builds.executable(_side(history, n), "cqrs-bench", d / f"{n}-cqrs-ops", b, bin="cqrs-ops",
                                         no_default_features=False)[0] for n in ("router_new", "same", "spin")}


@pytest.mark.slow
def test_the_spin_is_the_first_row_of_the_instruction_explanation(cqrs_ops, tmp_path):
    from allframe_quality.compare import explain_instructions as xi
    from allframe_quality.tools import inferno
    n1, n2 = budgets.load().cqrs.operations["command_dispatch"].callgrind_n
    a = xi.measure(cqrs_ops["same"], ["command_dispatch"], n1, n2)
    b = xi.measure(cqrs_ops["spin"], ["command_dispatch"], n1, n2)
    e = xi.explain("command_dispatch", a, b)
    print(f"{e.total_a:.1f} -> {e.total_b:.1f}\n" + e.rows.head(5).to_string())
    assert e.delta > 600                                      # 300 spins of a few instructions each
    first = e.rows.iloc[0]
    assert first["name"] == SPIN_LANDS_IN and first["share"] >= 0.9
    assert first["costlier_calls"] == pytest.approx(first["delta"])   # called as often, each call costs more
    svg = inferno.diff_svg(xi.folded_per_op(a), xi.folded_per_op(b), tmp_path / "diff.svg", "command_dispatch")
    assert "<svg" in svg.read_text() and "timed" in svg.read_text()
    # kept as records (suite, metric, function, before, after) beside the comparison, and for the pages
    import pandas as pd
    from allframe_quality.compare import explain
    from allframe_quality.report import explanations as render
    ex = explain.Explained("cqrs", "command_dispatch", "instructions_per_op", render.instructions_markdown(e, "t"),
                           explain.instruction_records(e), svg=str(svg))
    explain.save([ex], tmp_path / "ab" / "x", "x", "A side", "B side")
    kept = render.explanation_records(pd.read_parquet(tmp_path / "ab" / "x" / "explanations.parquet"))
    row = kept.iloc[0]
    assert (row["suite"], row["metric"], row["function"]) == ("cqrs", "instructions_per_op", SPIN_LANDS_IN)
    assert row["before"] == pytest.approx(first["excl_a"]) and row["after"] == pytest.approx(first["excl_b"])
    doc = render.latest_comparison(tmp_path / "ab")
    assert doc["a"] == "A side" and doc["explanations"][0]["svg"] == str(svg) and SPIN_LANDS_IN in doc["explanations"][0]["markdown"]
    # A/A: the same source at two export paths (other metadata hashes, the same code)
    aa = xi.explain("command_dispatch", xi.measure(cqrs_ops["router_new"], ["command_dispatch"], n1, n2), a)
    # (the export path's length moves start-up by a few instructions in 2,000 operations: far below one per operation)
    assert aa.rows.empty and abs(aa.delta) < 0.05, aa.rows.head().to_string()


# ---------------------------------------------------------------- heap, on real builds

@pytest.mark.slow
def test_the_reserving_append_is_the_first_heap_site(history, tmp_path):
    """A real change of the in-memory backend (append reserves room for 16 more events): valgrind's DHAT at
    both sides; the first site is the backend's append, grown in total bytes and at the peak; A/A: no rows."""
    from allframe_quality.compare import explain
    b = budgets.load()
    ex = explain.heap(_side(history, "spin"), _side(history, "reserve"), b, tmp_path, events=2000)
    print(ex.markdown)
    assert not ex.error, ex.error
    first = ex.explanation.rows.iloc[0]
    assert "InMemoryBackend<E> as allframe_core::cqrs::backend::EventStoreBackend<E>>::append" in first["site"]
    assert first["delta_total"] > 100_000 and first["delta_peak"] > 100_000 and first["delta_blocks"] > 0
    assert ex.records and ex.records[0]["metric"] == "heap_allocated_bytes/explained"
    same = explain.heap(_side(history, "spin"), _side(history, "spin"), b, tmp_path / "aa", events=2000)
    assert not same.error and same.explanation.rows.empty, same.explanation.rows.head().to_string()


def test_only_changed_metrics_are_explained():
    """What the comparison found changed picks the explanations; an unchanged run costs nothing."""
    from allframe_quality.compare import explain
    from allframe_quality.verdict import regression
    ch = pd.DataFrame([
        dict(suite="size", subject="allframe", config="minimal", metric="file_bytes", verdict=regression.REGRESSED),
        dict(suite="size", subject="allframe", config="minimal", metric="stripped_bytes", verdict=regression.REGRESSED),
        dict(suite="size", subject="allframe", config="cqrs", metric="file_bytes", verdict=regression.NO_CHANGE),
        dict(suite="cqrs", subject="allframe", config="command_dispatch", metric="instructions_per_op",
             verdict=regression.IMPROVED),
        dict(suite="cqrs", subject="allframe", config="query_dispatch", metric="ns_per_op", verdict=regression.REGRESSED),
    ])
    assert explain.changed(ch) == [("size", "minimal", "file_bytes"), ("cqrs", "command_dispatch", "instructions_per_op")]
    assert explain.changed(ch[ch["verdict"] == regression.NO_CHANGE]) == []
    assert explain.for_changes(ch.iloc[2:3], None, None, "x", "y", budgets.load(), Path("/nonexistent"), None) == []
