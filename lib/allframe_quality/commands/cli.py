"""Command line: `python -m allframe_quality.commands.cli report|gate` (the Makefile's targets call these)."""
from __future__ import annotations

import argparse
import sys


from pathlib import Path

from ..compare import ab
from ..core import atomic, markdown, params, procs, records
from ..suites import contract
from . import gate as gate_command
from ..verdict import history
from ..report import publish


_params = params.parse_pairs


def _emit(md: str, out: str | None) -> None:
    """A command's Markdown: printed, and written (atomically) to --out when given."""
    print(md)
    if out:
        atomic.write_text(Path(out), md)


def _ab(a) -> int:
    try:
        suite_params = _params(a.param, ab.SUITES, "suite")
    except params.ParameterError as e:
        print(f"ab: {e}", file=sys.stderr)
        return 2
    code, c = procs.guarded("ab", lambda: ab.run(a.a, a.b, [s for s in a.suites.split(",") if s], rounds=a.rounds,
                                                params=suite_params), interrupted="partial rounds are under data/ab/")
    if code is not None:
        return code
    _emit(ab.markdown(c), a.out)
    for f in c.failures:
        print(f"ab: FAILED {f}", file=sys.stderr)
    if c.regressed:
        print("ab: B regressed against A (see the list above)", file=sys.stderr)
    return 1 if c.failed else 0


def _bisect(a) -> int:
    from ..compare import bisect
    from ..suites import releases
    code, r = procs.guarded("bisect", lambda: bisect.run(a.metric, a.good, a.bad, checkout=a.checkout,
                                                         threshold_pct=a.threshold),
                            interrupted="the points measured so far are cached", errors=(releases.ReleasesError,))
    if code is not None:
        return code
    _emit(bisect.markdown(r), a.out)
    if not r.found:
        print(f"bisect: {r.message}", file=sys.stderr)
        return 1
    return 0


def _merge(dirs: list[str]) -> int:
    found = []
    for d in map(Path, dirs):
        found += [d] if (d / "meta.json").exists() else sorted(p.parent for p in d.glob("**/runs/*/meta.json"))
    if not found:
        print(f"merge: no run directories under {dirs}", file=sys.stderr)
        return 2
    for d in found:
        try:
            run_id, suites = records.merge_run(d)
        except (FileNotFoundError, records.RecordError, OSError, ValueError) as e:
            print(f"merge: {d}: {e}", file=sys.stderr)
            return 2
        for suite_name in suites:
            contract.add_to_history(run_id, suite_name)
        print(f"merged {', '.join(suites)} of run {run_id} from {d}")
    return 0


def _history(a) -> int:
    try:
        if a.action == "rebuild":
            h = history.rebuild()
        else:
            h = history.load()
        if a.action == "replay":
            from ..verdict import regression
            ch = regression.replay(h)
            reg = ch[ch["verdict"] == regression.REGRESSED]
            print(f"replayed {h['run_id'].nunique()} runs: {len(ch)} compared metrics, {len(reg)} regressed "
                  f"(on an unchanged build each is a false alarm); verdicts: {ch['verdict'].value_counts().to_dict()}")
            for r in reg.to_dict("records"):
                print(f"  {r['run_id']}: {regression.describe(r)} {r['change_pct']:+.1f}% ({r['evidence']})")
    except history.HistoryError as e:
        print(f"history: {e}", file=sys.stderr)
        return 2
    size = history.path().stat().st_size if history.path().exists() else 0
    print(f"{history.path()}: {h['run_id'].nunique()} runs on {h['fingerprint'].nunique()} machine(s), "
          f"{len(h):,} rows, {size / 1024:,.1f} KiB")
    return 0


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="allframe-quality")
    sub = p.add_subparsers(dest="command", required=True)
    sub.add_parser("gate", help="check the latest run against quality.toml (see: gate --help)")
    sub.add_parser("pr-check", help="AllFrame's PR check: base and head revisions of a checkout A/B'd, head's limits (see: pr-check --help)")
    r = sub.add_parser("report", help="execute every notebook into one run and publish the site")
    r.add_argument("--notebooks", default=",".join(publish.NOTEBOOKS),
                   help=f"comma-separated, from {sorted(publish.NOTEBOOKS)} (default: all)")
    r.add_argument("--param", "-p", action="append", default=[], metavar="NOTEBOOK.KEY=VALUE",
                   help="a notebook parameter, VALUE in YAML, e.g. -p size.peers=false")
    r.add_argument("--run", help="run id to write into (default: a new run)")
    pp = sub.add_parser("params", help="list a notebook's parameters (names, defaults, help)")
    pp.add_argument("notebook", choices=sorted(publish.NOTEBOOKS))
    ab_p = sub.add_parser("ab", help="measure two AllFrame sources interleaved and write a Markdown comparison")
    ab_p.add_argument("--a", required=True, help="side A: 'pinned', an exact registry version, or a checkout path")
    ab_p.add_argument("--b", required=True, help="side B, the same forms (e.g. the PR's checkout)")
    ab_p.add_argument("--suites", default=",".join(ab.SUITES), help=f"comma-separated, from {list(ab.SUITES)}")
    ab_p.add_argument("--rounds", type=int, default=5, help="interleaved rounds for cqrs and memory (default 5: enough samples for a bootstrap on memory)")
    ab_p.add_argument("--param", "-p", action="append", default=[], metavar="SUITE.KEY=VALUE",
                      help="a suite parameter, VALUE in YAML, e.g. -p cqrs.operations='[command_dispatch]'")
    ab_p.add_argument("--out", help="also write the Markdown to this file (for a PR comment)")
    bi = sub.add_parser("bisect", help="the first release (or checkout commit) where a metric crossed its limit or stepped")
    bi.add_argument("--metric", required=True, help="e.g. size.full.file_bytes, cqrs.command_dispatch.instructions_per_op, "
                                                    "memory.bytes_per_event")
    bi.add_argument("--good", required=True, help="a release (or, with --checkout, a revision) where the metric was good")
    bi.add_argument("--bad", required=True, help="a later release (revision) where it is bad")
    bi.add_argument("--checkout", help="bisect the commits of this local AllFrame git checkout instead of registry releases")
    bi.add_argument("--threshold", type=float, help="percent above GOOD's value that counts as a step (default: quality.toml "
                                                    "[regression].threshold_pct)")
    bi.add_argument("--out", help="also write the Markdown summary to this file")
    h = sub.add_parser("history", help="maintain data/history.parquet")
    h.add_argument("action", choices=["rebuild", "show", "replay"],
                   help="rebuild: from data/runs; show: what it holds; replay: each run judged as the gate did")
    m = sub.add_parser("merge", help="bring run directories from parallel jobs into data/runs and the history")
    m.add_argument("dirs", nargs="+", help="run directories (data/runs/<run_id>) or data directories holding runs/")
    c = sub.add_parser("comment", help="join Markdown files into one PR comment under GitHub's size limit")
    c.add_argument("files", nargs="+")
    c.add_argument("--out", required=True)
    return p


def _report(a) -> int:
    names = [n.strip() for n in a.notebooks.split(",") if n.strip()]
    if not names:
        print(f"report: --notebooks {a.notebooks!r} names no notebook; valid: {sorted(publish.NOTEBOOKS)}", file=sys.stderr)
        return 2
    try:
        parsed = _params(a.param)
    except params.ParameterError as e:
        print(f"report: {e}", file=sys.stderr)
        return 2
    idle = sorted(set(parsed) - set(names))
    if idle:   # valid for those notebooks (checked above), just not run here: CI passes one list to every job
        print(f"report: note: parameters for {idle} are not used: this report runs {','.join(names)}", file=sys.stderr)
    code, result = procs.guarded("report", lambda: publish.report(names, parsed, a.run), errors=(publish.PublishError,),
                                 interrupted="nothing more was published; the pages from earlier runs are unchanged")
    if code is not None:
        return code
    site, ok = result
    if not ok:
        print("report: one or more notebooks failed (see above and site/*.failed.html)", file=sys.stderr)
    return 0 if ok else 1


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["gate"]:
        return gate_command.main(argv[1:])
    if argv[:1] == ["pr-check"]:
        from ..compare import pr_check
        return pr_check.main(argv[1:])
    a = _parser().parse_args(argv)
    if a.command == "merge":
        return _merge(a.dirs)
    if a.command == "comment":
        parts = [Path(f).read_text() for f in a.files if Path(f).exists()]
        atomic.write_text(Path(a.out), markdown.fit("\n\n".join(parts) or "No results.\n"))
        return 0
    if a.command == "ab":
        return _ab(a)
    if a.command == "bisect":
        return _bisect(a)
    if a.command == "history":
        return _history(a)
    if a.command == "params":
        print(params.listing(a.notebook))
        return 0
    return _report(a)


if __name__ == "__main__":
    sys.exit(main())
