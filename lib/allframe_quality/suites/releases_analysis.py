"""Releases analysis: sizes, instructions and bytes per event across allframe-core releases, the largest
steps with their crate and dependency diffs, and the findings. Reads records only; running lives in
releases.py, the bisect in bisect.py."""
from __future__ import annotations

import json
import re

import pandas as pd

from ..config.budgets import Budgets
from ..core.records import headline
from ..tools import symbol_sizes
from ..verdict.verdicts import Finding, Verdict

SUITE = "releases"
NOT_IN = "not in this release"
NOT_APPLICABLE = "probe not applicable"
ALLFRAME_FAILS = "AllFrame fails to build"


def semver(v: str) -> tuple:
    """Order of releases: 0.1.9 < 0.1.10; a pre-release before its release."""
    m = re.fullmatch(r"(\d+)\.(\d+)\.(\d+)(?:-([0-9A-Za-z.-]+))?(?:\+.*)?", v)
    if not m:
        return (10**9, v)
    return (int(m.group(1)), int(m.group(2)), int(m.group(3)), m.group(4) is None, m.group(4) or "")


def _ok(df: pd.DataFrame, metric: str) -> pd.DataFrame:
    return df[(df["metric"] == metric) & (df["status"] == "ok")]


def releases(df: pd.DataFrame) -> list[str]:
    return sorted(df[df["config"] == "release"]["variant"].unique(), key=semver)


def why(detail: str, width: int = 110) -> str:
    """The category and the compiler's or probe's first line, short enough for a table cell."""
    first = (detail or "").strip().splitlines()[0] if (detail or "").strip() else ""
    if not first.startswith((NOT_IN, NOT_APPLICABLE, ALLFRAME_FAILS)):
        return headline(detail, width)
    m = re.search(r"has no feature (.+)$", first)
    if m:   # a long list of features: the count and the first few
        feats = [f.strip() for f in m.group(1).split(",")]
        return f"{NOT_IN}: no {', '.join(feats[:3])}" + (f" … ({len(feats)} features)" if len(feats) > 3 else "")
    return first if len(first) <= width else first[:width - 1] + "…"


def size_table(df: pd.DataFrame, b: Budgets, configs: list[str] | None = None) -> pd.DataFrame:
    """One row per release: each configuration's release-profile MiB, or why it was not measured."""
    sz = df[df["metric"] == "file_bytes"]
    configs = configs or [c for c in b.size.configurations if c in set(sz["config"])]
    rows = []
    for v in releases(df):
        row = {"release": v, "yanked": bool(_ok(df[df["variant"] == v], "yanked")["value"].eq(1).any())}
        for c in configs:
            r = sz[(sz["variant"] == v) & (sz["config"] == c)]
            if r.empty:
                row[b.size.config(c).label] = "—"
            elif r.iloc[0]["status"] == "ok":
                row[b.size.config(c).label] = f"{r.iloc[0]['value'] / b.size.unit_bytes:.2f}"
            else:
                row[b.size.config(c).label] = why(r.iloc[0]["detail"])
        rows.append(row)
    return pd.DataFrame(rows)


def metric_table(df: pd.DataFrame, metric: str, scale: float = 1.0, fmt: str = "{:,.0f}") -> pd.DataFrame:
    """Release × config (operation) of one metric, or why not."""
    d = df[df["metric"] == metric]
    out = pd.DataFrame(index=releases(df))
    for c in d["config"].unique():
        col = {}
        for r in d[d["config"] == c].to_dict("records"):
            col[r["variant"]] = fmt.format(r["value"] / scale) if r["status"] == "ok" else why(r["detail"])
        out[c] = pd.Series(col)
    return out.fillna("—").rename_axis("release").reset_index()


def size_points(df: pd.DataFrame, b: Budgets) -> pd.DataFrame:
    d = _ok(df, "file_bytes")[["variant", "config", "value"]].rename(columns={"variant": "release"})
    d["MiB"] = d["value"] / b.size.unit_bytes
    d["configuration"] = d["config"].map(lambda c: b.size.config(c).label)
    d["target MiB"] = d["config"].map(lambda c: b.size.config(c).target_mib)
    d["limit MiB"] = d["config"].map(lambda c: b.size.config(c).limit_mib)
    return d


def largest_steps(df: pd.DataFrame, n: int = 5) -> list[dict]:
    """The n largest size steps between consecutive measured releases, over every configuration."""
    steps = []
    for c, g in _ok(df, "file_bytes").groupby("config"):
        g = g.assign(k=g["variant"].map(semver)).sort_values("k")
        vals = list(zip(g["variant"], g["value"]))
        for (va, a), (vb, bb) in zip(vals, vals[1:]):
            steps.append({"config": c, "before": va, "after": vb, "before_bytes": a, "after_bytes": bb,
                          "delta": bb - a, "pct": (bb - a) / a * 100 if a else float("nan")})
    steps.sort(key=lambda s: -abs(s["delta"]))
    return [s for s in steps[:n] if s["delta"] != 0]


def crate_diff(df: pd.DataFrame, config: str, before: str, after: str, top: int = 10) -> pd.DataFrame:
    """cargo-bloat's .text per crate in both releases, largest changes first."""
    c = df[(df["metric"] == "crate_text_bytes") & (df["config"] == config) & (df["status"] == "ok")]
    a = c[c["variant"] == before].set_index("item")["value"]
    b = c[c["variant"] == after].set_index("item")["value"]
    if a.empty or b.empty:
        return pd.DataFrame(columns=["crate", "before bytes", "after bytes", "Δ bytes"])
    d = pd.DataFrame({"before bytes": a, "after bytes": b}).fillna(0)
    d["Δ bytes"] = d["after bytes"] - d["before bytes"]
    d = d[d["Δ bytes"] != 0]
    d = d.reindex(d["Δ bytes"].abs().sort_values(ascending=False).index).head(top)
    return d.rename_axis("crate").reset_index()


def symbol_diff(df: pd.DataFrame, config: str, before: str, after: str) -> pd.DataFrame:
    """Every function and data symbol whose bytes changed between two releases (tools/symbol_sizes' rows:
    crate, name, kind, section, before, after, delta, copies), largest first; empty when either side's
    symbols were not taken."""
    s = df[(df["metric"] == "symbol_bytes") & (df["config"] == config) & (df["status"] == "ok")]

    def rows(v: str) -> list[dict]:
        return [dict(json.loads(r["detail"]), name=r["item"], bytes=int(r["value"])) for r in s[s["variant"] == v].to_dict("records")]
    a, b = rows(before), rows(after)
    if not a or not b:
        return symbol_sizes.diff([], [])
    return symbol_sizes.diff(a, b)


def step_explanations(df: pd.DataFrame, n: int = 5) -> list[tuple[dict, pd.DataFrame]]:
    """The n largest size steps, each with its symbol diff (empty where the symbols were not taken)."""
    return [(s, symbol_diff(df, s["config"], s["before"], s["after"])) for s in largest_steps(df, n)]


def dependency_diff(df: pd.DataFrame, config: str, before: str, after: str) -> pd.DataFrame:
    """Crates that came, went or changed version in the configuration's dependency tree."""
    d = df[(df["metric"] == "dependency") & (df["config"] == config)]
    a = dict(d[d["variant"] == before][["item", "detail"]].values)
    b = dict(d[d["variant"] == after][["item", "detail"]].values)
    rows = [{"crate": n, "change": "came", "before": "", "after": b[n]} for n in sorted(set(b) - set(a))]
    rows += [{"crate": n, "change": "went", "before": a[n], "after": ""} for n in sorted(set(a) - set(b))]
    rows += [{"crate": n, "change": "version", "before": a[n], "after": b[n]} for n in sorted(set(a) & set(b)) if a[n] != b[n]]
    return pd.DataFrame(rows, columns=["crate", "change", "before", "after"])


def steps_table(df: pd.DataFrame, b: Budgets, n: int = 5) -> pd.DataFrame:
    rows = []
    for s in largest_steps(df, n):
        cd = crate_diff(df, s["config"], s["before"], s["after"], top=3)
        dd = dependency_diff(df, s["config"], s["before"], s["after"])
        rows.append({"configuration": b.size.config(s["config"]).label, "from": s["before"], "to": s["after"],
                     "Δ MiB": round(s["delta"] / b.size.unit_bytes, 3), "Δ %": round(s["pct"], 1),
                     "largest crate changes": ", ".join(f"{r['crate']} {r['Δ bytes']:+,.0f}" for r in cd.to_dict("records")) or "—",
                     "dependencies": f"{(dd['change'] == 'came').sum()} came, {(dd['change'] == 'went').sum()} went, "
                                     f"{(dd['change'] == 'version').sum()} changed version"})
    return pd.DataFrame(rows)


def evaluate(df: pd.DataFrame, b: Budgets) -> list[Finding]:
    """The lab's own failures fail; AllFrame's failures to build and limits crossed are findings about
    AllFrame (shown, never failing the gate: a past release cannot be fixed)."""
    out = []
    bad = df[df["status"] == "failed"]
    for r in bad.drop_duplicates(["variant", "config", "metric"]).to_dict("records"):
        out.append(Finding(SUITE, f"releases.failed.{r['variant']}.{r['config']}.{r['metric']}",
                           f"{r['variant']} / {r['config']}: {r['metric']}", Verdict.FAIL, "failed", note=headline(r["detail"])))
    af = df[(df["status"] == "not_measured") & df["detail"].str.startswith(ALLFRAME_FAILS)]
    af = af.assign(error=af["detail"].map(lambda d: why(d, 200)))
    for error, g in af.groupby("error", sort=False):     # one finding per compiler error, naming where it struck
        vs = sorted(g["variant"].unique(), key=semver)
        where = sorted(g["config"].unique())
        out.append(Finding(SUITE, f"releases.allframe_fails.{vs[0]}", f"allframe-core {', '.join(vs)} does not build",
                           Verdict.INFO, f"with {', '.join(where[:4])}" + (f" and {len(where) - 4} more" if len(where) > 4 else ""),
                           note=error))
    pts = _ok(df, "file_bytes")
    for c, g in pts.groupby("config"):
        lim = b.size.config(c).limit_mib
        if lim is None:
            continue
        g = g.assign(k=g["variant"].map(semver)).sort_values("k")
        over = g["value"] > lim * b.size.unit_bytes
        if over.iloc[-1]:
            first = g["variant"][over & ~over.shift(fill_value=False)].iloc[-1]
            out.append(Finding(SUITE, f"releases.over_limit.{c}", f"{b.size.config(c).label}: over its limit",
                               Verdict.INFO, f"since {first}", g["value"].iloc[-1] / b.size.unit_bytes,
                               b.size.config(c).target_mib, lim, "MiB"))
    return out


def instructions_points(df: pd.DataFrame) -> pd.DataFrame:
    return _ok(df, "instructions_per_op")[["variant", "config", "value"]].rename(columns={"variant": "release"})


def bytes_per_event_points(df: pd.DataFrame) -> pd.DataFrame:
    d = _ok(df, "bytes_per_event")[["variant", "item", "value"]].rename(columns={"variant": "release"})
    d["config"] = d["item"].map(lambda n: f"{int(n):,} small events, in-memory store")
    return d
