"""The lab's suites: the one list every other list derives from — the report's pages and their order, the
gate's evaluators, the A/B suites, the history's tracked suites, and quality.toml's schema (its enums).

Data only, at the bottom of the layers, so config/ (the schema) and tools/ can read it as well as suites/.
A new suite adds one entry here, its runner and `*_analysis` module under suites/, and its notebook.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Suite:
    name: str             # the suite's records, notebook (notebooks/<name>.ipynb) and page (<name>.html)
    title: str            # the page's title
    measures: bool = True  # False: the page reads the history only (trends): no run of its own
    ab: bool = False      # `make ab` / `make pr-check` can measure it on two sides, interleaved
    analysis: str = ""    # suites/<analysis>.py holds SUITE and evaluate(records, budgets) (the gate's checks)


# Page order. micro runs before cqrs and memory: their pages draw AllFrame's peers from this run's micro records.
SUITES: tuple[Suite, ...] = (
    Suite("size", "Binary size", ab=True, analysis="size_analysis"),
    Suite("throughput", "Throughput (TechEmpower tests)", analysis="throughput_analysis"),
    Suite("micro", "Micro-benchmarks side by side", analysis="micro_analysis"),
    Suite("cqrs", "CQRS micro-benchmarks", ab=True, analysis="cqrs_analysis"),
    Suite("memory", "Event-store memory", ab=True, analysis="memory_analysis"),
    Suite("demos", "Demos: the PRD's five applications", analysis="demos_analysis"),
    Suite("releases", "Releases: every published allframe-core", analysis="releases_analysis"),
    Suite("coverage", "AllFrame's test coverage", analysis="coverage_analysis"),
    Suite("trends", "Trends and regressions", measures=False),
)
BY_NAME = {s.name: s for s in SUITES}
PAGES = {s.name: s.title for s in SUITES}                        # every notebook, in page order
MEASURING = tuple(s.name for s in SUITES if s.measures)          # the suites that write records
AB_SUITES = tuple(s.name for s in SUITES if s.ab)

# Choice lists a suite and quality.toml's schema share (the suites import them from here).
THROUGHPUT_FRAMEWORKS = ("allframe", "axum", "actix", "hyper")
THROUGHPUT_PEERS = tuple(f for f in THROUGHPUT_FRAMEWORKS if f != "allframe")
TFB_TESTS = ("json", "plaintext", "db", "queries", "fortunes", "updates")   # TechEmpower's six
MEMORY_PAYLOADS = ("small", "order")
MEMORY_BACKENDS = ("memory", "sqlite")
SIZE_METRICS = ("file_bytes", "stripped_bytes")                  # what [size].gated_metric may name
