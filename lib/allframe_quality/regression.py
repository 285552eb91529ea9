"""Deciding "this changed": criterion-style verdicts from repeated samples, exact ones from counts.

A change is *real* when the bootstrap confidence interval of the relative change of the mean lies
wholly on one side of zero; it *matters* when it is also beyond the noise threshold (criterion's
default 1 %). The gate fails a metric only when it regressed by more than the budgets file's
threshold (PRD: 10 %). Deterministic counts (instructions, bytes) need no statistics.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

NO_CHANGE, WITHIN_NOISE, IMPROVED, REGRESSED = "no change", "within noise", "improved", "regressed"


@dataclass
class Change:
    baseline: float
    current: float
    change_pct: float        # + means bigger (slower for a time, more for a count)
    lo_pct: float
    hi_pct: float
    verdict: str


def compare_samples(baseline: np.ndarray, current: np.ndarray, *, noise_pct: float = 1.0,
                    confidence: float = 0.95, resamples: int = 2000, seed: int = 0,
                    lower_is_better: bool = True) -> Change:
    """Relative change of the mean, with a bootstrap CI, and criterion's verdict."""
    b, c = np.asarray(baseline, float), np.asarray(current, float)
    if len(b) < 2 or len(c) < 2:
        raise ValueError("a comparison needs at least two samples on each side")
    rng = np.random.default_rng(seed)
    bm = rng.choice(b, (resamples, len(b))).mean(axis=1)
    cm = rng.choice(c, (resamples, len(c))).mean(axis=1)
    rel = (cm / bm - 1) * 100
    alpha = (1 - confidence) / 2
    lo, hi = np.quantile(rel, [alpha, 1 - alpha])
    point = (c.mean() / b.mean() - 1) * 100
    return Change(b.mean(), c.mean(), point, lo, hi, _verdict(lo, hi, noise_pct, lower_is_better))


def compare_exact(baseline: float, current: float, *, noise_pct: float = 0.1, lower_is_better: bool = True) -> Change:
    """Deterministic counts: the change is what it is; below noise_pct it is treated as none."""
    pct = (current / baseline - 1) * 100
    return Change(baseline, current, pct, pct, pct, _verdict(pct, pct, noise_pct, lower_is_better, exact=True))


def _verdict(lo: float, hi: float, noise_pct: float, lower_is_better: bool, exact: bool = False) -> str:
    """criterion's rule: the whole interval past +noise is worse, past -noise is better, else noise."""
    if not exact and lo <= 0 <= hi:
        return NO_CHANGE
    if lo > noise_pct:
        return REGRESSED if lower_is_better else IMPROVED
    if hi < -noise_pct:
        return IMPROVED if lower_is_better else REGRESSED
    return NO_CHANGE if exact else WITHIN_NOISE


def gate_fails(change: Change, threshold_pct: float, lower_is_better: bool = True) -> bool:
    """Regressed, and *significantly* by more than the threshold: the whole interval lies past it.

    A point estimate past the threshold is not enough: on a shared 2-core machine two runs of the
    same build differ by several percent (seen here: +10.2 % [+5.2, +14.7] for an unchanged build).
    For exact counts the interval is the point, so the rule is the plain threshold.
    """
    past = change.lo_pct > threshold_pct if lower_is_better else change.hi_pct < -threshold_pct
    return change.verdict == REGRESSED and past


# ---------------------------------------------------------------- every tracked metric, run against run

BROKE, FIXED, NEW, BELOW, UNCONFIRMED = "broke", "fixed", "new", "below threshold", "unconfirmed"
CHANGE_COLUMNS = ["suite", "subject", "config", "variant", "item", "metric", "unit", "baseline", "current",
                  "change_pct", "lo_pct", "hi_pct", "band_pct", "evidence", "verdict", "gate_fail"]


# A bootstrap over fewer samples than this is overconfident (3 repeats resample to a narrow interval):
# such metrics need the history's noise band as their evidence.
MIN_SAMPLES = 5


class BaselineError(LookupError):
    pass


SETTLED = 12   # adjacent changes before a noise band alone is evidence enough


def _usable(points) -> "np.ndarray":
    """Run values a relative change can be taken between: finite and not zero."""
    v = np.asarray(points, float)
    return v[np.isfinite(v) & (v != 0)]


def noise_band(points: "np.ndarray", min_runs: int, settled: int = SETTLED) -> float | None:
    """A metric's own run-to-run noise, in %: Q3 + 3 IQR of |relative change| between adjacent
    earlier runs (rustc-perf's rule). Quartiles of a few changes are unreliable, so until there are
    `settled` changes the band is at least the largest change already seen between comparable runs.
    None with fewer than min_runs runs."""
    v = _usable(points)
    if len(v) < max(min_runs, 3):
        return None
    rel = np.abs(v[1:] / v[:-1] - 1) * 100
    q1, q3 = np.quantile(rel, [0.25, 0.75])
    band = float(q3 + 3 * (q3 - q1))
    return band if len(rel) >= settled else max(band, float(rel.max()))


def detect(current, baseline, earlier=None, *, threshold_pct: float = 10.0, min_history_runs: int = 6,
           noise_pct: float = 1.0, history_only: frozenset = frozenset(), interleaved: bool = False):
    """Each tracked metric of `current` against `baseline` (history rows of one run each).

    `earlier`: history rows of earlier comparable runs (same machine, same parameters) from which
    each metric's noise band is learned. A change counts (regressed / improved) only when it is past
    the threshold and real: exact for deterministic counts; for samples, the whole bootstrap interval
    past the threshold; and past the metric's noise band once there is enough history. A change past
    the threshold that cannot be established (one value per run, no history yet) is "unconfirmed".
    `history_only`: (suite, config, metric) whose run-to-run noise is not in their samples (a whole
    run's disk conditions): their evidence is the noise band alone. Where the band is the only
    evidence it must be settled (SETTLED changes). Between separate runs (not `interleaved`), a
    metric with a corroborating exact metric counts only if that moved too.
    """
    import pandas as pd
    from . import history

    key = history.KEY
    out = []
    groups_b = {k: g for k, g in baseline.groupby(key, dropna=False)}
    bands, settled = {}, {}
    if earlier is not None and not earlier.empty:
        pts = history.point_values(earlier).sort_values(["started", "run_id"])
        for k, g in pts.groupby(key, dropna=False):
            bands[k] = noise_band(g["value"].to_numpy(), min_history_runs)
            settled[k] = len(_usable(g["value"].to_numpy())) - 1 >= SETTLED   # as noise_band counts changes
    exact_moved = {}   # (suite, subject, config, variant, item, metric) -> did the exact count change
    for k, cur in current.groupby(key, dropna=False):
        spec = history.SPECS.get((k[0], k[5]))
        base = groups_b.get(k)
        if spec is not None and spec.kind == "exact" and base is not None:
            c_ok, b_ok = cur[cur["status"] == "ok"]["value"], base[base["status"] == "ok"]["value"]
            if len(c_ok) and len(b_ok) and float(b_ok.mean()) != 0:
                exact_moved[k] = compare_exact(float(b_ok.mean()), float(c_ok.mean())).verdict != NO_CHANGE
    for k, cur in current.groupby(key, dropna=False):
        spec = history.SPECS.get((k[0], k[5]))
        if spec is None or not spec.detect:
            continue
        base = groups_b.get(k)
        row = dict(zip(key, k), unit=cur["unit"].iloc[0], baseline=np.nan, current=np.nan, change_pct=np.nan,
                   lo_pct=np.nan, hi_pct=np.nan, band_pct=np.nan,
                   evidence="", verdict="", gate_fail=False)
        c_ok, b_ok = cur[cur["status"] == "ok"]["value"].to_numpy(), None
        if base is not None:
            b_ok = base[base["status"] == "ok"]["value"].to_numpy()
        point = np.median if spec.point == "median" else np.mean
        if len(c_ok) == 0:
            if b_ok is not None and len(b_ok):
                row.update(verdict=BROKE, baseline=float(point(b_ok)), evidence=str(cur["detail"].iloc[0])[:160])
                out.append(row)
            continue
        row["current"] = float(point(c_ok))
        if b_ok is None or len(b_ok) == 0:
            row.update(verdict=FIXED if base is not None else NEW)
            out.append(row)
            continue
        row["baseline"] = float(point(b_ok))
        if row["baseline"] == 0:  # no relative change from zero (e.g. memory used below one page)
            row.update(verdict=NO_CHANGE if row["current"] == 0 else WITHIN_NOISE,
                       evidence="baseline is 0: no relative change")
            out.append(row)
            continue
        lower = spec.lower_is_better
        band = bands.get(k) if spec.kind != "exact" else None   # deterministic: no noise to learn
        if spec.kind == "exact":
            c = compare_exact(row["baseline"], row["current"], lower_is_better=lower)
            evidence, real = "exact count", c.verdict != NO_CHANGE
            past, band_only = abs(c.change_pct) > threshold_pct, False
        elif len(c_ok) >= MIN_SAMPLES and len(b_ok) >= MIN_SAMPLES:
            c = compare_samples(b_ok, c_ok, noise_pct=noise_pct, lower_is_better=lower)
            evidence = f"bootstrap 95% CI over {len(b_ok)}+{len(c_ok)} samples"
            real = c.verdict in (REGRESSED, IMPROVED)
            past = c.lo_pct > threshold_pct or c.hi_pct < -threshold_pct   # the whole interval past it
            band_only = (k[0], k[2], k[5]) in history_only
            if band_only:
                evidence = f"run-level noise: history only ({len(b_ok)}+{len(c_ok)} samples)"
                real = band is not None and settled.get(k, False)
        else:
            pct = (row["current"] / row["baseline"] - 1) * 100
            c = Change(row["baseline"], row["current"], pct, pct, pct, NO_CHANGE)
            evidence = "one value per run" if len(c_ok) == 1 else f"too few samples ({len(b_ok)}+{len(c_ok)})"
            real, past = band is not None and settled.get(k, False), abs(pct) > threshold_pct
            band_only = True
        if band is not None:
            evidence += f"; history noise band ±{band:.1f}%" + ("" if settled.get(k) else " (not settled yet)")
            real = real and abs(c.change_pct) > band
        moved = exact_moved.get((*k[:5], spec.corroborated_by)) if spec.corroborated_by and not interleaved else None
        if moved is False and real:
            evidence += f"; {spec.corroborated_by} unchanged: the machine may have moved"
            real = False
        row.update(change_pct=c.change_pct, lo_pct=c.lo_pct, hi_pct=c.hi_pct, evidence=evidence,
                   band_pct=np.nan if band is None else band)
        worse = c.change_pct > 0 if lower else c.change_pct < 0
        undecidable = (band_only and not settled.get(k, False)) or moved is False
        if real and past:
            row["verdict"] = REGRESSED if worse else IMPROVED
        elif past and undecidable:
            row["verdict"] = UNCONFIRMED
        elif real:
            row["verdict"] = BELOW
        elif spec.kind == "exact" or c.change_pct == 0:
            row["verdict"] = NO_CHANGE      # an exact count within its 0.1 % tolerance
        else:
            row["verdict"] = WITHIN_NOISE
        row["gate_fail"] = row["verdict"] == REGRESSED
        out.append(row)
    return pd.DataFrame(out, columns=CHANGE_COLUMNS)


def find_baseline(hist, run_id: str, suite: str, baseline: str | None = None) -> str | None:
    """The run `suite` of `run_id` is compared with: `baseline` when named (it must exist), else the latest
    earlier run of the same suite on the same machine with the same parameters. None if there is none."""
    mine = hist[(hist["run_id"] == run_id) & (hist["suite"] == suite)]
    if mine.empty:
        raise BaselineError(f"run {run_id!r} has no {suite!r} rows in the history")
    if baseline is not None:  # named: it must exist; a suite it did not measure has nothing to compare with
        if not (hist["run_id"] == baseline).any():
            known = sorted(set(hist["run_id"]))[-5:]
            raise BaselineError(f"baseline run {baseline!r} is not in the history; latest runs: {known or 'none'}")
        there = hist[(hist["run_id"] == baseline) & (hist["suite"] == suite)]
        return None if there.empty else baseline
    fp, params = mine["fingerprint"].iloc[0], mine["params"].iloc[0]
    cands = hist[(hist["suite"] == suite) & (hist["fingerprint"] == fp) & (hist["params"] == params)
                 & (hist["run_id"] < run_id)]
    return None if cands.empty else str(cands["run_id"].max())


def against_baseline(run_id: str, suites: list[str] | None = None, baseline: str | None = None, b=None,
                     hist=None):
    """Changes of a run's suites against their baselines, from the history (the run itself is read
    from data/runs when the history does not hold it yet). Returns ({suite: baseline run or None}, changes)."""
    import pandas as pd
    from . import budgets as budgets_mod, history

    b = b or budgets_mod.load()
    hist = history.load() if hist is None else hist
    if not (hist["run_id"] == run_id).any():
        hist = pd.concat([hist, history.rows_for_run(run_id)], ignore_index=True)
    suites = suites or sorted(set(hist[hist["run_id"] == run_id]["suite"]))
    bases, frames = {}, []
    for suite in suites:
        if not ((hist["run_id"] == run_id) & (hist["suite"] == suite)).any():
            continue
        base = find_baseline(hist, run_id, suite, baseline)
        bases[suite] = base
        if base is None:
            continue
        mine = hist[(hist["run_id"] == run_id) & (hist["suite"] == suite)]
        earlier = hist[(hist["suite"] == suite) & (hist["fingerprint"] == mine["fingerprint"].iloc[0])
                       & (hist["params"] == mine["params"].iloc[0]) & (hist["run_id"] < run_id)]
        frames.append(detect(mine, hist[(hist["run_id"] == base) & (hist["suite"] == suite)], earlier,
                             threshold_pct=b.regression_threshold_pct, min_history_runs=b.min_history_runs,
                             noise_pct=b.cqrs.noise_pct, history_only=history_only(b)))
    changes = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=CHANGE_COLUMNS)
    return bases, changes


def history_only(b) -> frozenset:
    """Metrics whose evidence is their history's noise band alone (quality.toml: run_level_noise)."""
    return frozenset(("cqrs", o.name, "ns_per_op") for o in b.cqrs.operations.values() if o.run_level_noise)


def describe(r: dict) -> str:
    """One metric's name in a regression list: suite, subject, configuration, variant, item, metric."""
    parts = [r["subject"], r["config"], r["variant"], r["item"]]
    return f"{r['suite']}: " + " / ".join(str(p) for p in parts if p) + f" — {r['metric']}"


def regression_list(changes) -> list[str]:
    """The plain list people ask for: regressions first, then broken, improved; changes that could not
    be confirmed are counted in one closing line (they are in the full table)."""
    order = {REGRESSED: 0, BROKE: 1, IMPROVED: 2}
    lines = []
    for r in sorted((r for r in changes.to_dict("records") if r["verdict"] in order),
                    key=lambda r: (order[r["verdict"]], -abs(r["change_pct"]) if r["change_pct"] == r["change_pct"] else 0)):
        if r["verdict"] == BROKE:
            lines.append(f"{r['verdict']}: {describe(r)} (was {r['baseline']:,.4g} {r['unit']}; now failed: {r['evidence']})")
        else:
            lines.append(f"{r['verdict']}: {describe(r)} {r['change_pct']:+.1f}% "
                         f"({r['baseline']:,.4g} → {r['current']:,.4g} {r['unit']}; {r['evidence']})")
    n = int((changes["verdict"] == UNCONFIRMED).sum()) if len(changes) else 0
    if n:
        lines.append(f"{UNCONFIRMED}: {n} change(s) past the threshold with too little evidence to call (one value "
                     f"per run or too few repeats and no settled noise band yet, or a time change between runs "
                     f"whose instructions did not move)")
    return lines
