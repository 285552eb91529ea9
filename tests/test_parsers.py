"""Parsers on outputs recorded from real runs (tests/fixtures)."""
import pytest

from allframe_quality.tools import bloat, cargo
from allframe_quality.core.errors import ToolMissing


@pytest.mark.parametrize("name", ["cargo-bloat-minimal.json", "cargo-bloat-axum.json"])
def test_bloat_json(fixture_text, name):
    cs = bloat.parse(fixture_text(name))
    assert cs.file_size > cs.text_size > 0
    assert "std" in cs.crates and all(v >= 0 for v in cs.crates.values())
    # cargo-bloat attributes .text to crates: the parts never exceed the section
    assert sum(cs.crates.values()) <= cs.text_size


def test_bloat_rejects_the_human_table():
    table = "File  .text     Size Crate\n0.3%   5.8%  23.5KiB allframe_core\n"
    with pytest.raises(bloat.BloatError, match="not cargo-bloat --crates JSON"):
        bloat.parse(table)


def test_cargo_messages_give_the_executable(fixture_text):
    r = cargo.MessageReader("size-probe")
    for line in fixture_text("cargo-build-cqrs.jsonl").splitlines():
        r.feed(line)
    assert r.success is True and r.errors == []
    assert r.executable is not None and r.executable.name == "size-probe"
    assert r.units > 50  # every dependency reports an artifact, fresh or not


def test_cargo_messages_collect_compiler_errors(fixture_text):
    r = cargo.MessageReader("broken-probe")
    for line in fixture_text("cargo-build-error.jsonl").splitlines():
        r.feed(line)
    assert r.success is False and r.executable is None
    assert any("error[E0308]: mismatched types" in e for e in r.errors)
    failed = cargo.BuildResult("broken-probe", "release", (), False, None, 1.0, errors=r.errors)
    assert "mismatched types" in failed.failure_text()


def test_missing_tools_say_how_to_install(monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(ToolMissing, match="cargo-bloat not found.*cargo install --locked cargo-bloat"):
        cargo.require("cargo-bloat", "Install it with `cargo install --locked cargo-bloat`, or run `make setup`.")
    with pytest.raises(ToolMissing, match="cargo not found.*rustup"):
        cargo.require_cargo()
