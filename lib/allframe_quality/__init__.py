"""allframe-quality: AllFrame's quality lab, as an importable library.

One module per concern; notebooks are thin layers over these:
paths, atomic, procs, metadata, records, budgets, allframe_source, cargo, bloat, size,
charts, gate, publish, cli.
"""

__version__ = "0.1.0"
