"""Ground truth: the verdicts (and findings) an audit of a scenario must reproduce.

Computed only from the scenario's declared states (procedures, offers, portals, faults) and the
rubric, following docs/ARCHITECTURE.md "Verdict semantics" - never from audit code or crawled
evidence.

``expected_verdicts(scenario, rubric)`` covers every unit x service x criterion of the rubric:
``{(unit_code, service_id, criterion_id): (verdict, reason)}``; reason is "" for met; for
not_met it is "not_listed" (the unit has no office row for the service), "no_online_method"
(offered_online: rows, but only of procedures without an ONLINE method), a portal reason
(``portal_absent``, ``portal_info_only``, ``portal_partial_only``, ``no_payment_step``,
``not_offered_on_portal``, ``no_national_sso``), "below_coverage" or "no_handoff" (national_handoff:
rows, none handing off to a live submission URL); never "".
``expected_findings(scenario, rubric)`` lists the disagreements between the national portal and
the provinces' own portals: ``{(unit_code, service_id): (kind, national, portal)}``.
"""

from __future__ import annotations

import re
import shutil
import unicodedata
from collections import Counter
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from core.vocab import IMPLEMENTATION_RANK as RANK
from core.vocab import OFFER_RANK, Implementation, Reason
from core.vocab import Offer as OfferLevel
from core.vocab import Verdict as V
from replica.offices import claimants, offer_offices, unit_codes
from replica.scenario import (
    Fee,
    Offer,
    PortalService,
    ProcedureSpec,
    Scenario,
    check_against_rubric,
)
from replica.site_model import PAGE_KINDS, detectors_for

MET, NOT_MET, NA, CANNOT = V.MET, V.NOT_MET, V.NOT_APPLICABLE, V.CANNOT_TEST

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
    fees: str = "unknown"  # the observed procedures' online fees: charged | exempt | unknown
    # (office code, level rank, testing) of each of the unit's office rows of observed procs
    offices: tuple[tuple[str, int, bool], ...] = ()
    unattributed: bool = False  # an observed procedure has a row with a generic office code
    threshold: Fraction = Fraction(9, 10)  # the rubric's coverage_threshold
    # failures of the details alone (an office list that failed leaves the fees known)
    detail_failures: tuple[str, ...] | None = None  # None: the same as `failures`

    def coverage(self, need: int) -> tuple[int, int]:
        """(offices offering level `need` or above, not in testing; the unit's offices)."""
        best: dict[str, bool] = {}
        for code, rank, testing in self.offices:
            best[code] = best.get(code, False) or (rank >= need and not testing)
        return sum(best.values()), len(best)

    def covered(self, need: int) -> bool:
        n, total = self.coverage(need)
        return total > 0 and Fraction(n, total) >= self.threshold

    def best_level(self) -> int:
        return max((RANK[o.level] for _, o in self.rows), default=-1)

    def failure(self) -> str:
        return self.failures[0] if self.failures else ""

    def detail_failure(self) -> str:
        found = self.failures if self.detail_failures is None else self.detail_failures
        return found[0] if found else ""

    def fee_charged(self) -> bool:
        return self.fees == CHARGED


# The fee rule (docs/ARCHITECTURE.md online_payment; rubrics/README.md "fees.yaml"), written
# here again on purpose: it reads the rubric's words and patterns, never audits code.
CHARGED, EXEMPT, UNKNOWN = "charged", "exempt", "unknown"


def fee_kind(fee: Fee, rule: Any) -> str:
    """charged | exempt | unknown for one declared fee."""
    if fee.value:
        return CHARGED
    text = unicodedata.normalize("NFC", fee.description).strip().casefold()
    numbers = [int(re.sub(r"\D", "", m.group(1)))
               for pattern in rule.amount_patterns for m in re.finditer(pattern, text)]
    if any(numbers):
        return CHARGED
    if numbers:  # "0 đồng"
        return EXEMPT
    head = re.sub(r"^[\W_]+", "", text)
    if any(head.startswith(word) for word in rule.exempt_starts):
        first = re.split(rule.clause_end, head, maxsplit=1)[0]
        return CHARGED if any(word in first for word in rule.conditional) else EXEMPT
    return CHARGED if any(word in text for word in rule.references) else UNKNOWN


def service_fees(procedures: tuple[ProcedureSpec, ...], rule: Any) -> str:
    """Charged if any online fee is; exempt only if every online fee of every procedure with
    an ONLINE method is (an ONLINE method without fee rows, or no ONLINE method at all: unknown)."""
    kinds = [fee_kind(f, rule) for p in procedures if "ONLINE" in p.methods
             for f in p.fees_for("ONLINE")]
    kinds += [UNKNOWN for p in procedures if "ONLINE" in p.methods and not p.fees_for("ONLINE")]
    if CHARGED in kinds:
        return CHARGED
    return EXEMPT if kinds and all(k == EXEMPT for k in kinds) else UNKNOWN


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


def system_met(cell: CellTruth) -> str:
    """The ministry system the unit's office rows of the service hand off to ("" = none: the
    citizen meets the province's own portal). A scenario hands a (unit, service) off to one
    system at most (replica.scenario.check_systems)."""
    return next((o.system for _, o in cell.rows if o.system), "")


def system_truth(scenario: Scenario, system_id: str, service: Any) -> PortalTruth:
    """What a ministry system truthfully shows for one service: judged like a portal, with the
    system's own faults (a whole-system fault makes it unreadable for every service)."""
    spec = scenario.system(system_id)
    assert spec is not None  # offers name declared systems only
    offer = spec.service(service.id)
    return PortalTruth(fault=scenario.system_failure(system_id), offer=offer,
                       sso=spec.service_sso(service.id) if offer.online else spec.sso,
                       payment_anywhere=False)


def met_truth(scenario: Scenario, unit: Any, service: Any,
              cell: CellTruth) -> PortalTruth | None:
    """The system the citizen meets for (unit, service): a ministry system the unit's rows hand
    off to, else the province's own portal (None: neither)."""
    system = system_met(cell) if service.procedures else ""
    if system:
        return system_truth(scenario, system, service)
    return portal_truth(scenario, unit, service)


def generic(offer: Offer, rubric: Any) -> bool:
    """An explicit office code no unit claims (BCA_CAX): its rows are nobody's."""
    return (bool(offer.office_code) and rubric is not None
            and not claimants(rubric.units, offer.office_code))


def cell_truth(scenario: Scenario, unit: Any, service: Any, rubric: Any = None) -> CellTruth:
    codes = {p.code for p in service.procedures}
    procs = tuple(p for p in scenario.procedures if p.code in codes)
    failed = scenario.failed_procedures()
    observed = tuple(p for p in procs if p.code not in failed)
    lists_failed = office_list_failures(scenario)
    seen = {p.code: p for p in observed if p.code not in lists_failed}
    served = _served(scenario, rubric)
    mine = [(o, offices) for o, offices in served
            if o.procedure in seen and o.unit == unit.code and not generic(o, rubric)]
    rows = tuple((seen[o.procedure], o) for o, _ in mine)
    offices = tuple((code, RANK[o.level], o.testing) for o, codes_ in mine for code in codes_)
    loose = any(o.procedure in seen and generic(o, rubric) for o, _ in served)
    detail_failures = tuple(sorted({failed[p.code] for p in procs if p.code in failed}))
    failures = tuple(sorted(set(detail_failures)
                            | {lists_failed[p.code] for p in observed if p.code in lists_failed}))
    fee_rule = getattr(rubric, "fees", None)
    fees = service_fees(observed, fee_rule) if fee_rule is not None else UNKNOWN
    threshold = Fraction(str(getattr(rubric, "coverage_threshold", 0.9)))
    return CellTruth(frozenset(codes), procs, observed, failures, rows, fees, offices, loose,
                     threshold, detail_failures)


_SERVED: dict[int, tuple[Any, Any, list]] = {}


def _served(scenario: Scenario, rubric: Any) -> list[tuple[Offer, list[str]]]:
    """Each offer with the office codes it stands for (memoised per scenario and rubric)."""
    if rubric is None:  # no rubric: every declared offer is its unit's, one office each
        return [(o, [f"{o.unit}:{o.office}:{i}" for i in range(o.count)])
                for o in scenario.offers]
    hit = _SERVED.get(id(scenario))
    if hit is None or hit[0] is not scenario or hit[1] is not rubric:
        if len(_SERVED) > 16:  # tests build many variants: keep the memo small
            _SERVED.clear()
        out = [(o, [code for code, _, _ in offices])
               for o, offices in offer_offices(scenario, rubric)]
        hit = _SERVED[id(scenario)] = (scenario, rubric, out)
    return hit[2]


FILTER_IGNORED = Reason.API_FILTER_IGNORED


def office_list_failures(scenario: Scenario) -> dict[str, str]:
    """procedure code -> why its office list fails while its detail answers.

    With `national.office_filter: ignored` the server answers every procedure's rows whatever
    formalityId is asked. A list is asked once per target type of the procedure; the answer
    for type T holds the rows of every procedure that targets T, left out those of procedures
    failed for good (docs/SCENARIOS.md). When any of them is another procedure's, the list
    fails with api_filter_ignored; when all are its own, it reads as a right answer."""
    if scenario.national.office_filter != "ignored":
        return {}
    failed = scenario.failed_procedures()
    served = [(o.procedure, scenario.procedure(o.procedure).targets) for o in scenario.offers
              if o.procedure not in failed]
    out: dict[str, str] = {}
    for p in scenario.procedures:
        if p.code in failed:
            continue
        if any(code != p.code and set(targets) & set(p.targets) for code, targets in served):
            out[p.code] = FILTER_IGNORED
    return out


def _positive_or(positive: bool, cell: CellTruth) -> Verdict:
    """met on a positive observation; else cannot_test if evidence is missing; else not_met
    (reason ``not_listed`` when the unit has no office row at all: the contract's "unlisted")."""
    if positive:
        return MET, ""
    if cell.failures:
        return CANNOT, cell.failure()
    return _absent(cell, "")


def _absent(cell: CellTruth, reason: str) -> Verdict:
    """not_met on complete rows; with no row of the unit's own, `not_listed` unless some row
    of the service is nobody's (a generic code): then absence is not proven."""
    if cell.rows:
        return NOT_MET, reason
    return (CANNOT, Reason.UNATTRIBUTED_ROWS) if cell.unattributed else (NOT_MET, Reason.NOT_LISTED)


def _coverage(cell: CellTruth, need: int) -> Verdict:
    """A level on the national side: the share of the unit's offices offering it (not in
    testing) reaches the threshold; a share reached on what was read wins over a failure."""
    if cell.covered(need):
        return MET, ""
    if cell.failures:
        return CANNOT, cell.failure()
    return _absent(cell, Reason.BELOW_COVERAGE)


def _national(criterion: Any, cell: CellTruth) -> Verdict:
    """The verdict from the national portal alone."""
    cid = criterion.id
    if cid == "offered_online":
        verdict = _positive_or(any("ONLINE" in p.methods for p, _ in cell.rows), cell)
        if verdict == (NOT_MET, ""):  # rows exist, but none of an online procedure
            return NOT_MET, Reason.NO_ONLINE_METHOD
        return verdict
    if cid == "level3_partial":
        return _coverage(cell, RANK[Implementation.PARTIAL])
    if cid == "level4_full":
        return _coverage(cell, RANK[Implementation.FULL])
    if cid == "national_handoff":
        verdict = _positive_or(any(o.citizen_url and not o.testing for _, o in cell.rows), cell)
        if verdict == (NOT_MET, ""):  # rows, but none hands off to a live submission URL
            return NOT_MET, "no_handoff"
        return verdict
    if cid == "online_payment":
        if not cell.service_codes:  # a capability without procedures (online_fee_payment):
            return CANNOT, Reason.NO_PORTAL_EVIDENCE  # paying is the service; only portals can tell
        if cell.fee_charged():
            return CANNOT, Reason.NO_PORTAL_EVIDENCE
        if cell.detail_failure():  # fees of a procedure whose detail failed are unknown
            return CANNOT, cell.detail_failure()
        return (NA, Reason.NO_FEE) if cell.fees == EXEMPT else (CANNOT, Reason.FEE_UNKNOWN)
    if cid == "national_sso" or getattr(criterion, "evidence", "") == "portal":
        return CANNOT, Reason.NO_PORTAL_EVIDENCE
    raise ValueError(f"truth has no rule for criterion {cid!r}")


LEVEL_NEED = {"level3_partial": OfferLevel.PARTIAL.rank, "level4_full": OfferLevel.FULL.rank}
PORTAL_SHORT = {-1: Reason.PORTAL_ABSENT, 0: Reason.PORTAL_INFO_ONLY, 1: Reason.PORTAL_PARTIAL_ONLY}


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
            return (CANNOT, portal.hidden) if portal.hidden else (NOT_MET, Reason.NO_PAYMENT_STEP)
        if portal.offer.online and portal.offer.payment:
            return MET, ""
        if not cell.fee_charged():  # fees unknown (a failed procedure, or not stated):
            return national  # maybe nothing to pay
        missing = Reason.NO_PAYMENT_STEP if portal.offer.online else Reason.NOT_OFFERED_ON_PORTAL
        return NOT_MET, missing
    if cid == "national_sso":
        if portal.fault:
            return CANNOT, portal.fault
        return (MET, "") if portal.sso else (NOT_MET, Reason.NO_NATIONAL_SSO)
    return national


def expected_verdicts(scenario: Scenario, rubric: Any) -> dict[Key, Verdict]:
    errors = check_against_rubric(scenario, rubric)
    if errors:
        raise errors[0]
    seen = seen_agencies(scenario, rubric)
    out: dict[Key, Verdict] = {}
    for unit in rubric.units:
        for service in rubric.services:
            applicable = {c.id for c in rubric.criteria_for(service)}
            is_delivered = delivered(unit, service)
            cell = cell_truth(scenario, unit, service, rubric) if is_delivered else None
            portal = met_truth(scenario, unit, service, cell) if cell is not None else None
            for criterion in rubric.criteria:
                key = (unit.code, service.id, criterion.id)
                if cell is None:
                    out[key] = (NA, Reason.NOT_DELIVERED_BY_UNIT)
                elif criterion.id not in applicable:
                    out[key] = (NA, Reason.CRITERION_NOT_APPLICABLE)
                else:
                    verdict = criterion_verdict(criterion, cell, portal)
                    if verdict[0] == NOT_MET and unit.kind == "agency" and unit.code not in seen:
                        verdict = (CANNOT, Reason.UNIT_CODE_UNVERIFIED)  # its code is unproven
                    out[key] = verdict
    return out


def seen_agencies(scenario: Scenario, rubric: Any) -> set[str]:
    """Agencies an answer names: the promulgating agency code of an observed procedure's
    detail, or an office row of theirs (of an observed procedure)."""
    failed = scenario.failed_procedures()
    observed = [p for p in scenario.procedures if p.code not in failed]
    promulgators = {p.agency_code.strip().upper() for p in observed}
    out = {u.code for u in rubric.units if u.kind == "agency"
           and (unit_codes(u) | {u.code.upper()}) & promulgators}
    return out | {o.unit for o in scenario.offers
                  if o.procedure not in failed and not generic(o, rubric)}


LEVEL_DETAIL = {"level3_partial": RANK[Implementation.PARTIAL],
                "level4_full": RANK[Implementation.FULL]}


def expected_details(scenario: Scenario, rubric: Any) -> dict[Key, str]:
    """The share each level verdict states: {(unit, service, criterion): "n/total"} for the
    delivered level criteria of units with rows (offices offering the level, not in testing /
    the unit's offices listing the service)."""
    out: dict[Key, str] = {}
    for unit in rubric.units:
        for service in rubric.services:
            if not delivered(unit, service):
                continue
            applicable = {c.id for c in rubric.criteria_for(service)}
            cell = cell_truth(scenario, unit, service, rubric)
            for cid, need in LEVEL_DETAIL.items():
                if cid in applicable and cell.offices:
                    n, total = cell.coverage(need)
                    out[(unit.code, service.id, cid)] = f"{n}/{total}"
    return out


NATIONAL_NAMES = {-1: "", **{rank: level for level, rank in RANK.items()}}


def expected_findings(scenario: Scenario, rubric: Any) -> dict[tuple[str, str], tuple[str, ...]]:
    """{(unit, service): (kind, national level, portal offer)} for every disagreement an audit
    must report: both portals read completely (portal answers; no procedure of the service
    failed nationally) and the levels differ as docs/ARCHITECTURE.md "Findings" says."""
    out: dict[tuple[str, str], tuple[str, ...]] = code_mismatches(scenario, rubric)
    for unit in rubric.units:
        for service in rubric.services:
            if not service.procedures or not delivered(unit, service):
                continue
            cell = cell_truth(scenario, unit, service, rubric)
            portal = met_truth(scenario, unit, service, cell)
            if portal is None or portal.fault or cell.failures:
                continue
            national = cell.best_level()  # -1 unlisted, 0 NONE, 1 PARTIAL, 2 FULL
            offered = OFFER_RANK[portal.offer.offer]  # -1 absent, 0 info, 1 partial, 2 full
            kind = ""
            if national >= RANK[Implementation.PARTIAL] and offered < national:
                kind = "national_overstates"
            elif cell.rows and offered >= OfferLevel.PARTIAL.rank and offered > national:
                kind = "national_understates"
            elif not cell.rows and not cell.unattributed and offered >= OfferLevel.PARTIAL.rank:
                kind = "not_listed_nationally"
            if kind:
                out[(unit.code, service.id)] = (kind, NATIONAL_NAMES[national],
                                                portal.offer.offer)
    return out


def _name(text: str) -> str:
    return " ".join(unicodedata.normalize("NFC", text).casefold().split())


def code_mismatches(scenario: Scenario, rubric: Any) -> dict[tuple[str, str], tuple[str, ...]]:
    """`unit_code_mismatch`: a service's agency (rubric agency_codes) appears by name as the
    promulgating agency of an observed procedure of the service, under another code."""
    failed = scenario.failed_procedures()
    out: dict[tuple[str, str], tuple[str, ...]] = {}
    for service in rubric.services:
        codes = {p.code for p in service.procedures}
        for code in service.agency_codes:
            unit = rubric.unit(code)
            own = unit_codes(unit) | {unit.code.upper()}
            wrong = sorted({p.agency_code for p in scenario.procedures
                            if p.code in codes and p.code not in failed
                            and _name(p.department) == _name(unit.name)
                            and p.agency_code.strip().upper() not in own})
            if wrong:
                out[(unit.code, service.id)] = ("unit_code_mismatch", ", ".join(wrong), "")
    return out


def summary(verdicts: dict[Key, Verdict]) -> Counter:
    """Counts by (verdict, reason)."""
    return Counter(verdicts.values())


# --------------------------------------------------------------------------- the UN survey

SiteKey = tuple[str, str]  # (unit, detector id)
# fault reasons of a page the survey's search reads as a page all the same: a cut-short or
# garbled HTML body still answers 200 (a generic page search cannot know what was missing)
READ_ANYWAY = frozenset({Reason.MALFORMED})
# the families whose apply pages a plain search reaches at depth 2 (home -> list -> apply page);
# iGate's exist only after JavaScript, which the search runs on the home page alone
LISTED_APPLY = frozenset({"eform", "legacy"})


def site_failure(scenario: Scenario, unit: str) -> str:
    """Why the unit's site cannot be read at all ("" = its home page answers): its portal is
    down, refuses robots, or a whole-portal fault answers its home page (the national portal
    has none of these)."""
    return scenario.portal_faults().get(unit, "")


def search_incomplete(scenario: Scenario, unit: str) -> bool:
    """A page within the search failed: the depth-2 content page (`deep_page`), or an online
    service's apply page a service fault breaks (eform, legacy: linked from the first list
    page, where the scenarios' few services all sit)."""
    spec = scenario.sites[unit]
    if spec.deep_page != "ok":
        return True
    portal = scenario.portal(unit)
    if portal is None or portal.platform not in LISTED_APPLY:
        return False
    return any(u == unit and reason not in READ_ANYWAY
               for (u, _), reason in scenario.service_faults().items())


def _page_feature(spec: Any, detector: Any, incomplete: bool) -> Verdict:
    place = spec.place(detector.id)
    found = place == "home" or (place == "deep" and spec.deep_page == "ok")
    if found and detector.kind == "fresh":
        found = spec.updated_days_ago <= int(detector.params["max_age_days"])
    if found:
        return MET, ""
    return (CANNOT, Reason.SEARCH_INCOMPLETE) if incomplete else (NOT_MET, Reason.NOT_FOUND)


def _measured(spec: Any, detector: Any, java: bool) -> Verdict:
    kind = detector.kind
    if kind == "https":
        if spec.https == "hang":
            return CANNOT, Reason.TIMEOUT
        ok = spec.https == "valid" and spec.http_redirect
    elif kind == "responsive":
        ok = spec.responsive
    elif kind == "axe":
        ok = spec.wcag == "pass"
    elif kind == "w3c":
        if not java:
            return CANNOT, Reason.NO_VALIDATOR
        ok = spec.w3c == "pass"
    elif kind == "domain":  # the declared host name; a bare loopback address is no .gov.vn
        ok = any(spec.domain.endswith(s) for s in detector.params["suffixes"])
    else:
        raise ValueError(f"truth has no rule for detector kind {kind!r}")
    return (MET, "") if ok else (NOT_MET, Reason.NOT_FOUND)


def site_truth(scenario: Scenario, java_available: bool | None = None) -> dict[SiteKey, Verdict]:
    """{(unit, detector id): (verdict, reason)} for every detector of the rubric's
    detectors.yaml and every site (national "VN" and each province with a portal), from the
    scenario alone (docs/SCENARIOS.md "Sites (UN survey features)"). `java_available`: whether
    the W3C checker can run (None: whether `java` is on PATH)."""
    detectors = detectors_for(scenario.rubric_dir())
    java = shutil.which("java") is not None if java_available is None else java_available
    out: dict[SiteKey, Verdict] = {}
    for unit, spec in scenario.sites.items():
        failed = site_failure(scenario, unit)
        incomplete = search_incomplete(scenario, unit)
        for did, det in detectors.items():
            if failed:
                out[(unit, did)] = (CANNOT, failed)
            elif det.kind in PAGE_KINDS:
                out[(unit, did)] = _page_feature(spec, det, incomplete)
            else:
                out[(unit, did)] = _measured(spec, det, java)
    return out
