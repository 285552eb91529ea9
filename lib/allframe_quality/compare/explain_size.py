"""Where a size change is: every function and data symbol of two unstripped executables, names normalised
(tools/symbols), duplicates summed with their number of copies, ranked by |Δ bytes|.

Named symbols come from the symbol table. Anonymous data (rustc's `anon.<hash>.N` constants and the unnamed
bytes between symbols of .rodata, .data.rel.ro, .data, .tdata, .bss: strings, tables, panic locations) is
cut at every address something points to, and each piece is charged to what points to it: the function whose
code loads it (a RIP-relative operand in `objdump -d`) or the data holding a pointer to it (a RELATIVE
relocation), followed through chains of anonymous data. A row `f [data]` is data only `f` reaches. What no
one points to stays "unattributed" in its section. The file-size Δ is then split: the rows, the rest of
each section (padding, unattributed), the sections that are not loaded (.symtab, .strtab: the names) and
the headers.
"""
from __future__ import annotations

import bisect
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from ..tools import symbols
from ..tools.symbols import Elf, Key

DATA_SECTIONS = (".rodata", ".data.rel.ro", ".data", ".tdata", ".bss", ".tbss")
COLUMNS = ["crate", "name", "kind", "section", "before", "after", "delta", "copies_before", "copies_after"]


@dataclass
class Attributed:
    """One executable's bytes by (key, kind): kind is function, data, or `data` reached from a symbol."""
    bytes: dict[tuple[Key, str], int] = field(default_factory=lambda: defaultdict(int))
    copies: dict[tuple[Key, str], int] = field(default_factory=lambda: defaultdict(int))
    section_of: dict[tuple[Key, str], str] = field(default_factory=dict)
    in_section: dict[str, int] = field(default_factory=lambda: defaultdict(int))      # bytes attributed per section


def _kind(s: symbols.Symbol) -> str:
    return "function" if s.type == "FUNC" or s.section == ".text" else "data"


def attribute(elf: Elf, code_refs: list[tuple[int, int]]) -> Attributed:
    out = Attributed()
    named = [s for s in elf.symbols if not s.anonymous]
    by_span: dict[tuple[int, int], list[symbols.Symbol]] = defaultdict(list)
    for s in named:
        by_span[(s.address, s.size)].append(s)
    keys_at: dict[tuple[int, int], Key] = {}
    for span, syms in by_span.items():          # aliases (identical code folded, GLOBAL and LOCAL) count once
        s = min(syms, key=lambda x: symbols.key(x.raw))
        k = symbols.key(s.raw)
        keys_at[span] = k
        kk = (k, _kind(s))
        out.bytes[kk] += s.size
        out.copies[kk] += 1
        out.section_of.setdefault(kk, s.section)
        out.in_section[s.section] += s.size
    amap = symbols.AddressMap(named)

    def owner_of(addr: int) -> Key | None:
        s = amap.at(addr)
        return keys_at[(s.address, s.size)] if s else None

    # the anonymous pieces: gaps between named symbols of the data sections, cut at every address pointed to
    targets = sorted({t for _, t in code_refs} | {t for _, t in elf.relative_relocations})
    pieces: list[tuple[int, int, str]] = []
    for sec in elf.sections:
        if sec.name not in DATA_SECTIONS or sec.size == 0:
            continue
        lo, hi = sec.address, sec.address + sec.size
        spans = sorted((s.address, s.address + s.size) for s in named if s.section == sec.name)
        at = lo
        gaps = []
        for a, b in spans:
            if a > at:
                gaps.append((at, a))
            at = max(at, b)
        if at < hi:
            gaps.append((at, hi))
        for a, b in gaps:
            cuts = [a] + [t for t in targets[bisect.bisect_right(targets, a):bisect.bisect_left(targets, b)]] + [b]
            pieces += [(x, y, sec.name) for x, y in zip(cuts, cuts[1:]) if y > x]
    starts = [p[0] for p in pieces]

    def piece_at(addr: int) -> int | None:
        i = bisect.bisect_right(starts, addr) - 1
        return i if i >= 0 and pieces[i][0] <= addr < pieces[i][1] else None

    # who points at each piece: functions by their code, data by its pointers, pieces by pieces (a chain)
    direct: dict[int, set[Key]] = defaultdict(set)
    via: dict[int, set[int]] = defaultdict(set)
    for src, dst in [*code_refs, *elf.relative_relocations]:
        p = piece_at(dst)
        if p is None or pieces[p][0] != dst:
            continue
        k = owner_of(src)
        if k is not None:
            direct[p].add(k)
        else:
            q = piece_at(src)
            if q is not None and q != p:
                via[p].add(q)
    owner: dict[int, Key] = {p: min(ks) for p, ks in direct.items()}
    for _ in range(8):                           # follow chains of anonymous data (a Location -> its file name)
        grew = False
        for p, qs in via.items():
            if p in owner:
                continue
            ks = [owner[q] for q in qs if q in owner]
            if ks:
                owner[p], grew = min(ks), True
        if not grew:
            break
    for i, (a, b, sec) in enumerate(pieces):
        if i in owner:
            kk = (owner[i], "data reached")
            out.bytes[kk] += b - a
            out.copies[kk] = max(out.copies[kk], 1)
            out.section_of.setdefault(kk, sec)
            out.in_section[sec] += b - a
    return out


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


def _table(a: Attributed, b: Attributed) -> pd.DataFrame:
    rows = []
    for kk in set(a.bytes) | set(b.bytes):
        k, kind = kk
        x, y = a.bytes.get(kk, 0), b.bytes.get(kk, 0)
        ca, cb = a.copies.get(kk, 0), b.copies.get(kk, 0)
        if x != y or ca != cb:
            rows.append(dict(crate=k.crate, name=k.path + (" [data]" if kind == "data reached" else ""), kind=kind,
                             section=b.section_of.get(kk) or a.section_of.get(kk), before=x, after=y, delta=y - x,
                             copies_before=ca, copies_after=cb))
    df = pd.DataFrame(rows, columns=COLUMNS)
    if df.empty:
        return df.astype({"before": "int64", "after": "int64", "delta": "int64"})
    return (df.assign(_abs=df["delta"].abs()).sort_values(["_abs", "name"], ascending=[False, True])
            .drop(columns="_abs").reset_index(drop=True))


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
    import time
    started = time.monotonic()
    ea, eb = symbols.read(Path(before)), symbols.read(Path(after))
    a = attribute(ea, symbols.code_references(ea.path))
    b = attribute(eb, symbols.code_references(eb.path))
    rows = _table(a, b)
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
