"""Scores by the UN survey's method over the shipped indicator sets (audits/survey.py)."""

from __future__ import annotations

import random

import pytest

from audits.survey import NOT_REVIEWED, rank_units, score_unit, services_answer
from core.indicators import load_indicators
from core.rubric import RUBRIC_DIR, load_rubric
from core.vocab import Verdict

MET, NOT_MET, NA, CANNOT = (Verdict.MET, Verdict.NOT_MET, Verdict.NOT_APPLICABLE,
                            Verdict.CANNOT_TEST)


@pytest.fixture(scope="module")
def sets():
    loaded = load_indicators(RUBRIC_DIR)
    assert loaded is not None
    return loaded.sets


def test_the_services_criterion_is_a_rubric_criterion(sets):
    criteria = {c.id for c in load_rubric().criteria}
    assert {s.services_criterion for s in sets.values()} <= criteria


def test_a_services_feature_follows_every_service_it_names(sets):
    civil = next(i for i in sets["osq"].indicators if i.id == "civil_status_certificates")
    c = "level3_partial"
    all_met = {(s, c): MET for s in civil.services}
    assert services_answer(civil, all_met, c) is MET
    one_down = {**all_met, ("death_registration", c): CANNOT}
    assert services_answer(civil, one_down, c) is CANNOT
    one_gap = {**one_down, ("marriage_registration", c): NOT_MET}
    assert services_answer(civil, one_gap, c) is NOT_MET
    assert services_answer(civil, {}, c) is CANNOT  # never judged: not "not met"


def test_losi_points_are_features_met_over_features_scored(sets):
    losi = sets["losi"]
    ids = [i.id for i in losi.indicators]
    answers = {ids[0]: MET, ids[1]: MET, ids[2]: NOT_MET, ids[3]: CANNOT, ids[4]: None}
    s = score_unit(losi, "01", answers)
    assert s.points == 2 and s.share == pytest.approx(2 / 3)
    assert s.coverage.scored() == 3 and s.coverage.total() == len(ids)
    assert s.coverage.counts[("review", NOT_REVIEWED)] >= 1  # unanswered reviews are shown


def test_untestable_and_unreviewed_features_never_lower_a_score(sets):
    losi = sets["losi"]
    some = {i.id: MET for i in losi.indicators[:10]}
    base = score_unit(losi, "01", some).share
    more = {**some, **{i.id: CANNOT for i in losi.indicators[10:]}}
    assert score_unit(losi, "01", more).share == base == 1.0


def test_osq_weights_sub_indices_and_scores_literacy_with_technology(sets):
    osq = sets["osq"]
    tec = [i for i in osq.indicators if i.group == "TEC"]
    egl = [i for i in osq.indicators if i.group == "EGL"]
    answers = {tec[0].id: MET, egl[0].id: NOT_MET}
    s = score_unit(osq, "VN", answers)
    assert "EGL" not in s.groups
    assert s.groups["TEC"].share == pytest.approx(0.5)
    assert s.share == pytest.approx(0.5)  # only TEC scored: its share is the whole
    sp = next(i for i in osq.indicators if i.group == "SP")
    s2 = score_unit(osq, "VN", {**answers, sp.id: MET})
    weights = {g.id: g.weight for g in osq.groups}
    expected = (0.5 * weights["TEC"] + 1.0 * weights["SP"]) / (weights["TEC"] + weights["SP"])
    assert s2.share == pytest.approx(expected)


def test_provinces_are_normalised_grouped_and_ranked(sets):
    losi = sets["losi"]
    rng = random.Random(7)
    scores = []
    for n, unit in enumerate(["01", "79", "48", "31"]):
        answers = {i.id: (MET if rng.random() < 0.2 + 0.2 * n else NOT_MET)
                   for i in losi.indicators}
        scores.append(score_unit(losi, unit, answers))
    nothing = score_unit(losi, "92", {})
    ranked = rank_units([*scores, nothing])
    best = max(scores, key=lambda s: s.share or 0)
    worst = min(scores, key=lambda s: s.share or 0)
    assert ranked[best.unit].normalised == 1.0 and ranked[best.unit].rank == 1
    assert ranked[worst.unit].normalised == 0.0 and ranked[worst.unit].group == "low"
    assert ranked["92"].normalised is None and ranked["92"].rank is None
