"""The one verdict model: every check of every suite ends in a Verdict, and the gate, the pages, the
charts, A/B and alerts read its level and symbol from here. Nothing parses a symbol back.

A check whose measurement did not run is NOT_MEASURED: shown as such and counted apart, never as
passed. quality.toml [gate].required names the checks CI requires; a required check that was not
measured fails (gate.apply_required).
"""
from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field, replace
from enum import Enum


class Verdict(Enum):
    #              level           symbol  fails  order (for sorting: failures first)
    FAIL = ("fail", "❌", True, 0)
    NOT_MEASURED = ("not_measured", "❔", False, 1)
    WARN = ("warn", "⚠️", False, 2)
    PASS = ("pass", "✅", False, 3)
    INFO = ("info", "ℹ️", False, 4)

    def __init__(self, level: str, symbol: str, fails: bool, order: int):
        self.level, self.symbol, self.fails, self.order = level, symbol, fails, order

    @classmethod
    def of(cls, level: str) -> "Verdict":
        for v in cls:
            if v.level == level:
                return v
        raise ValueError(f"unknown verdict level {level!r}; valid: {[v.level for v in cls]}")


LEVEL_COLORS = {Verdict.PASS.level: "#3aa876", Verdict.WARN.level: "#e0a526", Verdict.FAIL.level: "#d64545",
                Verdict.INFO.level: "#8c8c8c", Verdict.NOT_MEASURED.level: "#b0b0d8"}


@dataclass
class Finding:
    """One check: `check` is its stable id (quality.toml [gate].required matches it), `status` the short
    words after the symbol ("under target", "build failed")."""
    suite: str
    check: str
    what: str
    verdict: Verdict
    status: str
    measured: float | None = None
    target: float | None = None
    limit: float | None = None
    unit: str = ""
    note: str = ""
    required: bool = False
    extra: dict = field(default_factory=dict)

    @property
    def label(self) -> str:
        return f"{self.verdict.symbol} {self.status}"

    @property
    def level(self) -> str:
        return self.verdict.level


def counts(findings) -> dict[str, int]:
    out = {v.level: 0 for v in Verdict}
    for f in findings:
        out[f.verdict.level] += 1
    return out


def apply_required(findings: list[Finding], patterns, suites_measured) -> list[Finding]:
    """A required check (quality.toml [gate].required, glob patterns over check ids) that was not measured
    fails, and so does a required pattern that matches no check of a suite that ran."""
    out = []
    for f in findings:
        req = any(fnmatch.fnmatchcase(f.check, p) for p in patterns)
        if req and f.verdict is Verdict.NOT_MEASURED:
            f = replace(f, verdict=Verdict.FAIL, status="required, not measured", required=True)
        out.append(replace(f, required=req) if req and not f.required else f)
    for p in patterns:
        suite = p.split(".", 1)[0]
        if suite in suites_measured and not any(fnmatch.fnmatchcase(f.check, p) for f in findings):
            out.append(Finding(suite, p, f"required check {p}", Verdict.FAIL, "required, not measured",
                               note=f"the {suite} suite ran but produced no check matching {p!r}", required=True))
    return out
