"""The verdict rules, on samples drawn with known differences (the math, not a benchmark)."""
import numpy as np
import pytest

from allframe_quality import regression as r

RNG = np.random.default_rng(7)
BASE = RNG.normal(1000, 10, 40)


@pytest.mark.parametrize("shift, verdict", [
    (1.0, None),               # same distribution (A/A): never a verdict either way
    (1.15, r.REGRESSED),       # 15 % slower
    (0.85, r.IMPROVED),        # 15 % faster
    (1.005, None),             # half a percent: never a regression or improvement
])
def test_sample_verdicts(shift, verdict):
    cur = RNG.normal(1000 * shift, 10, 40)
    c = r.compare_samples(BASE, cur)
    if verdict is None:
        assert c.verdict in (r.NO_CHANGE, r.WITHIN_NOISE)
    else:
        assert c.verdict == verdict
    assert c.lo_pct <= c.change_pct <= c.hi_pct


def test_gate_needs_both_significance_and_size():
    slower = r.compare_samples(BASE, RNG.normal(1150, 10, 40))
    assert r.gate_fails(slower, threshold_pct=10)
    assert not r.gate_fails(slower, threshold_pct=20)      # real, but under the threshold
    # the point estimate is past 10 % but the interval reaches below it: not proven, no failure
    borderline = r.Change(100, 110.2, 10.2, 5.2, 14.7, r.REGRESSED)
    assert not r.gate_fails(borderline, threshold_pct=10)
    noisy = r.compare_samples(BASE, RNG.normal(1150, 800, 40))
    assert noisy.verdict != r.REGRESSED or noisy.lo_pct > 1  # wide spread: not called regressed on a whim
    assert not r.gate_fails(r.compare_samples(BASE, BASE * 0.8), threshold_pct=10)  # improvements never fail


def test_exact_counts():
    assert r.compare_exact(1000, 1200).verdict == r.REGRESSED
    assert r.compare_exact(1000, 800).verdict == r.IMPROVED
    assert r.compare_exact(1000, 1000.5).verdict == r.NO_CHANGE
    assert r.gate_fails(r.compare_exact(1000, 1200), 10) and not r.gate_fails(r.compare_exact(1000, 1050), 10)


def test_too_few_samples():
    with pytest.raises(ValueError, match="at least two samples"):
        r.compare_samples([1.0], [1.0, 2.0])
