"""Chart builders with one look for every suite (Altair)."""
from __future__ import annotations

import altair as alt
import pandas as pd

from ..verdict.verdicts import LEVEL_COLORS

# One colour per subject, the same on every page.
SUBJECT_COLORS = {"allframe": "#2f6fdf", "axum": "#e07b39", "actix": "#3aa876", "rocket": "#c94c6d", "hyper": "#7a5cc7"}
STATUS_COLORS = LEVEL_COLORS
TARGET_COLOR, LIMIT_COLOR, REFERENCE_COLOR = "#e0a526", "#d64545", "#555555"
WIDTH = 640


@alt.theme.register("allframe", enable=True)
def _theme() -> alt.theme.ThemeConfig:
    font = "system-ui, -apple-system, Segoe UI, Roboto, sans-serif"
    return {"config": {
        "font": font,
        "view": {"stroke": None, "continuousWidth": WIDTH, "continuousHeight": 320},
        "axis": {"labelFontSize": 12, "titleFontSize": 12, "gridColor": "#eeeeee", "domainColor": "#888888"},
        "legend": {"labelFontSize": 12, "titleFontSize": 12, "orient": "bottom", "columns": 4},
        "title": {"fontSize": 15, "anchor": "start", "subtitleColor": "#555555", "subtitleFontSize": 12},
        "bar": {"cornerRadiusEnd": 2},
    }}


def enable() -> None:
    """Select the house theme (importing this module already does; notebooks call it to be explicit)."""
    alt.theme.enable("allframe")


def _title(text: str, subtitle: str | list[str] | None = None) -> alt.TitleParams:
    return alt.TitleParams(text, subtitle=subtitle or [])


def size_vs_budget(status: pd.DataFrame, gated_col: str, subtitle: str) -> alt.LayerChart:
    """Bars of each configuration's gated size, with its target and hard limit as tick layers."""
    d = status.copy()
    d["size"] = d[gated_col]
    order = list(d["configuration"])
    y = alt.Y("configuration:N", sort=order, title=None)
    tips = ["configuration", "features", alt.Tooltip("size:Q", format=".2f", title="MiB"), "target MiB", "limit MiB", "status"]
    bars = alt.Chart(d).mark_bar(height=18).encode(
        x=alt.X("size:Q", title="MiB"), y=y,
        color=alt.Color("level:N", title="status", scale=alt.Scale(domain=list(STATUS_COLORS), range=list(STATUS_COLORS.values()))),
        tooltip=tips)
    labels = bars.mark_text(align="left", dx=4, fontSize=11).encode(text=alt.Text("size:Q", format=".2f"), color=alt.value("#333"))
    target = alt.Chart(d.dropna(subset=["target MiB"])).mark_tick(thickness=3, size=26, color=TARGET_COLOR).encode(
        x="target MiB:Q", y=y, tooltip=["configuration", "target MiB"])
    limit = alt.Chart(d.dropna(subset=["limit MiB"])).mark_tick(thickness=3, size=26, color=LIMIT_COLOR).encode(
        x="limit MiB:Q", y=y, tooltip=["configuration", "limit MiB"])
    return (bars + labels + target + limit).properties(
        width=WIDTH, title=_title("Binary size per configuration against target (amber tick) and hard limit (red tick)", subtitle))


def size_by_profile(long: pd.DataFrame, subtitle: str) -> alt.Chart:
    """Grouped bars: each binary as built, stripped, and under the size-optimised profile.

    `long` has columns: binary, build, MiB.
    """
    return alt.Chart(long).mark_bar().encode(
        y=alt.Y("binary:N", title=None, sort=list(dict.fromkeys(long["binary"]))),
        yOffset=alt.YOffset("build:N"),
        x=alt.X("MiB:Q", title="MiB"),
        color=alt.Color("build:N", title="build", scale=alt.Scale(scheme="tableau10")),
        tooltip=["binary", "build", alt.Tooltip("MiB:Q", format=".3f")],
    ).properties(width=WIDTH, title=_title("As built, stripped, and size-optimised", subtitle))


def crate_stack(breakdown: pd.DataFrame, subtitle: str) -> alt.Chart:
    """Stacked bars per configuration: .text bytes by crate (largest crates named, the rest grouped)."""
    d = breakdown.assign(KiB=breakdown["bytes"] / 1024)
    return alt.Chart(d).mark_bar().encode(
        y=alt.Y("binary:N", title=None, sort=list(dict.fromkeys(d["binary"]))),
        x=alt.X("KiB:Q", title=".text KiB (cargo-bloat)", stack="zero"),
        color=alt.Color("crate:N", title="crate", scale=alt.Scale(scheme="tableau20"),
                        sort=alt.SortField("KiB", order="descending")),
        order=alt.Order("KiB:Q", sort="descending"),
        tooltip=["binary", "crate", alt.Tooltip("KiB:Q", format=",.1f")],
    ).properties(width=WIDTH, title=_title("Where the .text bytes go, by crate", subtitle))


def feature_cost(cost: pd.DataFrame, top: int, subtitle: str) -> alt.Chart:
    """Per configuration, the crates that grew the most over Minimal (KiB of .text added)."""
    d = cost.assign(KiB=cost["delta_bytes"] / 1024)
    d = d.sort_values("KiB", ascending=False).groupby("config", sort=False).head(top)
    return alt.Chart(d).mark_bar().encode(
        y=alt.Y("config:N", title=None, sort=list(dict.fromkeys(cost["config"]))),
        x=alt.X("KiB:Q", title=".text KiB added over Minimal", stack="zero"),
        color=alt.Color("crate:N", title="crate", scale=alt.Scale(scheme="tableau20"),
                        sort=alt.SortField("KiB", order="descending")),
        tooltip=["config", "crate", alt.Tooltip("KiB:Q", format=",.1f"), "new_crate"],
    ).properties(width=WIDTH, title=_title(f"Feature cost: the {top} crates each configuration grows most over Minimal", subtitle))


def peers(d: pd.DataFrame, subtitle: str) -> alt.LayerChart:
    """AllFrame configurations next to peer hello-worlds; the PRD's claimed peer sizes as reference ticks.

    `d` has columns: binary, subject, MiB, prd_mib (may be NaN).
    """
    y = alt.Y("binary:N", title=None, sort=alt.SortField("MiB", order="ascending"))
    bars = alt.Chart(d).mark_bar(height=18).encode(
        x=alt.X("MiB:Q", title="MiB (release, as built)"), y=y,
        color=alt.Color("subject:N", title="framework",
                        scale=alt.Scale(domain=list(SUBJECT_COLORS), range=list(SUBJECT_COLORS.values()))),
        tooltip=["binary", alt.Tooltip("MiB:Q", format=".2f"), "prd_mib"])
    text = bars.mark_text(align="left", dx=4, fontSize=11).encode(text=alt.Text("MiB:Q", format=".2f"), color=alt.value("#333"))
    ref = alt.Chart(d.dropna(subset=["prd_mib"])).mark_tick(thickness=2, size=26, color=REFERENCE_COLOR, strokeDash=[3, 2]).encode(
        x="prd_mib:Q", y=y, tooltip=["binary", alt.Tooltip("prd_mib:Q", title="PRD's claim (MiB)")])
    return (bars + text + ref).properties(width=WIDTH, title=_title("AllFrame next to its peers (dashed tick: the PRD's unverified claim)", subtitle))


VERDICT_COLORS = {"regressed": "#d64545", "improved": "#3aa876", "below threshold": "#7a5cc7", "unconfirmed": "#c94c6d",
                  "within noise": "#e0a526", "no change": "#8c8c8c"}


def _row_height(n: int) -> int:
    return max(120, 30 * n)


def ops_vs_target(summary: pd.DataFrame, subtitle: str) -> alt.LayerChart:
    """ops/s per operation (log scale): a dot with criterion's CI as whiskers, PRD target (amber) and stretch (green) ticks."""
    d = summary.dropna(subset=["ops/s"]).copy()
    y = alt.Y("operation:N", title=None, sort=list(d["operation"]))
    x = alt.X("ops/s:Q", title="operations per second (log scale)", scale=alt.Scale(type="log"))
    tips = ["operation", alt.Tooltip("ops/s:Q", format=",.0f"), alt.Tooltip("ns/op:Q", format=",.1f"),
            alt.Tooltip("target ops/s:Q", format=",.0f"), alt.Tooltip("stretch ops/s:Q", format=",.0f"), "status", "covers"]
    dots = alt.Chart(d).mark_circle(size=90, color=SUBJECT_COLORS["allframe"], opacity=1).encode(x=x, y=y, tooltip=tips)
    whiskers = alt.Chart(d).mark_rule(color="#222", strokeWidth=2).encode(x="ops/s lo:Q", x2="ops/s hi:Q", y=y)
    text = dots.mark_text(align="left", dx=9, fontSize=11).encode(text=alt.Text("ops/s:Q", format=".3s"), color=alt.value("#333"))
    target = alt.Chart(d.dropna(subset=["target ops/s"])).mark_tick(thickness=3, size=22, color=TARGET_COLOR).encode(
        x="target ops/s:Q", y=y, tooltip=["operation", alt.Tooltip("target ops/s:Q", format=",.0f")])
    stretch = alt.Chart(d.dropna(subset=["stretch ops/s"])).mark_tick(thickness=3, size=22, color="#3aa876").encode(
        x="stretch ops/s:Q", y=y, tooltip=["operation", alt.Tooltip("stretch ops/s:Q", format=",.0f")])
    return (target + stretch + whiskers + dots + text).properties(
        width=WIDTH, height=_row_height(len(d)),
        title=_title("Operations per second against the PRD target (amber tick) and stretch (green tick)", subtitle))


def instructions_per_op(summary: pd.DataFrame, subtitle: str) -> alt.LayerChart:
    d = summary.dropna(subset=["instructions/op"])
    dots = alt.Chart(d).mark_circle(size=90, color=SUBJECT_COLORS["hyper"], opacity=1).encode(
        x=alt.X("instructions/op:Q", title="instructions per operation (callgrind, log scale)", scale=alt.Scale(type="log")),
        y=alt.Y("operation:N", title=None, sort=list(d["operation"])),
        tooltip=["operation", alt.Tooltip("instructions/op:Q", format=",.0f")])
    text = dots.mark_text(align="left", dx=9, fontSize=11).encode(text=alt.Text("instructions/op:Q", format=",.0f"), color=alt.value("#333"))
    return (dots + text).properties(width=WIDTH, height=_row_height(len(d)),
                                    title=_title("Instructions per operation: exact, repeatable, what the gate compares", subtitle))


def changes(ch: pd.DataFrame, threshold_pct: float, subtitle: str) -> alt.LayerChart:
    """Change against the baseline per metric: point, CI whiskers, verdict colour, ±threshold rules.
    + means bigger: slower or larger for times, counts and bytes; faster for req/s and shares."""
    d = ch[ch["change_pct"].notna()].copy()
    d["label"] = [" / ".join(str(x) for x in (r["subject"], r["config"], r["variant"], r["item"]) if x) + " · " + r["metric"]
                  for r in d.to_dict("records")]
    y = alt.Y("label:N", title=None, sort=None)
    pts = alt.Chart(d).mark_point(filled=True, size=80).encode(
        x=alt.X("change_pct:Q", title="change vs baseline, % (+ = bigger)"), y=y,
        color=alt.Color("verdict:N", scale=alt.Scale(domain=list(VERDICT_COLORS), range=list(VERDICT_COLORS.values()))),
        tooltip=["label", alt.Tooltip("baseline:Q", format=",.4~g"), alt.Tooltip("current:Q", format=",.4~g"),
                 alt.Tooltip("change_pct:Q", format="+.2f"), alt.Tooltip("lo_pct:Q", format="+.2f"),
                 alt.Tooltip("hi_pct:Q", format="+.2f"), "evidence", "verdict"])
    bars = alt.Chart(d).mark_rule().encode(x="lo_pct:Q", x2="hi_pct:Q", y=y, color=alt.Color("verdict:N", legend=None))
    rules = alt.Chart(pd.DataFrame({"x": [-threshold_pct, 0, threshold_pct]})).mark_rule(strokeDash=[4, 3], color="#999").encode(x="x:Q")
    return (rules + bars + pts).properties(width=WIDTH, height=_row_height(len(d)),
                                           title=_title(f"Change against the baseline (dashed: 0 and ±{threshold_pct:g}% gate threshold)", subtitle))


def trend(points: pd.DataFrame, title: str, y_title: str, subtitle: str = "", log: bool = False,
          column: str | None = None) -> alt.Chart:
    """One metric over runs: a line per series (within one machine), a panel per machine so runs from
    different machines never share a line; `column` splits panels further (e.g. per test).
    `points`: started, run_id, series, value, machine."""
    d = points.assign(started=points["started"].dt.strftime("%Y-%m-%dT%H:%M:%SZ"))
    if column:  # panels per `column` value (and machine, when there are several), wrapped three a row
        d["panel"] = d[column].astype(str) + (" · " + d["machine"] if d["machine"].nunique() > 1 else "")
    base = alt.Chart(d).encode(
        x=alt.X("started:T", title="run (UTC)", axis=alt.Axis(format="%b %d %H:%M", labelAngle=-30, labelOverlap=True)),
        y=alt.Y("value:Q", title=y_title, scale=alt.Scale(type="log" if log else "linear", zero=False)),
        color=alt.Color("series:N", title=None, legend=alt.Legend(columns=3, labelLimit=260)))
    lines = base.mark_line(point=True).encode(
        detail="machine:N",
        tooltip=["series", "run_id", "allframe", "commit", alt.Tooltip("value:Q", format=",.4~g"), "machine"])
    if column:
        return lines.properties(width=260, height=170).facet(
            facet=alt.Facet("panel:N", title=None), columns=3).resolve_scale(y="independent").properties(title=_title(title, subtitle))
    return lines.properties(width=WIDTH, height=240).facet(
        row=alt.Row("machine:N", title=None, header=alt.Header(labelAngle=0, labelAlign="left", labelLimit=600))
    ).properties(title=_title(title, subtitle))


def rss_timeline(tl: pd.DataFrame, subtitle: str) -> alt.Chart:
    """RSS over time per probe run, one panel per payload and backend; the colour says the phase."""
    d = tl.assign(run=tl["events"].map("{:,} events".format))
    base = alt.Chart(d).encode(x=alt.X("t:Q", title="seconds since start"), y=alt.Y("MiB:Q", title="RSS MiB"))
    lines = base.mark_line(color="#bbbbbb").encode(detail="run:N")
    pts = base.mark_circle(size=14).encode(
        color=alt.Color("phase:N", scale=alt.Scale(domain=["start", "ready", "appending", "appended", "reading", "read", "done"],
                                                  scheme="tableau10")),
        tooltip=["run", "phase", alt.Tooltip("t:Q", format=".2f"), alt.Tooltip("MiB:Q", format=".1f")])
    return (lines + pts).properties(width=300, height=220).facet(
        column=alt.Column("payload:N", title="payload"), row=alt.Row("backend:N", title="backend"),
    ).resolve_scale(x="independent", y="independent").properties(
        title=_title("RSS over time, sampled from outside the process; colour = the phase the probe announced", subtitle))


def peak_vs_events(sc: pd.DataFrame, limit_mib: float, limit_events: int, subtitle: str) -> alt.LayerChart:
    """Memory used (kernel peak minus start-up RSS) against N, with the PRD's bound as a rule."""
    d = sc.assign(MiB=sc["used_bytes"] / 2**20, series=sc["backend"] + " · " + sc["payload"])
    x = alt.X("events:Q", title="events appended (log scale)", scale=alt.Scale(type="log"))
    lines = alt.Chart(d).mark_line(point=True).encode(
        x=x, y=alt.Y("MiB:Q", title="MiB used (peak RSS − RSS at start, log scale)", scale=alt.Scale(type="log")),
        color=alt.Color("series:N", title="backend · payload"),
        tooltip=["series", alt.Tooltip("events:Q", format=","), alt.Tooltip("MiB:Q", format=".1f")])
    rule = alt.Chart(pd.DataFrame({"y": [limit_mib]})).mark_rule(color=LIMIT_COLOR, strokeDash=[5, 3]).encode(y="y:Q")
    at = alt.Chart(pd.DataFrame({"x": [limit_events]})).mark_rule(color="#999", strokeDash=[2, 2]).encode(x="x:Q")
    return (lines + rule + at).properties(width=WIDTH, title=_title(
        f"Memory against events: the PRD's bound is {limit_mib:g} MiB at {limit_events:,} events (red line)", subtitle))


def bytes_per_event(pe: pd.DataFrame, subtitle: str) -> alt.Chart:
    """Fitted bytes per event (RSS and heap) beside the payload's own size."""
    cols = {"rss_bytes_per_event": "RSS per event (fit)", "heap_bytes_per_event": "heap per event (fit)",
            "payload_mem_bytes": "payload in memory", "payload_json_bytes": "payload as JSON"}
    d = pe.assign(series=pe["backend"] + " · " + pe["payload"]).melt(
        id_vars=["series"], value_vars=[c for c in cols if c in pe], var_name="what", value_name="bytes")
    d["what"] = d["what"].map(cols)
    return alt.Chart(d.dropna()).mark_bar().encode(
        y=alt.Y("series:N", title=None), yOffset="what:N", x=alt.X("bytes:Q", title="bytes per event"),
        color=alt.Color("what:N", title=None, scale=alt.Scale(scheme="tableau10")),
        tooltip=["series", "what", alt.Tooltip("bytes:Q", format=",.1f")],
    ).properties(width=WIDTH, title=_title("Bytes per event: what the store costs beyond the event itself", subtitle))


def rps_by_test(summary: pd.DataFrame, prd: dict, hardware: str, subtitle: str) -> alt.LayerChart:
    """Median req/s per test and framework with the repeats' min-max as whiskers; PRD targets as labelled ticks."""
    d = summary.copy()
    frameworks = [f for f in SUBJECT_COLORS if f in set(d["framework"])]
    color = alt.Color("framework:N", scale=alt.Scale(domain=frameworks, range=[SUBJECT_COLORS[f] for f in frameworks]))
    y = alt.Y("framework:N", title=None, sort=frameworks, axis=alt.Axis(labels=False, ticks=False))
    x = alt.X("median_rps:Q", title="requests per second (median of repeats)")
    tips = ["label", "test", "level", alt.Tooltip("median_rps:Q", format=",.0f"), alt.Tooltip("cv_pct:Q", format=".1f"),
            "repeats", alt.Tooltip("server_cpu_pct:Q", format=".0f"), alt.Tooltip("load_cpu_pct:Q", format=".0f")]
    yo = alt.YOffset("level:N")  # several concurrency levels sit side by side within a framework's band
    bars = alt.Chart().mark_bar().encode(x=x, y=y, yOffset=yo, color=color, tooltip=tips)
    spread = alt.Chart().mark_rule(color="#222").encode(x="min_rps:Q", x2="max_rps:Q", y=y, yOffset=yo)
    text = alt.Chart().mark_text(align="left", dx=4, fontSize=10).encode(
        x="max_rps:Q", y=y, yOffset=yo, text=alt.Text("median_rps:Q", format=",.0f"))
    return alt.layer(bars, spread, text, data=d).properties(width=WIDTH - 120, height=90).facet(
        row=alt.Row("test:N", title=None, sort=list(dict.fromkeys(d["test"])), header=alt.Header(labelAngle=0, labelAlign="left")),
    ).resolve_scale(x="independent").properties(title=_title(
        "Requests per second by test (whiskers: min–max of the repeats)",
        [subtitle, f"PRD targets (reference only, {hardware}): " + ", ".join(f"{k} {v:,.0f}" for k, v in prd.items())]))


def share_of(rel: pd.DataFrame, reference_label: str, min_pct: float | None, subtitle: str) -> alt.LayerChart:
    """Each framework's req/s as a percentage of a reference framework's, per test, in the same run."""
    d = rel.dropna(subset=["share_pct"])
    frameworks = [f for f in SUBJECT_COLORS if f in set(d["framework"])]
    bars = alt.Chart(d).mark_bar().encode(
        x=alt.X("test:N", title=None, sort=list(dict.fromkeys(d["test"]))), xOffset=alt.XOffset("framework:N", sort=frameworks),
        y=alt.Y("share_pct:Q", title=f"% of {reference_label} (clipped at 200 %)", scale=alt.Scale(domain=[0, 200], clamp=True)),
        color=alt.Color("framework:N", scale=alt.Scale(domain=frameworks, range=[SUBJECT_COLORS[f] for f in frameworks])),
        tooltip=["label", "test", "level", alt.Tooltip("share_pct:Q", format=".1f"), alt.Tooltip("median_rps:Q", format=",.0f")])
    layers = [bars, alt.Chart(pd.DataFrame({"y": [100]})).mark_rule(color="#555").encode(y="y:Q")]
    if min_pct is not None:
        layers.append(alt.Chart(pd.DataFrame({"y": [min_pct]})).mark_rule(color=LIMIT_COLOR, strokeDash=[5, 3]).encode(y="y:Q"))
    return alt.layer(*layers).properties(width=WIDTH, title=_title(
        f"Throughput as a share of {reference_label}, same run" + (f" (red: the {min_pct:g}% budget)" if min_pct else ""), subtitle))


def latency(summary: pd.DataFrame, subtitle: str) -> alt.Chart:
    d = summary.melt(id_vars=["framework", "label", "test", "level"], value_vars=["p50_ms", "p99_ms"], var_name="percentile", value_name="ms")
    frameworks = [f for f in SUBJECT_COLORS if f in set(d["framework"])]
    d = d[d["ms"] > 0]  # wrk reports 0 for some percentiles of pipelined runs; a log scale cannot show 0
    return alt.Chart(d.dropna()).mark_point(filled=True, size=60).encode(
        x=alt.X("ms:Q", title="latency, ms (log scale; wrk is closed-loop, so tails are understated)", scale=alt.Scale(type="log")),
        y=alt.Y("test:N", title=None, sort=list(dict.fromkeys(d["test"]))), shape=alt.Shape("percentile:N"),
        color=alt.Color("framework:N", scale=alt.Scale(domain=frameworks, range=[SUBJECT_COLORS[f] for f in frameworks])),
        yOffset=alt.YOffset("framework:N", sort=frameworks),
        tooltip=["label", "test", "level", "percentile", alt.Tooltip("ms:Q", format=".2f")],
    ).properties(width=WIDTH, height=320, title=_title("Latency p50 and p99 per test", subtitle))


def cpu_split(summary: pd.DataFrame, subtitle: str) -> alt.Chart:
    """Server and wrk CPU (% of one core each): which side was the bottleneck."""
    d = summary.melt(id_vars=["framework", "label", "test", "level"], value_vars=["server_cpu_pct", "load_cpu_pct"],
                     var_name="side", value_name="pct")
    d["side"] = d["side"].map({"server_cpu_pct": "server (its core)", "load_cpu_pct": "wrk (its core)"})
    return alt.Chart(d.dropna()).mark_bar().encode(
        x=alt.X("pct:Q", title="% of one core", scale=alt.Scale(domain=[0, 110])),
        y=alt.Y("framework:N", title=None), yOffset="side:N", color=alt.Color("side:N", scale=alt.Scale(range=["#2f6fdf", "#bbbbbb"])),
        tooltip=["label", "test", "side", alt.Tooltip("pct:Q", format=".0f")],
    ).properties(width=300, height=110).facet(facet=alt.Facet("test:N", title=None), columns=2).properties(
        title=_title("CPU per side: near 100 % marks the bottleneck (PostgreSQL shares the cores too)", subtitle))


def rps_vs_concurrency(summary: pd.DataFrame, subtitle: str) -> alt.Chart:
    """Median req/s against the number of connections, per test (only meaningful with several levels)."""
    d = summary.assign(connections=summary["level"].str.extract(r"^c(\d+)")[0].astype(int))
    frameworks = [f for f in SUBJECT_COLORS if f in set(d["framework"])]
    return alt.Chart(d).mark_line(point=True).encode(
        x=alt.X("connections:Q", scale=alt.Scale(type="log", base=2)), y=alt.Y("median_rps:Q", title="req/s (median)"),
        color=alt.Color("framework:N", scale=alt.Scale(domain=frameworks, range=[SUBJECT_COLORS[f] for f in frameworks])),
        tooltip=["label", "test", "level", alt.Tooltip("median_rps:Q", format=",.0f")],
    ).properties(width=300, height=180).facet(facet=alt.Facet("test:N", title=None), columns=2).resolve_scale(y="independent").properties(
        title=_title("Requests per second against concurrency", subtitle))


# ---------------------------------------------------------------- demos

OUTCOME_COLORS = {"works": "#3aa876", "partly": "#e0a526", "not": "#d64545"}


def demo_lines(card: pd.DataFrame, subtitle: str) -> alt.LayerChart:
    """Each demo's Rust code lines against the PRD's 500 (red rule)."""
    d = card.dropna(subset=["code lines"])
    limit_lines = float(d["line limit"].max()) if len(d) else 500.0
    top = max(limit_lines, float(d["code lines"].max()) if len(d) else 0.0) * 1.08
    y = alt.Y("demo:N", title=None, sort=list(d["demo"]))
    bars = alt.Chart(d).mark_bar(height=18, color=SUBJECT_COLORS["allframe"]).encode(
        x=alt.X("code lines:Q", title="Rust code lines (blank, comments, tests not counted)",
                scale=alt.Scale(domain=[0, top])), y=y,
        tooltip=["demo", "code lines", "tests passed", "tests failed", "features demonstrated"])
    labels = bars.mark_text(align="left", dx=4, fontSize=11, color="#333").encode(text="code lines:Q")
    limit = alt.Chart(pd.DataFrame({"x": [limit_lines]})).mark_rule(color=LIMIT_COLOR, strokeWidth=2).encode(
        x=alt.X("x:Q", scale=alt.Scale(domain=[0, top])))
    return (bars + labels + limit).properties(width=WIDTH, title=_title("Code lines per demo against the PRD's limit of 500 (red)", subtitle))


def demo_costs(card: pd.DataFrame, subtitle: str) -> alt.Chart:
    """What each demo costs: release size, start-up, idle RSS, req/s and p99 on its load endpoint, one panel each."""
    cols = {"release MiB": "release executable, MiB", "start-up ms": "cold start to first answer, ms",
            "idle RSS MiB": "idle RSS, MiB", "req/s": "req/s on the load endpoint", "p99 ms": "p99 latency under load, ms"}
    d = card.melt(id_vars=["demo", "load endpoint"], value_vars=[c for c in cols if c in card], var_name="measure",
                  value_name="value").dropna(subset=["value"])
    d["measure"] = d["measure"].map(cols)
    return alt.Chart(d).mark_bar(color=SUBJECT_COLORS["allframe"]).encode(
        x=alt.X("value:Q", title=None), y=alt.Y("demo:N", title=None),
        tooltip=["demo", "measure", alt.Tooltip("value:Q", format=",.2f"), "load endpoint"]).properties(
        width=280, height=alt.Step(18)).facet(facet=alt.Facet("measure:N", title=None), columns=2).resolve_scale(
        x="independent").properties(title=_title("What each demo costs", subtitle))


def capability_audit(ca: pd.DataFrame, subtitle: str) -> alt.Chart:
    """One mark per capability, coloured by outcome, grouped by area."""
    return alt.Chart(ca).mark_square(size=160).encode(
        x=alt.X("outcome:N", title=None, sort=list(OUTCOME_COLORS)), y=alt.Y("capability:N", title=None, sort=None),
        color=alt.Color("outcome:N", scale=alt.Scale(domain=list(OUTCOME_COLORS), range=list(OUTCOME_COLORS.values()))),
        tooltip=["capability", "area", "outcome", "promise", "AllFrame API", "evidence"]).properties(
        width=240, height=_row_height(len(ca)),
        title=_title("What AllFrame delivers of what the PRD promises", subtitle))


# ---------------------------------------------------------------- coverage

def coverage_by_module(d: pd.DataFrame, subtitle: str) -> alt.Chart:
    """Line and region coverage per module, side by side (`d`: coverage_analysis.chart_frame)."""
    order = list(d[d["measure"] == "lines"].sort_values("pct", ascending=False)["module"])   # best covered first
    y = alt.Y("module:N", title=None, sort=order)
    bars = alt.Chart(d).mark_bar().encode(
        x=alt.X("pct:Q", title="% covered by AllFrame's tests", scale=alt.Scale(domain=[0, 100])), y=y,
        yOffset=alt.YOffset("measure:N"),
        color=alt.Color("measure:N", title=None, scale=alt.Scale(domain=["lines", "regions"], range=["#2f6fdf", "#9bb8ef"])),
        tooltip=["module", "measure", alt.Tooltip("pct:Q", format=".1f", title="%"), "counts", "tests"])
    text = bars.mark_text(align="left", dx=3, fontSize=10, color="#333").encode(text=alt.Text("pct:Q", format=".0f"))
    return (bars + text).properties(width=WIDTH, height=alt.Step(11),
                                    title=_title("Coverage per module: lines and regions", subtitle))


# ---------------------------------------------------------------- releases

def release_size_steps(pts: pd.DataFrame, order: list[str], subtitle: str) -> alt.FacetChart:
    """Per configuration: size across releases as a step line, with the PRD's target and limit."""
    d = pts.copy()
    d["release"] = pd.Categorical(d["release"], categories=order, ordered=True)
    d = d.sort_values("release")
    x = alt.X("release:N", sort=order, title="allframe-core release",
              axis=alt.Axis(labelAngle=-60, labelOverlap=False, labelFontSize=10))
    line = alt.Chart().mark_line(interpolate="step-after", point=True).encode(
        x=x, y=alt.Y("MiB:Q", title="release binary (MiB)", scale=alt.Scale(zero=True)),
        tooltip=["release", "configuration", alt.Tooltip("MiB:Q", format=".3f")])
    # horizontal rules across the panel: no x encoding (with one, each release would get a vertical tick)
    target = alt.Chart().mark_rule(color=TARGET_COLOR, strokeDash=[4, 3]).encode(y="mean(target MiB):Q")
    limit = alt.Chart().mark_rule(color=LIMIT_COLOR, strokeDash=[6, 3]).encode(y="mean(limit MiB):Q")
    return alt.layer(line, target, limit, data=d).properties(width=420, height=200).facet(
        facet=alt.Facet("configuration:N", title=None, sort=list(dict.fromkeys(d["configuration"]))), columns=2
    ).resolve_scale(y="independent").properties(title=_title(
        "Release binary size across releases, with the PRD's target (amber dashes) and limit (red dashes)", subtitle))


def release_metric_steps(d: pd.DataFrame, order: list[str], y_title: str, title: str, subtitle: str,
                       series: str = "config") -> alt.Chart:
    x = alt.X("release:N", sort=order, title="allframe-core release",
              axis=alt.Axis(labelAngle=-60, labelOverlap=False, labelFontSize=10))
    return alt.Chart(d).mark_line(interpolate="step-after", point=True).encode(
        x=x, y=alt.Y("value:Q", title=y_title), color=alt.Color(f"{series}:N", title=None),
        tooltip=["release", series, alt.Tooltip("value:Q", format=",.1f")]).properties(
        width=640, height=260, title=_title(title, subtitle))
