"""Unit scores and scoreboards: each unit's share, UN min-max normalised value, group,
rating class and rank among the units of its kind, and the national figure (audits/scoring.py
describes the method)."""

from __future__ import annotations

from bisect import bisect_right
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from functools import cached_property

from audits.tally import DIGITS, RowLike, Tally, VerdictRow, as_rows, tally_rows
from core.scoring_config import DEFAULT_CONFIG, Group, ScoringConfig

# --------------------------------------------------------------------------- UN pieces


def minmax(values: Mapping[str, float], all_equal_value: float = 1.0) -> dict[str, float]:
    """UN normalisation ``(x - min) / (max - min)``; ``all_equal_value`` for all if max == min."""
    if not values:
        return {}
    lo, hi = min(values.values()), max(values.values())
    if hi == lo:
        return {k: all_equal_value for k in values}
    return {k: round((v - lo) / (hi - lo), DIGITS) for k, v in values.items()}


def competition_ranks(values: Mapping[str, float]) -> dict[str, int]:
    """Standard competition ranking, highest first: ties share a rank, the next is skipped."""
    ordered = sorted(values.values())  # rank = 1 + how many are higher, by bisection
    return {k: 1 + above(ordered, v) for k, v in values.items()}


def above(ordered: list[float], value: float) -> int:
    """How many of the sorted `ordered` are strictly greater than `value`."""
    return len(ordered) - bisect_right(ordered, value)


def group_of(value: float, config: ScoringConfig = DEFAULT_CONFIG) -> Group:
    """The UN group of a value in [0, 1]: the first (highest) group whose lower bound it passes."""
    v = round(value, DIGITS)
    for g in config.groups:
        if v > g.min or (g.min_inclusive and v == g.min):
            return g
    return config.groups[-1]


def range_class(value: float, config: ScoringConfig = DEFAULT_CONFIG) -> str:
    """Rating class = which quarter of its group's value range the value falls in (derived)."""
    g = group_of(value, config)
    lo, hi = g.min, config.upper(g)
    quarter = int(round((round(value, DIGITS) - lo) / ((hi - lo) / 4), DIGITS))
    return g.classes[3 - max(0, min(quarter, 3))]


def member_quartile_classes(
    values: Mapping[str, float], config: ScoringConfig = DEFAULT_CONFIG
) -> dict[str, str]:
    """Rating class = quartile of the unit's position among the units of its group (derived).

    A unit's position is the share of group members strictly above it, so ties share a class.
    """
    members: dict[str, dict[str, float]] = defaultdict(dict)
    for k, v in values.items():
        members[group_of(v, config).id][k] = v
    out: dict[str, str] = {}
    for gid, vals in members.items():
        classes = config.group(gid).classes
        ordered = sorted(vals.values())
        for k, v in vals.items():
            out[k] = classes[min(3, (4 * above(ordered, v)) // len(vals))]
    return out


def rating_classes(
    values: Mapping[str, float], config: ScoringConfig = DEFAULT_CONFIG
) -> dict[str, str]:
    if config.class_method == "member_quartiles":
        return member_quartile_classes(values, config)
    return {k: range_class(v, config) for k, v in values.items()}


# --------------------------------------------------------------------------- unit scores


@dataclass(frozen=True)
class UnitScore:
    unit_code: str
    unit_name: str
    unit_kind: str
    raw: float
    max_possible: float
    share: float | None  # absolute: raw / max possible
    met: int
    not_met: int
    not_applicable: int
    cannot_test: int
    normalised: float | None = None  # relative: min-max over the units of the same kind
    group: str | None = None  # UN group of the normalised value
    rating_class: str | None = None  # derived quartile class within the group
    rank: int | None = None  # competition rank within the kind
    share_group: str | None = None  # our extension: the UN group of the absolute share

    @property
    def testable(self) -> int:
        return self.met + self.not_met


def unit_scores(rows: Iterable[RowLike], weights: Mapping[str, float]) -> dict[str, UnitScore]:
    """Raw, max possible, share and counts per unit (not yet normalised), keyed by unit code."""
    by_unit: dict[str, list[VerdictRow]] = defaultdict(list)
    for row in as_rows(rows):
        by_unit[row.unit_code].append(row)
    out: dict[str, UnitScore] = {}
    for code in sorted(by_unit):
        unit_rows = by_unit[code]
        first = unit_rows[0]
        if any(r.unit_kind != first.unit_kind for r in unit_rows):
            raise ValueError(f"unit {code!r} has rows of more than one unit_kind")
        t = tally_rows(unit_rows, weights)
        out[code] = UnitScore(
            code,
            first.unit_name,
            first.unit_kind,
            t.raw,
            t.max_possible,
            t.share,
            t.met,
            t.not_met,
            t.not_applicable,
            t.cannot_test,
        )
    return out


@dataclass(frozen=True)
class KindScores:
    unit_kind: str
    ranked: tuple[UnitScore, ...]  # units with a share, by rank then code
    excluded: tuple[UnitScore, ...]  # nothing testable: not normalised, grouped or ranked
    min_share: float | None
    max_share: float | None

    @property
    def all_equal(self) -> bool:
        return bool(self.ranked) and self.min_share == self.max_share


def score_kind(
    unit_kind: str, units: Iterable[UnitScore], config: ScoringConfig = DEFAULT_CONFIG
) -> KindScores:
    """Normalise, group, class and rank the units of one kind."""
    units = list(units)
    shares = {u.unit_code: u.share for u in units if u.share is not None}
    norm = minmax(shares, config.all_equal_value)
    ranks = competition_ranks(shares)
    classes = rating_classes(norm, config)
    ranked = [
        replace(
            u,
            normalised=norm[u.unit_code],
            group=group_of(norm[u.unit_code], config).id,
            rating_class=classes[u.unit_code],
            rank=ranks[u.unit_code],
            share_group=group_of(shares[u.unit_code], config).id,  # u.share, not None
        )
        for u in units
        if u.unit_code in shares
    ]
    ranked.sort(key=lambda u: (u.rank, u.unit_code))
    excluded = sorted((u for u in units if u.share is None), key=lambda u: u.unit_code)
    return KindScores(
        unit_kind,
        tuple(ranked),
        tuple(excluded),
        min(shares.values()) if shares else None,
        max(shares.values()) if shares else None,
    )


@dataclass(frozen=True)
class Scoreboard:
    kinds: Mapping[str, KindScores]  # "province" / "agency" -> scores, each normalised apart

    def units(self) -> list[UnitScore]:
        return [
            u for k in sorted(self.kinds) for u in (*self.kinds[k].ranked, *self.kinds[k].excluded)
        ]

    def unit(self, unit_code: str) -> UnitScore:
        return self._by_code[unit_code]  # KeyError when the run has no such unit

    def get(self, unit_code: str) -> UnitScore | None:
        return self._by_code.get(unit_code)

    @cached_property
    def _by_code(self) -> dict[str, UnitScore]:
        # a report looks up every unit: a scan each time is quadratic at ward level
        return {u.unit_code: u for u in self.units()}


def _board(units: Mapping[str, UnitScore], config: ScoringConfig) -> Scoreboard:
    by_kind: dict[str, list[UnitScore]] = defaultdict(list)
    for u in units.values():
        by_kind[u.unit_kind].append(u)
    return Scoreboard({k: score_kind(k, by_kind[k], config) for k in sorted(by_kind)})


def score_run(
    rows: Iterable[RowLike],
    weights: Mapping[str, float],
    config: ScoringConfig = DEFAULT_CONFIG,
) -> Scoreboard:
    """Every unit's share, normalised value, group, class and rank, per unit kind."""
    return _board(unit_scores(rows, weights), config)


# --------------------------------------------------------------------------- national figure


@dataclass(frozen=True)
class NationalFigure:
    overall: Tally  # all units, all services
    by_service: Mapping[str, Tally]
    by_kind: Mapping[str, Tally]


def national_figure(rows: Iterable[RowLike], weights: Mapping[str, float]) -> NationalFigure:
    """Share of the weighted points met over the points testable, across all units."""
    rows = as_rows(rows)
    services: dict[str, list[VerdictRow]] = defaultdict(list)
    kinds: dict[str, list[VerdictRow]] = defaultdict(list)
    for row in rows:
        services[row.service_id].append(row)
        kinds[row.unit_kind].append(row)
    return NationalFigure(
        overall=tally_rows(rows, weights),
        by_service={s: tally_rows(services[s], weights) for s in sorted(services)},
        by_kind={k: tally_rows(kinds[k], weights) for k in sorted(kinds)},
    )
