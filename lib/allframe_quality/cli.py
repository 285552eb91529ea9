"""Command line: `python -m allframe_quality.cli report|gate` (the Makefile's targets call these)."""
from __future__ import annotations

import argparse
import sys

import yaml

from . import gate, publish


def _params(pairs: list[str]) -> dict[str, dict]:
    """NOTEBOOK.KEY=VALUE pairs (VALUE parsed as YAML: lists, numbers, booleans, null) -> per-notebook dicts."""
    out: dict[str, dict] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        nb, dot, name = key.partition(".")
        if not sep or not dot or not name:
            raise SystemExit(f"bad --param {pair!r}: expected NOTEBOOK.KEY=VALUE, e.g. size.profiles='[release]'")
        if nb not in publish.NOTEBOOKS:
            raise SystemExit(f"bad --param {pair!r}: unknown notebook {nb!r}; valid: {sorted(publish.NOTEBOOKS)}")
        out.setdefault(nb, {})[name] = yaml.safe_load(value)
    return out


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["gate"]:
        return gate.main(argv[1:])
    p = argparse.ArgumentParser(prog="allframe-quality")
    sub = p.add_subparsers(dest="command", required=True)
    sub.add_parser("gate", help="check the latest run against quality.toml (see: gate --help)")
    r = sub.add_parser("report", help="execute every notebook into one run and publish the site")
    r.add_argument("--notebooks", default=",".join(publish.NOTEBOOKS),
                   help=f"comma-separated, from {sorted(publish.NOTEBOOKS)} (default: all)")
    r.add_argument("--param", "-p", action="append", default=[], metavar="NOTEBOOK.KEY=VALUE",
                   help="a notebook parameter, VALUE in YAML, e.g. -p size.peers=false")
    r.add_argument("--run", help="run id to write into (default: a new run)")
    a = p.parse_args(argv)
    try:
        site, ok = publish.report([n for n in a.notebooks.split(",") if n], _params(a.param), a.run)
    except publish.PublishError as e:
        print(f"report: {e}", file=sys.stderr)
        return 2
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
