"""Scoring that mirrors the UN Online Service Index (OSI) method.

Pure functions over plain inputs: verdict rows (one per unit x service x criterion) and a mapping
``criterion_id -> weight``. Nothing here reads the rubric's internals, the store or the network;
the only I/O is :func:`load_scoring_config` and :func:`load_weights` (YAML files).

This module is the public API; the code lives in modules named for what they hold:
``audits.tally`` (verdict rows, tallies, weights), ``audits.scoreboard`` (unit scores,
normalisation, groups, classes, ranks, the national figure), ``audits.gaps`` (selecting and
closing gaps, the gain of each) and ``audits.what_if`` (every unit's change if gaps were closed).

Method (see ``docs/SCORING.md``):

* raw score of a unit = sum of the weights of its ``met`` answers; the most it could have scored
  = sum of the weights of its ``met`` + ``not_met`` answers. ``not_applicable`` and
  ``cannot_test`` are counted but never enter the score (never scored as 0);
* share = raw / max possible (``None`` when nothing testable);
* normalised value = UN min-max ``(x - min) / (max - min)`` of the share over the units of the
  same kind (provinces, agencies) audited in the same run; all equal -> ``all_equal_value``;
* UN groups on the normalised value, rating classes as quartiles within the group (derived, not
  UN-published), competition ranks ("1, 2, 2, 4").
"""

from __future__ import annotations

from audits.gaps import (
    WHAT_IF_REASON,
    GapGain,
    Peers,
    Predicate,
    by_agency,
    by_criterion,
    by_service,
    by_unit,
    close_gaps,
    gaps,
    gaps_by_gain,
)
from audits.scoreboard import (
    KindScores,
    NationalFigure,
    Scoreboard,
    UnitScore,
    competition_ranks,
    group_of,
    member_quartile_classes,
    minmax,
    national_figure,
    range_class,
    rating_classes,
    score_kind,
    score_run,
    unit_scores,
)
from audits.tally import (
    DIGITS,
    SCORED,
    VERDICTS,
    Gap,
    RowLike,
    Tally,
    VerdictRow,
    as_row,
    as_rows,
    load_weights,
    tally,
    weights_from_rubric,
)
from audits.what_if import UnitChange, WhatIf, all_gaps_closed, what_if
from core.scoring_config import (
    DEFAULT_CONFIG,
    DEFAULT_CONFIG_PATH,
    Group,
    ScoringConfig,
    ScoringConfigError,
    load_scoring_config,
    parse_scoring_config,
)

__all__ = [
    "DEFAULT_CONFIG", "DEFAULT_CONFIG_PATH", "DIGITS", "SCORED", "VERDICTS", "WHAT_IF_REASON",
    "Gap", "GapGain", "Group", "KindScores", "NationalFigure", "Peers", "Predicate", "RowLike",
    "Scoreboard", "ScoringConfig", "ScoringConfigError", "Tally", "UnitChange", "UnitScore",
    "VerdictRow", "WhatIf", "all_gaps_closed", "as_row", "as_rows", "by_agency", "by_criterion",
    "by_service", "by_unit", "close_gaps", "competition_ranks", "gaps", "gaps_by_gain",
    "group_of", "load_scoring_config", "load_weights", "member_quartile_classes", "minmax",
    "national_figure", "parse_scoring_config", "range_class", "rating_classes", "score_kind",
    "score_run", "tally", "unit_scores", "weights_from_rubric", "what_if",
]
