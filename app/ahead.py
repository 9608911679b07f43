"""Scoring's first part, done beside the job's last crawl (docs/ARCHITECTURE.md "Crawler
layout"): the verdicts and findings judged once every kind of evidence they read is stored,
in a thread, and the report begun on them."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from audits import evaluate
from audits.evaluate import VERDICT_KINDS
from core import store
from core.rows import FindingRow, VerdictRow
from reports.report import ReportAhead, report_ahead, warm_templates


@dataclass
class Early:
    """Scoring's first part, done while the site search reads its last site (the national
    portal, after its HTML pages): the verdicts and findings, judged from every kind of
    evidence they depend on (`VERDICT_KINDS`), which the crawls still running never add.
    `last_id` is the newest such row then: `score_run` judges again if a newer one came since."""

    verdicts: list[VerdictRow]
    findings: list[FindingRow]
    last_id: int
    saved: bool = False  # stored as the run's verdicts and findings
    report: ReportAhead | None = None  # the report of these verdicts, begun

    def pair(self) -> tuple[list[VerdictRow], list[FindingRow]]:
        return self.verdicts, self.findings


# At the job's own priority, never niced: what is not done when the crawls end is waited for
# (the workbook's child finishes after them), and niced work beside busy processes starves (at
# niceness 19 beside two busy processes, scoring took 140 s instead of 2.6 s: PERFORMANCE.md).
pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="scoring-ahead")


def score_ahead(db_path: Path, run_id: int, rubric: Any, out_dir: Path | None = None) -> Early:
    """Scoring's first part, in a thread beside the last crawl (the site search's last site):
    judge the cells, compile the templates and, given the reports' `out_dir`, store the
    verdicts and begin the report on them (reports.report.report_ahead: the workbook's child
    and the evidence pages, the longest parts of the reports)."""
    db = store.open_db(db_path)  # a connection of this thread's own
    early = judge_early(db, run_id, rubric)
    warm_templates()
    if out_dir is not None:
        store.save_verdicts(db, run_id, rubric.version, early.verdicts)
        store.save_findings(db, run_id, early.findings, rubric.version)
        early.saved = True
        early.report = report_ahead(db_path, rubric, out_dir, run_id)
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


def judge_early(db: Any, run_id: int, rubric: Any) -> Early:
    """The run's verdicts and findings from the evidence stored so far."""
    last = store.last_evidence_id(db, run_id, VERDICT_KINDS)
    # streamed, read once: the rows are not all held while the reports are written
    verdicts, found = evaluate.judged(store.iter_evidence(db, run_id, VERDICT_KINDS), rubric)
    return Early(verdicts, found, last)


def judged(db: Any, run_id: int, rubric: Any, early: Early | None) -> Early:
    """The run's verdicts and findings: `early` when no evidence they depend on came since;
    else judged anew, and the report begun for `early` dropped (written at the end instead)."""
    if early is not None and store.last_evidence_id(db, run_id, VERDICT_KINDS) == early.last_id:
        return early
    if early is not None and early.report is not None:
        early.report.drop()
    return judge_early(db, run_id, rubric)
