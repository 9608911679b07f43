"""Scoring that mirrors the UN Online Service Index (OSI) method.

Pure functions over plain inputs: verdict rows (one per unit x service x criterion) and a mapping
``criterion_id -> weight``. Nothing here reads the rubric's internals, the store or the network;
the only I/O is :func:`load_scoring_config` and :func:`load_weights` (YAML files).

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

import math
from collections import defaultdict
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from core.scoring_config import (  # noqa: F401  (the scoring API names them too)
    DEFAULT_CONFIG,
    DEFAULT_CONFIG_PATH,
    Group,
    ScoringConfig,
    ScoringConfigError,
    _read_yaml,
    load_scoring_config,
    parse_scoring_config,
)
from core.vocab import SCORED as SCORED_VERDICTS
from core.vocab import VERDICTS as ALL_VERDICTS

VERDICTS: tuple[str, ...] = tuple(map(str, ALL_VERDICTS))  # plain strings: named in messages
SCORED: tuple[str, ...] = tuple(map(str, SCORED_VERDICTS))
DIGITS = 9  # shares and normalised values are rounded to this many decimals (float noise)
WHAT_IF_REASON = "what_if"

Gap = tuple[str, str, str]  # (unit_code, service_id, criterion_id)


# --------------------------------------------------------------------------- rows


@dataclass(frozen=True)
class VerdictRow:
    unit_code: str
    unit_name: str
    unit_kind: str  # "province" | "agency"
    service_id: str
    criterion_id: str
    verdict: str  # one of VERDICTS
    reason: str = ""

    @property
    def key(self) -> Gap:
        return (self.unit_code, self.service_id, self.criterion_id)


Predicate = Callable[[VerdictRow], bool]
RowLike = VerdictRow | Mapping[str, Any] | Any


def _field(obj: Any, name: str) -> str:
    value = obj.get(name) if isinstance(obj, Mapping) else getattr(obj, name, None)
    return "" if value is None else str(value)


def as_row(obj: RowLike) -> VerdictRow:
    """A dict, a :class:`VerdictRow` or any object with the same attributes -> VerdictRow."""
    if isinstance(obj, VerdictRow):
        row = obj
    else:
        row = VerdictRow(
            unit_code=_field(obj, "unit_code"),
            unit_name=_field(obj, "unit_name"),
            unit_kind=_field(obj, "unit_kind"),
            service_id=_field(obj, "service_id"),
            criterion_id=_field(obj, "criterion_id"),
            verdict=_field(obj, "verdict"),
            reason=_field(obj, "reason"),
        )
    if row.verdict not in VERDICTS:
        raise ValueError(f"verdict {row.verdict!r} for {row.key} is not one of {VERDICTS}")
    for name in ("unit_code", "unit_kind", "service_id", "criterion_id"):
        if not getattr(row, name):
            raise ValueError(f"verdict row {row.key} has an empty {name}")
    return row


def as_rows(rows: Iterable[RowLike]) -> list[VerdictRow]:
    """Normalise and validate rows; one row per (unit, service, criterion)."""
    out = [as_row(r) for r in rows]
    seen: set[Gap] = set()
    for row in out:
        if row.key in seen:
            raise ValueError(f"duplicate verdict row for {row.key}")
        seen.add(row.key)
    return out


def _weight(weights: Mapping[str, float], criterion_id: str) -> float:
    try:
        return float(weights[criterion_id])
    except KeyError:
        raise ValueError(f"no weight for criterion {criterion_id!r}") from None


# --------------------------------------------------------------------------- tallies


@dataclass(frozen=True)
class Tally:
    """Points and verdict counts of a set of rows."""

    raw: float
    max_possible: float
    share: float | None  # raw / max_possible; None when nothing testable
    met: int
    not_met: int
    not_applicable: int
    cannot_test: int

    @property
    def testable(self) -> int:
        return self.met + self.not_met


def _share(raw: float, max_possible: float) -> float | None:
    if max_possible <= 0:
        return None
    return round(raw / max_possible, DIGITS)


def tally(rows: Iterable[RowLike], weights: Mapping[str, float]) -> Tally:
    """Raw points, max possible points, share and counts of each verdict over ``rows``."""
    rows = [as_row(r) for r in rows]
    counts = {v: 0 for v in VERDICTS}
    for row in rows:
        counts[row.verdict] += 1
    met = [_weight(weights, r.criterion_id) for r in rows if r.verdict == "met"]
    scored = [_weight(weights, r.criterion_id) for r in rows if r.verdict in SCORED]
    raw, max_possible = math.fsum(met), math.fsum(scored)
    return Tally(raw, max_possible, _share(raw, max_possible), **counts)


def load_weights(path: Path | str) -> dict[str, float]:
    """``{criterion_id: weight}`` from a rubric.yaml-like file (``criteria: [{id, weight}]``).

    ``path`` may be the file or a directory holding ``rubric.yaml``. Raises ValueError naming
    the file and the line or field.
    """
    path = Path(path)
    if path.is_dir():
        path = path / "rubric.yaml"
    data = _read_yaml(path, ValueError)
    criteria = data.get("criteria") if isinstance(data, Mapping) else None
    if not isinstance(criteria, list):
        raise ValueError(f"{path}: a 'criteria' list is required")
    weights: dict[str, float] = {}
    for i, entry in enumerate(criteria):
        where = f"{path}: criteria[{i}]"
        if not isinstance(entry, Mapping) or not entry.get("id"):
            raise ValueError(f"{where}: needs an id and a numeric weight, got {entry!r}")
        cid, weight = str(entry["id"]), entry.get("weight")
        if isinstance(weight, bool) or not isinstance(weight, int | float):
            raise ValueError(f"{where}.weight: needs a numeric weight, not {weight!r}")
        if weight < 0 or cid in weights:
            raise ValueError(f"{where}: criterion {cid!r}: negative or duplicate weight")
        weights[cid] = float(weight)
    return weights


def weights_from_rubric(rubric: Any) -> dict[str, float]:
    """``{criterion.id: criterion.weight}`` from anything with a ``criteria`` sequence."""
    return {c.id: float(c.weight) for c in rubric.criteria}


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
    return {k: 1 + sum(1 for w in values.values() if w > v) for k, v in values.items()}


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
        for k, v in vals.items():
            above = sum(1 for w in vals.values() if w > v)
            out[k] = classes[min(3, (4 * above) // len(vals))]
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
        t = tally(unit_rows, weights)
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
            share_group=group_of(u.share, config).id,
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
        for u in self.units():
            if u.unit_code == unit_code:
                return u
        raise KeyError(unit_code)


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
        overall=tally(rows, weights),
        by_service={s: tally(services[s], weights) for s in sorted(services)},
        by_kind={k: tally(kinds[k], weights) for k in sorted(kinds)},
    )


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
        ignored = tuple(sorted({tuple(k) for k in close} - set(closed)))
    before, after = score_run(rows, weights, config), score_run(new_rows, weights, config)
    return WhatIf(before, after, closed, ignored, _changes(before, after))


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


def _find(scores: KindScores, unit_code: str) -> UnitScore:
    return next(u for u in (*scores.ranked, *scores.excluded) if u.unit_code == unit_code)


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
    each unit's gaps against the same peers); then `rows` need only be the unit's own."""
    rows = as_rows(rows)
    units = units if units is not None else unit_scores(rows, weights)
    if unit_code not in units:
        raise KeyError(unit_code)
    unit = units[unit_code]
    peers = {c: u for c, u in units.items() if u.unit_kind == unit.unit_kind}
    old = _find(score_kind(unit.unit_kind, peers.values(), config), unit_code)
    out = []
    for row in rows:
        if row.unit_code != unit_code or row.verdict != "not_met":
            continue
        points = _weight(weights, row.criterion_id)
        raw = math.fsum([unit.raw, points])
        bumped = replace(unit, raw=raw, share=_share(raw, unit.max_possible))
        after = score_kind(unit.unit_kind, {**peers, unit_code: bumped}.values(), config)
        new = _find(after, unit_code)
        out.append(
            GapGain(
                unit_code,
                row.service_id,
                row.criterion_id,
                row.reason,
                points,
                old.share,
                new.share,
                old.normalised,
                new.normalised,
                old.rank,
                new.rank,
            )
        )
    out.sort(key=lambda g: (-g.points, g.service_id, g.criterion_id))
    return out
