"""Office codes the replica serves, and which rubric unit a code names (docs/SCENARIOS.md
"Office codes").

Real forms (default, `office_codes: real`): a ward `Hxx.<100+k>`, a provincial department
`Hxx.<sector>`, an agency office `Gxx.<sector>`; an offer's explicit `office_code` is served
verbatim (`H26` the provincial People's Committee, `H26.105.1` a ward's sub-unit, `BCA_CAX`
the commune police of any province, `0100100079` EVN's tax code). Legacy forms
(`office_codes: legacy`): `000.AA.BB.Hxx`, `000.00.NN.Hxx`, `000.00.00.Gxx`.

`claimants` is the replica's own reading of the attribution rule (docs/ARCHITECTURE.md "Office
codes -> units"); the truth uses it, never audits code.
"""

from __future__ import annotations

from typing import Any

from replica import names
from replica.ids import keyed_rng

WARD_BASE = 100  # real ward k of a province is Hxx.<100+k>: clear of department numbers


def unit_codes(unit: Any) -> set[str]:
    """The codes an office code may carry for a unit: its office_code and aliases."""
    return {str(unit.office_code).upper(), *(a.upper() for a in getattr(unit, "aliases", ()))}


def claimants(units: Any, code: str) -> list[Any]:
    """Every unit an office code could name: a whole-code alias, or its office_code as the
    first or the last '.'-separated segment. More than one is an ambiguous code."""
    code = (code or "").strip().upper()
    if not code:
        return []
    parts = code.split(".")
    out = []
    for unit in units:
        aliases = {a.upper() for a in getattr(unit, "aliases", ())}
        own = str(unit.office_code).upper()
        if code in aliases or own in (parts[0], parts[-1]):
            out.append(unit)
    return out


def ward_name(seed: int, unit: Any, k: int) -> str:
    perm = list(range(len(names.WARD_NAMES)))
    keyed_rng(seed, "wards", unit.code).shuffle(perm)
    n = len(perm)
    base = names.WARD_NAMES[perm[(k - 1) % n]]
    suffix = f" {(k - 1) // n + 1}" if k > n else ""
    kind = names.WARD_KINDS[keyed_rng(seed, "ward-kind", unit.code, k).random() < 0.35]
    return f"UBND {kind} {base}{suffix}"


def ward_code(unit: Any, k: int, form: str) -> str:
    if form == "legacy":
        a, b = 10 + (k - 1) % 90, 30 + (k - 1) // 90
        return f"000.{a:02d}.{b:02d}.{unit.office_code}"
    return f"{unit.office_code}.{WARD_BASE + k}"


def department_code(unit: Any, sector: int, form: str) -> str:
    if form == "legacy":
        return f"000.00.{sector:02d}.{unit.office_code}"
    return f"{unit.office_code}.{sector}"


def agency_code(unit: Any, sector: int, form: str) -> str:
    if form == "legacy":
        return f"000.00.00.{unit.office_code}"
    return f"{unit.office_code}.{sector}"


OFFICE_LEVEL = {"ward": "WARD", "province": "PROVINCE", "agency": "MINISTRY"}


def offices(seed: int, offer: Any, unit: Any, spec: Any, ward_next: dict[tuple[str, str], int],
            form: str = "real") -> list[tuple[str, str, str]]:
    """(code, name, row level) of each office an offer stands for. Ward k of a unit is the same
    office for every procedure; successive ward offers of one (unit, procedure) take the next
    wards. An explicit `office_code` is one office, served verbatim."""
    if offer.office_code:
        name = offer.office_name or f"Cơ quan {offer.office_code}"
        return [(offer.office_code, name, OFFICE_LEVEL[offer.office])]
    if offer.office == "agency":
        sector = names.agency_info(spec.agency_code)[2]
        return [(agency_code(unit, sector, form), offer.office_name or unit.name, "MINISTRY")]
    if offer.office == "province":
        _, dept, sector, _ = names.agency_info(spec.agency_code)
        return [(department_code(unit, sector, form),
                 offer.office_name or f"{dept} {names.locative(unit.name)}", "PROVINCE")]
    key = (offer.unit, offer.procedure)
    start = ward_next.get(key, 1)
    ward_next[key] = start + offer.count
    out = []
    for k in range(start, start + offer.count):
        name = ward_name(seed, unit, k)
        if offer.office_name:
            name = offer.office_name if offer.count == 1 else f"{offer.office_name} {k}"
        out.append((ward_code(unit, k, form), name, "WARD"))
    return out


def offer_offices(scenario: Any, rubric: Any) -> list[tuple[Any, list[tuple[str, str, str]]]]:
    """Every offer of the scenario with its offices, in file order (as the catalogue serves)."""
    units = {u.code: u for u in rubric.units}
    ward_next: dict[tuple[str, str], int] = {}
    form = getattr(scenario, "office_codes", "real") or "real"
    return [(o, offices(scenario.seed, o, units[o.unit], scenario.procedure(o.procedure),
                        ward_next, form))
            for o in scenario.offers]
