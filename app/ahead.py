"""Scoring's first part, done beside the job's last crawl (docs/ARCHITECTURE.md "Crawler
layout"): the verdicts and findings judged once every kind of evidence they read is stored,
in a thread at the lowest priority, so the crawl that ends the job's critical path is not slowed."""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from audits import evaluate
from audits.evaluate import VERDICT_KINDS
from core import store
from core.rows import FindingRow, VerdictRow
from reports.report import warm_templates


@dataclass
class Early:
    """Scoring's first part, done while the site search reads its last site (the national
    portal, after its HTML pages): the verdicts and findings, judged from every kind of
    evidence they depend on (`VERDICT_KINDS`), which the crawls still running never add.
    `last_id` is the newest such row then: `score_run` judges again if a newer one came since."""

    verdicts: list[VerdictRow]
    findings: list[FindingRow]
    last_id: int


AHEAD_NICE = 19  # scoring's first part takes only the CPU the last crawl leaves
pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="scoring-ahead")


def score_ahead(db_path: Path, run_id: int, rubric: Any) -> Early:
    """Scoring's first part, in a thread at the lowest priority (Linux: a thread's own
    niceness), beside the last crawl, which ends the job's critical path: judge the cells and
    compile the templates."""
    _nice_thread(AHEAD_NICE)
    db = store.open_db(db_path)  # a connection of this thread's own
    early = judge_early(db, run_id, rubric)
    warm_templates()
    db.close()
    return early


def early_of(ahead: Future[Early] | None, echo: Callable[[str], None]) -> Early | None:
    """What `score_ahead` judged; None (so `score_run` judges everything) when it failed, e.g.
    on a database busy beyond its timeout: a run's scoring does not depend on it."""
    if ahead is None:
        return None
    try:
        return ahead.result()
    except Exception as exc:  # noqa: BLE001 - said, then judged again in full
        echo(f"scoring ahead failed ({type(exc).__name__}: {exc}); judging at the end")
        return None


def _nice_thread(nice: int) -> None:
    """Lower the calling thread's priority to `nice` (raising one's niceness needs no
    privilege; where threads have none of their own, the process would: left alone)."""
    if sys.platform != "linux":
        return
    tid = threading.get_native_id()
    try:
        os.setpriority(os.PRIO_PROCESS, tid, max(nice, os.getpriority(os.PRIO_PROCESS, tid)))
    except OSError:
        pass


def judge_early(db: Any, run_id: int, rubric: Any) -> Early:
    """The run's verdicts and findings from the evidence stored so far."""
    last = store.last_evidence_id(db, run_id, VERDICT_KINDS)
    # streamed, read once: the rows are not all held while the reports are written
    verdicts, found = evaluate.judged(store.iter_evidence(db, run_id, VERDICT_KINDS), rubric)
    return Early(verdicts, found, last)


def judged(db: Any, run_id: int, rubric: Any,
           early: Early | None) -> tuple[list[VerdictRow], list[FindingRow]]:
    """The run's verdicts and findings: `early`'s when no evidence they depend on came since."""
    if early is None or store.last_evidence_id(db, run_id, VERDICT_KINDS) != early.last_id:
        early = judge_early(db, run_id, rubric)
    return early.verdicts, early.findings
