"""Coverage analysis: AllFrame's coverage per module and in total, its tests, what could not run here, and the
checks. Reads records only; running lives in coverage.py. Coverage is informational: a failing AllFrame test
is a finding about AllFrame (a warning), never a failure of the lab; the lab's own tools failing is one."""
from __future__ import annotations

import pandas as pd

from ..config.budgets import Budgets
from ..core.records import headline
from ..verdict.verdicts import Finding, Verdict

SUITE = "coverage"
COUNTS = ("lines", "regions", "functions")     # what llvm-cov counts per file


def module_of(path: str) -> str:
    """src/router/mod.rs -> router; src/lib.rs -> lib.rs; tests/x.rs -> tests (a path relative to the crate)."""
    parts = path.split("/")
    if parts[0] == "src" and len(parts) > 1:
        return parts[1]
    return parts[0] or "tests"


def _values(df: pd.DataFrame, metric: str, item: str = "") -> pd.Series:
    d = df[(df["metric"] == metric) & (df["item"].fillna("") == item) & (df["status"] == "ok")]
    return d.set_index("config")["value"]


def modules(df: pd.DataFrame) -> pd.DataFrame:
    """One row per module (and the total last): files compiled, tests defined there, line, region and function
    coverage with their counts, and the source files the measured features did not compile."""
    names = [c for c in dict.fromkeys(df[df["metric"] == "files_not_built"]["config"]) if c != "total"]
    if not names:
        return pd.DataFrame()
    cols = {k: _values(df, k) for k in (*COUNTS, *(f"{k}_covered" for k in COUNTS), "files_not_built")}
    tests = df[df["metric"] == "test_passed"].groupby("config").size()
    files = df[(df["metric"] == "lines") & (df["item"].fillna("") != "")].groupby("config").size()
    rows = []
    for m in [*sorted(names), "total"]:
        row = {"module": m, "files compiled": int(files.sum() if m == "total" else files.get(m, 0)),
               "files not built": int(cols["files_not_built"].get(m, 0)),
               "tests": int(tests.sum() if m == "total" else tests.get(m, 0))}
        for k in COUNTS:
            n, c = cols[k].get(m), cols[f"{k}_covered"].get(m)
            row[f"{k[:-1]} %"] = 100 * c / n if n else None
            row[f"{k} covered"] = f"{c:,.0f} of {n:,.0f}" if n else "—"
        rows.append(row)
    return pd.DataFrame(rows)


def chart_frame(table: pd.DataFrame) -> pd.DataFrame:
    """modules() in long form for the bars: module, measure (lines / regions), percent, counts; built modules only."""
    d = table[(table["module"] != "total") & table["line %"].notna()]
    return pd.concat([d.assign(measure=k, pct=d[f"{k[:-1]} %"], counts=d[f"{k} covered"])
                      for k in ("lines", "regions")], ignore_index=True)[["module", "measure", "pct", "counts", "tests"]]


def totals(df: pd.DataFrame) -> dict:
    """The headline figures: line, region, function coverage of the total; tests passed, failed, not run, ignored."""
    out = {f"{k[:-1]}_pct": _values(df, f"{k[:-1]}_pct").get("total") for k in COUNTS}
    t = df[(df["config"] == "total") & (df["status"] == "ok")]
    for k in ("tests_passed", "tests_failed", "tests_not_run", "tests_ignored"):
        s = t[t["metric"] == k]["value"]
        out[k] = int(s.sum()) if len(s) else None
    for k in ("build_seconds", "tests_seconds"):
        s = t[t["metric"] == k]["value"]
        out[k] = float(s.iloc[0]) if len(s) else None
    return out


def not_run(df: pd.DataFrame) -> pd.DataFrame:
    """The tests that could not run here, with the reason (the test's own error, or AllFrame's #[ignore] reason)."""
    d = df[df["metric"].isin(["test_passed", "doc_tests"]) & (df["status"] == "not_measured")]
    return pd.DataFrame({"test": d["item"], "module": d["config"], "why": d["detail"]}).reset_index(drop=True)


def failed_tests(df: pd.DataFrame) -> pd.DataFrame:
    """AllFrame's tests that ran and failed, with the failure's own words: findings about AllFrame."""
    d = df[(df["metric"] == "test_passed") & (df["status"] == "ok") & (df["value"] == 0)]
    return pd.DataFrame({"test": d["item"], "module": d["config"], "failure": [headline(x) for x in d["detail"]]}
                        ).reset_index(drop=True)


def evaluate(df: pd.DataFrame, b: Budgets) -> list[Finding]:
    """coverage.lines and coverage.regions (informational: no budget) and coverage.tests (a warning when an
    AllFrame test failed). The lab's own failures (cargo-llvm-cov, a build) and each test that could not run
    here come through suite.failure_findings."""
    t = totals(df)
    variant = next(iter(df["variant"].dropna()), "")
    out = []
    for k, words in (("line_pct", "lines"), ("region_pct", "regions")):
        v = t[k]
        out.append(Finding(SUITE, f"coverage.{words}", f"AllFrame's {words} covered by its tests [{variant}]",
                           Verdict.NOT_MEASURED if v is None else Verdict.INFO,
                           "not measured" if v is None else "measured", v, unit="%"))
    ran = (t["tests_passed"] or 0) + (t["tests_failed"] or 0)
    if not ran:
        v, words = Verdict.NOT_MEASURED, "no test ran"
    elif t["tests_failed"]:
        v, words = Verdict.WARN, f"{t['tests_failed']} of {ran} failed (findings about AllFrame)"
    else:
        v, words = Verdict.INFO, f"all {ran} passed"
    note = f"{t['tests_not_run']} could not run here" if t["tests_not_run"] else ""
    out.append(Finding(SUITE, "coverage.tests", f"AllFrame's tests [{variant}]", v, words,
                       float(t["tests_passed"]) if t["tests_passed"] is not None else None, unit="passed", note=note))
    return out
