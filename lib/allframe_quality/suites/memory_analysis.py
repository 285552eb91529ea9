"""Memory analysis: one row per probe run, the RSS timeline, bytes per event from a fit, and the PRD's bound
as a check. Reads records only; running lives in memory.py."""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..config.budgets import Budgets
from ..verdict.verdicts import Finding, Verdict

SUITE = "memory"


def scalars(df: pd.DataFrame) -> pd.DataFrame:
    """One row per probe run (backend, payload, N) with its scalar metrics as columns."""
    d = df[(df["status"] == "ok") & ~df["metric"].str.startswith("timeline_")]
    t = d.pivot_table(index=["config", "variant", "item"], columns="metric", values="value", aggfunc="first").reset_index()
    t = t.rename(columns={"config": "backend", "variant": "payload"})
    t["events"] = t["item"].astype(int)
    return t.drop(columns="item").sort_values(["backend", "payload", "events"]).reset_index(drop=True)

def table(sc: pd.DataFrame) -> pd.DataFrame:
    """The per-run table a reader wants: MiB, not bytes, and the columns that answer the questions."""
    mib = lambda c: sc[c] / 2**20 if c in sc else float("nan")
    return pd.DataFrame({
        "backend": sc["backend"], "payload": sc["payload"], "events": sc["events"],
        "used MiB": mib("used_bytes"), "peak RSS MiB (kernel)": mib("peak_rss_bytes"),
        "sampled max MiB": mib("sampled_max_rss_bytes"), "RSS at start MiB": mib("baseline_rss_bytes"),
        "heap peak MiB (dhat)": mib("heap_peak_bytes"),
        "allocations": sc["heap_allocations"] if "heap_allocations" in sc else float("nan"),
        "append s": sc["append_seconds"]})

def timeline(df: pd.DataFrame) -> pd.DataFrame:
    """RSS over time per run: backend, payload, events, t, MiB, phase."""
    d = df[df["metric"].isin(["timeline_rss_bytes", "timeline_t"])]
    t = d.pivot_table(index=["config", "variant", "item", "sample"], columns="metric", values="value", aggfunc="first").reset_index()
    ph = d[d["metric"] == "timeline_t"][["config", "variant", "item", "sample", "detail"]]
    t = t.merge(ph, on=["config", "variant", "item", "sample"])
    return pd.DataFrame({"backend": t["config"], "payload": t["variant"], "events": t["item"].astype(int),
                         "t": t["timeline_t"], "MiB": t["timeline_rss_bytes"] / 2**20, "phase": t["detail"]})

def per_event(df: pd.DataFrame) -> pd.DataFrame:
    """Bytes per event from a least-squares fit of used memory (and heap) against N, per backend and payload."""
    s = scalars(df)
    out = []
    for (backend, payload), g in s.groupby(["backend", "payload"]):
        if len(g) < 2:
            continue
        row = {"backend": backend, "payload": payload, "points": len(g),
               "payload_json_bytes": g["payload_json_bytes"].iloc[0], "payload_mem_bytes": g["payload_mem_bytes"].iloc[0]}
        for metric, name in (("used_bytes", "rss"), ("heap_peak_bytes", "heap")):
            if metric in g and g[metric].notna().sum() >= 2:
                gg = g.dropna(subset=[metric])
                slope, intercept = np.polyfit(gg["events"], gg[metric], 1)
                row[f"{name}_bytes_per_event"] = slope
                row[f"{name}_intercept_bytes"] = intercept
        if "rss_bytes_per_event" in row:
            row["overhead_bytes_per_event"] = row["rss_bytes_per_event"] - row["payload_mem_bytes"]
        out.append(row)
    return pd.DataFrame(out)

def evaluate(df: pd.DataFrame, b: Budgets) -> list[Finding]:
    """The PRD's bound (id memory.bound): memory used for N events (the PRD's small event, memory store) under
    the limit. When the run did not measure that point, the check is "not measured", never passed."""
    lim = b.memory
    what = f"{lim.events:,} {lim.payload} events, {lim.backend} store"
    s = scalars(df) if (df["status"] == "ok").any() else pd.DataFrame(columns=["backend", "payload", "events"])
    hit = s[(s["backend"] == lim.backend) & (s["payload"] == lim.payload) & (s["events"] == lim.events)]
    if hit.empty or "used_bytes" not in hit or hit["used_bytes"].isna().all():
        measured = sorted(set(s["events"])) if len(s) else []
        return [Finding(SUITE, "memory.bound", what, Verdict.NOT_MEASURED, "not measured", limit=lim.limit_mib, unit="MiB",
                        note=f"this run measured {lim.backend}/{lim.payload} at {measured or 'no'} events, not {lim.events:,}")]
    mib = float(hit["used_bytes"].iloc[0]) / b.size.unit_bytes
    over = mib > lim.limit_mib
    return [Finding(SUITE, "memory.bound", what, Verdict.FAIL if over else Verdict.PASS,
                    "over limit" if over else "under limit", mib, None, lim.limit_mib, "MiB")]


def bound_per_event(b: Budgets) -> float:
    """The PRD's memory bound as bytes per event at its event count (the reference other pages draw)."""
    return b.memory.limit_mib * 2**20 / b.memory.events
