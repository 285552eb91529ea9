"""Where a size change is: every function and data symbol of two unstripped executables, names normalised
(tools/symbols), every loaded byte charged to a name (tools/symbol_sizes), ranked by |Δ bytes|, with a
bloat-o-meter header, crate totals, and the file-size Δ the rows leave split by section: the rest of each
loaded section (padding between symbols, unattributed data), the sections not loaded (.symtab, .strtab: the
names) and the headers.
"""
from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ..tools import symbol_sizes
from ..tools.symbol_sizes import Attributed
from ..tools.symbols import Elf


@dataclass
class SizeExplanation:
    before_path: Path
    after_path: Path
    file_before: int
    file_after: int
    rows: pd.DataFrame                 # COLUMNS, changed rows only, by |delta|
    crates: pd.DataFrame               # crate, before, after, delta
    rest: pd.DataFrame                 # part, before, after, delta: what the rows do not explain
    seconds: float = 0.0

    @property
    def file_delta(self) -> int:
        return self.file_after - self.file_before

    @property
    def explained(self) -> int:
        return int(self.rows["delta"].sum()) if not self.rows.empty else 0

    def header(self) -> str:
        """bloat-o-meter's first line: add/remove: a/r grow/shrink: g/s up/down: +u/-d (net)."""
        r = self.rows
        add = int(((r["before"] == 0) & (r["after"] > 0)).sum())
        rem = int(((r["after"] == 0) & (r["before"] > 0)).sum())
        both = r[(r["before"] > 0) & (r["after"] > 0)]
        up, down = int(r.loc[r["delta"] > 0, "delta"].sum()), int(r.loc[r["delta"] < 0, "delta"].sum())
        return (f"add/remove: {add}/{rem} grow/shrink: {int((both['delta'] > 0).sum())}/{int((both['delta'] < 0).sum())} "
                f"up/down: {up:+,}/{down:+,} ({up + down:+,})")

    def share(self, delta: float) -> float:
        return delta / self.file_delta if self.file_delta else float("nan")


def _rest(ea: Elf, eb: Elf, a: Attributed, b: Attributed) -> pd.DataFrame:
    """The file-size Δ the rows leave: per section (its size less what the rows hold: padding between
    symbols, unattributed data), the sections not loaded at run time, and the headers."""
    def parts(e: Elf, at: Attributed) -> dict[str, int]:
        d: dict[str, int] = defaultdict(int)
        in_file = 0
        for s in e.sections:
            if not s.in_file:
                continue
            in_file += s.size
            if s.alloc:
                d[f"{s.name}: padding and unattributed"] += s.size - at.in_section.get(s.name, 0)
            else:
                d[f"{s.name} (not loaded)"] += s.size
        for s in e.sections:       # NOBITS sections take no file bytes: their symbols are counted by the rows
            if not s.in_file:
                d[f"{s.name}: in the rows but not in the file"] -= at.in_section.get(s.name, 0)
        d["ELF headers and alignment between sections"] += e.file_size - in_file
        return d
    pa, pb = parts(ea, a), parts(eb, b)
    rows = [dict(part=k, before=pa.get(k, 0), after=pb.get(k, 0), delta=pb.get(k, 0) - pa.get(k, 0)) for k in set(pa) | set(pb)]
    df = pd.DataFrame(rows, columns=["part", "before", "after", "delta"])
    df = df[df["delta"] != 0]
    return df.assign(_abs=df["delta"].abs()).sort_values(["_abs", "part"], ascending=[False, True]).drop(columns="_abs").reset_index(drop=True)


def explain(before: Path, after: Path) -> SizeExplanation:
    """The size explanation of `after` against `before` (two unstripped executables)."""
    started = time.monotonic()
    ea, a = symbol_sizes.sizes(Path(before))
    eb, b = symbol_sizes.sizes(Path(after))
    rows = symbol_sizes.diff(symbol_sizes.as_rows(a), symbol_sizes.as_rows(b))
    totals: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for i, at in enumerate((a, b)):
        for (k, _), n in at.bytes.items():
            totals[k.crate][i] += n
    crates = pd.DataFrame([dict(crate=c, before=x, after=y, delta=y - x) for c, (x, y) in totals.items() if x != y],
                          columns=["crate", "before", "after", "delta"])
    crates = (crates.assign(_abs=crates["delta"].abs()).sort_values(["_abs", "crate"], ascending=[False, True])
              .drop(columns="_abs").reset_index(drop=True))
    return SizeExplanation(ea.path, eb.path, ea.file_size, eb.file_size, rows, crates, _rest(ea, eb, a, b),
                           time.monotonic() - started)
