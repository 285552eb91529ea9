"""The lab's one bootstrap: percentile intervals of a mean or of a ratio of means, seeded so a run is repeatable."""
from __future__ import annotations

import numpy as np

RESAMPLES = 2000


def mean_interval(values, *, confidence: float = 0.95, resamples: int = RESAMPLES, seed: int = 0) -> tuple[float, float]:
    """The percentile bootstrap interval of the mean of `values`."""
    v = np.asarray(values, float)
    boot = np.random.default_rng(seed).choice(v, (resamples, len(v))).mean(axis=1)
    alpha = (1 - confidence) / 2
    lo, hi = np.quantile(boot, [alpha, 1 - alpha])
    return float(lo), float(hi)


def ratio_interval(num, den, *, confidence: float = 0.95, resamples: int = RESAMPLES,
                   seed: int = 0) -> tuple[float, float]:
    """The paired percentile bootstrap interval of mean(num) / mean(den): pairs (num[i], den[i]) resampled together."""
    n, d = np.asarray(num, float), np.asarray(den, float)
    idx = np.random.default_rng(seed).integers(0, len(n), (resamples, len(n)))
    boot = n[idx].mean(axis=1) / d[idx].mean(axis=1)
    alpha = (1 - confidence) / 2
    lo, hi = np.quantile(boot, [alpha, 1 - alpha])
    return float(lo), float(hi)


def relative_change_interval(baseline, current, *, confidence: float = 0.95, resamples: int = RESAMPLES,
                             seed: int = 0) -> tuple[float, float]:
    """Unpaired: the bootstrap interval of (mean(current) / mean(baseline) - 1), in percent."""
    rng = np.random.default_rng(seed)
    b, c = np.asarray(baseline, float), np.asarray(current, float)
    bm = rng.choice(b, (resamples, len(b))).mean(axis=1)   # baseline first: the draws are as they always were
    cm = rng.choice(c, (resamples, len(c))).mean(axis=1)
    rel = (cm / bm - 1) * 100
    alpha = (1 - confidence) / 2
    lo, hi = np.quantile(rel, [alpha, 1 - alpha])
    return float(lo), float(hi)
