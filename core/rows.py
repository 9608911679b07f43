"""The rows that flow between the layers, as typed dictionaries: evidence (the crawler writes it,
the audits read it), verdicts and findings (the audits write them, reports read them).

They stay plain dicts at run time (sqlite-utils, JSON and the rule cases build and read them);
the types only say which keys a row has. Values of `kind`, `outcome`, `reason` and `verdict`
are words of core/vocab.py.
"""

from __future__ import annotations

from typing import Any, NotRequired, TypedDict


class EvidenceItem(TypedDict):
    """One observation as the crawler hands it to `store.add_evidence` (no id or run yet)."""

    kind: str  # an EvidenceKind
    url: str
    method: str
    observed_at: str
    status: int | None
    sha256: str
    outcome: str  # an Outcome
    reason: str  # a Reason, "" when the observation went well
    procedure_code: str
    office_code: str
    data: dict[str, Any]
    screenshot: NotRequired[str | None]  # pages of provincial portals
    excerpt: NotRequired[str | None]
    html_sha256: NotRequired[str | None]


class EvidenceRow(EvidenceItem):
    """An evidence row as `store.load_evidence` returns it (`data` decoded from JSON)."""

    id: int
    run_id: NotRequired[int]  # absent in rule cases (rubrics/cases/), which have no run


class VerdictRow(TypedDict):
    """One verdict of one unit x service x criterion, as `audits.evaluate.evaluate` makes it."""

    unit_code: str
    unit_name: str
    unit_kind: str
    service_id: str
    criterion_id: str
    verdict: str  # a Verdict
    reason: str  # a Reason, "" for met
    evidence_ids: list[int]
    detail: NotRequired[str]  # a level's share of offices, e.g. "97/126"


class StoredVerdict(VerdictRow):
    """A verdict as `store.load_verdicts` returns it."""

    run_id: int
    rubric_version: str


class FindingRow(TypedDict):
    """Where the national portal and a unit's own portal (or its code) disagree."""

    unit_code: str
    service_id: str
    kind: str
    national: str
    portal: str
    detail: str
    evidence_ids: list[int]


class StoredFinding(FindingRow):
    """A finding as `store.load_findings` returns it."""

    id: int
    run_id: int
    rubric_version: str


class IndicatorAnswerRow(TypedDict):
    """One UN survey indicator's answer for one unit (audits/survey_answers.py makes it,
    `store.save_indicator_answers` keeps it, the reports read it). `unit_code` is a province
    code, or core.indicators.NATIONAL_UNIT for the national portal (OSQ)."""

    indicator_set: str  # osq | losi
    unit_code: str
    indicator_id: str
    judged: str  # auto | review | services
    verdict: str  # a Verdict, or "not_reviewed" (audits.survey.NOT_REVIEWED)
    reason: str  # a Reason, "" for met
    detector: NotRequired[str]  # the detector of an `auto` indicator
    detail: NotRequired[str]  # what was found, or how far the search went
    urls: NotRequired[list[str]]  # where it was found, or the pages searched
    evidence_ids: NotRequired[list[int]]
