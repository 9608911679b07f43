"""Scoring at ward level (issue 17): the incremental gap gains equal a straightforward
re-scoring on random runs, and 3,300 units x 20 services x 6 criteria, scored through the path
the report takes (bench/scoring.py, which also times it), equal that re-scoring."""

from __future__ import annotations

import math
import random
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import pytest

from audits import scoring
from audits.scoring import (
    DEFAULT_CONFIG,
    Peers,
    ScoringConfig,
    all_gaps_closed,
    by_unit,
    gaps_by_gain,
    score_run,
    unit_scores,
    what_if,
)
from bench.scoring import AGENCIES, UNITS, score_as_report, ward_level_rows
from core.rubric import load_rubric

VERDICTS = ("met", "not_met", "not_applicable", "cannot_test")

# ------------------------------------------------------------------ the reference (kept here)
# What the scoring did before it was made incremental: every gap re-scores the whole kind.


def ref_share(raw: float, max_possible: float) -> float | None:
    return None if max_possible <= 0 else round(raw / max_possible, scoring.DIGITS)


def ref_units(rows: list[dict[str, Any]],
              weights: Mapping[str, float]) -> dict[str, tuple[str, float, float]]:
    """unit code -> (kind, raw points, max possible points), by plain sums."""
    met: dict[str, list[float]] = defaultdict(list)
    scored: dict[str, list[float]] = defaultdict(list)
    kind = {}
    for r in rows:
        kind[r["unit_code"]] = r["unit_kind"]
        w = float(weights[r["criterion_id"]])
        if r["verdict"] == "met":
            met[r["unit_code"]].append(w)
        if r["verdict"] in ("met", "not_met"):
            scored[r["unit_code"]].append(w)
    return {c: (k, math.fsum(met[c]), math.fsum(scored[c])) for c, k in kind.items()}


def ref_kind_shares(units: Mapping[str, tuple[str, float, float]],
                    kind: str) -> dict[str, float]:
    shares = {c: ref_share(raw, most) for c, (k, raw, most) in units.items() if k == kind}
    return {c: v for c, v in shares.items() if v is not None}


def ref_place(shares: Mapping[str, float], code: str,
              config: ScoringConfig) -> tuple[float, int]:
    """Normalised value (UN min-max over every share of the kind) and competition rank."""
    lo, hi = min(shares.values()), max(shares.values())
    v = shares[code]
    norm = config.all_equal_value if hi == lo else round((v - lo) / (hi - lo), scoring.DIGITS)
    return norm, 1 + sum(1 for w in shares.values() if w > v)


def ref_gaps_by_gain(own: list[dict[str, Any]], units: Mapping[str, tuple[str, float, float]],
                     weights: Mapping[str, float], code: str,
                     config: ScoringConfig) -> list[tuple]:
    """Each of the unit's gaps closed alone, the whole kind re-scored; `own`: its rows,
    `units`: every unit's (kind, raw, max possible)."""
    kind, raw, most = units[code]
    shares = ref_kind_shares(units, kind)
    share = ref_share(raw, most)
    before = ref_place(shares, code, config) if share is not None else (None, None)
    out = []
    for r in own:
        if r["verdict"] != "not_met":
            continue
        points = float(weights[r["criterion_id"]])
        after_share = ref_share(math.fsum([raw, points]), most)
        after = ref_place({**shares, code: after_share}, code, config) \
            if after_share is not None else (None, None)
        out.append((code, r["service_id"], r["criterion_id"], r["reason"], points, share,
                    after_share, before[0], after[0], before[1], after[1]))
    out.sort(key=lambda g: (-g[4], g[1], g[2]))
    return out


def ref_all_closed(units: Mapping[str, tuple[str, float, float]], code: str,
                   config: ScoringConfig) -> tuple:
    kind, raw, most = units[code]
    shares = ref_kind_shares(units, kind)
    before = ref_place(shares, code, config)
    after = ref_place({**shares, code: 1.0}, code, config)
    return (code, kind, round(most - raw, scoring.DIGITS), shares[code], 1.0, before[0],
            after[0], before[1], after[1], scoring.group_of(before[0], config).id,
            scoring.group_of(after[0], config).id)


def ref_member_classes(values: Mapping[str, float], config: ScoringConfig) -> dict[str, str]:
    members: dict[str, dict[str, float]] = defaultdict(dict)
    for k, v in values.items():
        members[scoring.group_of(v, config).id][k] = v
    out = {}
    for gid, vals in members.items():
        for k, v in vals.items():
            above = sum(1 for w in vals.values() if w > v)
            out[k] = config.group(gid).classes[min(3, (4 * above) // len(vals))]
    return out


def as_tuple(g: scoring.GapGain) -> tuple:
    return (g.unit_code, g.service_id, g.criterion_id, g.reason, g.points, g.share_before,
            g.share_after, g.normalised_before, g.normalised_after, g.rank_before, g.rank_after)


def change_tuple(c: scoring.UnitChange) -> tuple:
    return (c.unit_code, c.unit_kind, c.points_gained, c.share_before, c.share_after,
            c.normalised_before, c.normalised_after, c.rank_before, c.rank_after,
            c.group_before, c.group_after)


# ------------------------------------------------------------------ random runs


def random_run(rng: random.Random) -> tuple[list[dict[str, Any]], dict[str, float]]:
    """A few units of two kinds, with ties (few distinct weights), zero weights, units with
    nothing testable, units alone in their kind."""
    criteria = [f"c{i}" for i in range(rng.randint(1, 5))]
    pool = [0.0, 0.5, 1.0, 1.0, 2.0, 3.0, round(rng.uniform(0.1, 3), 3)]
    weights = {c: rng.choice(pool) for c in criteria}
    services = [f"s{i}" for i in range(rng.randint(1, 3))]
    mix = rng.choice([(4, 4, 1, 1), (1, 6, 1, 1), (6, 1, 1, 1), (1, 1, 3, 3), (2, 2, 0, 0)])
    rows = []
    for kind, n in (("province", rng.randint(1, 9)), ("agency", rng.randint(0, 4))):
        for u in range(n):
            code = f"{kind[0]}{u}"
            for s in services:
                for c in criteria:
                    v = rng.choices(VERDICTS, weights=mix)[0]
                    rows.append({"unit_code": code, "unit_name": code, "unit_kind": kind,
                                 "service_id": s, "criterion_id": c, "verdict": v,
                                 "reason": "render_failed" if v == "cannot_test" else ""})
    rng.shuffle(rows)
    return rows, weights


CONFIGS = [
    DEFAULT_CONFIG,
    replace(DEFAULT_CONFIG, class_method="member_quartiles", all_equal_value=0.5),
]


@pytest.mark.parametrize("seed", range(300))
def test_incremental_gains_equal_rescoring_the_kind(seed: int) -> None:
    rng = random.Random(seed)
    rows, weights = random_run(rng)
    config = CONFIGS[seed % len(CONFIGS)]
    units = unit_scores(rows, weights)
    ref = ref_units(rows, weights)
    assert {c: (u.unit_kind, u.raw, u.max_possible) for c, u in units.items()} == ref
    peers = Peers(units)
    board = score_run(rows, weights, config)
    board_peers = Peers({u.unit_code: u for u in board.units()})
    for code, unit in units.items():
        own = [r for r in rows if r["unit_code"] == code]
        expected = ref_gaps_by_gain(own, ref, weights, code, config)
        assert [as_tuple(g) for g in gaps_by_gain(rows, weights, code, config)] == expected
        assert [as_tuple(g) for g in gaps_by_gain(own, weights, code, config, peers)] == expected
        assert [as_tuple(g) for g in gaps_by_gain(own, weights, code, config, board_peers)] \
            == expected  # as the report passes them: the scoreboard's units
        scored = board.unit(code)
        if unit.share is None:
            assert (scored.normalised, scored.rank) == (None, None)
            continue
        shares = ref_kind_shares(ref, unit.unit_kind)
        assert (scored.normalised, scored.rank) == ref_place(shares, code, config)
        change = all_gaps_closed(code, peers, config)
        assert change_tuple(change) == ref_all_closed(ref, code, config)
        if unit.not_met:  # the report's shortcut equals the full what-if of the unit's gaps
            full = what_if(rows, weights, by_unit(code), config).change(code)
            assert change_tuple(change) == change_tuple(full)
    for _kind, ks in board.kinds.items():
        norm = {u.unit_code: u.normalised for u in ks.ranked}
        if config.class_method == "member_quartiles":
            assert {u.unit_code: u.rating_class for u in ks.ranked} == \
                ref_member_classes(norm, config)


# ------------------------------------------------------------------ ward level

@pytest.mark.slow  # over ~2 s of CPU: out of the fast loop (bench/scoring.py times it)
def test_ward_level_scoring_equals_the_reference() -> None:
    rubric = load_rubric()
    weights = scoring.weights_from_rubric(rubric)
    rng = random.Random(17)
    verdicts = ward_level_rows(rng, [s.id for s in rubric.services], list(weights))
    assert len(verdicts) == UNITS * 20 * len(weights)
    config = DEFAULT_CONFIG
    scored = score_as_report(verdicts, weights, config)
    board, national, gains, closed = scored.board, scored.national, scored.gains, scored.closed

    # every unit scored; the mix is realistic (something of each verdict)
    assert len(board.units()) == UNITS
    assert all(national.overall.__getattribute__(v) > 0 for v in VERDICTS)
    assert sum(len(g) for g in gains.values()) == national.overall.not_met
    met = math.fsum(weights[v["criterion_id"]] for v in verdicts if v["verdict"] == "met")
    testable = math.fsum(weights[v["criterion_id"]] for v in verdicts
                         if v["verdict"] in ("met", "not_met"))
    assert national.overall.share == round(met / testable, scoring.DIGITS)
    province = board.kinds["province"]
    assert len(province.ranked) + len(province.excluded) == UNITS - AGENCIES

    # spot checks against the reference: the kind's min and max, a middle unit, an agency
    # and a few at random
    ref = ref_units(verdicts, weights)
    assert {u.unit_code: (u.unit_kind, u.raw, u.max_possible) for u in board.units()} == ref
    picks = [province.ranked[0].unit_code, province.ranked[-1].unit_code,
             province.ranked[len(province.ranked) // 2].unit_code,
             board.kinds["agency"].ranked[0].unit_code, *rng.sample(sorted(gains), 4)]
    by_unit_rows: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for v in verdicts:
        by_unit_rows[v["unit_code"]].append(v)
    checked = 0
    for code in picks:
        scored = board.unit(code)
        shares = ref_kind_shares(ref, scored.unit_kind)
        assert (scored.normalised, scored.rank) == ref_place(shares, code, config)
        if code in gains:
            checked += 1
            assert [as_tuple(g) for g in gains[code]] == \
                ref_gaps_by_gain(by_unit_rows[code], ref, weights, code, config)
            assert change_tuple(closed[code]) == ref_all_closed(ref, code, config)
    assert checked >= 5
