"""Deciding "this changed": criterion-style verdicts from repeated samples, exact ones from counts.

A change is *real* when the bootstrap confidence interval of the relative change of the mean lies
wholly on one side of zero; it *matters* when it is also beyond the noise threshold (criterion's
default 1 %). The gate fails a metric only when it regressed by more than the budgets file's
threshold (PRD: 10 %). Deterministic counts (instructions, bytes) need no statistics.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import stats

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
    lo, hi = stats.relative_change_interval(b, c, confidence=confidence, resamples=resamples, seed=seed)
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
    groups_b = {k: g for k, g in baseline.groupby(key, dropna=False)}
    bands, settled = _noise_bands(earlier, key, min_history_runs)
    exact_moved = _exact_moves(current, groups_b, key)
    out = []
    for k, cur in current.groupby(key, dropna=False):
        spec = history.SPECS.get((k[0], k[5]))
        if spec is None or not spec.detect:
            continue
        row = _compare_metric(dict(zip(key, k)), k, cur, groups_b.get(k), spec, bands.get(k), settled.get(k, False),
                              exact_moved, threshold_pct=threshold_pct, noise_pct=noise_pct, history_only=history_only,
                              interleaved=interleaved)
        if row is not None:
            out.append(row)
    return pd.DataFrame(out, columns=CHANGE_COLUMNS)


def _noise_bands(earlier, key: list[str], min_history_runs: int) -> tuple[dict, dict]:
    """Per metric key, the noise band learned from earlier comparable runs, and whether it has settled."""
    from . import history
    bands, settled = {}, {}
    if earlier is not None and not earlier.empty:
        pts = history.point_values(earlier).sort_values(["started", "run_id"])
        for k, g in pts.groupby(key, dropna=False):
            bands[k] = noise_band(g["value"].to_numpy(), min_history_runs)
            settled[k] = len(_usable(g["value"].to_numpy())) - 1 >= SETTLED   # as noise_band counts changes
    return bands, settled


def _exact_moves(current, groups_b: dict, key: list[str]) -> dict:
    """(suite, subject, config, variant, item, metric) of every exact count -> whether it changed."""
    from . import history
    moved = {}
    for k, cur in current.groupby(key, dropna=False):
        spec = history.SPECS.get((k[0], k[5]))
        base = groups_b.get(k)
        if spec is not None and spec.kind == "exact" and base is not None:
            c_ok, b_ok = cur[cur["status"] == "ok"]["value"], base[base["status"] == "ok"]["value"]
            if len(c_ok) and len(b_ok) and float(b_ok.mean()) != 0:
                moved[k] = compare_exact(float(b_ok.mean()), float(c_ok.mean())).verdict != NO_CHANGE
    return moved


def _compare_metric(ident: dict, k: tuple, cur, base, spec, band, settled: bool, exact_moved: dict, *,
                    threshold_pct: float, noise_pct: float, history_only: frozenset, interleaved: bool) -> dict | None:
    """One tracked metric of the current run against its baseline: the change, its evidence and its verdict."""
    row = dict(ident, unit=cur["unit"].iloc[0], baseline=np.nan, current=np.nan, change_pct=np.nan,
               lo_pct=np.nan, hi_pct=np.nan, band_pct=np.nan, evidence="", verdict="", gate_fail=False)
    c_ok = cur[cur["status"] == "ok"]["value"].to_numpy()
    b_ok = base[base["status"] == "ok"]["value"].to_numpy() if base is not None else None
    point = np.median if spec.point == "median" else np.mean
    if len(c_ok) == 0:
        if b_ok is not None and len(b_ok):
            row.update(verdict=BROKE, baseline=float(point(b_ok)), evidence=str(cur["detail"].iloc[0])[:160])
            return row
        return None
    row["current"] = float(point(c_ok))
    if b_ok is None or len(b_ok) == 0:
        row.update(verdict=FIXED if base is not None else NEW)
        return row
    row["baseline"] = float(point(b_ok))
    if row["baseline"] == 0:  # no relative change from zero (e.g. memory used below one page)
        row.update(verdict=NO_CHANGE if row["current"] == 0 else WITHIN_NOISE, evidence="baseline is 0: no relative change")
        return row
    band = band if spec.kind != "exact" else None   # deterministic: no noise to learn
    c, evidence, real, past, band_only = _evidence(row, k, spec, b_ok, c_ok, band, settled, threshold_pct=threshold_pct,
                                                   noise_pct=noise_pct, history_only=history_only)
    moved = exact_moved.get((*k[:5], spec.corroborated_by)) if spec.corroborated_by and not interleaved else None
    if moved is False and real:
        evidence += f"; {spec.corroborated_by} unchanged: the machine may have moved"
        real = False
    row.update(change_pct=c.change_pct, lo_pct=c.lo_pct, hi_pct=c.hi_pct, evidence=evidence,
               band_pct=np.nan if band is None else band)
    worse = c.change_pct > 0 if spec.lower_is_better else c.change_pct < 0
    undecidable = (band_only and not settled) or moved is False
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
    row["gate_fail"] = row["verdict"] == REGRESSED and spec.gates
    return row


def _evidence(row: dict, k: tuple, spec, b_ok, c_ok, band, settled: bool, *, threshold_pct: float, noise_pct: float,
              history_only: frozenset) -> tuple[Change, str, bool, bool, bool]:
    """(the change, its evidence, whether it is real, whether it is past the threshold, whether the noise band is
    its only evidence): exact counts as they are, samples by bootstrap, single values by the history's band."""
    lower = spec.lower_is_better
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
            real = band is not None and settled
    else:
        pct = (row["current"] / row["baseline"] - 1) * 100
        c = Change(row["baseline"], row["current"], pct, pct, pct, NO_CHANGE)
        evidence = "one value per run" if len(c_ok) == 1 else f"too few samples ({len(b_ok)}+{len(c_ok)})"
        real, past = band is not None and settled, abs(pct) > threshold_pct
        band_only = True
    if band is not None:
        evidence += f"; history noise band ±{band:.1f}%" + ("" if settled else " (not settled yet)")
        real = real and abs(c.change_pct) > band
    return c, evidence, real, past, band_only


# What makes two runs of a suite comparable: the same machine, measuring parameters, compiler, AllFrame
# source and probe sources. A change of any of these starts a new baseline and is shown as such.
COMPARABLE = {"fingerprint": "machine", "params": "measuring parameters", "toolchain": "toolchain",
              "allframe": "AllFrame source", "probe": "probe sources"}


def comparable(hist, run_id: str, suite: str):
    """History rows of `suite` from earlier runs comparable with `run_id`'s."""
    mine = hist[(hist["run_id"] == run_id) & (hist["suite"] == suite)]
    if mine.empty:
        raise BaselineError(f"run {run_id!r} has no {suite!r} rows in the history")
    sel = (hist["suite"] == suite) & (hist["run_id"] < run_id)
    for col in COMPARABLE:
        sel &= hist[col] == mine[col].iloc[0]
    return hist[sel]


def find_baseline(hist, run_id: str, suite: str, baseline: str | None = None) -> str | None:
    """The run `suite` of `run_id` is compared with: `baseline` when named (it must exist), else the latest
    earlier comparable run (COMPARABLE). None if there is none."""
    if baseline is not None:  # named: it must exist; a suite it did not measure has nothing to compare with
        if not (hist["run_id"] == baseline).any():
            known = sorted(set(hist["run_id"]))[-5:]
            raise BaselineError(f"baseline run {baseline!r} is not in the history; latest runs: {known or 'none'}")
        if not ((hist["run_id"] == run_id) & (hist["suite"] == suite)).any():
            raise BaselineError(f"run {run_id!r} has no {suite!r} rows in the history")
        there = hist[(hist["run_id"] == baseline) & (hist["suite"] == suite)]
        return None if there.empty else baseline
    cands = comparable(hist, run_id, suite)
    return None if cands.empty else str(cands["run_id"].max())


def why_no_baseline(hist, run_id: str, suite: str) -> str | None:
    """When a suite has no comparable baseline but ran before on this machine: what changed since (a new
    toolchain, another AllFrame, changed probes or parameters), so a step in the trends is explained."""
    mine = hist[(hist["run_id"] == run_id) & (hist["suite"] == suite)]
    before = hist[(hist["suite"] == suite) & (hist["run_id"] < run_id) & (hist["fingerprint"] == mine["fingerprint"].iloc[0])]
    if before.empty:
        return None
    prev = before[before["run_id"] == before["run_id"].max()]
    diffs = [f"{label} {prev[c].iloc[0] or '?'} → {mine[c].iloc[0] or '?'}" for c, label in COMPARABLE.items()
             if c != "fingerprint" and prev[c].iloc[0] != mine[c].iloc[0] and c != "params"]
    if prev["params"].iloc[0] != mine["params"].iloc[0]:
        diffs.append("measuring parameters changed")
    return (f"{suite}: not compared with run {prev['run_id'].iloc[0]}: " + "; ".join(diffs)
            + ". This run starts a new baseline.") if diffs else None


def against_baseline(run_id: str, suites: list[str] | None = None, baseline: str | None = None, b=None,
                     hist=None, with_notes: bool = False):
    """Changes of a run's suites against their baselines, from the history (the run itself is read
    from data/runs when the history does not hold it yet): the previous comparable run (detect) and, over
    the whole comparable history, sustained changes (sustained). Returns ({suite: baseline run or None},
    changes[, notes])."""
    import pandas as pd
    from ..config import budgets as budgets_mod
    from . import history

    b = b or budgets_mod.load()
    hist = history.load() if hist is None else hist
    if not (hist["run_id"] == run_id).any():
        hist = pd.concat([hist, history.rows_for_run(run_id)], ignore_index=True)
    suites = suites or sorted(set(hist[hist["run_id"] == run_id]["suite"]))
    bases, frames, notes = {}, [], []
    for suite in suites:
        if not ((hist["run_id"] == run_id) & (hist["suite"] == suite)).any():
            continue
        base = find_baseline(hist, run_id, suite, baseline)
        bases[suite] = base
        if base is None:
            note = why_no_baseline(hist, run_id, suite)
            if note:
                notes.append(note)
            continue
        mine = hist[(hist["run_id"] == run_id) & (hist["suite"] == suite)]
        earlier = comparable(hist, run_id, suite)
        ch = detect(mine, hist[(hist["run_id"] == base) & (hist["suite"] == suite)], earlier,
                    threshold_pct=b.regression_threshold_pct, min_history_runs=b.min_history_runs,
                    noise_pct=b.cqrs.noise_pct, history_only=history_only(b))
        if baseline is None:  # the sustained view needs the comparable history, not a named run
            ch = with_sustained(ch, sustained(mine, earlier, threshold_pct=b.regression_threshold_pct,
                                              window=b.window, lookback=b.lookback_runs, alpha=b.alpha,
                                              exclude=history_only(b)))
        frames.append(ch)
    changes = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=CHANGE_COLUMNS)
    return (bases, changes, notes) if with_notes else (bases, changes)


def permutation_greater(x, y) -> float:
    """One-sided exact permutation p-value that `y`'s mean exceeds `x`'s: the share of all ways to split
    the pooled values into groups of these sizes whose mean difference is at least the observed one.
    Small windows only (12 values: 924 splits)."""
    from itertools import combinations
    pooled = np.asarray([*x, *y], float)
    n, total = len(y), float(np.sum(pooled))
    observed = np.mean(y) - np.mean(x)
    splits = list(combinations(range(len(pooled)), n))
    sums = np.array([pooled[list(c)].sum() for c in splits])
    diffs = sums / n - (total - sums) / (len(pooled) - n)
    return float(np.mean(diffs >= observed - 1e-12))


SUSTAINED_COLUMNS = ["suite", "subject", "config", "variant", "item", "metric", "reference", "recent", "shift_pct",
                     "now_pct", "p", "runs", "verdict", "evidence"]


def _within_run_ratios(pts):
    """Each value over the geometric mean of its siblings in the same run (same suite and metric, at least
    three series): a ratio measured within one run, which removes the machine's drift - it moves every
    operation of a run together - and leaves what one operation did apart from the others."""
    pts = pts.copy()
    pts["log"] = np.log(pts["value"].where(pts["value"] > 0))
    pts["relative"] = False
    for (suite, metric), g in pts.groupby(["suite", "metric"]):
        series = g.groupby(["subject", "config", "variant", "item"], dropna=False).ngroups
        if series < 3:
            continue
        for run_id, rg in g.groupby("run_id"):
            if len(rg) < 3:
                continue
            total, n = rg["log"].sum(), len(rg)
            pts.loc[rg.index, "log"] = rg["log"] - (total - rg["log"]) / (n - 1)
            pts.loc[rg.index, "relative"] = True
    return pts


def sustained(current, earlier, *, threshold_pct: float = 10.0, window: int = 6, lookback: int = 30,
              alpha: float = 0.01, exclude: frozenset = frozenset()):
    """Sustained changes over the comparable history: for each detectable metric measured with samples, the
    last `window` runs (this one included) against the earliest `window` of the last `lookback` runs. Where a
    suite has three or more series of a metric (the CQRS operations), each run's value is taken relative to
    its siblings in the same run (_within_run_ratios), so the machine's drift cancels. A change counts when
    the recent runs' mean (of logs) is past the threshold, a one-sided exact permutation test puts it past
    chance at `alpha`, and this run itself is at least a quarter of the threshold away in the same direction (a fixed run is not
    failed for its predecessors).
    Catches slow creep (each step under the threshold) and time-only slowdowns whose instructions did not
    move, once they persist; a global slowdown of every operation alike is left to the run-against-run view
    and to A/B. `exclude`: (suite, config, metric) whose run-level noise is the whole machine's state (SQLite
    append's time follows the disk for whole stretches of runs): not judged here."""
    import pandas as pd
    from . import history

    key = history.KEY
    both = pd.concat([earlier, current], ignore_index=True)
    both = both[[(s, c, m) not in exclude for s, c, m in zip(both["suite"], both["config"], both["metric"])]]
    pts = history.point_values(both).sort_values(["started", "run_id"])
    pts = pts[pts["run_id"].isin(sorted(set(pts["run_id"]))[-lookback:])]
    pts = pts[[(history.SPECS.get((s, m)) is not None and history.SPECS[(s, m)].detect
                and history.SPECS[(s, m)].kind != "exact") for s, m in zip(pts["suite"], pts["metric"])]]
    if pts.empty:
        return pd.DataFrame(columns=SUSTAINED_COLUMNS)
    pts = _within_run_ratios(pts).dropna(subset=["log"])
    this_run = set(current["run_id"])
    rows = []
    for k, g in pts.groupby(key, dropna=False):
        spec = history.SPECS[(k[0], k[5])]
        if len(g) < 2 * window or g["run_id"].iloc[-1] not in this_run:
            continue
        v = g["log"].to_numpy(float)
        ref, rec = v[:window], v[-window:]
        shift = (np.exp(rec.mean() - ref.mean()) - 1) * 100
        now = (np.exp(v[-1] - ref.mean()) - 1) * 100
        up = shift > 0
        p = permutation_greater(ref, rec) if up else permutation_greater(-ref, -rec)
        worse = up == spec.lower_is_better
        real = p <= alpha and abs(shift) > threshold_pct and abs(now) > threshold_pct / 4 and (now > 0) == up
        how = "relative to the suite's other series in each run, " if g["relative"].all() else ""
        rows.append(dict(zip(key, k), reference=float(np.exp(ref.mean())), recent=float(np.exp(rec.mean())),
                         shift_pct=shift, now_pct=now, p=p, runs=len(g),
                         verdict=(REGRESSED if worse else IMPROVED) if real else NO_CHANGE,
                         evidence=f"sustained: the last {window} of {len(g)} comparable runs against the first {window}, "
                                  f"{how}mean {shift:+.1f}%, permutation p={p:.4f}"))
    return pd.DataFrame(rows, columns=SUSTAINED_COLUMNS)


def with_sustained(changes, sus):
    """Merge sustained changes into the run-against-run changes: a sustained regression or improvement
    decides that metric's verdict (and fails the gate), whatever the single step from the previous run."""
    if sus.empty or changes.empty:
        return changes
    changes = changes.copy()
    key = ["suite", "subject", "config", "variant", "item", "metric"]
    idx = {tuple(r[c] for c in key): i for i, r in zip(changes.index, changes.to_dict("records"))}
    for r in sus[sus["verdict"] != NO_CHANGE].to_dict("records"):
        i = idx.get(tuple(r[c] for c in key))
        if i is None:
            continue
        changes.loc[i, "verdict"] = r["verdict"]
        changes.loc[i, "evidence"] = r["evidence"]
        changes.loc[i, "change_pct"] = r["shift_pct"]
        changes.loc[i, "gate_fail"] = r["verdict"] == REGRESSED
    return changes


def paired(a_rounds, b_rounds, *, threshold_pct: float = 10.0, resamples: int = 5000, seed: int = 0,
           min_rounds: int = 5):
    """A/B on interleaved rounds: per round, B's value over A's of the same round (the pair shares the
    machine's mood); the change is the mean of those ratios with a paired bootstrap 95 % interval, and it
    counts when the whole interval is past the threshold. Exact counts are compared exactly. Both arguments
    are lists (one per round) of history rows; returns changes in CHANGE_COLUMNS."""
    import pandas as pd
    from . import history

    key = history.KEY
    if len(a_rounds) != len(b_rounds):
        raise ValueError("A/B needs the same number of rounds on each side")
    per = []
    for side, rounds in (("A", a_rounds), ("B", b_rounds)):
        for r, df in enumerate(rounds):
            p = history.point_values(df) if not df.empty else df
            per.append(p.assign(side=side, round=r))
    pts = pd.concat(per, ignore_index=True)
    allrows = pd.concat([*a_rounds, *b_rounds], ignore_index=True)
    out = []
    for k, g in allrows.groupby(key, dropna=False):
        spec = history.SPECS.get((k[0], k[5]))
        if spec is None or not spec.detect:
            continue
        row = dict(zip(key, k), unit=g["unit"].iloc[0], baseline=np.nan, current=np.nan, change_pct=np.nan,
                   lo_pct=np.nan, hi_pct=np.nan, band_pct=np.nan, evidence="", verdict="", gate_fail=False)
        sel = pts
        for c, val in zip(key, k):
            sel = sel[sel[c] == val]
        a = sel[sel["side"] == "A"].set_index("round")["value"]
        bb = sel[sel["side"] == "B"].set_index("round")["value"]
        if a.empty and bb.empty:   # measured on neither side (not measured, or failed: ab lists the failures)
            continue
        if a.empty or bb.empty:
            failed = g[g["status"] != "ok"]
            row.update(verdict=BROKE if bb.empty else FIXED,
                       baseline=float(a.mean()) if len(a) else np.nan, current=float(bb.mean()) if len(bb) else np.nan,
                       evidence=headline_of(failed))
            row["gate_fail"] = row["verdict"] == BROKE
            out.append(row)
            continue
        row["baseline"], row["current"] = float(a.mean()), float(bb.mean())
        out.append(_paired_change(row, spec, a, bb, threshold_pct=threshold_pct, resamples=resamples, seed=seed,
                                  min_rounds=min_rounds))
    return pd.DataFrame(out, columns=CHANGE_COLUMNS)


def _paired_change(row: dict, spec, a, bb, *, threshold_pct: float, resamples: int, seed: int, min_rounds: int) -> dict:
    """One metric's A/B verdict: exact counts exactly; samples by the paired bootstrap of B/A over the rounds."""
    import pandas as pd
    lower = spec.lower_is_better
    if spec.kind == "exact":
        c = compare_exact(row["baseline"], row["current"], lower_is_better=lower)
        real, past, evidence = c.verdict != NO_CHANGE, abs(c.change_pct) > threshold_pct, "exact count"
        lo = hi = pct = c.change_pct
    else:
        both = pd.concat([a.rename("a"), bb.rename("b")], axis=1).dropna()
        if len(both) < min_rounds:
            raise ValueError(f"{describe(row)}: {len(both)} paired rounds, fewer than {min_rounds}")
        ratios = (both["b"] / both["a"]).to_numpy(float)
        lo, hi = ((np.array(stats.mean_interval(ratios, resamples=resamples, seed=seed)) - 1) * 100)
        pct = (ratios.mean() - 1) * 100
        real = lo > 0 or hi < 0
        past = lo > threshold_pct or hi < -threshold_pct
        evidence = f"paired bootstrap 95% interval over {len(ratios)} interleaved rounds (B/A per round)"
    worse = pct > 0 if lower else pct < 0
    verdict = (REGRESSED if worse else IMPROVED) if real and past else (BELOW if real else
                                                                        (NO_CHANGE if pct == 0 or spec.kind == "exact"
                                                                         else WITHIN_NOISE))
    row.update(change_pct=pct, lo_pct=lo, hi_pct=hi, evidence=evidence, verdict=verdict,
               gate_fail=verdict == REGRESSED and spec.gates)
    return row


def headline_of(failed) -> str:
    from ..core.records import headline
    return headline(str(failed["detail"].iloc[0])) if len(failed) else "no value on one side"


def replay(hist, b=None):
    """Each run of the history judged as the gate judged it when it was the newest (only earlier runs known):
    on a history of one unchanged build (A/A), every regression listed here is a false alarm."""
    import pandas as pd
    out = []
    for run_id in sorted(set(hist["run_id"])):
        known = hist[hist["run_id"] <= run_id]
        _, ch = against_baseline(run_id, b=b, hist=known)
        out.append(ch.assign(run_id=run_id))
    return pd.concat(out, ignore_index=True) if out else pd.DataFrame(columns=[*CHANGE_COLUMNS, "run_id"])


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
