"""The gate: a run's records against the budgets file and its baseline -> a Markdown summary and an exit code.

Exit 0: every hard limit holds, everything measured, nothing regressed. Exit 1: a limit is exceeded,
something failed to build or run, or a metric regressed (see regression.detect). Exit 2: the gate
itself could not run (no such run or baseline, bad budgets file, unreadable history).
On exit 1 the alerts go out (alerts.py): the summary file and, when configured, the webhook.
"""
from __future__ import annotations

import argparse
import math
from dataclasses import dataclass
import os
import sys
from pathlib import Path

from . import alerts, atomic, budgets as budgets_mod, cqrs, history, memory, metadata, records, regression, size, throughput

# suite -> function(records, budgets) -> findings; later suites add themselves here.
EVALUATORS = {size.SUITE: size.evaluate, throughput.SUITE: throughput.evaluate, cqrs.SUITE: cqrs.evaluate,
              memory.SUITE: memory.evaluate}


def _fmt(v) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "—"
    if isinstance(v, (int, float)) and abs(v) >= 1000:
        return f"{v:,.0f}"
    return f"{v:.2f}" if isinstance(v, float) else str(v)


def _cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


@dataclass
class Verdict:
    run_id: str
    meta: dict
    findings: list[dict]                # budget checks, then one "fail" per regression
    baselines: dict                     # suite -> baseline run id (None: nothing comparable yet)
    changes: "pd.DataFrame"             # every tracked metric against its baseline

    @property
    def failed(self) -> bool:
        return any(f["level"] == "fail" for f in self.findings)


def regression_findings(changes) -> list[dict]:
    return [{"suite": r["suite"], "what": regression.describe(r), "level": "fail",
             "status": f"❌ regressed {r['change_pct']:+.1f}%", "measured": r["current"], "target": None,
             "limit": None, "unit": r["unit"], "note": f"{r['baseline']:,.4g} → {r['current']:,.4g} {r['unit']}, "
             f"[{r['lo_pct']:+.1f}, {r['hi_pct']:+.1f}]%; {r['evidence']}"}
            for r in changes.to_dict("records") if r["gate_fail"]]


def evaluate(run_id: str | None = None, budgets_path: str | Path | None = None,
             baseline: str | None = None) -> Verdict:
    b = budgets_mod.load(budgets_path)
    run_id = run_id or records.latest_run_id()
    df = records.load_records(run_id)
    findings = []
    for suite, fn in EVALUATORS.items():
        part = df[df["suite"] == suite]
        if not part.empty:
            findings += fn(part, b)
    bases, changes = regression.against_baseline(run_id, baseline=baseline, b=b)
    return Verdict(run_id, records.load_meta(run_id), findings + regression_findings(changes), bases, changes)


def latest_per_suite(budgets_path: str | Path | None = None) -> list[tuple[str, str, list[dict]]]:
    """(suite, run id, findings) for each suite, from the latest run that measured it."""
    b = budgets_mod.load(budgets_path)
    out = []
    for suite, fn in EVALUATORS.items():
        runs = records.list_runs(suite)
        if runs:
            out.append((suite, runs[-1], fn(records.load_records(runs[-1], suite), b)))
    return out


def markdown(v: Verdict, limit: int = alerts.COMMENT_LIMIT) -> str:
    """Summary first (verdict, failed checks, the regression list), details folded; under `limit` chars."""
    run_id, findings, meta = v.run_id, v.findings, v.meta
    failed = [f for f in findings if f["level"] == "fail"]
    warned = [f for f in findings if f["level"] == "warn"]
    verdict = "❌ **failed**" if failed else "✅ **passed**"
    lines = [f"## AllFrame quality gate: {verdict}", "",
             f"{len(findings)} checks: {len(failed)} failed, {len(warned)} warnings. "
             f"{_cell(metadata.conditions(meta, 'size'))}", "",
             "| suite | check | measured | target | limit | status |", "|---|---|---:|---:|---:|---|"]
    order = {"fail": 0, "warn": 1, "pass": 2, "info": 3}
    for f in sorted(findings, key=lambda f: order[f["level"]]):
        unit = f" {f['unit']}" if _fmt(f.get("measured")) != "—" else ""
        lines.append(f"| {f['suite']} | {_cell(f['what'])} | {_fmt(f['measured'])}{unit} | {_fmt(f['target'])} "
                     f"| {_fmt(f['limit'])} | {_cell(f['status'])} |")
    notes = [f for f in findings if f.get("note")]
    if notes:
        lines += ["", "<details><summary>Why checks failed</summary>", ""]
        lines += [f"- **{_cell(f['what'])}**: {_cell(f['note'])}" for f in notes]
        lines += ["", "</details>"]
    lines += ["", *changes_markdown(v.changes, v.baselines)]
    return alerts.fit("\n".join(lines) + "\n", limit)


def changes_markdown(changes, baselines: dict) -> list[str]:
    """The regression list (plain) and every compared metric (folded)."""
    base = ", ".join(f"{s}: {r or 'none yet'}" for s, r in sorted(baselines.items())) or "none"
    listed = regression.regression_list(changes)
    out = ["### Regressions and improvements", "", f"Baselines: {base}.", ""]
    out += [f"- {_cell(x)}" for x in listed] or ["- none: every compared metric is unchanged, within noise or below the threshold"]
    if not changes.empty:
        counts = changes["verdict"].value_counts()
        out += ["", "<details><summary>All " + str(len(changes)) + " compared metrics ("
                + ", ".join(f"{n} {k}" for k, n in counts.items()) + ")</summary>", "",
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
        alerts.notify(v)
    return 1 if v.failed else 0


if __name__ == "__main__":
    sys.exit(main())
