"""Chart builders with one look for every suite (Altair)."""
from __future__ import annotations

import altair as alt
import pandas as pd

# One colour per subject, the same on every page.
SUBJECT_COLORS = {"allframe": "#2f6fdf", "axum": "#e07b39", "actix": "#3aa876", "rocket": "#c94c6d", "hyper": "#7a5cc7"}
STATUS_COLORS = {"pass": "#3aa876", "warn": "#e0a526", "fail": "#d64545", "info": "#8c8c8c"}
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
    d["level"] = d["status"].str.split(" ").str[0].map({"✅": "pass", "⚠️": "warn", "❌": "fail", "ℹ️": "info", "❔": "warn"})
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
