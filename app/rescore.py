"""Re-score stored evidence under the current rubric, without crawling.

The new verdict set is stored under the rubric's version next to the run's earlier sets (a set
of the same version is replaced), with its findings, unit scores and stale markers.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from app.survey import save_survey_answers
from audits import history
from audits.evaluate import VERDICT_KINDS, judged
from core import store
from core.rows import VerdictRow
from core.rubric import Rubric
from core.sqlite import sqlite_utils
from core.vocab import Reason

NOT_CRAWLED = Reason.NOT_CRAWLED


@dataclass
class Rescored:
    run_id: int
    version: str
    previous: str  # the run's current version before re-scoring
    replaced: bool  # a set of this version existed and was replaced
    totals: Counter = field(default_factory=Counter)
    not_crawled: list[str] = field(default_factory=list)  # rubric codes the crawl did not seek
    warnings: list[str] = field(default_factory=list)
    answers: int | None = None  # UN survey indicator answers stored (None: no indicators)


def uncrawled_services(rubric: Rubric, crawled: set[str]) -> set[str]:
    """Services with a procedure code the crawl did not look for (added to the rubric since)."""
    return {s.id for s in rubric.services if {p.code for p in s.procedures} - crawled}


def guard_uncrawled(verdicts: list[VerdictRow], rubric: Rubric,
                    crawled: set[str]) -> tuple[list[VerdictRow], list[str]]:
    """Procedure codes added to the rubric after the crawl were never looked for, so their
    absence proves nothing: a not_met (or no_fee) of such a service becomes cannot_test."""
    missing = sorted(rubric.all_codes() - crawled)
    services = uncrawled_services(rubric, crawled)
    out: list[VerdictRow] = []
    for v in verdicts:
        unproven = v["verdict"] == "not_met" or (v["verdict"] == "not_applicable"
                                                 and v["reason"] == "no_fee")
        if v["service_id"] in services and unproven:
            v = {**v, "verdict": "cannot_test", "reason": NOT_CRAWLED, "evidence_ids": []}
        out.append(v)
    return out, missing


def rescore(db: sqlite_utils.Database, run_id: int, rubric: Rubric,
            rubric_dir: Path | str) -> Rescored:
    run = store.get_run(db, run_id)
    if run is None:
        raise LookupError(f"no run {run_id}")
    existing = history.get_set(db, run_id, rubric.version)
    result = Rescored(run_id, rubric.version, run["rubric_version"], existing is not None)
    if existing and existing["rubric_hash"] not in ("", history.rubric_hash(rubric_dir)):
        result.warnings.append(
            f"run {run_id}: the rubric's content changed but its version ({rubric.version}) did "
            f"not; the set of that version is replaced (bump the version to keep both)")
    started = time.monotonic()
    # streamed and read once, as app.ahead
    verdicts, found = judged(store.iter_evidence(db, run_id, VERDICT_KINDS), rubric)
    if run.get("crawl_codes"):
        crawled = set(json.loads(run["crawl_codes"]))
        verdicts, result.not_crawled = guard_uncrawled(verdicts, rubric, crawled)
        # a disagreement about a service whose codes were not all sought is not established
        skipped = uncrawled_services(rubric, crawled)
        found = [f for f in found if f["service_id"] not in skipped]
    elif rubric.version not in history.versions_of(db, run_id):
        result.warnings.append(f"run {run_id}: the procedure codes its crawl looked for are "
                               f"not recorded; codes new in rubric {rubric.version} may read "
                               f"as unlisted")
    store.save_verdicts(db, run_id, rubric.version, verdicts)
    store.save_findings(db, run_id, found, rubric.version)
    history.record_scoring(db, run_id, rubric, rubric_dir, verdicts,
                           seconds=time.monotonic() - started)
    # the UN survey's answers, re-judged from the stored pages under this rubric's indicators
    result.answers = save_survey_answers(db, run_id, rubric, rubric_dir, verdicts,
                                         echo=lambda line: result.warnings.append(
                                             line.removeprefix("warning: ")))
    history.write_stale(db, run_id, rubric.version)
    result.totals = Counter(v["verdict"] for v in verdicts)
    return result
