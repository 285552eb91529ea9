"""Micro-benchmarks side by side: tables, AllFrame's ratio to the best peer, checks and charts, from records only.

A ratio is AllFrame over the best peer *measured in the same run*: speed (ops/s, > 1 = AllFrame faster,
its interval a bootstrap over the rounds, each round pairing the two libraries' process means),
instructions and bytes per event (< 1 = AllFrame cheaper). Running lives in micro.py.
"""
from __future__ import annotations

from dataclasses import dataclass

import altair as alt
import pandas as pd

from ..core import records
from ..verdict import stats
from ..config.budgets import Budgets
from ..core.records import headline
from ..verdict.verdicts import Finding, Verdict

SUITE = "micro"


# The catalogue of operations, each with the libraries that implement it (the runner and this analysis read it).
@dataclass(frozen=True)
class Operation:
    config: str               # the operation as the report groups it
    variant: str              # its level or store
    libraries: tuple[str, ...]
    callgrind_n: tuple[int, int]
    prd: str | None = None    # the [cqrs.operations] entry whose PRD target is drawn as reference


OPERATIONS = {
    "decide": Operation("decide", "pure decision", ("allframe", "cqrs-es"), (200, 2200), "command_dispatch"),
    "end_to_end_memory": Operation("end_to_end", "memory", ("allframe", "cqrs-es"), (200, 2200)),
    "append_memory": Operation("append", "memory", ("allframe", "cqrs-es"), (200, 2200), "event_append_memory"),
    "append_sqlite": Operation("append", "sqlite", ("allframe", "sqlite-es"), (20, 220), "event_append_sqlite"),
    # two multiples of the crates' REPLAY_CHUNK: the same store is built at both counts, so set-up cancels
    "projection_update": Operation("projection_update", "memory", ("allframe", "cqrs-es"), (10_000, 30_000),
                                   "projection_update"),
    "replay": Operation("replay", "memory", ("allframe", "cqrs-es"), (10_000, 30_000)),
    # AllFrame has no PostgreSQL store (NO_ALLFRAME_POSTGRES): a not-measured row stands in its place
    "end_to_end_postgres": Operation("end_to_end", "postgres", ("esrs",), (20, 220)),
    "append_postgres": Operation("append", "postgres", ("esrs",), (20, 220)),
    "saga_2step": Operation("saga", "2 steps", ("allframe", "handwritten"), (200, 2200), "saga_2step"),
    "saga_compensation": Operation("saga", "compensation", ("allframe", "handwritten"), (200, 2200)),
    "route_name_10": Operation("route", "by name, 10 routes", ("allframe",), (1000, 11000)),
    "route_name_100": Operation("route", "by name, 100 routes", ("allframe",), (1000, 11000)),
    "route_path_10": Operation("route", "by path, 10 routes", ("allframe", "axum", "matchit"), (1000, 11000)),
    "route_path_100": Operation("route", "by path, 100 routes", ("allframe", "axum", "matchit"), (1000, 11000)),
    "json_small": Operation("serialization", "small", ("allframe", "serde_json"), (1000, 11000)),
    "json_order": Operation("serialization", "order", ("allframe", "serde_json"), (1000, 11000)),
}
COLORS = {"allframe": "#2f6fdf", "cqrs-es": "#e07b39", "sqlite-es": "#b5651d", "esrs": "#3aa876", "handwritten": "#7a5cc7",
          "axum": "#c94c6d", "matchit": "#8c6d31", "serde_json": "#555555", "disintegrate": "#17becf"}
# The operations the CQRS and memory pages show beside their own figures.
CQRS_CONFIGS = ("decide", "end_to_end", "append", "projection_update", "replay", "saga")
MEMORY_CONFIGS = ("memory_store", "projection_memory")
RATIOS = {"ratio_to_best": "ns_per_op", "instructions_ratio_to_best": "instructions_per_op",
          "bytes_ratio_to_best": "bytes_per_event"}


def _ok(df: pd.DataFrame, metric: str) -> pd.DataFrame:
    return df[(df["metric"] == metric) & (df["status"] == "ok")]


def _paired_speed(df: pd.DataFrame, key: tuple, peer: str) -> tuple[float, float, float, str]:
    """AllFrame's ops/s over the peer's: the ratio of means, with a bootstrap over rounds of paired process means."""
    config, variant = key
    proc = _ok(df, "ns_per_op_process")
    proc = proc[(proc["config"] == config) & (proc["variant"] == variant)]
    a = proc[proc["subject"] == "allframe"].set_index("sample")["value"]
    p = proc[proc["subject"] == peer].set_index("sample")["value"]
    rounds = sorted(set(a.index) & set(p.index))
    if len(rounds) >= 2:
        a, p = a.loc[rounds].to_numpy(float), p.loc[rounds].to_numpy(float)
        lo, hi = stats.ratio_interval(p, a)
        return float(p.mean() / a.mean()), lo, hi, f"bootstrap 95% over {len(rounds)} paired rounds"
    ns = _ok(df, "ns_per_op")
    ns = ns[(ns["config"] == config) & (ns["variant"] == variant)].set_index("subject")
    af, pe = ns.loc["allframe"], ns.loc[peer]
    return float(pe["value"] / af["value"]), float(pe["lo"] / af["hi"]), float(pe["hi"] / af["lo"]), \
        "from criterion's intervals within one process"


def ratio_rows(df: pd.DataFrame) -> list[dict]:
    """AllFrame's ratio to the best peer per (operation, variant[, events]), as records of subject allframe."""
    out: list[dict] = []
    if df.empty:
        return out
    df = df.copy()
    df["item"] = df["item"].fillna("").astype(str)
    for metric, source in RATIOS.items():
        ok = _ok(df, source)
        for (config, variant, item), g in ok.groupby(["config", "variant", "item"]):
            mine, best = g[g["subject"] == "allframe"], _best_peer(g)
            if mine.empty or best is None or best["value"] <= 0:   # no ratio to a zero; the row itself shows it
                continue
            base = dict(suite=SUITE, subject="allframe", config=config, variant=variant, item=item, metric=metric)
            if metric == "ratio_to_best":
                v, lo, hi, how = _paired_speed(df, (config, variant), best["subject"])
                out.append(records.record(**base, unit="×", value=v, lo=lo, hi=hi,
                                          detail=f"AllFrame ops/s ÷ {best['subject']}'s (the fastest peer); {how}"))
            else:
                v = float(mine["value"].iloc[0]) / float(best["value"])
                out.append(records.record(**base, unit="×", value=v,
                                          detail=f"AllFrame ÷ {best['subject']} (the cheapest peer)"))
    return out


def table(df: pd.DataFrame, b: Budgets | None = None) -> pd.DataFrame:
    """Operation × library: ops/s with its interval, ns/op, instructions/op, bytes/event; the PRD target where one applies."""
    prd = {(o.config, o.variant): o.prd for o in OPERATIONS.values() if o.prd}
    rows = []
    keys = df[df["config"].isin({o.config for o in OPERATIONS.values()} | set(MEMORY_CONFIGS))]
    for (config, variant, lib), g in keys.groupby(["config", "variant", "subject"], sort=False):
        ops, ins, mem = _ok(g, "ops_per_s"), _ok(g, "instructions_per_op"), _ok(g, "bytes_per_event")
        failed = g[g["status"] != "ok"]
        target = None
        if b is not None and (config, variant) in prd and prd[(config, variant)] in b.cqrs.operations:
            target = b.cqrs.operations[prd[(config, variant)]].target_ops
        rows.append({
            "operation": config, "variant": variant, "library": lib,
            "ops/s": float(ops["value"].iloc[0]) if len(ops) else None,
            "ops/s lo": float(ops["lo"].iloc[0]) if len(ops) else None,
            "ops/s hi": float(ops["hi"].iloc[0]) if len(ops) else None,
            "ns/op": 1e9 / float(ops["value"].iloc[0]) if len(ops) else None,
            "instructions/op": float(ins["value"].iloc[0]) if len(ins) else None,
            "bytes/event": float(mem["value"].iloc[-1]) if len(mem) else None,
            "events": mem["item"].iloc[-1] if len(mem) else "",
            "PRD target ops/s": target,
            "failed": ("not measured: " if failed["status"].iloc[0] == "not_measured" else "")
                      + headline(failed["detail"].iloc[0]) if len(failed) else ""})
    return pd.DataFrame(rows)


def _best_peer(g: pd.DataFrame):
    """The peer a ratio is taken to: the one with the fewest ns, instructions or bytes in that group (None: no peer)."""
    peers = g[g["subject"] != "allframe"]
    return None if peers.empty else peers.loc[peers["value"].idxmin()]


def ratios(df: pd.DataFrame) -> pd.DataFrame:
    """AllFrame's ratio to the best peer, one row per operation: speed (with interval), instructions, bytes."""
    r = df[df["metric"].isin(list(RATIOS)) & (df["subject"] == "allframe")]
    rows = {}
    for x in r.to_dict("records"):
        row = rows.setdefault((x["config"], x["variant"], x["item"] or ""), {
            "operation": x["config"], "variant": x["variant"], "events": x["item"] or ""})
        name = {"ratio_to_best": "speed ×", "instructions_ratio_to_best": "instructions ×",
                "bytes_ratio_to_best": "bytes/event ×"}[x["metric"]]
        row[name] = x["value"]
        if x["metric"] == "ratio_to_best":
            row["speed lo"], row["speed hi"] = x["lo"], x["hi"]
        if "best peer" not in row:
            src = _ok(df, RATIOS[x["metric"]])
            best = _best_peer(src[(src["config"] == x["config"]) & (src["variant"] == x["variant"])
                                  & (src["item"].fillna("").astype(str) == (x["item"] or ""))])
            row["best peer"] = "" if best is None else best["subject"]
    return pd.DataFrame(list(rows.values()))


def latest(run_id: str | None = None) -> tuple[str, pd.DataFrame] | None:
    """The micro records another page shows: this run's if it has them, else the latest micro run's; None when
    no micro run exists yet."""
    if run_id and (records.run_dir(run_id) / f"{SUITE}.parquet").exists():
        return run_id, records.load_records(run_id, SUITE)
    runs = records.list_runs(SUITE)
    return (runs[-1], records.load_records(runs[-1], SUITE)) if runs else None


def beside(df: pd.DataFrame, configs: tuple[str, ...], b: Budgets | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """AllFrame's ratios to the best peer and the operation × library table, for these operations only."""
    r, t = ratios(df), table(df, b)
    # empty frames keep the columns the pages read, so "nothing measured" is a check, not a KeyError
    r = r.reindex(columns=list(dict.fromkeys([*r.columns, "operation", "speed ×", "instructions ×", "bytes/event ×"])))
    t = t.reindex(columns=list(dict.fromkeys([*t.columns, "operation", "ops/s", "instructions/op", "bytes/event"])))
    return r[r["operation"].isin(configs)], t[t["operation"].isin(configs)]


def ratio_style(r: pd.DataFrame):
    return r.style.format({"speed ×": "{:.2f}", "speed lo": "{:.2f}", "speed hi": "{:.2f}", "instructions ×": "{:.2f}",
                           "bytes/event ×": "{:.2f}"}, na_rep="—").hide(axis="index")


def projection_sweep(df: pd.DataFrame) -> pd.DataFrame:
    """Bytes per event of AllFrame's event store and of one projection rebuilt over it, per event count."""
    d = _ok(df[df["config"] == "projection_memory"], "bytes_per_event")
    return pd.DataFrame({"events": d["item"].astype(int), "part": d["variant"], "bytes/event": d["value"].astype(float)}
                        ).sort_values(["part", "events"]).reset_index(drop=True)


def backends_table(df: pd.DataFrame) -> pd.DataFrame:
    """AllFrame's AllSource-based backends: build time, binary size, append speed and instructions, or why not."""
    d = df[df["config"] == "backend"]
    rows = []
    for name, g in d.groupby("variant", sort=False):
        def val(item, metric):
            x = _ok(g[g["item"] == item], metric)
            return float(x["value"].iloc[0]) if len(x) else None
        failed = g[g["status"] != "ok"]
        named = g[(g["metric"] == "accepted") & (g["status"] == "ok")]
        rows.append({"backend": name, "build s": val("build", "build_seconds"), "binary MB": (val("binary", "file_bytes") or 0) / 1e6 or None,
                     "append memory ops/s": val("append_memory", "ops_per_s"),
                     "append memory instructions": val("append_memory", "instructions_per_op"),
                     "append parquet ops/s": val("append_parquet", "ops_per_s"),
                     "append parquet instructions": val("append_parquet", "instructions_per_op"),
                     "default event type name": "" if named.empty else "✅ accepted" if named["value"].iloc[0] == 1
                     else "❌ " + headline(named["detail"].iloc[0]),
                     "failed": ("not measured: " if failed["status"].iloc[0] == "not_measured" else "")
                      + headline(failed["detail"].iloc[0]) if len(failed) else ""})
    return pd.DataFrame(rows)


def fairness(df: pd.DataFrame) -> pd.DataFrame:
    """Did each library's scenario give AllFrame's events, rejections and read model?"""
    s = df[(df["config"] == "scenario") & (df["metric"] == "same_outcome")]
    return pd.DataFrame([{"library": x["subject"], "same outcome as AllFrame": "✅ yes" if x["status"] == "ok" and x["value"] == 1
                          else "❌ no", "detail": x["detail"]} for x in s.to_dict("records")])


def evaluate(df: pd.DataFrame, b: Budgets) -> list[Finding]:
    """AllFrame's speed ratio to the best peer per operation, informational: the PRD sets no minimum ratio
    against these peers. Failed rows (builds, runs, a scenario that differs) fail through suite.failure_findings."""
    out = []
    for x in df[(df["metric"] == "ratio_to_best") & (df["status"] == "ok")].to_dict("records"):
        what = f"AllFrame vs the best peer: {x['config']} ({x['variant']})"
        out.append(Finding(SUITE, f"micro.{x['config']}.{x['variant']}".replace(" ", "_"), what, Verdict.INFO,
                           f"{x['value']:.2f}× the best peer's ops/s", x["value"], unit="×", note=x["detail"]))
    return out


# ---- charts -------------------------------------------------------------------------------------------------

def _color() -> alt.Color:
    return alt.Color("library:N", title="library", scale=alt.Scale(domain=list(COLORS), range=list(COLORS.values())))


def speed_chart(t: pd.DataFrame, subtitle: str) -> alt.LayerChart:
    """ops/s per library and operation (log scale) with whiskers; the PRD target (amber tick) as reference."""
    d = t.dropna(subset=["ops/s"]).copy()
    d["row"] = d["operation"] + " · " + d["variant"]
    y = alt.Y("row:N", title=None, sort=list(dict.fromkeys(d["row"])))
    yo = alt.YOffset("library:N")
    x = alt.X("ops/s:Q", title="operations per second (log scale)", scale=alt.Scale(type="log"))
    tips = ["row", "library", alt.Tooltip("ops/s:Q", format=",.0f"), alt.Tooltip("ns/op:Q", format=",.1f"),
            alt.Tooltip("instructions/op:Q", format=",.0f")]
    dots = alt.Chart(d).mark_circle(size=70, opacity=1).encode(x=x, y=y, yOffset=yo, color=_color(), tooltip=tips)
    whiskers = alt.Chart(d).mark_rule(strokeWidth=2).encode(x="ops/s lo:Q", x2="ops/s hi:Q", y=y, yOffset=yo, color=_color())
    target = alt.Chart(d.dropna(subset=["PRD target ops/s"]).drop_duplicates("row")).mark_tick(
        thickness=3, size=30, color="#e0a526").encode(x="PRD target ops/s:Q", y=y, tooltip=["row", "PRD target ops/s"])
    return (target + whiskers + dots).properties(width=640, height=max(160, 26 * len(d)),
                                                 title=alt.TitleParams("AllFrame beside its peers: operations per second (amber: the PRD's target)",
                                                                       subtitle=subtitle))


def instructions_chart(t: pd.DataFrame, subtitle: str) -> alt.Chart:
    d = t.dropna(subset=["instructions/op"]).copy()
    d["row"] = d["operation"] + " · " + d["variant"]
    return alt.Chart(d).mark_bar(height=10).encode(
        x=alt.X("instructions/op:Q", title="instructions per operation (callgrind, log scale)", scale=alt.Scale(type="log")),
        y=alt.Y("row:N", title=None, sort=list(dict.fromkeys(d["row"]))), yOffset="library:N", color=_color(),
        tooltip=["row", "library", alt.Tooltip("instructions/op:Q", format=",.0f")]).properties(
        width=640, title=alt.TitleParams("Instructions per operation: exact, the same on a busy machine", subtitle=subtitle))


def ratio_chart(r: pd.DataFrame, subtitle: str) -> alt.LayerChart:
    """AllFrame's speed over the best peer's per operation (log scale): right of 1 = AllFrame faster."""
    d = r.dropna(subset=["speed ×"]).copy()
    d["row"] = d["operation"] + " · " + d["variant"]
    y = alt.Y("row:N", title=None, sort=list(d["row"]))
    x = alt.X("speed ×:Q", title="AllFrame's ops/s ÷ the best peer's (log scale; > 1: AllFrame faster)", scale=alt.Scale(type="log"))
    dots = alt.Chart(d).mark_circle(size=90, color=COLORS["allframe"], opacity=1).encode(
        x=x, y=y, tooltip=["row", "best peer", alt.Tooltip("speed ×:Q", format=".2f"), alt.Tooltip("instructions ×:Q", format=".2f")])
    whiskers = alt.Chart(d).mark_rule(color="#222", strokeWidth=2).encode(x="speed lo:Q", x2="speed hi:Q", y=y)
    one = alt.Chart(pd.DataFrame({"x": [1.0]})).mark_rule(color="#888", strokeDash=[4, 3]).encode(x="x:Q")
    text = dots.mark_text(align="left", dx=9, fontSize=11).encode(text=alt.Text("speed ×:Q", format=".2f"), color=alt.value("#333"))
    return (one + whiskers + dots + text).properties(width=640, height=max(120, 30 * len(d)),
                                                     title=alt.TitleParams("AllFrame's ratio to the best peer, per operation", subtitle=subtitle))


def bytes_chart(t: pd.DataFrame, subtitle: str, reference: float | None = None) -> alt.LayerChart:
    """Bytes per event of each in-memory store; `reference` (the PRD's bound over its event count) as an amber rule."""
    d = t.dropna(subset=["bytes/event"]).copy()
    d["row"] = d["operation"] + " · " + d["variant"] + " · " + d["library"]
    bars = alt.Chart(d).mark_bar(height=18).encode(
        x=alt.X("bytes/event:Q", title="bytes per event held in memory (RSS with the store built − before, ÷ events)"),
        y=alt.Y("row:N", title=None), color=_color(),
        tooltip=["row", "events", alt.Tooltip("bytes/event:Q", format=",.1f")])
    layers = [bars]
    if reference is not None:
        ref = pd.DataFrame({"x": [reference], "what": [f"PRD bound: {reference:,.0f} bytes/event"]})
        layers.append(alt.Chart(ref).mark_rule(color="#e0a526", strokeWidth=3).encode(x="x:Q", tooltip=["what"]))
    title = "In-memory event stores and projections: bytes per event" + (" (amber: the PRD's bound)" if reference else "")
    return alt.layer(*layers).properties(width=640, title=alt.TitleParams(title, subtitle=subtitle))


def sweep_chart(p: pd.DataFrame, subtitle: str, reference: float | None = None) -> alt.LayerChart:
    """Bytes per event against the event count (log x): the store, and what a projection adds over it."""
    line = alt.Chart(p).mark_line(point=True).encode(
        x=alt.X("events:Q", title="events held (log scale)", scale=alt.Scale(type="log")),
        y=alt.Y("bytes/event:Q", title="bytes per event (RSS)"), color=alt.Color("part:N", title=None),
        tooltip=["part", alt.Tooltip("events:Q", format=","), alt.Tooltip("bytes/event:Q", format=",.1f")])
    layers = [line]
    if reference is not None:
        ref = pd.DataFrame({"y": [reference], "what": [f"PRD bound: {reference:,.0f} bytes/event"]})
        layers.append(alt.Chart(ref).mark_rule(color="#e0a526", strokeWidth=2).encode(y="y:Q", tooltip=["what"]))
    return alt.layer(*layers).properties(width=640, title=alt.TitleParams(
        "AllFrame: a projection's memory beside its event store's" + (" (amber: the PRD's bound)" if reference else ""),
        subtitle=subtitle))


def sweep_table(sweep: pd.DataFrame) -> pd.DataFrame:
    """projection_sweep() as event count × part (the store, what the rebuild leaves, its peak): bytes per event."""
    return sweep.pivot(index="events", columns="part", values="bytes/event")
