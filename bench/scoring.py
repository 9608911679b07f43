"""Benchmark: score 3,300 units the way the report does (issue 17), and time it.

    uv run python bench/scoring.py [--seed N] [--repeat N]

3,300 units (3,270 communes scored as one kind, 30 agencies) x the rubric's 20 services x
every criterion, drawn at random (a realistic mix: most services delivered, some not, some
cells that could not be tested, levels met less often than being listed). Prints the CPU time
of the report's scoring path (reports/report_model.build_model: rows, the board, the national
figure, every not-met unit's gaps by gain and its "all gaps closed" change), best of --repeat.

CPU time, not wall time: the machine may be shared. Not a test (tests/test_scoring_scale.py
checks the same path's results against a plain re-scoring); the number depends on the machine:
record it in docs/PERFORMANCE.md ("Scoring at ward level").
"""

from __future__ import annotations

import argparse
import random
import time
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from audits import scoring
from audits.scoring import (
    DEFAULT_CONFIG,
    Peers,
    ScoringConfig,
    all_gaps_closed,
    as_rows,
    gaps_by_gain,
    national_figure,
    score_run,
)
from core.rubric import load_rubric

UNITS, AGENCIES = 3_300, 30


def ward_level_rows(rng: random.Random, services: list[str],
                    criteria: list[str]) -> list[dict[str, Any]]:
    """UNITS units x services x criteria verdict rows, drawn from rng."""
    rows = []
    rand = rng.random
    for u in range(UNITS):
        kind = "agency" if u < AGENCIES else "province"
        code = f"{kind[0].upper()}{u:05d}"
        name, skill = f"Unit {code}", rand()
        odds = [skill * (1 - 0.1 * i) for i in range(len(criteria))]  # levels met less often
        for s in services:
            delivered = rand() < 0.8
            for c, p in zip(criteria, odds, strict=True):
                if not delivered:
                    v, reason = "not_applicable", ""
                elif rand() < 0.12:
                    v, reason = "cannot_test", "render_failed" if rand() < 0.5 else "fetch_failed"
                elif rand() < p:
                    v, reason = "met", ""
                else:
                    v, reason = "not_met", "not_offered"
                rows.append({"unit_code": code, "unit_name": name, "unit_kind": kind,
                             "service_id": s, "criterion_id": c, "verdict": v,
                             "reason": reason, "evidence_ids": [u]})
    return rows


@dataclass
class Scored:
    """What the report's scoring path computes."""

    board: scoring.Scoreboard
    national: scoring.NationalFigure
    gains: dict[str, list[scoring.GapGain]]
    closed: dict[str, scoring.UnitChange]


def score_as_report(verdicts: list[dict[str, Any]], weights: dict[str, float],
                    config: ScoringConfig = DEFAULT_CONFIG) -> Scored:
    """The report's path (reports/report_model.build_model) over verdict rows."""
    rows = as_rows(verdicts)
    board = score_run(rows, weights, config)
    national = national_figure(rows, weights)
    own: dict[str, list[scoring.VerdictRow]] = defaultdict(list)
    for r in rows:
        own[r.unit_code].append(r)
    peers = Peers({u.unit_code: u for u in board.units()})
    gains, closed = {}, {}
    for u in board.units():
        if u.not_met:
            code = u.unit_code
            gains[code] = gaps_by_gain(own[code], weights, code, config, peers)
            closed[code] = all_gaps_closed(code, peers, config)
    return Scored(board, national, gains, closed)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seed", type=int, default=17, help="the random draw's seed")
    parser.add_argument("--repeat", type=int, default=3, help="timed passes; the best is shown")
    args = parser.parse_args()
    rubric = load_rubric()
    weights = scoring.weights_from_rubric(rubric)
    verdicts = ward_level_rows(random.Random(args.seed), [s.id for s in rubric.services],
                               list(weights))
    times = []
    for _ in range(args.repeat):
        start = time.process_time()
        scored = score_as_report(verdicts, weights)
        times.append(time.process_time() - start)
    print(f"{UNITS:,} units, {len(verdicts):,} verdict rows, "
          f"{sum(len(g) for g in scored.gains.values()):,} gaps")
    print(f"scoring CPU: best {min(times):.2f} s of {len(times)} "
          f"({', '.join(f'{t:.2f}' for t in times)})")


if __name__ == "__main__":
    main()
