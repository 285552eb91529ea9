"""The site's badges: per PRD size configuration and for the gate, each a self-contained SVG (well-formed, the
text, the verdict's colour, nothing fetched) and a shields.io endpoint JSON, from a saved size run."""
import json
import xml.etree.ElementTree as ET

from allframe_quality.report import badges
from allframe_quality.config import budgets
from allframe_quality.core import records
from allframe_quality.suites import contract
from allframe_quality.verdict.verdicts import LEVEL_COLORS

SVG = "{http://www.w3.org/2000/svg}"
MIB = 1024 * 1024


def _size_run(run_id: str, mib: dict[str, float], failed: tuple[str, ...] = ()) -> str:
    records.start_run(run_id)
    rows = [records.record(suite="size", subject="allframe", config=c, variant="release", metric="file_bytes",
                           unit="bytes", value=v * MIB) for c, v in mib.items()]
    rows += [records.record(suite="size", subject="allframe", config=c, variant="release", metric="file_bytes",
                            unit="bytes", value=float("nan"), status="failed", detail="error[E0425]: cannot find value")
             for c in failed]
    records.save_suite(run_id, "size", records.frame(rows, run_id), {"parameters": {"configurations": list(mib)},
                                                                     "allframe": {"label": "allframe-core 0.1.28"}})
    contract.add_to_history(run_id, "size")
    return run_id


def _badge(site, name):
    root = ET.fromstring((site / "badges" / f"{name}.svg").read_text())   # well-formed XML, or this raises
    texts = [t.text for t in root.iter(f"{SVG}text")]
    fills = [r.get("fill") for r in root.iter(f"{SVG}rect")]
    return root, texts, fills, json.loads((site / "badges" / f"{name}.json").read_text())


def test_size_and_gate_badges_carry_the_verdicts(data_dir, tmp_path):
    # Minimal under its target (2), Default over its target (4) but under its limit (5), CQRS over its limit (6)
    # router-grpc failed to build (a NaN size)
    _size_run("20260101T000000Z-00001", {"minimal": 1.2, "default": 4.5, "cqrs": 6.5}, failed=("router-grpc",))
    site = tmp_path / "site"
    written = badges.write_all(site)
    b = budgets.load()
    budgeted = [n for n, c in b.size.configurations.items() if c.target_mib is not None or c.limit_mib is not None]
    assert {p.name for p in written} == {f"size-{n}.{e}" for n in budgeted for e in ("svg", "json")} | {"gate.svg", "gate.json"}
    for name, label, message, level in [("size-minimal", "Minimal size", "1.20 MiB", "pass"),
                                        ("size-default", "Default size", "4.50 MiB", "warn"),
                                        ("size-cqrs", "CQRS size", "6.50 MiB", "fail"),
                                        ("size-full", "Full size", "not measured", "not_measured"),
                                        ("size-router-grpc", "router-grpc size", "not measured", "not_measured"),
                                        ("gate", "quality gate", "failed: 3 checks", "fail")]:
        root, texts, fills, js = _badge(site, name)
        assert root.tag == f"{SVG}svg" and root.get("height") == "20"
        assert label in texts and message in texts, (name, texts)
        assert root.find(f"{SVG}title").text == f"{label}: {message}"
        assert LEVEL_COLORS[level] in fills, (name, fills)          # the message box in the verdict's colour
        assert js == {"schemaVersion": 1, "label": label, "message": message, "color": LEVEL_COLORS[level].lstrip("#"),
                      "labelColor": "555"}
        text = (site / "badges" / f"{name}.svg").read_text()
        assert "href" not in text and text.count("http") == 1       # only the xmlns: nothing to fetch
    # the box grows with its text
    assert int(_badge(site, "size-full")[0].get("width")) > int(_badge(site, "size-minimal")[0].get("width"))
    html = badges.html(site)
    assert html.startswith("<img src='badges/gate.svg'") and html.index("size-minimal.svg") < html.index("size-default.svg")


def test_a_passing_run_has_a_green_gate_badge(data_dir, tmp_path, monkeypatch):
    from conftest import budgets_copy
    q = budgets_copy(tmp_path, required=[])
    _size_run("20260101T000000Z-00001", {"minimal": 1.2})
    site = tmp_path / "site"
    badges.write_all(site, q)
    _, texts, fills, js = _badge(site, "gate")
    assert "passed" in texts and LEVEL_COLORS["pass"] in fills and js["color"] == LEVEL_COLORS["pass"].lstrip("#")


def test_no_runs_no_badges(data_dir, tmp_path):
    assert badges.write_all(tmp_path / "site") == []
    assert badges.html(tmp_path / "site") == ""
