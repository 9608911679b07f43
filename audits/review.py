"""The UN's two-assessor rule over stored review answers: pure functions.

Two assessors answer each review indicator of a unit without seeing each other's answers.
Where they agree, that is the answer; a reconciler's answer (assessor id `reconciled`) settles
a disagreement. A unit whose assessors disagree on more than 5 % of its answered indicators is
flagged for reconciliation, as the UN does. An answer holds until the page it cites changes:
when the page's current hash differs from the one answered, the question is asked again.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from core.vocab import Verdict

RECONCILED = "reconciled"  # the assessor id of a reconciler's answer
DISAGREEMENT_LIMIT = 0.05  # the UN's: more than 5 % disagreement is reconciled
ANSWERS = {Verdict.MET, Verdict.NOT_MET, Verdict.NOT_APPLICABLE}


@dataclass(frozen=True)
class UnitReview:
    unit_code: str
    answers: Mapping[str, Verdict]  # indicator id -> the answer that holds
    disagreements: tuple[str, ...]  # indicator ids the assessors disagree on, unreconciled
    stale: tuple[str, ...]  # answered, but the page cited has changed since
    compared: int  # indicators both assessors answered (on fresh pages)

    @property
    def disagreement_share(self) -> float:
        return len(self.disagreements) / self.compared if self.compared else 0.0

    @property
    def needs_reconciliation(self) -> bool:
        return self.disagreement_share > DISAGREEMENT_LIMIT


def _is_fresh(answer: Mapping[str, str], current: Mapping[str, str]) -> bool:
    url = answer.get("cited_url") or ""
    return not url or url not in current or current[url] == (answer.get("cited_sha256") or "")


def review_unit(unit_code: str, answers: Iterable[Mapping[str, str]],
                current_hashes: Mapping[str, str]) -> UnitReview:
    """What holds for one unit: `answers` are its stored rows (core/reviews.py);
    `current_hashes` maps a cited address to its hash in the latest run."""
    by_indicator: dict[str, dict[str, Verdict]] = defaultdict(dict)
    stale: set[str] = set()
    for a in answers:
        if not _is_fresh(a, current_hashes):
            stale.add(a["indicator_id"])
            continue
        by_indicator[a["indicator_id"]][a["assessor"]] = Verdict(a["answer"])
    held: dict[str, Verdict] = {}
    disagreements: list[str] = []
    compared = 0
    for ind, given in sorted(by_indicator.items()):
        assessors = {k: v for k, v in given.items() if k != RECONCILED}
        if len(assessors) >= 2:
            compared += 1
        if RECONCILED in given:
            held[ind] = given[RECONCILED]
        elif len(assessors) >= 2 and len(set(assessors.values())) == 1:
            held[ind] = next(iter(assessors.values()))
        elif len(set(assessors.values())) > 1:
            disagreements.append(ind)
    return UnitReview(unit_code, held, tuple(disagreements),
                      tuple(sorted(stale - set(held))), compared)
