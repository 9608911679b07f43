"""Verdict rows and their tallies: the inputs of the scoring (audits/scoring.py).

A verdict row is one answer (unit x service x criterion); a tally sums the weights of the
``met`` answers (raw) and of the ``met`` + ``not_met`` ones (the most it could have scored).
``not_applicable`` and ``cannot_test`` are counted but never enter the score. The weights come
from a rubric (:func:`weights_from_rubric`) or a rubric.yaml-like file (:func:`load_weights`).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.scoring_config import _read_yaml
from core.vocab import SCORED as SCORED_VERDICTS
from core.vocab import VERDICTS as ALL_VERDICTS

VERDICTS: tuple[str, ...] = tuple(map(str, ALL_VERDICTS))  # plain strings: named in messages
SCORED: tuple[str, ...] = tuple(map(str, SCORED_VERDICTS))
DIGITS = 9  # shares and normalised values are rounded to this many decimals (float noise)

Gap = tuple[str, str, str]  # (unit_code, service_id, criterion_id)


# --------------------------------------------------------------------------- rows


@dataclass(frozen=True, slots=True)
class VerdictRow:
    unit_code: str
    unit_name: str
    unit_kind: str  # "province" | "agency"
    service_id: str
    criterion_id: str
    verdict: str  # one of VERDICTS
    reason: str = ""

    def __post_init__(self) -> None:
        # Checked once, when the row is made (it is frozen): the scoring passes the same rows
        # through several functions, each of which accepts rows of any form (as_row).
        if self.verdict not in VERDICTS:
            raise ValueError(f"verdict {self.verdict!r} for {self.key} is not one of {VERDICTS}")
        if self.unit_code and self.unit_kind and self.service_id and self.criterion_id:
            return
        for name in ("unit_code", "unit_kind", "service_id", "criterion_id"):
            if not getattr(self, name):
                raise ValueError(f"verdict row {self.key} has an empty {name}")

    @property
    def key(self) -> Gap:
        return (self.unit_code, self.service_id, self.criterion_id)


RowLike = VerdictRow | Mapping[str, Any] | Any


FIELDS = ("unit_code", "unit_name", "unit_kind", "service_id", "criterion_id", "verdict", "reason")


def as_row(obj: RowLike) -> VerdictRow:
    """A dict, a :class:`VerdictRow` or any object with the same attributes -> VerdictRow."""
    if isinstance(obj, VerdictRow):
        return obj  # validated when it was made
    if isinstance(obj, Mapping):
        values = [obj.get(name) for name in FIELDS]
    else:
        values = [getattr(obj, name, None) for name in FIELDS]
    return VerdictRow(*[v if type(v) is str else _text(v) for v in values])


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def as_rows(rows: Iterable[RowLike]) -> list[VerdictRow]:
    """Normalise and validate rows; one row per (unit, service, criterion)."""
    out = [as_row(r) for r in rows]
    keys = {(r.unit_code, r.service_id, r.criterion_id) for r in out}
    if len(keys) != len(out):
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
    return tally_rows([as_row(r) for r in rows], weights)


def tally_rows(rows: list[VerdictRow], weights: Mapping[str, float]) -> Tally:
    """:func:`tally` of rows already made :class:`VerdictRow` (no conversion)."""
    found = Counter(r.verdict for r in rows)
    counts = {v: found[v] for v in VERDICTS}
    try:
        w = {c: float(x) for c, x in weights.items()}
        met = [w[r.criterion_id] for r in rows if r.verdict == "met"]
        scored = [w[r.criterion_id] for r in rows if r.verdict in SCORED]
    except (KeyError, TypeError, ValueError):  # the slow way names the criterion at fault
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
