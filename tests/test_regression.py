"""The verdict rules, on samples drawn with known differences (the math, not a benchmark)."""
import numpy as np
import pytest

from allframe_quality.verdict import regression as r

BASE = np.random.default_rng(7).normal(1000, 10, 40)   # drawn once, from its own seed


def _rng(seed: int = 8) -> np.random.Generator:
    """Each test draws from its own seeded generator: no result depends on which tests ran before it."""
    return np.random.default_rng(seed)


@pytest.mark.parametrize("shift, verdict", [
    (1.0, None),               # same distribution (A/A): never a verdict either way
    (1.15, r.REGRESSED),       # 15 % slower
    (0.85, r.IMPROVED),        # 15 % faster
    (1.005, None),             # half a percent: never a regression or improvement
])
def test_sample_verdicts(shift, verdict):
    RNG = _rng()
    cur = RNG.normal(1000 * shift, 10, 40)
    c = r.compare_samples(BASE, cur)
    if verdict is None:
        assert c.verdict in (r.NO_CHANGE, r.WITHIN_NOISE)
    else:
        assert c.verdict == verdict
    assert c.lo_pct <= c.change_pct <= c.hi_pct


def test_detect_needs_both_significance_and_size():
    """A time change fails the gate only when the whole interval is past the threshold; improvements never fail."""
    RNG = _rng()
    base = _rows("a", list(RNG.normal(1000, 10, 20)), "ns_per_op", "cqrs")
    slower = _rows("b", list(RNG.normal(1150, 10, 20)), "ns_per_op", "cqrs")
    ch = r.detect(slower, base, interleaved=True)
    assert ch["verdict"].tolist() == [r.REGRESSED] and ch["gate_fail"].all()
    ch = r.detect(slower, base, threshold_pct=20, interleaved=True)
    assert ch["verdict"].tolist() == [r.BELOW] and not ch["gate_fail"].any()      # real, but under the threshold
    noisy = _rows("b", list(RNG.normal(1150, 800, 20)), "ns_per_op", "cqrs")
    assert not r.detect(noisy, base, interleaved=True)["gate_fail"].any()         # wide spread: not proven
    faster = _rows("b", list(RNG.normal(800, 10, 20)), "ns_per_op", "cqrs")
    ch = r.detect(faster, base, interleaved=True)
    assert ch["verdict"].tolist() == [r.IMPROVED] and not ch["gate_fail"].any()


def test_exact_counts():
    assert r.compare_exact(1000, 1200).verdict == r.REGRESSED
    assert r.compare_exact(1000, 800).verdict == r.IMPROVED
    assert r.compare_exact(1000, 1000.5).verdict == r.NO_CHANGE


def test_too_few_samples():
    with pytest.raises(ValueError, match="at least two samples"):
        r.compare_samples([1.0], [1.0, 2.0])


# ---------------------------------------------------------------- detect: evidence rules per kind of metric

def _rows(run, values, metric="used_bytes", suite="memory", started="2026-01-01"):
    import pandas as pd
    from allframe_quality.verdict import history
    n = len(values)
    df = pd.DataFrame({"run_id": run, "started": pd.Timestamp(started, tz="UTC"), "fingerprint": "m", "machine": "m",
                       "allframe": "", "commit": "", "params": "p", "toolchain": "rustc 1.95.0", "probe": "x", "suite": suite, "subject": "allframe",
                       "config": "memory", "variant": "small", "item": "1000000", "metric": metric, "unit": "bytes",
                       "value": values, "lo": float("nan"), "hi": float("nan"),
                       "sample": list(range(n)) if n > 1 else [None], "status": "ok", "detail": ""})
    return df.astype(history.COLUMNS)


def test_one_value_per_run_needs_history_to_count():
    import pandas as pd
    base, cur = _rows("a", [100.0]), _rows("b", [120.0])
    ch = r.detect(cur, base)
    assert ch["verdict"].tolist() == [r.UNCONFIRMED] and not ch["gate_fail"].any()
    # a quiet history (±1 %) makes the band narrow, but a few runs are not yet evidence enough
    def hist(n, value):
        return pd.concat([_rows(f"h{i}", [value(i)], started=f"2025-12-{i + 1:02d}") for i in range(n)])
    ch = r.detect(cur, base, hist(7, lambda i: 100.0 + (i % 2)))
    assert ch["verdict"].tolist() == [r.UNCONFIRMED] and "not settled" in ch["evidence"].iloc[0]
    # once settled (more than SETTLED earlier runs), 20 % past a ±1 % band is a regression
    ch = r.detect(cur, base, hist(r.SETTLED + 2, lambda i: 100.0 + (i % 2)))
    assert ch["verdict"].tolist() == [r.REGRESSED] and ch["gate_fail"].all() and ch["band_pct"].iloc[0] < 5
    # a noisy history (±30 % swings) makes 20 % indistinguishable from noise
    ch = r.detect(cur, base, hist(r.SETTLED + 2, lambda i: 100.0 if i % 2 else 130.0))
    assert ch["verdict"].tolist() == [r.WITHIN_NOISE] and ch["band_pct"].iloc[0] > 20


def test_too_few_samples_are_not_evidence():
    ch = r.detect(_rows("b", [120.0, 121, 119], "ns_per_op", "cqrs"), _rows("a", [100.0, 101, 99], "ns_per_op", "cqrs"))
    assert ch["verdict"].tolist() == [r.UNCONFIRMED] and "too few samples (3+3)" in ch["evidence"].iloc[0]


def test_a_metric_that_stops_measuring_is_listed_as_broken():
    broke = _rows("b", [float("nan")]).assign(status="failed", detail="probe killed by signal 9")
    ch = r.detect(broke, _rows("a", [100.0]))
    assert ch["verdict"].tolist() == [r.BROKE] and "broke:" in r.regression_list(ch)[0]


def test_noise_band_follows_rustc_perf():
    assert r.noise_band([100, 101, 100, 101, 100, 101], 6) == pytest.approx(1.0, abs=0.05)
    assert r.noise_band([100, 101], 6) is None


def test_a_zero_baseline_has_no_relative_change():
    ch = r.detect(_rows("b", [4096.0]), _rows("a", [0.0]))
    assert ch["verdict"].tolist() == [r.WITHIN_NOISE] and "baseline is 0" in ch["evidence"].iloc[0]


def test_a_toolchain_change_starts_a_new_baseline_and_says_so():
    import pandas as pd
    old = _rows("20260101T000000Z-1", [100.0]).assign(toolchain="rustc 1.94.0")
    new = _rows("20260102T000000Z-1", [120.0]).assign(toolchain="rustc 1.95.0")
    hist = pd.concat([old, new], ignore_index=True)
    assert r.find_baseline(hist, "20260102T000000Z-1", "memory") is None
    note = r.why_no_baseline(hist, "20260102T000000Z-1", "memory")
    assert "toolchain rustc 1.94.0 → rustc 1.95.0" in note and "new baseline" in note
    # the same toolchain (and machine, parameters, AllFrame, probes): compared as usual
    same = pd.concat([old, new.assign(toolchain="rustc 1.94.0")], ignore_index=True)
    assert r.find_baseline(same, "20260102T000000Z-1", "memory") == "20260101T000000Z-1"
