"""Detection over the whole comparable history, on synthetic histories with the noise measured here.

Noise model (from the lab's A/A CQRS runs on this machine kind): one operation's criterion mean moves
±10-30 % between processes (log-normal, sigma 0.15), each run's value is the mean of 5 process means,
and the whole machine drifts from run to run (±4 %, and spells of -20 % that move every operation
together). Eight operations per run, as the CQRS suite has. Each operation's instructions are exact.
"""
import numpy as np
import pandas as pd
import pytest

from allframe_quality.verdict import history
from allframe_quality.verdict import regression as r

OPS = ["command_dispatch", "event_append_memory", "event_append_sqlite", "projection_update", "saga_2step",
       "saga_compensation", "query_dispatch", "event_upcast"]
BASE_NS = dict(zip(OPS, [140, 900, 30000, 400, 2500, 3000, 150, 300]))


def synthetic(runs: int, seed: int, factor=lambda run, op: 1.0, drift_spell=None) -> pd.DataFrame:
    """History rows of `runs` CQRS runs: 5 process means per operation, plus exact instructions."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(runs):
        machine = rng.normal(1.0, 0.04) * (0.8 if drift_spell and drift_spell[0] <= i < drift_spell[1] else 1.0)
        run_id = f"2026{(i // 28) + 1:02d}{(i % 28) + 1:02d}T000000Z-00001"
        for op in OPS:
            level = BASE_NS[op] * factor(i, op) * machine
            for k, v in enumerate(level * rng.lognormal(0, 0.15, 5)):
                rows.append(dict(run_id=run_id, sample=k, metric="ns_per_op", unit="ns", value=v, config=op))
            rows.append(dict(run_id=run_id, sample=None, metric="instructions_per_op", unit="instructions",
                             value=1000.0 * (1 + OPS.index(op)), config=op))
    df = pd.DataFrame(rows)
    df = df.assign(started=pd.to_datetime(df["run_id"].str[:15], format="%Y%m%dT%H%M%S", utc=True),
                   fingerprint="m", machine="m", allframe="a", commit="", params="p", toolchain="t", probe="x",
                   suite="cqrs", subject="allframe", variant="", item="", lo=np.nan, hi=np.nan, status="ok", detail="")
    return df[list(history.COLUMNS)].astype(history.COLUMNS)


def verdicts(hist: pd.DataFrame) -> dict:
    """The last run's verdict per operation's time, as against_baseline gives it (previous run + sustained)."""
    runs = sorted(hist["run_id"].unique())
    cur, prev = hist[hist["run_id"] == runs[-1]], hist[hist["run_id"] == runs[-2]]
    earlier = hist[hist["run_id"] < runs[-1]]
    ch = r.detect(cur, prev, earlier)
    ch = r.with_sustained(ch, r.sustained(cur, earlier))
    t = ch[ch["metric"] == "ns_per_op"]
    return dict(zip(t["config"], t["verdict"]))


def five_steps(run, op):
    """command_dispatch slows by 3 % five times, each step held for 3 runs (+15.9 % in all), from run 5."""
    return 1.03 ** min(5, max(0, (run - 5) // 3 + 1)) if op == "command_dispatch" and run >= 5 else 1.0


@pytest.mark.slow   # hundreds of synthetic histories through the detector
def test_five_3pct_steps_are_caught_once_the_creep_persists():
    """No step is past the threshold, so the run-against-run view never fails one; the sustained view does,
    once the last step has been in place for a window of runs (here run 23: 6 runs after the fifth step)."""
    seen = [verdicts(synthetic(23, seed, five_steps))["command_dispatch"] for seed in range(30)]
    assert seen.count(r.REGRESSED) >= 0.7 * len(seen), f"caught in {seen.count(r.REGRESSED)} of {len(seen)}"
    steps_only = []
    for seed in range(10):   # the step-by-step view alone, at each step's first run
        h = synthetic(23, seed, five_steps)
        runs = sorted(h["run_id"].unique())
        for i in (5, 8, 11, 14, 17):
            cur, prev = h[h["run_id"] == runs[i]], h[h["run_id"] == runs[i - 1]]
            ch = r.detect(cur, prev, h[h["run_id"] < runs[i]])
            steps_only += list(ch[(ch["config"] == "command_dispatch") & (ch["metric"] == "ns_per_op")]["verdict"])
    assert r.REGRESSED not in steps_only


@pytest.mark.slow   # hundreds of synthetic histories through the detector
def test_a_time_only_slowdown_is_caught_once_it_persists():
    """+20 % from run 12, instructions unchanged (a lock, I/O): rarely provable from its first run, caught
    once it has lasted a window of runs."""
    slow = lambda run, op: 1.2 if op == "projection_update" and run >= 12 else 1.0
    first = [verdicts(synthetic(13, seed, slow))["projection_update"] for seed in range(20)]
    assert first.count(r.REGRESSED) <= 2
    later = [verdicts(synthetic(20, seed, slow))["projection_update"] for seed in range(30)]
    assert later.count(r.REGRESSED) >= 0.75 * len(later), f"caught in {later.count(r.REGRESSED)} of 30"


@pytest.mark.slow   # hundreds of synthetic histories through the detector
@pytest.mark.parametrize("spell", [None, (12, 20), (6, 20)])
def test_a_a_histories_give_no_false_alarm(spell):
    """A/A: the same build run after run, with machine drift spells that move every operation together."""
    alarms = []
    for seed in range(40):
        v = verdicts(synthetic(20, 1000 + seed, drift_spell=spell))
        alarms += [(seed, op) for op, verdict in v.items() if verdict == r.REGRESSED]
    assert alarms == []


def test_permutation_test_is_exact_for_small_windows():
    assert r.permutation_greater([1, 2, 3, 4, 5], [6, 7, 8, 9, 10]) == pytest.approx(1 / 252)
    assert r.permutation_greater([6, 7, 8, 9, 10], [1, 2, 3, 4, 5]) == pytest.approx(1.0)
    assert 0.4 < r.permutation_greater([1, 2, 3, 4, 5], [1, 2, 3, 4, 5]) < 0.7
