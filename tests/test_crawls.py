"""app/crawls.py, and app/jobs.py's ordering of the crawls with it: the site search starts as soon
as the provincial crawl has ended, even while the national crawl still runs; a phase one crawl
announces reaches the others at once (real processes stand in for the crawls)."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from app.crawls import Beside, Board, watching
from crawler.runner import Launched


def process(seconds: float, code: int = 0) -> Launched:
    script = f"import sys, time; time.sleep({seconds}); sys.exit({code})"
    return Launched(subprocess.Popen([sys.executable, "-c", script], stdin=subprocess.PIPE))


def test_the_site_search_starts_when_the_provincial_crawl_ends_before_the_national_one():
    timings: dict = {}
    provincial = Beside("provincial", process(0.3), timings)
    national = process(1.2, code=3)
    started: list[float] = []
    code = watching(national, provincial, lambda: started.append(time.monotonic()))
    ended = time.monotonic()
    assert code == 3  # the national crawl's own exit code
    assert len(started) == 1 and ended - started[0] > 0.5  # well before the national end
    assert provincial.ended and 0.3 <= timings["provincial"] < 1.0
    assert provincial.wait() == 0 and timings["provincial"] < 1.0  # its time kept


def test_nothing_starts_early_when_the_national_crawl_ends_first():
    provincial = Beside("provincial", process(3.0), {})
    started: list[float] = []
    assert watching(process(0.2), provincial, lambda: started.append(0.0)) == 0
    assert started == [] and not provincial.ended
    provincial.launched.stop()


def test_an_interrupted_wait_stops_the_national_crawl():
    national = process(30.0)
    provincial = Beside("provincial", process(30.0), {})

    def interrupt() -> None:
        raise KeyboardInterrupt

    provincial.done = lambda: True  # type: ignore[method-assign]  # "ended": on_end runs
    with pytest.raises(KeyboardInterrupt):
        watching(national, provincial, interrupt)
    assert national.child.poll() is not None  # not left running
    provincial.launched.stop()


def test_a_phase_announced_by_one_crawl_reaches_the_others_before_its_exit():
    """The board passes a crawl's announcement (its spider closed well) to the crawls that
    wait for it at once, and tells a crawl started later what was reached before."""
    from crawler import phases
    from crawler.runner import _announcing

    announcer = Launched(_announcing([sys.executable, "-c", (
        "import os, time; time.sleep(0.3); "
        f"os.write(int(os.environ['{phases.ANNOUNCE_FD}']), b'national-done\\n'); "
        "time.sleep(60)")]))
    waiter = f"import sys; sys.exit(0 if any(l.strip() == '{phases.NATIONAL_DONE}' " \
             "for l in sys.stdin) else 1)"
    early = Launched(subprocess.Popen([sys.executable, "-c", waiter], stdin=subprocess.PIPE))
    board = Board()
    try:
        board.join(early)
        board.join(announcer)
        assert early.child.wait(timeout=30) == 0  # told while the announcer still runs
        assert announcer.child.poll() is None
        assert board.reached == [phases.NATIONAL_DONE]
        late = Launched(subprocess.Popen([sys.executable, "-c", waiter], stdin=subprocess.PIPE))
        board.join(late)
        assert late.child.wait(timeout=30) == 0
        board.reach("not-a-phase")  # only the phases crawls wait for are passed on
        assert board.reached == [phases.NATIONAL_DONE]
    finally:
        announcer.stop()
        early.stop()
