"""allframe-quality: AllFrame's quality lab, as an importable library.

Layers, each a sub-package, depending downward only (a test with import-linter keeps it so):
  commands/  the command line (thin wrappers over the layers below)
  compare/   A/B, the PR check, bisect
  alerts/    the webhook and the email alert
  report/    publishing the site, the chart vocabulary, badges, trends, templates
  suites/    the suite contract and each suite's runner and analysis, and the gate over all of them
  verdict/   the verdict model, statistics, shares, the history, regression detection
  tools/     one driver per real tool (cargo, cargo-bloat, callgrind, criterion, wrk, libtest, PostgreSQL, ...)
  config/    quality.toml and its schema
  core/      paths, atomic writes, child processes, run metadata, the record schema, parameters, the registry
"""

__version__ = "0.1.0"
