"""The gate: a run's records against the budgets file -> a Markdown summary and an exit code.

Exit 0: every hard limit holds and everything measured. Exit 1: a limit is exceeded or something
failed to build or run. Exit 2: the gate itself could not run (no such run, bad budgets file).
"""
from __future__ import annotations

import argparse
import math
import os
import sys
from pathlib import Path

from . import atomic, budgets as budgets_mod, cqrs, memory, metadata, records, size, throughput

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


def evaluate(run_id: str | None = None, budgets_path: str | Path | None = None) -> tuple[str, list[dict], dict]:
    b = budgets_mod.load(budgets_path)
    run_id = run_id or records.latest_run_id()
    df = records.load_records(run_id)
    findings = []
    for suite, fn in EVALUATORS.items():
        part = df[df["suite"] == suite]
        if not part.empty:
            findings += fn(part, b)
    return run_id, findings, records.load_meta(run_id)


def latest_per_suite(budgets_path: str | Path | None = None) -> list[tuple[str, str, list[dict]]]:
    """(suite, run id, findings) for each suite, from the latest run that measured it."""
    b = budgets_mod.load(budgets_path)
    out = []
    for suite, fn in EVALUATORS.items():
        runs = records.list_runs(suite)
        if runs:
            out.append((suite, runs[-1], fn(records.load_records(runs[-1], suite), b)))
    return out


def markdown(run_id: str, findings: list[dict], meta: dict) -> str:
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
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="allframe-quality gate", description=__doc__.splitlines()[0])
    p.add_argument("--run", help="run id under data/runs (default: the latest)")
    p.add_argument("--budgets", help="budgets file (default: quality.toml)")
    p.add_argument("--summary", help="also write the Markdown summary to this file")
    a = p.parse_args(argv)
    try:
        run_id, findings, meta = evaluate(a.run, a.budgets)
    except (FileNotFoundError, budgets_mod.BudgetError) as e:
        print(f"gate: {e}", file=sys.stderr)
        return 2
    md = markdown(run_id, findings, meta)
    print(md)
    if a.summary:
        atomic.write_text(Path(a.summary), md)
    if os.environ.get("GITHUB_STEP_SUMMARY"):  # GitHub's job summary is appended to, by convention
        with open(os.environ["GITHUB_STEP_SUMMARY"], "a") as f:
            f.write(md)
    return 1 if any(f["level"] == "fail" for f in findings) else 0


if __name__ == "__main__":
    sys.exit(main())
