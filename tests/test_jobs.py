"""app/jobs.py's ordering of the crawls: the site search starts as soon as the provincial crawl
has ended, even while the national crawl still runs (real processes stand in for the crawls)."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from app.jobs import _Beside, _Board, _watching
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
    board = _Board()
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


def test_scoring_judged_early_equals_scoring_after_the_last_crawls(tmp_path) -> None:
    """Verdicts and findings judged while the site search reads its last site equal a judging
    of all the evidence at the end; the site search's rows change nothing; a row that could
    change a verdict, stored after the early part, has everything judged again."""
    from app.jobs import _judged, judge_early
    from audits.evaluate import evaluate, findings
    from core import store
    from core.rubric import load_rubric
    from tests.test_evaluate import base, birth, ev, row

    rubric = load_rubric()
    db = store.open_db(tmp_path / "audit.db")
    run_id = store.start_run(db, target="t", rubric_version="t", engine_version="t")
    sid, codes = birth(rubric)

    def add(*rows: dict) -> None:
        for r in rows:
            store.add_evidence(db, run_id, {**{k: v for k, v in r.items() if k != "id"},
                                            "url": "http://x", "method": "POST"})

    def everything() -> tuple[list, list]:
        evidence = store.load_evidence(db, run_id)
        return evaluate(evidence, rubric), findings(evidence, rubric)

    add(*base(codes), row(codes[0], "000.00.12.H26", "FULL"), ev("national_page", codes[0]))
    early = judge_early(db, run_id, rubric)
    add(ev("site_page", units=["VN"], depth=0), ev("index766_group", group="x"))
    judged = _judged(db, run_id, rubric, early)
    assert judged[0] is early.verdicts and judged == everything()
    add(row(codes[0], "000.00.12.H29", "PARTIAL"))  # a verdict's evidence, stored late
    assert _judged(db, run_id, rubric, early) == everything()
    assert _judged(db, run_id, rubric, early)[0] != early.verdicts


def test_scoring_ahead_runs_at_the_lowest_priority_and_gives_the_early_part(tmp_path) -> None:
    import os
    import threading

    from app.jobs import AHEAD_NICE, _pool, judge_early, score_ahead
    from core import store
    from core.rubric import load_rubric
    from tests.test_evaluate import base, birth, row

    rubric = load_rubric()
    db = store.open_db(tmp_path / "audit.db")
    run_id = store.start_run(db, target="t", rubric_version="t", engine_version="t")
    _, codes = birth(rubric)
    for r in [*base(codes), row(codes[0], "000.00.12.H26", "FULL")]:
        store.add_evidence(db, run_id, {**{k: v for k, v in r.items() if k != "id"},
                                        "url": "http://x", "method": "POST"})
    ahead = _pool.submit(score_ahead, tmp_path / "audit.db", run_id, rubric).result()
    early = judge_early(db, run_id, rubric)
    assert (ahead.verdicts, ahead.findings, ahead.last_id) == (
        early.verdicts, early.findings, early.last_id)
    niceness = _pool.submit(lambda: os.getpriority(os.PRIO_PROCESS,
                                                   threading.get_native_id())).result()
    assert niceness == AHEAD_NICE  # the pool's thread, niced by its first task
    assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) < AHEAD_NICE


def test_a_failed_scoring_ahead_leaves_the_judging_to_the_end() -> None:
    from concurrent.futures import Future

    from app.jobs import _early

    failed: Future = Future()
    failed.set_exception(RuntimeError("database is locked"))
    said: list[str] = []
    assert _early(failed, said.append) is None
    assert said and "database is locked" in said[0]
    assert _early(None, said.append) is None and len(said) == 1
