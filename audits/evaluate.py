"""Evidence + rubric -> verdicts. Pure: never fetches, never touches the database.

Semantics are documented in docs/ARCHITECTURE.md ("Verdict semantics"). In short: a positive
observation is `met`; `not_met` needs complete evidence that the thing is absent; anything in
between is `cannot_test` with the reason the evidence is missing.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from audits.rubric import Criterion, Rubric, Service, Unit, unit_for_office

MET, NOT_MET, NA, CANNOT = "met", "not_met", "not_applicable", "cannot_test"
VERDICTS = (MET, NOT_MET, NA, CANNOT)
LEVELS = {"NONE": 0, "PARTIAL": 1, "FULL": 2}


@dataclass
class Observations:
    """What the national crawl saw, indexed by procedure code."""

    catalogue_complete: bool = False
    catalogue_reason: str = "no_catalogue"
    listed: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    details: dict[str, tuple[dict[str, Any], int]] = field(default_factory=dict)
    rows: dict[str, list[tuple[dict[str, Any], int]]] = field(
        default_factory=lambda: defaultdict(list))
    lists_complete: set[str] = field(default_factory=set)
    failures: dict[tuple[str, str], str] = field(default_factory=dict)  # (endpoint, code) -> reason


def observe(evidence: Iterable[dict[str, Any]]) -> Observations:
    obs = Observations()
    for ev in evidence:
        kind, code, data, ok = ev["kind"], ev.get("procedure_code") or "", ev["data"], \
            ev["outcome"] == "ok"
        if kind == "catalogue" and ok and data.get("complete"):
            obs.catalogue_complete = True
        elif kind == "procedure" and ok:
            obs.listed[code].append(ev["id"])
        elif kind == "procedure_detail" and ok:
            obs.details[code] = (data, ev["id"])
        elif kind == "office_row" and ok:
            obs.rows[code].append((data, ev["id"]))
        elif kind == "office_list" and ok and data.get("complete"):
            obs.lists_complete.add(code)
        elif kind == "fetch":
            endpoint = data.get("endpoint", "")
            obs.failures.setdefault((endpoint, code), ev["reason"] or "error")
            if endpoint == "catalogue":
                obs.catalogue_reason = ev["reason"] or "error"
    return obs


@dataclass
class Cell:
    """Evidence for one (unit, service)."""

    unit: Unit
    service: Service
    obs: Observations
    rows: list[tuple[dict[str, Any], int]]
    criteria: tuple[Criterion, ...]  # the criteria the rubric applies to this service

    def rows_status(self) -> tuple[bool, str]:
        """(complete, reason): do we hold every office row of every procedure?"""
        for code in self.service_codes():
            if code in self.obs.lists_complete:
                continue
            if code in self.obs.listed:
                return False, self.obs.failures.get(("offices", code), "incomplete")
            if not self.obs.catalogue_complete:
                return False, self.obs.catalogue_reason
        return True, ""

    def service_codes(self) -> list[str]:
        return [p.code for p in self.service.procedures]

    def details_status(self, codes: Iterable[str]) -> tuple[bool, str]:
        for code in codes:
            if code in self.obs.details:
                continue
            if code in self.obs.listed:
                return False, self.obs.failures.get(("detail", code), "incomplete")
            if not self.obs.catalogue_complete:
                return False, self.obs.catalogue_reason
        return True, ""


Outcome = tuple[str, str, list[int]]
Rule = Callable[[Cell], Outcome]


def row_rule(predicate: Callable[[dict[str, Any], Cell], bool]) -> Rule:
    """met if a row of the unit satisfies `predicate`; not_met only on complete evidence."""

    def rule(cell: Cell) -> Outcome:
        hits = [ev for row, ev in cell.rows if predicate(row, cell)]
        if hits:
            return MET, "", hits
        complete, reason = cell.rows_status()
        if not complete:
            return CANNOT, reason, []
        return NOT_MET, "" if cell.rows else "not_listed", [ev for _, ev in cell.rows]

    return rule


def _online_detail(row: dict[str, Any], cell: Cell) -> bool:
    detail = cell.obs.details.get(row["procedure_code"])
    return bool(detail and detail[0].get("online"))


def offered_online(cell: Cell) -> Outcome:
    verdict, reason, evs = row_rule(_online_detail)(cell)
    if verdict == NOT_MET:
        complete, why = cell.details_status({row["procedure_code"] for row, _ in cell.rows})
        if not complete:
            return CANNOT, why, []
        if cell.rows:
            reason = "no_online_method"
    return verdict, reason, evs


def online_payment(cell: Cell) -> Outcome:
    codes = [c for c in cell.service_codes() if c in cell.obs.listed or
             not cell.obs.catalogue_complete]
    if not cell.service.procedures:
        return CANNOT, "no_portal_evidence", []
    complete, reason = cell.details_status(codes)
    if not complete:
        return CANNOT, reason, []
    fees = [fee for c in codes for fee in cell.obs.details[c][0].get("online_fees", [])]
    if not any(fees):
        return NA, "no_fee", [cell.obs.details[c][1] for c in codes]
    return CANNOT, "no_portal_evidence", []


def _level(row: dict[str, Any]) -> int:
    return LEVELS.get(row.get("implement_level") or "NONE", 0)


RULES: dict[str, Rule] = {
    "offered_online": offered_online,
    "level3_partial": row_rule(lambda row, _: _level(row) >= LEVELS["PARTIAL"]),
    "level4_full": row_rule(lambda row, _: _level(row) >= LEVELS["FULL"]),
    "national_handoff": row_rule(lambda row, _: bool(row.get("citizen_url"))
                                 and not row.get("testing")),
    "online_payment": online_payment,
}


def delivers(unit: Unit, service: Service) -> bool:
    if unit.kind == "province":
        return "province" in service.delivery
    return "agency" in service.delivery and unit.code in service.agency_codes


def judge(cell: Cell, criterion: Criterion) -> Outcome:
    if not delivers(cell.unit, cell.service):
        return NA, "not_delivered_by_unit", []
    if criterion not in cell.criteria:
        return NA, "criterion_not_applicable", []
    rule = RULES.get(criterion.id)
    if rule is None:
        return CANNOT, "no_portal_evidence" if criterion.evidence == "portal" else "no_rule", []
    return rule(cell)


def rows_by_unit(rubric: Rubric, obs: Observations) -> dict[tuple[str, str], list]:
    """(unit code, procedure code) -> office rows of that unit."""
    out: dict[tuple[str, str], list] = defaultdict(list)
    for code, rows in obs.rows.items():
        for row, ev in rows:
            unit = unit_for_office(rubric, row.get("office_code") or "")
            if unit is not None:
                out[(unit.code, code)].append((row, ev))
    return out


def evaluate(evidence: Iterable[dict[str, Any]], rubric: Rubric) -> list[dict[str, Any]]:
    """One verdict per unit x service x criterion of the rubric."""
    obs = observe(evidence)
    by_unit = rows_by_unit(rubric, obs)
    verdicts = []
    for unit in rubric.units:
        for service in rubric.services:
            rows = [r for p in service.procedures for r in by_unit.get((unit.code, p.code), [])]
            cell = Cell(unit, service, obs, rows, rubric.criteria_for(service))
            for criterion in rubric.criteria:
                verdict, reason, evs = judge(cell, criterion)
                verdicts.append({
                    "unit_code": unit.code, "unit_name": unit.name, "unit_kind": unit.kind,
                    "service_id": service.id, "criterion_id": criterion.id,
                    "verdict": verdict, "reason": reason, "evidence_ids": evs,
                })
    return verdicts
