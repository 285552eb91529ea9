"""Every byte of an executable's loaded sections charged to a normalised name (tools/symbols), and the
difference of two such tables: the size explanation's rows.

Named symbols come from the symbol table; aliases (one address and size under several names: identical
code folded, GLOBAL and LOCAL) count once, duplicates of one name (monomorphisations, rebuilt copies) are
summed with their number of copies. Anonymous data (rustc's `anon.<hash>.N` constants and the unnamed bytes
between symbols of .rodata, .data.rel.ro, .data, .tdata, .bss: strings, tables, panic locations) is cut at
every address something points to, and each piece is charged to what points to it: the function whose code
loads it (a RIP-relative operand in `objdump -d`) or the data holding a pointer to it (a RELATIVE
relocation), followed through chains of anonymous data. A row `f [data]` is data that `f` reaches (the first
by name when several do); `d [relocations]` the .rela.dyn entries of the pointers `d` holds; `f [unwind]`
f's .eh_frame record and .eh_frame_hdr entry. What nothing
points to stays out of the rows ("unattributed" in its section).
"""
from __future__ import annotations

import bisect
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from .symbols import AddressMap, Elf, Key, Symbol, code_references, key, read, unwind_entries

DATA_SECTIONS = (".rodata", ".data.rel.ro", ".data", ".tdata", ".bss", ".tbss")


@dataclass
class Attributed:
    """One executable's bytes by (key, kind): kind is function, data, or `data` reached from a symbol."""
    bytes: dict[tuple[Key, str], int] = field(default_factory=lambda: defaultdict(int))
    copies: dict[tuple[Key, str], int] = field(default_factory=lambda: defaultdict(int))
    section_of: dict[tuple[Key, str], str] = field(default_factory=dict)
    in_section: dict[str, int] = field(default_factory=lambda: defaultdict(int))      # bytes attributed per section


def _kind(s: Symbol) -> str:
    return "function" if s.type == "FUNC" or s.section == ".text" else "data"


def attribute(elf: Elf, code_refs: list[tuple[int, int]], unwind: list[tuple[int, int]] = ()) -> Attributed:
    out = Attributed()
    named = [s for s in elf.symbols if not s.anonymous]
    by_span: dict[tuple[int, int], list[Symbol]] = defaultdict(list)
    for s in named:
        by_span[(s.address, s.size)].append(s)
    keys_at: dict[tuple[int, int], Key] = {}
    for span, syms in by_span.items():          # aliases (identical code folded, GLOBAL and LOCAL) count once
        s = min(syms, key=lambda x: key(x.raw))
        k = key(s.raw)
        keys_at[span] = k
        kk = (k, _kind(s))
        out.bytes[kk] += s.size
        out.copies[kk] += 1
        out.section_of.setdefault(kk, s.section)
        out.in_section[s.section] += s.size
    amap = AddressMap(named)

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
    # a pointer stored in data costs its dynamic relocation too (position-independent executables): each
    # RELATIVE entry of .rela.dyn charged to the data that holds the pointer
    rela = next((s for s in elf.sections if s.name == ".rela.dyn"), None)
    entry = 24 if rela is not None else 0         # Elf64_Rela
    for where, _ in elf.relative_relocations if entry else ():
        k = owner_of(where)
        if k is None:
            q = piece_at(where)
            k = owner.get(q) if q is not None else None
        if k is not None:
            kk = (k, "relocations")
            out.bytes[kk] += entry
            out.copies[kk] = max(out.copies[kk], 1)
            out.section_of.setdefault(kk, ".rela.dyn")
            out.in_section[".rela.dyn"] += entry
    # a function's unwind information: its .eh_frame record (FDE) and its 8-byte .eh_frame_hdr entry
    hdr = 8 if any(s.name == ".eh_frame_hdr" for s in elf.sections) else 0
    for start, size in unwind:
        k = owner_of(start)
        if k is None:
            continue
        kk = (k, "unwind")
        out.bytes[kk] += size + hdr
        out.copies[kk] = max(out.copies[kk], 1)
        out.section_of.setdefault(kk, ".eh_frame")
        out.in_section[".eh_frame"] += size
        out.in_section[".eh_frame_hdr"] += hdr
    return out


def sizes(path: Path) -> tuple[Elf, Attributed]:
    """An executable read and its bytes attributed to names (see attribute)."""
    elf = read(path)
    return elf, attribute(elf, code_references(elf.path), unwind_entries(elf.path))


VERSION = 3      # of the attribution: rows kept (a cache) under another version are measured again
COLUMNS = ["crate", "name", "kind", "section", "before", "after", "delta", "copies_before", "copies_after"]


def as_rows(at: Attributed) -> list[dict]:
    """One row per (name, kind): crate, name, kind, section, bytes, copies (what a cache or a record keeps)."""
    return [dict(crate=k.crate, name=k.path + {"data reached": " [data]", "relocations": " [relocations]", "unwind": " [unwind]"}.get(kind, ""), kind=kind,
                 section=at.section_of.get((k, kind), ""), bytes=int(n), copies=int(at.copies.get((k, kind), 0)))
            for (k, kind), n in sorted(at.bytes.items())]


def diff(a: list[dict], b: list[dict]) -> pd.DataFrame:
    """Rows of two executables (as_rows) -> every (name, kind) whose bytes or copies changed, by |Δ bytes|."""
    ia = {(r["name"], r["kind"]): r for r in a}
    ib = {(r["name"], r["kind"]): r for r in b}
    rows = []
    for k in set(ia) | set(ib):
        x, y = ia.get(k), ib.get(k)
        bx, by = (x or {}).get("bytes", 0), (y or {}).get("bytes", 0)
        cx, cy = (x or {}).get("copies", 0), (y or {}).get("copies", 0)
        if bx != by or cx != cy:
            r = y or x
            rows.append(dict(crate=r["crate"], name=r["name"], kind=r["kind"], section=r["section"], before=bx, after=by,
                             delta=by - bx, copies_before=cx, copies_after=cy))
    df = pd.DataFrame(rows, columns=COLUMNS)
    if df.empty:
        return df.astype({"before": "int64", "after": "int64", "delta": "int64"})
    return (df.assign(_abs=df["delta"].abs()).sort_values(["_abs", "name"], ascending=[False, True])
            .drop(columns="_abs").reset_index(drop=True))
