"""make report's progress: an estimate before each notebook (typical cold times on a first run, then the last
default run's own), its time after, the total at the end; runs with parameters are not recorded."""
import json

import pytest

from allframe_quality.report import publish, timings

pytestmark = pytest.mark.slow   # executes a notebook


@pytest.fixture
def tree(tmp_path, monkeypatch):
    for var, sub in (("AFQ_DATA_DIR", "data"), ("AFQ_SITE_DIR", "site"), ("AFQ_BUILD_DIR", "build"),
                     ("AFQ_CACHE_DIR", "cache")):
        monkeypatch.setenv(var, str(tmp_path / sub))
    return tmp_path


def test_first_run_then_last_run_estimates_and_the_total(tree, capsys):
    site, ok = publish.report(["trends"])
    out = capsys.readouterr().out
    assert ok
    first = timings.FIRST_RUN["trends"]
    assert f"== trends (1/1): executing notebooks/trends.ipynb" in out
    assert f"~{timings.minutes(first)} for it, ~{timings.minutes(first)} left in all (first run, typical cold times)" in out
    took = json.loads(timings.path().read_text())["trends"]
    assert took > 0 and f"== total: {timings.clock(took)} (trends {timings.clock(took)})" in out

    publish.report(["trends"])
    assert f"~{timings.minutes(took)} for it, ~{timings.minutes(took)} left in all (last run)" in capsys.readouterr().out


def test_a_run_with_parameters_is_not_recorded(tree, capsys):
    publish.report(["trends"], {"trends": {"machine": None}})
    assert not timings.path().exists()


def test_time_formats():
    assert (timings.minutes(40), timings.minutes(600), timings.clock(61.4), timings.clock(7)) == \
        ("40 s", "10 min", "1 min 01 s", "7 s")
