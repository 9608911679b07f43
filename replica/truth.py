"""Ground truth: the verdicts (and findings) an audit of a scenario must reproduce.

Computed only from the scenario's declared states (procedures, offers, portals, faults) and the
rubric, following docs/ARCHITECTURE.md "Verdict semantics" - never from audit code or crawled
evidence.

``expected_verdicts(scenario, rubric)`` covers every unit x service x criterion of the rubric:
``{(unit_code, service_id, criterion_id): (verdict, reason)}``; reason is "" for met; for
not_met it is "not_listed" (the unit has no office row for the service), "no_online_method"
(offered_online: rows, but only of procedures without an ONLINE method), a portal reason
(``portal_absent``, ``portal_info_only``, ``portal_partial_only``, ``no_payment_step``,
``not_offered_on_portal``, ``no_national_sso``) or "".
``expected_findings(scenario, rubric)`` lists the disagreements between the national portal and
the provinces' own portals: ``{(unit_code, service_id): (kind, national, portal)}``.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

from replica.scenario import (
    OFFER_RANK,
    Offer,
    PortalService,
    ProcedureSpec,
    Scenario,
    check_against_rubric,
)

MET, NOT_MET, NA, CANNOT = "met", "not_met", "not_applicable", "cannot_test"
RANK = {"NONE": 0, "PARTIAL": 1, "FULL": 2}

Key = tuple[str, str, str]
Verdict = tuple[str, str]


def delivered(unit: Any, service: Any) -> bool:
    if unit.kind == "province":
        return "province" in service.delivery
    return "agency" in service.delivery and unit.code in service.agency_codes


@dataclass(frozen=True)
class CellTruth:
    """What the national portal truthfully shows for one (unit, service)."""

    service_codes: frozenset[str]  # the service's rubric procedure codes
    procedures: tuple[ProcedureSpec, ...]  # the service's procedures listed in the catalogue
    observed: tuple[ProcedureSpec, ...]  # ... whose office list and detail can be fetched
    failures: tuple[str, ...]  # failure reasons of the others (sorted, unique)
    rows: tuple[tuple[ProcedureSpec, Offer], ...]  # the unit's office rows of observed procs

    def best_level(self) -> int:
        return max((RANK[o.level] for _, o in self.rows), default=-1)

    def failure(self) -> str:
        return self.failures[0] if self.failures else ""

    def fee_charged(self) -> bool:
        # a null value (recorded answers) counts as 0, as the audit's parser reads it
        return any((v or 0) > 0 for p in self.observed for v in p.online_fees())


@dataclass(frozen=True)
class PortalTruth:
    """What the unit's own portal truthfully shows for one service (None: no portal)."""

    fault: str  # why the portal cannot be read for this service ("" = it answers): a fault
    # of the whole portal or of this service's pages; encoding and healing faults are not
    offer: PortalService  # declared state of this service (absent when not declared)
    sso: bool  # national sign-on on this service's apply flow, else at the portal's login
    payment_anywhere: bool  # some readable service's apply flow has an online payment step
    hidden: str = ""  # reason some service's pages cannot be read (a payment step may hide)


def portal_truth(scenario: Scenario, unit: Any, service: Any) -> PortalTruth | None:
    spec = scenario.portal(unit.code)
    if spec is None:
        return None
    offer = spec.service(service.id)
    unreadable = {s: r for (u, s), r in scenario.service_faults().items() if u == unit.code}
    return PortalTruth(
        fault=scenario.portal_failure(unit.code, service.id),
        offer=offer,
        sso=spec.service_sso(service.id) if offer.online else spec.sso,
        payment_anywhere=any(s.payment for s in spec.services if s.service not in unreadable),
        hidden=next(iter(unreadable.values()), ""),
    )


def cell_truth(scenario: Scenario, unit: Any, service: Any) -> CellTruth:
    codes = {p.code for p in service.procedures}
    procs = tuple(p for p in scenario.procedures if p.code in codes)
    failed = scenario.failed_procedures()
    observed = tuple(p for p in procs if p.code not in failed)
    seen = {p.code: p for p in observed}
    rows = tuple((seen[o.procedure], o) for o in scenario.offers
                 if o.unit == unit.code and o.procedure in seen)
    failures = tuple(sorted({failed[p.code] for p in procs if p.code in failed}))
    return CellTruth(frozenset(codes), procs, observed, failures, rows)


def _positive_or(positive: bool, cell: CellTruth) -> Verdict:
    """met on a positive observation; else cannot_test if evidence is missing; else not_met
    (reason ``not_listed`` when the unit has no office row at all: the contract's "unlisted")."""
    if positive:
        return MET, ""
    if cell.failures:
        return CANNOT, cell.failure()
    return NOT_MET, "" if cell.rows else "not_listed"


def _national(criterion: Any, cell: CellTruth) -> Verdict:
    """The verdict from the national portal alone."""
    cid = criterion.id
    if cid == "offered_online":
        verdict = _positive_or(any("ONLINE" in p.methods for p, _ in cell.rows), cell)
        if verdict == (NOT_MET, ""):  # rows exist, but none of an online procedure
            return NOT_MET, "no_online_method"
        return verdict
    if cid == "level3_partial":
        return _positive_or(cell.best_level() >= RANK["PARTIAL"], cell)
    if cid == "level4_full":
        return _positive_or(cell.best_level() >= RANK["FULL"], cell)
    if cid == "national_handoff":
        return _positive_or(any(o.citizen_url and not o.testing for _, o in cell.rows), cell)
    if cid == "online_payment":
        if not cell.service_codes:  # a capability without procedures (online_fee_payment):
            return CANNOT, "no_portal_evidence"  # paying is the service; only portals can tell
        if cell.fee_charged():
            return CANNOT, "no_portal_evidence"
        if cell.failures:  # fees of a procedure whose detail could not be fetched are unknown
            return CANNOT, cell.failure()
        return NA, "no_fee"
    if cid == "national_sso" or getattr(criterion, "evidence", "") == "portal":
        return CANNOT, "no_portal_evidence"
    raise ValueError(f"truth has no rule for criterion {cid!r}")


LEVEL_NEED = {"level3_partial": OFFER_RANK["partial"], "level4_full": OFFER_RANK["full"]}
PORTAL_SHORT = {-1: "portal_absent", 0: "portal_info_only", 1: "portal_partial_only"}


def criterion_verdict(criterion: Any, cell: CellTruth,
                      portal: PortalTruth | None = None) -> Verdict:
    national = _national(criterion, cell)
    cid = criterion.id
    if portal is None or cid in ("offered_online", "national_handoff"):
        return national
    if cid in LEVEL_NEED:
        if portal.fault:  # unreachable portal: only a positive national observation counts
            return national if national[0] == MET else (CANNOT, portal.fault)
        rank = OFFER_RANK[portal.offer.offer]
        return (MET, "") if rank >= LEVEL_NEED[cid] else (NOT_MET, PORTAL_SHORT[rank])
    if cid == "online_payment":
        if national[0] == NA:  # no fee to pay
            return national
        if portal.fault:
            return CANNOT, portal.fault
        if not cell.service_codes:  # the capability: any apply flow that takes payment
            if portal.payment_anywhere:
                return MET, ""
            return (CANNOT, portal.hidden) if portal.hidden else (NOT_MET, "no_payment_step")
        if portal.offer.online and portal.offer.payment:
            return MET, ""
        if not cell.fee_charged():  # fees unknown (a failed procedure): maybe nothing to pay
            return CANNOT, cell.failure()
        return NOT_MET, "no_payment_step" if portal.offer.online else "not_offered_on_portal"
    if cid == "national_sso":
        if portal.fault:
            return CANNOT, portal.fault
        return (MET, "") if portal.sso else (NOT_MET, "no_national_sso")
    return national


def expected_verdicts(scenario: Scenario, rubric: Any) -> dict[Key, Verdict]:
    errors = check_against_rubric(scenario, rubric)
    if errors:
        raise errors[0]
    out: dict[Key, Verdict] = {}
    for unit in rubric.units:
        for service in rubric.services:
            applicable = {c.id for c in rubric.criteria_for(service)}
            is_delivered = delivered(unit, service)
            cell = cell_truth(scenario, unit, service) if is_delivered else None
            portal = portal_truth(scenario, unit, service) if is_delivered else None
            for criterion in rubric.criteria:
                key = (unit.code, service.id, criterion.id)
                if cell is None:
                    out[key] = (NA, "not_delivered_by_unit")
                elif criterion.id not in applicable:
                    out[key] = (NA, "criterion_not_applicable")
                else:
                    out[key] = criterion_verdict(criterion, cell, portal)
    return out


NATIONAL_NAMES = {-1: "", 0: "NONE", 1: "PARTIAL", 2: "FULL"}


def expected_findings(scenario: Scenario, rubric: Any) -> dict[tuple[str, str], tuple[str, ...]]:
    """{(unit, service): (kind, national level, portal offer)} for every disagreement an audit
    must report: both portals read completely (portal answers; no procedure of the service
    failed nationally) and the levels differ as docs/ARCHITECTURE.md "Findings" says."""
    out: dict[tuple[str, str], tuple[str, ...]] = {}
    for unit in rubric.units:
        for service in rubric.services:
            if not service.procedures or not delivered(unit, service):
                continue
            portal = portal_truth(scenario, unit, service)
            cell = cell_truth(scenario, unit, service)
            if portal is None or portal.fault or cell.failures:
                continue
            national = cell.best_level()  # -1 unlisted, 0 NONE, 1 PARTIAL, 2 FULL
            offered = OFFER_RANK[portal.offer.offer]  # -1 absent, 0 info, 1 partial, 2 full
            kind = ""
            if national >= RANK["PARTIAL"] and offered < national:
                kind = "national_overstates"
            elif cell.rows and offered >= OFFER_RANK["partial"] and offered > national:
                kind = "national_understates"
            elif not cell.rows and offered >= OFFER_RANK["partial"]:
                kind = "not_listed_nationally"
            if kind:
                out[(unit.code, service.id)] = (kind, NATIONAL_NAMES[national],
                                                portal.offer.offer)
    return out


def summary(verdicts: dict[Key, Verdict]) -> Counter:
    """Counts by (verdict, reason)."""
    return Counter(verdicts.values())
