"""Badges for AllFrame's README, published under site/badges/: per PRD size configuration (one with a target
or limit in quality.toml) and one for the gate of the latest run, each as a self-contained SVG drawn here (no
network, no font files: text widths are estimated from Verdana's advance widths) and as a shields.io endpoint
JSON (https://shields.io/badges/endpoint-badge) beside it. Colours are the verdict colours of every page."""
from __future__ import annotations

import json
import sys
from html import escape
from pathlib import Path

from ..core import atomic, records
from ..config import budgets as budgets_mod
from ..suites import gate, size_analysis
from ..verdict import history, regression
from ..verdict.verdicts import LEVEL_COLORS, Verdict

DIR = "badges"
LABEL_COLOR = "#555"
# Verdana 11px advance widths, grouped (what shields' badge-maker measures exactly; close enough to size a box)
_NARROW, _WIDE = set("fijlrt.,:;!|()[]' "), set("mwMW%@")


def text_width(s: str) -> float:
    return sum(3.6 if c in _NARROW else 10.0 if c in _WIDE else 8.0 if c.isupper() else 7.0 for c in s)


def _dark(color: str) -> bool:
    """Whether white text reads on `color` (#rrggbb): relative luminance under 0.6."""
    r, g, b = (int(color.lstrip("#")[i:i + 2], 16) / 255 for i in (0, 2, 4))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b < 0.6


def svg(label: str, message: str, color: str) -> str:
    """A flat badge in shields' layout: grey label on the left, the message on `color` on the right."""
    lw, mw = round(text_width(label) + 10), round(text_width(message) + 10)
    w, ink = lw + mw, "#fff" if _dark(color) else "#222"
    l, m, t = escape(label), escape(message), escape(f"{label}: {message}")

    def text(x: float, s: str, fill: str) -> str:
        shadow = f'<text x="{x:.1f}" y="15" fill="#010101" fill-opacity=".3">{s}</text>' if fill == "#fff" else ""
        return f'{shadow}<text x="{x:.1f}" y="14" fill="{fill}">{s}</text>'
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="20" role="img" aria-label="{t}">'
            f'<title>{t}</title><linearGradient id="s" x2="0" y2="100%"><stop offset="0" stop-color="#bbb" '
            f'stop-opacity=".1"/><stop offset="1" stop-opacity=".1"/></linearGradient><clipPath id="r"><rect '
            f'width="{w}" height="20" rx="3" fill="#fff"/></clipPath><g clip-path="url(#r)"><rect width="{lw}" '
            f'height="20" fill="{LABEL_COLOR}"/><rect x="{lw}" width="{mw}" height="20" fill="{color}"/><rect '
            f'width="{w}" height="20" fill="url(#s)"/></g><g text-anchor="middle" '
            f'font-family="Verdana,Geneva,DejaVu Sans,sans-serif" font-size="11">'
            f'{text(lw / 2, l, "#fff")}{text(lw + mw / 2, m, ink)}</g></svg>\n')


def endpoint(label: str, message: str, color: str) -> dict:
    """shields.io's endpoint schema; its colour is hex without '#'."""
    return {"schemaVersion": 1, "label": label, "message": message, "color": color.lstrip("#"),
            "labelColor": LABEL_COLOR.lstrip("#")}


def write(site: Path, name: str, label: str, message: str, color: str) -> list[Path]:
    d = site / DIR
    return [atomic.write_text(d / f"{name}.svg", svg(label, message, color)),
            atomic.write_text(d / f"{name}.json", json.dumps(endpoint(label, message, color), ensure_ascii=False) + "\n")]


def size_badges(site: Path, b: budgets_mod.Budgets) -> list[Path]:
    """size-<configuration>.svg/.json from the latest size run, for each configuration with a target or limit:
    the gated size, coloured by its verdict (under target, over target, over limit, not measured)."""
    runs = records.list_runs(size_analysis.SUITE)
    if not runs:
        return []
    findings = {f.check: f for f in size_analysis.evaluate(records.load_records(runs[-1], size_analysis.SUITE), b)}
    out = []
    for name, c in b.size.configurations.items():
        if c.target_mib is None and c.limit_mib is None:
            continue      # informational rows (crate-default, full-ci) have no budget to colour by
        f = findings.get(f"size.{name}")
        measured = f is not None and f.measured is not None and f.measured == f.measured   # a failed build: NaN
        v, msg = (f.verdict, f"{f.measured:.2f} MiB") if measured else (Verdict.NOT_MEASURED, "not measured")
        out += write(site, f"size-{name}", f"{c.label} size", msg, LEVEL_COLORS[v.level])
    return out


def gate_badge(site: Path, budgets_path=None) -> list[Path]:
    """gate.svg/.json: the gate's verdict on the latest run (what `make gate` says of it)."""
    if not records.list_runs():
        return []
    try:
        v = gate.evaluate(None, budgets_path)
    except (FileNotFoundError, budgets_mod.BudgetError, regression.BaselineError, history.HistoryError) as e:
        print(f"badges: the gate could not run on the latest run ({e}); its badge says so", file=sys.stderr)
        return write(site, "gate", "quality gate", "could not run", LEVEL_COLORS[Verdict.NOT_MEASURED.level])
    n = sum(f.verdict.fails for f in v.findings)
    msg, level = (f"failed: {n} check{'s' if n != 1 else ''}", Verdict.FAIL.level) if v.failed else ("passed", Verdict.PASS.level)
    return write(site, "gate", "quality gate", msg, LEVEL_COLORS[level])


def write_all(site: Path, budgets_path=None) -> list[Path]:
    return size_badges(site, budgets_mod.load(budgets_path)) + gate_badge(site, budgets_path)


def html(site: Path) -> str:
    """The badges as images for the index page: the gate's, then quality.toml's order."""
    order = ["gate"] + [f"size-{n}" for n in budgets_mod.load().size.configurations]
    files = sorted((site / DIR).glob("*.svg"), key=lambda p: (order.index(p.stem) if p.stem in order else len(order), p.stem))
    return " ".join(f"<img src='{DIR}/{escape(p.name)}' alt='{escape(p.stem)}'>" for p in files)
