"""What-if: the scores, normalised values and ranks of every unit if some gaps were closed,
the others fixed, as changes per unit."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import cast

from audits.gaps import Peers, Predicate, close_gaps
from audits.scoreboard import Scoreboard, UnitScore, group_of, score_run
from audits.tally import DIGITS, Gap, RowLike, as_rows
from core.scoring_config import DEFAULT_CONFIG, ScoringConfig

# --------------------------------------------------------------------------- what-if


@dataclass(frozen=True)
class UnitChange:
    unit_code: str
    unit_kind: str
    points_gained: float
    share_before: float | None
    share_after: float | None
    normalised_before: float | None
    normalised_after: float | None
    rank_before: int | None
    rank_after: int | None
    group_before: str | None
    group_after: str | None


@dataclass(frozen=True)
class WhatIf:
    before: Scoreboard
    after: Scoreboard
    closed: tuple[Gap, ...]  # gaps actually turned into met
    ignored: tuple[Gap, ...]  # requested keys (set form only) that are not gaps
    changes: tuple[UnitChange, ...]  # every unit, by kind, new rank, code

    def change(self, unit_code: str) -> UnitChange:
        for c in self.changes:
            if c.unit_code == unit_code:
                return c
        raise KeyError(unit_code)


def _changes(before: Scoreboard, after: Scoreboard) -> tuple[UnitChange, ...]:
    out = []
    for a in after.units():
        b = before.unit(a.unit_code)
        out.append(
            UnitChange(
                a.unit_code,
                a.unit_kind,
                round(a.raw - b.raw, DIGITS),
                b.share,
                a.share,
                b.normalised,
                a.normalised,
                b.rank,
                a.rank,
                b.group,
                a.group,
            )
        )
    big = 1 << 30
    return tuple(sorted(out, key=lambda c: (c.unit_kind, c.rank_after or big, c.unit_code)))


def what_if(
    rows: Iterable[RowLike],
    weights: Mapping[str, float],
    close: Predicate | Collection[Gap],
    config: ScoringConfig = DEFAULT_CONFIG,
) -> WhatIf:
    """Scores, normalised values and ranks if the selected gaps were closed (others fixed)."""
    rows = as_rows(rows)
    new_rows = close_gaps(rows, close)
    closed = tuple(sorted(n.key for o, n in zip(rows, new_rows, strict=True) if o != n))
    ignored: tuple[Gap, ...] = ()
    if not callable(close):
        asked = {cast(Gap, tuple(k)) for k in close}  # a gap given as a list counts too
        ignored = tuple(sorted(asked - set(closed)))
    before, after = score_run(rows, weights, config), score_run(new_rows, weights, config)
    return WhatIf(before, after, closed, ignored, _changes(before, after))


def all_gaps_closed(
    unit_code: str, peers: Mapping[str, UnitScore], config: ScoringConfig = DEFAULT_CONFIG
) -> UnitChange:
    """What-if every gap of one unit were closed, its peers unchanged.

    Same result as ``what_if(rows, weights, by_unit(code))`` for that unit (closing every
    not_met answer makes raw = max possible), without re-scoring the run or the unit's kind:
    `peers` are every unit's `unit_scores` (as :class:`Peers`, each kind's shares are sorted
    once for all the units a report asks about). The unit must have a share (something met or
    not met)."""
    peers = peers if isinstance(peers, Peers) else Peers(peers)
    unit = peers[unit_code]
    if unit.share is None:
        raise ValueError(f"unit {unit_code!r} has nothing testable: no what-if to compute")
    norm_before, rank_before = peers.placed(unit_code, unit.share, config)
    norm_after, rank_after = peers.placed(unit_code, 1.0, config)
    return UnitChange(unit_code, unit.unit_kind, round(unit.max_possible - unit.raw, DIGITS),
                      unit.share, 1.0, norm_before, norm_after, rank_before, rank_after,
                      _group(norm_before, config), _group(norm_after, config))


def _group(normalised: float | None, config: ScoringConfig) -> str | None:
    return None if normalised is None else group_of(normalised, config).id
