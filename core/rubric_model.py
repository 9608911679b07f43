"""The audit rubric as frozen dataclasses: services and their procedures, criteria, units
(provinces and agencies) and the fee rule, with the lookups the audits use.

Loaded and validated from `rubrics/*.yaml` by core/rubric.py (which also exports these names).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

DEFAULT_COVERAGE = 0.9


# --------------------------------------------------------------------------- data classes


@dataclass(frozen=True)
class Procedure:
    code: str
    name: str
    note: str = ""


@dataclass(frozen=True)
class Service:
    id: str
    annex_no: int
    name_vi: str
    name_en: str
    kind: str
    ministries: tuple[str, ...]
    agency_codes: tuple[str, ...]
    annex_local: str
    delivery: tuple[str, ...]
    annex_status: str
    annex_deadline: str
    procedures: tuple[Procedure, ...]
    keywords: tuple[str, ...]
    # Extension to the contract (defaulted, so positional use is unaffected): how a
    # capability without procedures is measured, or any other caveat.
    note: str = ""
    # Optional English names of `ministries`, in the same order (issue 16: English report).
    ministries_en: tuple[str, ...] = ()
    annex_deadline_en: str = ""  # optional, where the deadline is not a quarter ("Quý IV/2020")


@dataclass(frozen=True)
class Criterion:
    id: str
    title_vi: str
    title_en: str
    question_vi: str
    question_en: str
    legal_basis: str
    remediation_vi: str
    remediation_en: str
    weight: float
    applies_to: tuple[str, ...]
    evidence: str
    legal_basis_en: str = ""  # optional English title of the legal basis (issue 16)


@dataclass(frozen=True)
class Unit:
    code: str
    kind: str
    name: str
    office_code: str
    # Extensions: False when no stored real response proves the agency code.
    code_verified: bool = True
    note: str = ""
    # Whole office codes that belong to the unit although they carry no Hxx/Gxx segment
    # (EVN's tax code "0100100079"): matched exactly, upper-cased.
    aliases: tuple[str, ...] = ()
    name_en: str = ""  # optional English name (agencies: "Ministry of Justice"); "" = name


@dataclass(frozen=True)
class FeeRule:
    """rubrics/fees.yaml: how a fee written in words is read (audits/fees.py applies it; the
    replica's truth reads the same data with its own code). Words are casefolded NFC."""

    amount_patterns: tuple[str, ...]  # regexes; group 1 = the number of đồng ("150.000")
    exempt_starts: tuple[str, ...]  # a text starting with one of these, no amount: exempt
    conditional: tuple[str, ...]  # ...unless its first clause holds one of these (for some)
    clause_end: str  # regex: where the first clause ends
    references: tuple[str, ...]  # words naming where the charge is set: charged, amount unknown


@dataclass(frozen=True)
class Rubric:
    version: str
    services: tuple[Service, ...]
    criteria: tuple[Criterion, ...]
    units: tuple[Unit, ...]
    fees: FeeRule | None = None  # rubrics/fees.yaml (always set by load_rubric)
    # Share of a unit's offices that must offer a level for the level criteria to be met
    # (rubric.yaml `coverage_threshold`; docs/ARCHITECTURE.md "Coverage across offices").
    coverage_threshold: float = DEFAULT_COVERAGE

    def service(self, id: str) -> Service:
        for s in self.services:
            if s.id == id:
                return s
        raise KeyError(f"no service {id!r}")

    def criterion(self, id: str) -> Criterion:
        for c in self.criteria:
            if c.id == id:
                return c
        raise KeyError(f"no criterion {id!r}")

    def unit(self, code: str) -> Unit:
        for u in self.units:
            if u.code == code:
                return u
        raise KeyError(f"no unit {code!r}")

    def criteria_for(self, service: Service | str) -> tuple[Criterion, ...]:
        sid = service if isinstance(service, str) else service.id
        return tuple(c for c in self.criteria if sid in c.applies_to)

    def all_codes(self) -> set[str]:
        return {p.code for s in self.services for p in s.procedures}

    @property
    def provinces(self) -> tuple[Unit, ...]:
        return tuple(u for u in self.units if u.kind == "province")

    @property
    def agencies(self) -> tuple[Unit, ...]:
        return tuple(u for u in self.units if u.kind == "agency")

    def units_for(self, service: Service | str) -> tuple[Unit, ...]:
        """Units audited for a service (ARCHITECTURE "Verdict semantics"); others are n/a."""
        s = self.service(service) if isinstance(service, str) else service
        out: list[Unit] = []
        if "province" in s.delivery:
            out.extend(self.provinces)
        if "agency" in s.delivery:
            out.extend(self.unit(code) for code in s.agency_codes)
        return tuple(out)

    def service_for_code(self, code: str) -> Service | None:
        for s in self.services:
            if any(p.code == code for p in s.procedures):
                return s
        return None

    def unit_for_office(self, office_code: str) -> Unit | None:
        return unit_for_office(self, office_code)


def office_claims(units: Iterable[Unit], office_code: str) -> list[Unit]:
    """Every unit that claims an office code, by the rules of docs/ARCHITECTURE.md "Office
    codes -> units": an alias equal to the whole code; else the unit whose office_code is the
    first '.'-separated segment (real forms `H26.105`, `H26.105.1`, `H26`, `G01.18`); else the
    one whose office_code is the last segment (legacy `000.37.26.H26`, `000.00.00.G01`).
    More than one unit only when the rubric itself is ambiguous (`rubric check` refuses it)."""
    code = (office_code or "").strip().upper()
    if not code:
        return []
    units = list(units)
    aliased = [u for u in units if code in u.aliases]
    if aliased:
        return aliased
    parts = code.split(".")
    for segment in (parts[0], parts[-1]):
        hits = [u for u in units if u.office_code == segment]
        if hits:
            return hits
    return []


def unit_for_office(rubric: Rubric, office_code: str) -> Unit | None:
    """The unit an office code belongs to (`office_claims`), None when no unit claims it.

    `H26.105`, `H26.7`, `H26` and `000.37.26.H26` -> Hà Nội (H26); `G01`, `G01.18` and
    `000.00.00.G01` -> Bộ Công an; `0100100079` -> EVN (alias); `BCA_CAX` -> None.
    """
    claims = office_claims(rubric.units, office_code)
    return claims[0] if claims else None
