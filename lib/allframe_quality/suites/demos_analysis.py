"""Demos analysis: the scorecard, the feature matrix, the capability audit, and the checks (tests pass, under
500 lines). Reads records only; running lives in demos.py."""
from __future__ import annotations

import json

import pandas as pd

from ..config.budgets import Budgets
from ..core.records import headline
from ..verdict.verdicts import Finding, Verdict

SUITE = "demos"
LINE_LIMIT = 500               # PRD: each demo in fewer than 500 lines of Rust code


def scorecard(df: pd.DataFrame) -> pd.DataFrame:
    """One row per demo: builds, tests, lines against the limit, size, start-up, RSS, req/s, verdict."""
    rows = []
    demos = df[(df["config"] != "capability-audit") & (df["metric"] != "support_code_lines")]
    for name, g in demos.groupby("config", sort=False):
        def v(metric, how="first"):
            s = g[(g["metric"] == metric) & (g["status"] == "ok")]["value"]
            if s.empty:
                return None
            return float(s.median()) if how == "median" else float(s.iloc[0])
        build_failed = ((g["metric"] == "file_bytes") & (g["status"] == "failed")).any()
        tests = g[g["metric"] == "test_passed"]
        feats = g[g["metric"] == "feature_demonstrated"]
        lines = v("code_lines")
        rows.append({"demo": name, "builds": "no" if build_failed else "yes",
                     "tests passed": int((tests["status"] == "ok").sum()),
                     "tests failed": int((tests["status"] == "failed").sum()),
                     "features demonstrated": f"{int((feats['status'] == 'ok').sum())} of {len(feats)}",
                     "code lines": lines, "line limit": LINE_LIMIT,
                     "release MiB": (v("file_bytes") or 0) / 2**20 or None,
                     "stripped MiB": (v("stripped_bytes") or 0) / 2**20 or None,
                     "start-up ms": (v("startup_seconds", "median") or 0) * 1000 or None,
                     "idle RSS MiB": (v("idle_rss_bytes") or 0) / 2**20 or None,
                     "req/s": v("rps"), "p99 ms": v("latency_p99_ms"),
                     "peak RSS MiB": (v("peak_rss_bytes") or 0) / 2**20 or None,
                     "load endpoint": next(iter(g[g["metric"] == "rps"]["item"]), "")})
    return pd.DataFrame(rows)

def support_lines(df: pd.DataFrame) -> pd.DataFrame:
    """The crates the demos share (demo-support): their code lines, counted once and apart from every demo."""
    s = df[(df["metric"] == "support_code_lines") & (df["status"] == "ok")]
    return pd.DataFrame({"crate": s["config"], "code lines": s["value"].astype(int)}).reset_index(drop=True)


def invariant_results(df: pd.DataFrame) -> pd.DataFrame:
    """Each demo's invariant and malformed-input sweep tests as they reported themselves: cases tried, failures
    found, and their other figures (transfers, disconnects, sums, 5xx, dropped connections, RSS)."""
    r = df[df["metric"].isin(["report_cases", "report_failures"]) & (df["status"] == "ok")]
    rows = []
    for (demo, test), g in r.groupby(["config", "item"], sort=False):
        figures = json.loads(g["detail"].iloc[0] or "{}")
        v = dict(zip(g["metric"], g["value"]))
        rows.append({"demo": demo, "test": test, "cases": int(v.get("report_cases", 0)),
                     "failures": int(v.get("report_failures", 0)),
                     "figures": _figures(figures)})
    return pd.DataFrame(rows, columns=["demo", "test", "cases", "failures", "figures"])


def _figures(figures: dict) -> str:
    """A test's other figures in one line: numbers with separators, nested counts inline, empty lists left out."""
    def one(v):
        if isinstance(v, bool) or not isinstance(v, (int, float, dict)):
            return str(v)
        if isinstance(v, dict):
            return "(" + ", ".join(f"{k} {one(x)}" for k, x in v.items() if not isinstance(x, dict)) + ")"
        return f"{v:,}"
    return ", ".join(f"{k.replace('_', ' ')} {one(v)}" for k, v in sorted(figures.items())
                     if k not in ("cases", "failures") and v not in ([], {}, "", None))


def feature_matrix(df: pd.DataFrame) -> pd.DataFrame:
    f = df[df["metric"] == "feature_demonstrated"]
    rows = []
    for r in f.to_dict("records"):
        raw = r["detail"].splitlines()[-1] if r["detail"] else "{}"
        try:
            d = json.loads(raw)
        except ValueError:
            d = {}
        rows.append({"demo": r["config"], "feature": r["item"], "demonstrated": "✅ yes" if r["status"] == "ok" else "❌ no",
                     "by test": d.get("test", ""), "provided by": d.get("provided_by", ""), "API / crate": d.get("api", ""),
                     "note": "" if r["status"] == "ok" else headline(r["detail"])})
    return pd.DataFrame(rows, columns=["demo", "feature", "demonstrated", "by test", "provided by", "API / crate", "note"])

def capability_audit(df: pd.DataFrame) -> pd.DataFrame:
    c = df[(df["metric"] == "capability") & (df["status"] == "ok")]
    rows = []
    for r in c.to_dict("records"):
        d = json.loads(r["detail"])
        rows.append({"capability": r["item"], "area": d.get("area", ""), "outcome": d.get("outcome", ""),
                     "promise": d.get("promise", ""), "AllFrame API": d.get("api", ""), "evidence": d.get("evidence", "")})
    return pd.DataFrame(rows, columns=["capability", "area", "outcome", "promise", "AllFrame API", "evidence"])

def evaluate(df: pd.DataFrame, b: Budgets) -> list[Finding]:
    """Per demo: demos.<name>.tests (all passed, at least one ran) and demos.<name>.lines (under the PRD's 500).
    Build failures, failed tests, features whose test is missing and failed loads fail through
    suite.failure_findings. The capability audit is findings about AllFrame: shown, never failing."""
    out = []
    for r in scorecard(df).to_dict("records"):
        name = r["demo"]
        ran = r["tests passed"] + r["tests failed"]
        if r["builds"] == "no" or ran == 0:
            v, words = Verdict.NOT_MEASURED, "no test ran"
        else:
            v, words = (Verdict.FAIL, f"{r['tests failed']} failed") if r["tests failed"] else (Verdict.PASS, "all passed")
        out.append(Finding(SUITE, f"demos.{name}.tests", f"{name}: tests", v, words, float(r["tests passed"]), unit="passed"))
        lines = r["code lines"]
        lv = Verdict.NOT_MEASURED if lines is None else (Verdict.FAIL if lines >= LINE_LIMIT else Verdict.PASS)
        out.append(Finding(SUITE, f"demos.{name}.lines", f"{name}: Rust code lines", lv,
                           {Verdict.FAIL: "over the limit", Verdict.PASS: "under the limit"}.get(lv, "not measured"),
                           lines, None, float(LINE_LIMIT), "lines"))
    return out
