"""`--fail-on` expressions: which changes between two runs should fail a CI job.

    EXPR    = KIND [":" FILTER ("," FILTER)*]
    KIND    = regression | any-regression | improvement | flapping | untested | new
              | retested | scope | any-change
    FILTER  = KEY "=" VALUE ("|" VALUE)*      KEY = province | agency | unit | service | criterion

e.g. `any-regression`, `regression:province=01`, `regression:service=birth_registration`,
`regression:province=01|79,criterion=level4_full`. Flapping cells are not regressions: use
`flapping` to fail on them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from audits.history import CHANGE_KINDS, REGRESSION, Change

ALIASES = {"any-regression": (REGRESSION,), "any-change": CHANGE_KINDS}
KEYS = ("province", "agency", "unit", "service", "criterion")
PROVINCE = re.compile(r"^\d{2}$")


class FailOnError(ValueError):
    pass


@dataclass(frozen=True)
class FailOn:
    text: str
    kinds: tuple[str, ...]
    filters: tuple[tuple[str, frozenset[str]], ...]

    def matches(self, change: Change) -> bool:
        if change.change not in self.kinds:
            return False
        for key, values in self.filters:
            if key in ("province", "agency", "unit"):
                if change.unit_code not in values:
                    return False
                is_province = bool(PROVINCE.match(change.unit_code))
                if (key == "province" and not is_province) or (key == "agency" and is_province):
                    return False
            elif key == "service" and change.service_id not in values:
                return False
            elif key == "criterion" and change.criterion_id not in values:
                return False
        return True


def parse(text: str) -> FailOn:
    kind, _, rest = text.strip().partition(":")
    if kind in ALIASES:
        kinds = ALIASES[kind]
    elif kind in CHANGE_KINDS:
        kinds = (kind,)
    else:
        raise FailOnError(f"{text!r}: unknown kind {kind!r}; use one of "
                          f"{', '.join([*ALIASES, *CHANGE_KINDS])}")
    filters = []
    for part in filter(None, (p.strip() for p in rest.split(","))):
        key, eq, value = part.partition("=")
        if not eq or key not in KEYS or not value:
            raise FailOnError(f"{text!r}: filter {part!r} must be KEY=VALUE with KEY one of "
                              f"{', '.join(KEYS)}")
        filters.append((key, frozenset(v for v in value.split("|") if v)))
    return FailOn(text, kinds, tuple(filters))


def failing(exprs: Iterable[FailOn], changes: Iterable[Change]) -> list[tuple[FailOn, Change]]:
    """(expression, change) for every change that an expression fails on."""
    changes = list(changes)
    return [(e, c) for e in exprs for c in changes if e.matches(c)]


def _suggest(value: str, known: Iterable[str]) -> str:
    """"; did you mean '01'?" for a near miss (a digit short, a typo), else ""."""
    import difflib

    known = list(known)
    padded = re.sub(r"\d+$", lambda m: m.group().zfill(2), value.upper())
    if padded in known:  # "1" for "01", "g1" for "G01"
        return f"; did you mean {padded!r}?"
    close = difflib.get_close_matches(value, known, n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


def validate(expr: FailOn, rubric: Any) -> None:
    """Every unit, service and criterion an expression names must be in the rubric: a typo
    would otherwise match nothing and let a CI gate pass by mistake. Raises FailOnError with one
    line and a suggestion ("unknown unit '1'; did you mean '01'?")."""
    known = {
        "province": [u.code for u in rubric.units if u.kind == "province"],
        "agency": [u.code for u in rubric.units if u.kind != "province"],
        "unit": [u.code for u in rubric.units],
        "service": [s.id for s in rubric.services],
        "criterion": [c.id for c in rubric.criteria],
    }
    for key, values in expr.filters:
        for value in sorted(values):
            if value not in known[key]:
                noun = {"province": "unit", "agency": "unit"}.get(key, key)
                raise FailOnError(f"unknown {noun} {value!r}{_suggest(value, known[key])} "
                                  f"(in {expr.text!r})")
