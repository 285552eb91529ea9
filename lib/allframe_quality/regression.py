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
