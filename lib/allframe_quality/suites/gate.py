"""The gate: a run's records against the budgets file and its baseline -> a Markdown summary and an exit code.

Exit 0: every check measured that must be, every hard limit holds, nothing failed, nothing regressed.
Exit 1: a limit is exceeded, something failed (a build, a probe, a tool, a verification), a required
check was not measured (quality.toml [gate].required), or a metric regressed (regression.detect).
Exit 2: the gate itself could not run (no such run or baseline, bad budgets file, unreadable history).
On exit 1 the alerts go out: the summary file and, when configured, the webhook (alerts.py) and the
email (email_alert.py).
"""
from __future__ import annotations

import argparse
import math
import os
import sys
from dataclasses import dataclass
from pathlib import Path

from ..alerts import webhook as alerts, email as email_alert
from ..core import atomic, metadata, records
from ..config import budgets as budgets_mod
from . import cqrs_analysis, demos_analysis, memory_analysis, releases_analysis, coverage_analysis, micro_analysis, size_analysis, contract, throughput_analysis
from ..verdict import history, regression
from ..core.records import headline as _first_line
from ..verdict.verdicts import Finding, Verdict, apply_required, counts

# suite -> function(records, budgets) -> its budget checks; a new suite adds itself here.
EVALUATORS = {m.SUITE: m.evaluate for m in (size_analysis, throughput_analysis, cqrs_analysis, memory_analysis,
                                              demos_analysis, releases_analysis, coverage_analysis, micro_analysis)}
# suites whose evaluate reports every row itself (releases: "not in this release" is no unmeasured check)
SELF_REPORTING = {releases_analysis.SUITE}


def _fmt(v) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "—"
    if isinstance(v, (int, float)) and abs(v) >= 1000:
        return f"{v:,.0f}"
    return f"{v:.2f}" if isinstance(v, float) else str(v)


def _cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


@dataclass
class Result:
    run_id: str
    meta: dict
    findings: list[Finding]             # budget checks, failures, not measured, regressions
    baselines: dict                     # suite -> baseline run id (None: nothing comparable yet)
    changes: "pd.DataFrame"             # every tracked metric against its baseline
    notes: list[str]                    # why a suite had no baseline (a toolchain change, ...)

    @property
    def failed(self) -> bool:
        return any(f.verdict.fails for f in self.findings)


def suite_findings(df, b: budgets_mod.Budgets) -> list[Finding]:
    """Every suite's checks for a run's records: budget checks, failed and unmeasured rows, required checks."""
    findings = []
    present = [s for s in EVALUATORS if (df["suite"] == s).any()]
    for s in present:
        part = df[df["suite"] == s]
        checks = EVALUATORS[s](part, b)
        said = {_first_line(f.note) for f in checks if f.verdict is Verdict.NOT_MEASURED}
        # a row recorded as not measured that a suite check already reports is not listed twice
        findings += checks + [f for f in ([] if s in SELF_REPORTING else contract.failure_findings(part))
                              if not (f.verdict is Verdict.NOT_MEASURED and f.note in said)]
    return apply_required(findings, b.gate.required, present)


def regression_findings(changes) -> list[Finding]:
    return [Finding(r["suite"], f"regression.{r['suite']}.{r['config']}.{r['metric']}", regression.describe(r),
                    Verdict.FAIL, f"regressed {r['change_pct']:+.1f}%", r["current"], unit=r["unit"],
                    note=f"{r['baseline']:,.4g} → {r['current']:,.4g} {r['unit']}, [{r['lo_pct']:+.1f}, {r['hi_pct']:+.1f}]%; "
                         f"{r['evidence']}")
            for r in changes.to_dict("records") if r["gate_fail"]]


def evaluate(run_id: str | None = None, budgets_path: str | Path | None = None,
             baseline: str | None = None) -> Result:
    b = budgets_mod.load(budgets_path)
    run_id = run_id or records.latest_run_id()
    df = records.load_records(run_id)
    bases, changes, notes = regression.against_baseline(run_id, baseline=baseline, b=b, with_notes=True)
    return Result(run_id, records.load_meta(run_id), suite_findings(df, b) + regression_findings(changes), bases,
                  changes, notes)


def latest_per_suite(budgets_path: str | Path | None = None) -> list[tuple[str, str, list[Finding]]]:
    """(suite, run id, findings) for each suite, from the latest run that measured it."""
    b = budgets_mod.load(budgets_path)
    out = []
    for s in EVALUATORS:
        runs = records.list_runs(s)
        if runs:
            out.append((s, runs[-1], suite_findings(records.load_records(runs[-1], s), b)))
    return out


def failed_of(findings: list[Finding]) -> bool:
    return any(f.verdict.fails for f in findings)


def headline(findings: list[Finding]) -> str:
    c = counts(findings)
    return (f"{len(findings)} checks: {c['fail']} failed, {c['not_measured']} not measured, {c['warn']} warnings, "
            f"{c['pass']} passed, {c['info']} informational")


def markdown(v: Result, limit: int = alerts.COMMENT_LIMIT) -> str:
    """Summary first (verdict, failed checks, the regression list), details folded; under `limit` chars."""
    findings = sorted(v.findings, key=lambda f: f.verdict.order)
    verdict = "❌ **failed**" if v.failed else "✅ **passed**"
    lines = [f"## AllFrame quality gate: {verdict}", "", f"{headline(findings)}. "
             f"{_cell(metadata.conditions(v.meta, next(iter(v.meta.get('suites', {})), None)))}", "",
             *findings_markdown(findings)]
    lines += ["", *changes_markdown(v.changes, v.baselines, v.notes)]
    return alerts.fit("\n".join(lines) + "\n", limit)


def findings_markdown(findings: list[Finding]) -> list[str]:
    """The checks as a table (in the order given), then why checks failed, were not measured or warn."""
    lines = ["| suite | check | measured | target | limit | status |", "|---|---|---:|---:|---:|---|"]
    for f in findings:
        unit = f" {f.unit}" if _fmt(f.measured) != "—" else ""
        req = " (required)" if f.required and "required" not in f.status else ""
        lines.append(f"| {f.suite} | {_cell(f.what)} | {_fmt(f.measured)}{unit} | {_fmt(f.target)} "
                     f"| {_fmt(f.limit)} | {_cell(f.label)}{req} |")
    notes = [f for f in findings if f.note and f.verdict in (Verdict.FAIL, Verdict.NOT_MEASURED, Verdict.WARN)]
    if notes:
        lines += ["", "<details open><summary>Why checks failed or were not measured</summary>", ""]
        lines += [f"- **{_cell(f.what)}** ({f.label}): {_cell(f.note)}" for f in notes]
        lines += ["", "</details>"]
    return lines


def changes_markdown(changes, baselines: dict, notes: list[str] = ()) -> list[str]:
    """The regression list (plain) and every compared metric (folded)."""
    base = ", ".join(f"{s}: {r or 'none yet'}" for s, r in sorted(baselines.items())) or "none"
    listed = regression.regression_list(changes)
    out = ["### Regressions and improvements", "", f"Baselines: {base}.", ""]
    out += [f"- {_cell(n)}" for n in notes]
    out += [f"- {_cell(x)}" for x in listed] or ["- none: every compared metric is unchanged, within noise or below the threshold"]
    if not changes.empty:
        c = changes["verdict"].value_counts()
        out += ["", "<details><summary>All " + str(len(changes)) + " compared metrics ("
                + ", ".join(f"{n} {k}" for k, n in c.items()) + ")</summary>", "",
                "| metric | baseline | current | change | interval | verdict |", "|---|---:|---:|---:|---:|---|"]
        for r in changes.to_dict("records"):
            ch = "—" if r["change_pct"] != r["change_pct"] else f"{r['change_pct']:+.2f}%"
            iv = "—" if r["lo_pct"] != r["lo_pct"] else f"[{r['lo_pct']:+.1f}, {r['hi_pct']:+.1f}]"
            out.append(f"| {_cell(regression.describe(r))} | {_fmt(r['baseline'])} | {_fmt(r['current'])} | {ch} | {iv} "
                       f"| {_cell(r['verdict'])} |")
        out += ["", "</details>"]
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="allframe-quality gate", description=__doc__.splitlines()[0])
    p.add_argument("--run", help="run id under data/runs (default: the latest)")
    p.add_argument("--budgets", help="budgets file (default: quality.toml)")
    p.add_argument("--baseline", help="compare with this run id (default: the previous comparable run per suite)")
    p.add_argument("--summary", help="also write the Markdown summary to this file (for a PR comment)")
    a = p.parse_args(argv)
    try:
        v = evaluate(a.run, a.budgets, a.baseline)
    except (FileNotFoundError, budgets_mod.BudgetError, regression.BaselineError, history.HistoryError) as e:
        print(f"gate: {e}", file=sys.stderr)
        return 2
    md = markdown(v)
    print(md)
    if a.summary:
        atomic.write_text(Path(a.summary), md)
    if os.environ.get("GITHUB_STEP_SUMMARY"):  # GitHub's job summary is appended to, by convention
        with open(os.environ["GITHUB_STEP_SUMMARY"], "a") as f:
            f.write(md)
    if v.failed:
        for f in v.findings:
            if f.verdict.fails:
                print(f"gate: FAILED {f.suite}: {f.what} — {f.status}" + (f": {f.note}" if f.note else ""), file=sys.stderr)
        alerts.notify(v)
        email_alert.notify(v)
    return 1 if v.failed else 0


if __name__ == "__main__":
    sys.exit(main())
