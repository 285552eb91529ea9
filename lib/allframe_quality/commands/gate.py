"""`make gate`: the latest run's verdict (suites/gate.py) printed, written and, on failure, alerted; its exit code."""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from ..alerts import email, webhook
from ..config import budgets as budgets_mod
from ..core import atomic
from ..suites import gate
from ..verdict import history, regression


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="allframe-quality gate", description=gate.__doc__.splitlines()[0])
    p.add_argument("--run", help="run id under data/runs (default: the latest)")
    p.add_argument("--budgets", help="budgets file (default: quality.toml)")
    p.add_argument("--baseline", help="compare with this run id (default: the previous comparable run per suite)")
    p.add_argument("--summary", help="also write the Markdown summary to this file (for a PR comment)")
    a = p.parse_args(argv)
    try:
        v = gate.evaluate(a.run, a.budgets, a.baseline)
    except (FileNotFoundError, budgets_mod.BudgetError, regression.BaselineError, history.HistoryError) as e:
        print(f"gate: {e}", file=sys.stderr)
        return 2
    md = gate.markdown(v)
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
        webhook.notify(v)
        email.notify(v)
    return 1 if v.failed else 0


if __name__ == "__main__":
    sys.exit(main())
