"""Where a heap change is: DHAT's program points at both sides grouped by their top user frames (names
normalised by tools/symbols; the allocator's own frames skipped), ranked by |Δ total bytes|, with Δ bytes
at the global peak and Δ blocks beside."""
from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass

import pandas as pd

from ..tools import dhat, symbols

# frames that only say "memory was allocated": the site is the first frame below them
_ALLOCATOR = re.compile(r"^(malloc|calloc|realloc|free|memalign|posix_memalign|aligned_alloc|operator new|\[root\]|__rust_|__rdl_|__rg_"
                        r"|__rustc::|alloc::alloc::|alloc::raw_vec::|<alloc::alloc::Global as |alloc::vec::Vec<T,A>::(reserve|push"
                        r"|extend|with_capacity)|alloc::vec::Vec<T>::with_capacity|<alloc::vec::Vec<T,A> as alloc::vec::spec_"
                        r"|alloc::boxed::Box<T>::new|alloc::string::String::(push|reserve)|hashbrown::raw::|<dhat::Alloc"
                        r"|dhat::|core::ptr::)")
COLUMNS = ["site", "total_a", "total_b", "delta_total", "peak_a", "peak_b", "delta_peak", "blocks_a", "blocks_b",
           "delta_blocks"]


def site(frames: tuple[str, ...], depth: int = 3) -> str:
    names = [symbols.demangle(f) for f in frames]
    user = [n for n in names if not _ALLOCATOR.match(n)]
    return " ← ".join(user[:depth]) if user else (names[-1] if names else "[unknown]")


def by_site(p: dhat.HeapProfile, depth: int = 3) -> dict[str, list[int]]:
    out: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    for pp in p.points:
        s = out[site(pp.frames, depth)]
        s[0] += pp.total_bytes
        s[1] += pp.peak_bytes
        s[2] += pp.total_blocks
    return out


@dataclass
class HeapExplanation:
    total_a: int
    total_b: int
    peak_a: int
    peak_b: int
    rows: pd.DataFrame


def explain(a: dhat.HeapProfile, b: dhat.HeapProfile, depth: int = 3) -> HeapExplanation:
    sa, sb = by_site(a, depth), by_site(b, depth)
    rows = []
    for k in set(sa) | set(sb):
        x, y = sa.get(k, [0, 0, 0]), sb.get(k, [0, 0, 0])
        if x != y:
            rows.append(dict(site=k, total_a=x[0], total_b=y[0], delta_total=y[0] - x[0], peak_a=x[1], peak_b=y[1],
                             delta_peak=y[1] - x[1], blocks_a=x[2], blocks_b=y[2], delta_blocks=y[2] - x[2]))
    df = pd.DataFrame(rows, columns=COLUMNS)
    if not df.empty:
        df = (df.assign(_a=df["delta_total"].abs(), _p=df["delta_peak"].abs())
              .sort_values(["_a", "_p", "site"], ascending=[False, False, True]).drop(columns=["_a", "_p"]).reset_index(drop=True))
    peak = lambda p: sum(pp.peak_bytes for pp in p.points)
    return HeapExplanation(a.total_bytes, b.total_bytes, peak(a), peak(b), df)
