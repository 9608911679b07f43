"""Gaps (``not_met`` answers): selecting them, closing them, and what closing one alone is
worth to its unit (:func:`gaps_by_gain`), computed against the unit's peers without
re-scoring the unit's kind for each gap."""

from __future__ import annotations

import math
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass, replace

from audits.scoreboard import UnitScore, above, unit_scores
from audits.tally import DIGITS, Gap, RowLike, VerdictRow, _share, _weight, as_rows
from core.scoring_config import DEFAULT_CONFIG, ScoringConfig

WHAT_IF_REASON = "what_if"

Predicate = Callable[[VerdictRow], bool]

# --------------------------------------------------------------------------- gap selection


def by_unit(*unit_codes: str) -> Predicate:
    codes = set(unit_codes)
    return lambda row: row.unit_code in codes


def by_service(*service_ids: str) -> Predicate:
    ids = set(service_ids)
    return lambda row: row.service_id in ids


def by_criterion(*criterion_ids: str) -> Predicate:
    ids = set(criterion_ids)
    return lambda row: row.criterion_id in ids


def by_agency(
    agency_code: str, service_agencies: Mapping[str, Iterable[str]] | None = None
) -> Predicate:
    """The agency's own rows; with ``service_agencies`` (service id -> the service's
    ``agency_codes``) also every unit's rows for the services the agency runs nationally."""
    services = {s for s, codes in (service_agencies or {}).items() if agency_code in set(codes)}
    return lambda row: row.unit_code == agency_code or row.service_id in services


def _selector(close: Predicate | Collection[Gap]) -> Predicate:
    if callable(close):
        return close
    keys = {tuple(k) for k in close}
    return lambda row: row.key in keys


def gaps(rows: Iterable[RowLike], select: Predicate | Collection[Gap] | None = None) -> list[Gap]:
    """Keys of the ``not_met`` rows (optionally only those selected), in sorted order."""
    pick = _selector(select) if select is not None else (lambda row: True)
    return sorted(r.key for r in as_rows(rows) if r.verdict == "not_met" and pick(r))


def close_gaps(rows: Iterable[RowLike], close: Predicate | Collection[Gap]) -> list[VerdictRow]:
    """Rows with the selected ``not_met`` answers turned into ``met`` (reason ``what_if``).

    Only gaps can be closed: met, not_applicable and cannot_test rows are left as they are.
    """
    pick = _selector(close)
    return [
        replace(r, verdict="met", reason=WHAT_IF_REASON)
        if r.verdict == "not_met" and pick(r)
        else r
        for r in as_rows(rows)
    ]


@dataclass(frozen=True)
class GapGain:
    unit_code: str
    service_id: str
    criterion_id: str
    reason: str
    points: float  # raw points gained (the criterion's weight)
    share_before: float | None
    share_after: float | None
    normalised_before: float | None
    normalised_after: float | None
    rank_before: int | None
    rank_after: int | None

    @property
    def normalised_change(self) -> float:
        return round((self.normalised_after or 0.0) - (self.normalised_before or 0.0), DIGITS)


class Peers(Mapping[str, UnitScore]):
    """Every unit's score (as :func:`unit_scores` gives them), with each kind's shares sorted
    once: where one unit's share moves, its normalised value and rank among its unchanged
    peers follow from the others' min, max and how many are above it, without re-scoring the
    whole kind (a report asks this for every gap of every unit: thousands at ward level)."""

    def __init__(self, units: Mapping[str, UnitScore]) -> None:
        self._units = dict(units)
        self._shares: dict[str, list[float]] = {}

    def __getitem__(self, unit_code: str) -> UnitScore:
        return self._units[unit_code]

    def __iter__(self) -> Iterator[str]:
        return iter(self._units)

    def __len__(self) -> int:
        return len(self._units)

    def shares(self, unit_kind: str) -> list[float]:
        """The shares of the kind's units that have one, ascending."""
        if unit_kind not in self._shares:
            self._shares[unit_kind] = sorted(
                u.share for u in self._units.values()
                if u.unit_kind == unit_kind and u.share is not None)
        return self._shares[unit_kind]

    def placed(self, unit_code: str, share: float | None,
               config: ScoringConfig = DEFAULT_CONFIG) -> tuple[float | None, int | None]:
        """(normalised value, rank) the unit would have with `share` instead of its own, its
        peers unchanged: what :func:`score_kind` gives it, computed the same way (UN min-max
        over the kind, ``1 +`` how many are strictly higher)."""
        if share is None:
            return None, None  # nothing testable: neither normalised nor ranked
        unit = self._units[unit_code]
        ordered, own = self.shares(unit.unit_kind), unit.share
        lo, hi = share, share
        if len(ordered) > (own is not None):  # the others' extremes, one copy of `own` out
            lo = min(ordered[1] if own == ordered[0] else ordered[0], share)
            hi = max(ordered[-2] if own == ordered[-1] else ordered[-1], share)
        if hi == lo:
            normalised = config.all_equal_value
        else:
            normalised = round((share - lo) / (hi - lo), DIGITS)
        higher = above(ordered, share) - (own is not None and own > share)
        return normalised, 1 + higher


def gaps_by_gain(
    rows: Iterable[RowLike],
    weights: Mapping[str, float],
    unit_code: str,
    config: ScoringConfig = DEFAULT_CONFIG,
    units: Mapping[str, UnitScore] | None = None,
) -> list[GapGain]:
    """The unit's ``not_met`` items, each closed alone, by points gained (most first);
    ties by service id then criterion id. Normalised change is against the unit's peers.
    `units`: every unit's `unit_scores`, when the caller has them already (a report scores
    each unit's gaps against the same peers; pass them as :class:`Peers` to sort each kind's
    shares once); then `rows` need only be the unit's own."""
    rows = as_rows(rows)
    units = units if units is not None else unit_scores(rows, weights)
    if unit_code not in units:
        raise KeyError(unit_code)
    peers = units if isinstance(units, Peers) else Peers(units)
    unit = peers[unit_code]
    normalised_before, rank_before = peers.placed(unit_code, unit.share, config)
    out = []
    after: dict[float, tuple[float | None, float | None, int | None]] = {}  # points -> ...
    for row in rows:
        if row.unit_code != unit_code or row.verdict != "not_met":
            continue
        points = _weight(weights, row.criterion_id)
        if points not in after:  # gaps of equal weight move the unit alike
            share = _share(math.fsum([unit.raw, points]), unit.max_possible)
            after[points] = (share, *peers.placed(unit_code, share, config))
        share, normalised, rank = after[points]
        out.append(
            GapGain(
                unit_code,
                row.service_id,
                row.criterion_id,
                row.reason,
                points,
                unit.share,
                share,
                normalised_before,
                normalised,
                rank_before,
                rank,
            )
        )
    out.sort(key=lambda g: (-g.points, g.service_id, g.criterion_id))
    return out
