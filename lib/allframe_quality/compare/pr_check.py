"""The check on AllFrame's own pull requests: the calling repository's base and head revisions measured
interleaved (an A/B whose sides are DIR@REV), head's budget checks from the same runs, one Markdown comment
and an exit code. The reusable workflow (.github/workflows/allframe-pr.yml) runs exactly this command line.

Exit 0: no hard limit broken at head, nothing failed, nothing regressed. Exit 1: a limit broken at head, a
side failed (build, probe, tool), or head regressed against base with evidence. Exit 2: it could not run
(a revision that does not exist, a bad parameter). 130: interrupted.
"""
from __future__ import annotations

import argparse
import os
import sys
from dataclasses import dataclass, replace
from pathlib import Path

from . import ab
from ..core import atomic, params, paths, procs, records
from ..core import markdown as md_fmt
from ..config import budgets as budgets_mod
from ..suites import gate
from ..verdict.verdicts import Finding

# The first line of the comment: the workflow finds its earlier comment by it and edits that one.
MARKER = "<!-- allframe-quality:pr-check -->"


@dataclass
class Check:
    repo: str
    base: str
    head: str
    comparison: ab.Comparison
    findings: list[Finding]       # head's budget checks (hard limits, targets, failed rows)

    @property
    def limit_broken(self) -> bool:
        return gate.failed_of(self.findings)

    @property
    def failed(self) -> bool:
        return self.limit_broken or self.comparison.failed


def head_findings(c: ab.Comparison, b: budgets_mod.Budgets) -> list[Finding]:
    """Side B's budget checks, per suite from the first of its rounds that measured it (sizes are measured
    once; a failure in any round is in the comparison). [gate].required is not applied: a PR check
    judges the configurations it was asked to measure, not the full report's list."""
    judged = replace(b, gate=budgets_mod.GatePolicy())
    out, seen = [], set()
    with ab.data_root(paths.data_dir() / "ab" / c.ab_id):
        for run_id in c.b.runs:
            df = records.load_records(run_id)
            for s in sorted(set(df["suite"]) - seen):
                seen.add(s)
                out += gate.suite_findings(df[df["suite"] == s], judged)
    return sorted(out, key=lambda f: f.verdict.order)


def run(repo: str, base: str, head: str, suites, *, rounds: int = ab.MIN_ROUNDS, params: dict | None = None,
        budgets: budgets_mod.Budgets | None = None, printer=procs.say) -> Check:
    b = budgets or budgets_mod.load()
    c = ab.run(f"{repo}@{base}", f"{repo}@{head}", suites, rounds=rounds, params=params, budgets=b, printer=printer)
    return Check(repo, base, head, c, head_findings(c, b))


def markdown(k: Check, limit: int = md_fmt.COMMENT_LIMIT) -> str:
    """Verdict first; then head's budget checks; then the A/B (its heading one level down)."""
    c = k.comparison
    why = [w for w, on in (("a hard limit broken at head", k.limit_broken), ("a side failed", bool(c.failures)),
                           ("head regressed against base", c.regressed)) if on]
    verdict = "❌ **failed**: " + ", ".join(why) if why else "✅ **passed**"
    lines = [MARKER, f"## AllFrame quality check: {verdict}", "",
             f"Base `{k.base}` → head `{k.head}`, measured interleaved on one machine. {gate.headline(k.findings)} at head.",
             "", "### Budgets at head (quality.toml)", "", *gate.findings_markdown(k.findings), ""]
    ab_md = ab.markdown(c, limit)
    lines.append(ab_md.replace("## AllFrame A/B:", "### A/B, base → head:", 1))
    return md_fmt.fit("\n".join(lines), limit)


def main(argv: list[str] | None = None) -> int:
    from ..core.params import parse_pairs as _params   # one NAME.KEY=VALUE parser for every command
    p = argparse.ArgumentParser(prog="allframe-quality pr-check", description=__doc__.splitlines()[0])
    p.add_argument("--repo", required=True, help="the git checkout of AllFrame (the calling repository)")
    p.add_argument("--base", required=True, help="base revision (sha, tag or branch), e.g. the PR's base sha")
    p.add_argument("--head", required=True, help="head revision, e.g. the PR's head sha")
    p.add_argument("--suites", default="size,cqrs", help=f"comma-separated, from {list(ab.SUITES)} (default size,cqrs)")
    p.add_argument("--rounds", type=int, default=ab.MIN_ROUNDS, help=f"interleaved rounds (at least {ab.MIN_ROUNDS})")
    p.add_argument("--param", "-p", action="append", default=[], metavar="SUITE.KEY=VALUE",
                   help="a suite parameter, VALUE in YAML, e.g. -p size.configurations='[minimal, cqrs]'")
    p.add_argument("--out", help="write the comment (Markdown) to this file")
    a = p.parse_args(argv)
    if not Path(a.repo).expanduser().is_dir():
        print(f"pr-check: --repo {a.repo!r} is not a directory", file=sys.stderr)
        return 2
    try:
        suite_params = _params(a.param, ab.SUITES, "suite")
    except params.ParameterError as e:
        print(f"pr-check: {e}", file=sys.stderr)
        return 2
    code, k = procs.guarded("pr-check", lambda: run(a.repo, a.base, a.head, [s for s in a.suites.split(",") if s],
                                                    rounds=a.rounds, params=suite_params),
                            interrupted="partial rounds are under data/ab/")
    if code is not None:
        return code
    md = markdown(k)
    print(md)
    if a.out:
        atomic.write_text(Path(a.out), md)
    if os.environ.get("GITHUB_STEP_SUMMARY"):  # appended to, by GitHub's convention
        with open(os.environ["GITHUB_STEP_SUMMARY"], "a") as f:
            f.write(md)
    for f in k.findings:
        if f.verdict.fails:
            print(f"pr-check: FAILED {f.suite}: {f.what} — {f.status}" + (f": {f.note}" if f.note else ""), file=sys.stderr)
    for f in k.comparison.failures:
        print(f"pr-check: FAILED {f}", file=sys.stderr)
    if k.comparison.regressed:
        print("pr-check: head regressed against base (see the list above)", file=sys.stderr)
    print(f"pr-check: data under {paths.data_dir() / 'ab' / k.comparison.ab_id}", file=sys.stderr)
    return 1 if k.failed else 0


if __name__ == "__main__":
    sys.exit(main())
