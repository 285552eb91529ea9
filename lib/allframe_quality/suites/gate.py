"""The gate: a run's records against the budgets file and its baseline -> a Markdown summary and an exit code.

Exit 0: every check measured that must be, every hard limit holds, nothing failed, nothing regressed.
Exit 1: a limit is exceeded, something failed (a build, a probe, a tool, a verification), a required
check was not measured (quality.toml [gate].required), or a metric regressed (regression.detect).
Exit 2: the gate itself could not run (no such run or baseline, bad budgets file, unreadable history).
The command (commands/gate.py) prints it, and on exit 1 sends the alerts (alerts/).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..core import markdown as md, metadata, records
from ..config import budgets as budgets_mod
import importlib

from ..core import registry
from . import contract, releases_analysis
from ..verdict import regression
from ..core.records import headline as _first_line
from ..verdict.verdicts import Finding, Verdict, apply_required, counts

# suite -> function(records, budgets) -> its budget checks, for every suite the registry names an analysis of
EVALUATORS = {s.name: importlib.import_module(f"{__package__}.{s.analysis}").evaluate
              for s in registry.SUITES if s.analysis}
# suites whose evaluate reports every row itself (releases: "not in this release" is no unmeasured check)
SELF_REPORTING = {releases_analysis.SUITE}


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


def markdown(v: Result, limit: int = md.COMMENT_LIMIT) -> str:
    """Summary first (verdict, failed checks, the regression list), details folded; under `limit` chars."""
    findings = sorted(v.findings, key=lambda f: f.verdict.order)
    verdict = "❌ **failed**" if v.failed else "✅ **passed**"
    lines = [f"## AllFrame quality gate: {verdict}", "", f"{headline(findings)}. "
             f"{md.cell(metadata.conditions(v.meta, next(iter(v.meta.get('suites', {})), None)))}", "",
             *findings_markdown(findings)]
    lines += ["", *changes_markdown(v.changes, v.baselines, v.notes)]
    return md.fit("\n".join(lines) + "\n", limit)


def findings_markdown(findings: list[Finding]) -> list[str]:
    """The checks as a table (in the order given), then why checks failed, were not measured or warn."""
    lines = ["| suite | check | measured | target | limit | status |", "|---|---|---:|---:|---:|---|"]
    for f in findings:
        unit = f" {f.unit}" if md.number(f.measured) != "—" else ""
        req = " (required)" if f.required and "required" not in f.status else ""
        lines.append(f"| {f.suite} | {md.cell(f.what)} | {md.number(f.measured)}{unit} | {md.number(f.target)} "
                     f"| {md.number(f.limit)} | {md.cell(f.label)}{req} |")
    notes = [f for f in findings if f.note and f.verdict in (Verdict.FAIL, Verdict.NOT_MEASURED, Verdict.WARN)]
    if notes:
        lines += ["", "<details open><summary>Why checks failed or were not measured</summary>", ""]
        lines += [f"- **{md.cell(f.what)}** ({f.label}): {md.cell(f.note)}" for f in notes]
        lines += ["", "</details>"]
    return lines


def changes_markdown(changes, baselines: dict, notes: list[str] = ()) -> list[str]:
    """The regression list (plain) and every compared metric (folded)."""
    base = ", ".join(f"{s}: {r or 'none yet'}" for s, r in sorted(baselines.items())) or "none"
    listed = regression.regression_list(changes)
    out = ["### Regressions and improvements", "", f"Baselines: {base}.", ""]
    out += [f"- {md.cell(n)}" for n in notes]
    out += [f"- {md.cell(x)}" for x in listed] or ["- none: every compared metric is unchanged, within noise or below the threshold"]
    if not changes.empty:
        c = changes["verdict"].value_counts()
        out += ["", "<details><summary>All " + str(len(changes)) + " compared metrics ("
                + ", ".join(f"{n} {k}" for k, n in c.items()) + ")</summary>", "",
                "| metric | baseline | current | change | interval | verdict |", "|---|---:|---:|---:|---:|---|"]
        for r in changes.to_dict("records"):
            ch = "—" if r["change_pct"] != r["change_pct"] else f"{r['change_pct']:+.2f}%"
            iv = "—" if r["lo_pct"] != r["lo_pct"] else f"[{r['lo_pct']:+.1f}, {r['hi_pct']:+.1f}]"
            out.append(f"| {md.cell(regression.describe(r))} | {md.number(r['baseline'])} | {md.number(r['current'])} | {ch} | {iv} "
                       f"| {md.cell(r['verdict'])} |")
        out += ["", "</details>"]
    return out
