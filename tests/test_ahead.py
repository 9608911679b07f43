"""app/ahead.py: scoring's first part, judged beside the last crawl, equals a judging at the end;
it runs at the job's priority, and a failure of it leaves the judging to the end."""

from __future__ import annotations

from typing import Any, cast

from app.ahead import early_of, judge_early, judged, pool, score_ahead


def test_scoring_judged_early_equals_scoring_after_the_last_crawls(tmp_path) -> None:
    """Verdicts and findings judged while the site search reads its last site equal a judging
    of all the evidence at the end; the site search's rows change nothing; a row that could
    change a verdict, stored after the early part, has everything judged again."""
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
    begun = Begun()
    early.report = cast(Any, begun)  # the report begun on it (reports.report.report_ahead)
    add(ev("site_page", units=["VN"], depth=0), ev("index766_group", group="x"))
    at_end = judged(db, run_id, rubric, early).pair()
    assert at_end[0] is early.verdicts and at_end == everything() and not begun.dropped
    add(row(codes[0], "000.00.12.H29", "PARTIAL"))  # a verdict's evidence, stored late
    assert judged(db, run_id, rubric, early).pair() == everything()
    assert begun.dropped  # the reports are written at the end instead
    assert judged(db, run_id, rubric, early).verdicts != early.verdicts


class Begun:
    """Stands for a report begun ahead: says whether it was dropped."""

    dropped = False

    def drop(self) -> None:
        self.dropped = True


def test_scoring_ahead_runs_at_the_jobs_priority_and_gives_the_early_part(tmp_path) -> None:
    """Never niced: what it has not done when the crawls end is waited for, and niced work
    beside busy processes starves (140 s of scoring instead of 2.6 s, PERFORMANCE.md)."""
    import os
    import threading

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
    ahead = pool.submit(score_ahead, tmp_path / "audit.db", run_id, rubric).result()
    early = judge_early(db, run_id, rubric)
    assert (ahead.verdicts, ahead.findings, ahead.last_id) == (
        early.verdicts, early.findings, early.last_id)
    niceness = pool.submit(lambda: os.getpriority(os.PRIO_PROCESS,
                                                   threading.get_native_id())).result()
    assert niceness == os.getpriority(os.PRIO_PROCESS, threading.get_native_id())


def test_a_failed_scoring_ahead_leaves_the_judging_to_the_end() -> None:
    from concurrent.futures import Future


    failed: Future = Future()
    failed.set_exception(RuntimeError("database is locked"))
    said: list[str] = []
    assert early_of(failed, said.append) is None
    assert said and "database is locked" in said[0]
    assert early_of(None, said.append) is None and len(said) == 1
