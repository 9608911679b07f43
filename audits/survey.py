"""Scores by the UN survey's own method over the indicator sets (rubrics/indicators/): OSQ
sub-indices for the national portal, LOSI criteria for each provincial portal. Pure functions.

Each indicator's answer comes from where the rubric says it is judged: a detector's finding
(`auto`), the reconciled answer of two assessors (`review`), or the 20-service verdicts
(`services`). As everywhere in the audit, only met and not_met enter a score: a feature that
could not be tested, or is not yet reviewed, is counted in the coverage and left out.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from audits.scoring import DEFAULT_CONFIG, ScoringConfig, competition_ranks, group_of, minmax
from core.indicators import Indicator, Indicators, IndicatorSet
from core.vocab import SCORED, Verdict

NOT_REVIEWED = "not_reviewed"  # a review indicator nobody has answered yet (coverage only)


def services_answer(indicator: Indicator, verdicts: Mapping[tuple[str, str], str],
                    criterion: str) -> Verdict:
    """A feature the 20 services decide: met when every service it names meets `criterion`
    for the unit; not_met when one does not; else cannot_test (or not_applicable for all)."""
    found = [verdicts.get((s, criterion), Verdict.CANNOT_TEST) for s in indicator.services]
    if Verdict.NOT_MET in found:
        return Verdict.NOT_MET
    if all(v == Verdict.MET for v in found):
        return Verdict.MET
    if all(v == Verdict.NOT_APPLICABLE for v in found):
        return Verdict.NOT_APPLICABLE
    return Verdict.CANNOT_TEST


@dataclass(frozen=True)
class GroupScore:
    id: str
    earned: float
    possible: float

    @property
    def share(self) -> float | None:
        return self.earned / self.possible if self.possible else None


@dataclass(frozen=True)
class Coverage:
    """How each indicator of a unit stands: by how it is judged, and whether it was scored."""

    counts: Mapping[tuple[str, str], int]  # (judged, state) -> indicators; state: a verdict
    # or NOT_REVIEWED

    def scored(self, judged: str | None = None) -> int:
        return sum(n for (j, s), n in self.counts.items()
                   if s in SCORED and (judged is None or j == judged))

    def total(self, judged: str | None = None) -> int:
        return sum(n for (j, _), n in self.counts.items() if judged is None or j == judged)

    @property
    def measured_share(self) -> float:
        """Share of all indicators that entered the score."""
        return self.scored() / self.total() if self.total() else 0.0


@dataclass(frozen=True)
class SurveyScore:
    unit: str
    groups: Mapping[str, GroupScore]
    share: float | None  # weighted over groups with a share (OSQ) or points/possible (LOSI)
    coverage: Coverage

    @property
    def points(self) -> float:
        return sum(g.earned for g in self.groups.values())


def _scoring_group(iset: IndicatorSet) -> dict[str, str]:
    return {g.id: g.score_with or g.id for g in iset.groups}


def score_unit(iset: IndicatorSet, unit: str,
               answers: Mapping[str, str | None]) -> SurveyScore:
    """Score one unit: `answers` maps indicator id to a verdict, or None when not yet
    reviewed / not judged (absent ids count as not judged)."""
    into = _scoring_group(iset)
    earned: dict[str, float] = {}  # weights are floats: no Counter (its counts are ints)
    possible: dict[str, float] = {}
    counts: Counter[tuple[str, str]] = Counter()
    for ind in iset.indicators:
        answer = answers.get(ind.id)
        state = answer if answer is not None else (
            NOT_REVIEWED if ind.judged == "review" else Verdict.CANNOT_TEST)
        counts[(ind.judged, str(state))] += 1
        if state in SCORED:
            group = into[ind.group]
            possible[group] = possible.get(group, 0) + ind.weight
            earned[group] = earned.get(group, 0) + (ind.weight if state == Verdict.MET else 0.0)
    groups = {g.id: GroupScore(g.id, earned.get(g.id, 0), possible.get(g.id, 0))
              for g in iset.groups if not g.score_with}
    return SurveyScore(unit, groups, _overall(iset, groups), Coverage(dict(counts)))


def _overall(iset: IndicatorSet, groups: Mapping[str, GroupScore]) -> float | None:
    weights = {g.id: g.weight for g in iset.groups if not g.score_with}
    if all(w is None for w in weights.values()):  # equal weight per feature: points / possible
        possible = sum(g.possible for g in groups.values())
        return sum(g.earned for g in groups.values()) / possible if possible else None
    shares = {gid: (g.share, weights[gid] or 0.0) for gid, g in groups.items()
              if g.share is not None}
    total = sum(w for _, w in shares.values())
    return sum(s * w for s, w in shares.values()) / total if total else None


@dataclass(frozen=True)
class Ranked:
    score: SurveyScore
    normalised: float | None  # min-max over the units compared (None: nothing scored)
    group: str
    rank: int | None


def rank_units(scores: Iterable[SurveyScore],
               config: ScoringConfig = DEFAULT_CONFIG) -> dict[str, Ranked]:
    """LOSI across the provinces: min-max of the shares, UN groups, competition ranks."""
    scores = list(scores)
    shares = {s.unit: s.share for s in scores if s.share is not None}
    norm = minmax(shares, config.all_equal_value)
    ranks = competition_ranks(norm)
    return {s.unit: Ranked(s, norm.get(s.unit), group_of(norm[s.unit], config).id
                           if s.unit in norm else "", ranks.get(s.unit))
            for s in scores}


def survey_scores(indicators: Indicators, rows: Iterable[Mapping[str, Any]],
                  config: ScoringConfig = DEFAULT_CONFIG) -> dict[str, dict[str, Ranked]]:
    """Set id -> unit -> its score, from a run's indicator answers (store
    load_indicator_answers / audits.survey_answers rows). LOSI: every province with answers,
    min-max normalised, grouped and ranked across them; OSQ (one national unit): its score,
    never normalised (the UN normalises across 193 countries), so normalised/rank are None."""
    answers: dict[tuple[str, str], dict[str, str | None]] = defaultdict(dict)
    for r in rows:
        verdict = r["verdict"]
        answers[(r["indicator_set"], r["unit_code"])][r["indicator_id"]] = (
            None if verdict == NOT_REVIEWED else verdict)
    out: dict[str, dict[str, Ranked]] = {}
    for set_id, iset in indicators.sets.items():
        scores = [score_unit(iset, unit, given) for (s, unit), given in sorted(answers.items())
                  if s == set_id]
        if iset.unit == "national":
            out[set_id] = {s.unit: Ranked(s, None, "", None) for s in scores}
        else:
            out[set_id] = rank_units(scores, config)
    return out
