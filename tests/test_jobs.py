"""app/jobs.py's ordering of the crawls: the site search starts as soon as the provincial crawl
has ended, even while the national crawl still runs (real processes stand in for the crawls)."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from app.jobs import _Beside, _watching
from crawler.runner import Launched


def process(seconds: float, code: int = 0) -> Launched:
    script = f"import sys, time; time.sleep({seconds}); sys.exit({code})"
    return Launched(subprocess.Popen([sys.executable, "-c", script], stdin=subprocess.PIPE))


def test_the_site_search_starts_when_the_provincial_crawl_ends_before_the_national_one():
    timings: dict = {}
    provincial = _Beside("provincial", process(0.3), timings)
    national = process(1.2, code=3)
    started: list[float] = []
    code = _watching(national, provincial, lambda: started.append(time.monotonic()))
    ended = time.monotonic()
    assert code == 3  # the national crawl's own exit code
    assert len(started) == 1 and ended - started[0] > 0.5  # well before the national end
    assert provincial.ended and 0.3 <= timings["provincial"] < 1.0
    assert provincial.wait() == 0 and timings["provincial"] < 1.0  # its time kept


def test_nothing_starts_early_when_the_national_crawl_ends_first():
    provincial = _Beside("provincial", process(3.0), {})
    started: list[float] = []
    assert _watching(process(0.2), provincial, lambda: started.append(0.0)) == 0
    assert started == [] and not provincial.ended
    provincial.launched.stop()


def test_an_interrupted_wait_stops_the_national_crawl():
    national = process(30.0)
    provincial = _Beside("provincial", process(30.0), {})

    def interrupt() -> None:
        raise KeyboardInterrupt

    provincial.done = lambda: True  # type: ignore[method-assign]  # "ended": on_end runs
    with pytest.raises(KeyboardInterrupt):
        _watching(national, provincial, interrupt)
    assert national.child.poll() is not None  # not left running
    provincial.launched.stop()
