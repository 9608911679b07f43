"""Evidence + rubric -> verdicts. Pure: never fetches, never touches the database.

Semantics are documented in docs/ARCHITECTURE.md ("Verdict semantics"). In short: a positive
observation is `met`; `not_met` needs complete evidence that the thing is absent; anything in
between is `cannot_test` with the reason the evidence is missing. A province's own portal
(provincial evidence) decides the level criteria when it was read completely, and is the only
source for online payment and national sign-on; `findings()` lists where the national portal and
the province's portal disagree.
"""

from __future__ import annotations

import unicodedata
from collections import defaultdict
from collections.abc import Callable, Container, Iterable
from dataclasses import dataclass, field
from typing import Any

from audits import fees
from core.rows import EvidenceRow, FindingRow, VerdictRow
from core.rubric import (
    DEFAULT_COVERAGE,
    Criterion,
    FeeRule,
    Rubric,
    Service,
    Unit,
    unit_for_office,
)
from core.vocab import IMPLEMENTATION_RANK as LEVELS
from core.vocab import OFFER_RANK, EvidenceKind, Implementation, Offer, Reason, Verdict
from core.vocab import Outcome as Seen

MET, NOT_MET, NA, CANNOT = Verdict.MET, Verdict.NOT_MET, Verdict.NOT_APPLICABLE, Verdict.CANNOT_TEST


@dataclass
class Observations:
    """What the national crawl saw, indexed by procedure code."""

    catalogue_complete: bool = False
    catalogue_reason: str = Reason.NO_CATALOGUE
    listed: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    details: dict[str, tuple[dict[str, Any], int]] = field(default_factory=dict)
    rows: dict[str, list[tuple[dict[str, Any], int]]] = field(
        default_factory=lambda: defaultdict(list))
    lists_complete: set[str] = field(default_factory=set)
    failures: dict[tuple[str, str], str] = field(default_factory=dict)  # (endpoint, code) -> reason
    portals: dict[str, PortalView] = field(default_factory=dict)  # province code -> its portal
    national_pages: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    systems: dict[str, SystemView] = field(default_factory=dict)  # base -> a ministry system

    def holds(self, codes: Iterable[str], have: Container[str],
              endpoint: str) -> tuple[bool, str]:
        """(complete, reason): is every code in `have`? A listed code missing from it failed
        at `endpoint`; an unlisted one is known absent only when the catalogue was read whole."""
        for code in codes:
            if code in have:
                continue
            if code in self.listed:
                return False, self.failures.get((endpoint, code), Reason.INCOMPLETE)
            if not self.catalogue_complete:
                return False, self.catalogue_reason
        return True, ""


@dataclass
class PortalView:
    """What a unit's own portal(s) showed. `failure` is the first reason a portal could not be
    read completely (unreachable, blocked, needs a browser, listing incomplete)."""

    reached: bool = False
    failure: str = ""
    levels: dict[str, tuple[int, int]] = field(default_factory=dict)  # code -> (rank, ev id)
    applies: dict[str, list[tuple[dict[str, Any], int]]] = field(
        default_factory=lambda: defaultdict(list))
    apply_failures: dict[str, str] = field(default_factory=dict)
    login: list[tuple[dict[str, Any], int]] = field(default_factory=list)
    login_failure: str = ""

    @property
    def conclusive(self) -> bool:
        return self.reached and not self.failure

    def level(self, codes: Iterable[str]) -> tuple[int, list[int]]:
        """Best level the portal lists for any of `codes` (-1: none), with its evidence."""
        found = [self.levels[c] for c in codes if c in self.levels]
        best = max((rank for rank, _ in found), default=-1)
        return best, [ev for rank, ev in found if rank == best]

    def fail(self, reason: str) -> None:
        self.failure = self.failure or reason or Reason.ERROR

    def service_failure(self, codes: Iterable[str] | None = None) -> str:
        """Why the apply pages of `codes` (None: of any procedure) could not be fetched ("" when
        they were, or said "not found", which is an observation): that service's pages are
        unreadable, so what the listing claims for it is not confirmed."""
        wanted = None if codes is None else set(codes)
        return next((r for c, r in self.apply_failures.items()
                     if r not in READ_REASONS and (wanted is None or c in wanted)), "")


@dataclass
class SystemView:
    """A shared (ministry) system offices hand citizens off to: what it showed, judged like a
    portal for the provinces whose rows of a service hand off to it, and never as any
    province's own portal (docs/ARCHITECTURE.md "Ministry systems")."""

    base: str
    host: str = ""
    ministry: str = ""
    view: PortalView = field(default_factory=lambda: PortalView())
    handoffs: dict[str, dict[str, int]] = field(default_factory=dict)  # code -> unit -> rows
    home: list[int] = field(default_factory=list)  # its home page's evidence

    def rows_from(self, unit: str, codes: Iterable[str]) -> int:
        """Office rows of `unit` for `codes` that hand off to this system."""
        return sum(self.handoffs.get(c, {}).get(unit, 0) for c in codes)


def observe_system(obs: Observations, ev: EvidenceRow) -> None:
    data = ev["data"]
    base = data.get("base", "")
    system = obs.systems.setdefault(base, SystemView(base))
    observe_portal(system.view, ev)
    if ev["kind"] == EvidenceKind.PORTAL:
        info = data.get("system") or {}
        system.host, system.ministry = info.get("host", ""), info.get("ministry", "")
        system.home.append(ev["id"])
        for code, rows in (data.get("handoffs") or {}).items():
            for unit, n in rows.items():
                system.handoffs.setdefault(code, {})[unit] = \
                    system.handoffs.get(code, {}).get(unit, 0) + int(n)


def system_met(obs: Observations, unit: str, codes: list[str]) -> SystemView | None:
    """The ministry system the unit's office rows of these procedures hand off to (the one with
    the most rows; ties: by base), or None: the citizen meets the province's own portal."""
    ranked = sorted((-s.rows_from(unit, codes), base) for base, s in obs.systems.items())
    if not ranked or ranked[0][0] == 0:
        return None
    return obs.systems[ranked[0][1]]


READ_REASONS = (Reason.NOT_FOUND,)  # an apply page that was read, and said so
PORTAL_STATE = {rank: offer for offer, rank in OFFER_RANK.items() if offer}  # -1: "absent"


def observe(evidence: Iterable[EvidenceRow]) -> Observations:
    obs = Observations()
    for ev in evidence:
        kind, code, data, ok = ev["kind"], ev.get("procedure_code") or "", ev["data"], \
            ev["outcome"] == Seen.OK
        if kind == EvidenceKind.CATALOGUE and ok and data.get("complete"):
            obs.catalogue_complete = True
        elif kind == EvidenceKind.PROCEDURE and ok:
            obs.listed[code].append(ev["id"])
        elif kind == EvidenceKind.PROCEDURE_DETAIL and ok:
            obs.details[code] = (data, ev["id"])
        elif kind == EvidenceKind.OFFICE_ROW and ok:
            obs.rows[code].append((data, ev["id"]))
        elif kind == EvidenceKind.OFFICE_LIST and ok and data.get("complete"):
            obs.lists_complete.add(code)
        elif kind == EvidenceKind.FETCH:
            endpoint = data.get("endpoint", "")
            obs.failures.setdefault((endpoint, code), ev["reason"] or Reason.ERROR)
            if endpoint == "catalogue":
                obs.catalogue_reason = ev["reason"] or Reason.ERROR
        elif kind == EvidenceKind.NATIONAL_PAGE and ok:
            obs.national_pages[code].append(ev["id"])
        elif kind in PORTAL_KINDS and data.get("system"):
            observe_system(obs, ev)
        elif kind in PORTAL_KINDS:
            for unit in data.get("units") or ():
                observe_portal(obs.portals.setdefault(unit, PortalView()), ev)
    return obs


PORTAL_KINDS = (EvidenceKind.PORTAL, EvidenceKind.PORTAL_LIST, EvidenceKind.PORTAL_APPLY,
                EvidenceKind.PORTAL_LOGIN)


def observe_portal(view: PortalView, ev: EvidenceRow) -> None:
    kind, data, ok, reason = ev["kind"], ev["data"], ev["outcome"] == Seen.OK, ev["reason"]
    if kind == EvidenceKind.PORTAL:
        if ok:
            view.reached = True
        else:
            view.fail(reason)
    elif kind == EvidenceKind.PORTAL_LIST:
        if not ok:
            view.fail(reason)
        for code, p in (data.get("procedures") or {}).items():
            rank = OFFER_RANK.get(p.get("level", ""), -1)
            if rank > view.levels.get(code, (-1, 0))[0]:
                view.levels[code] = (rank, ev["id"])
    elif kind == EvidenceKind.PORTAL_APPLY:
        code = data.get("code") or ev.get("procedure_code") or ""
        if ok:
            view.applies[code].append((data, ev["id"]))
        else:
            view.apply_failures.setdefault(code, reason or Reason.ERROR)
    elif kind == EvidenceKind.PORTAL_LOGIN:
        if ok:
            view.login.append((data, ev["id"]))
        else:
            view.login_failure = view.login_failure or reason or Reason.ERROR


@dataclass
class Cell:
    """Evidence for one (unit, service)."""

    unit: Unit
    service: Service
    obs: Observations
    rows: list[tuple[dict[str, Any], int]]
    criteria: tuple[Criterion, ...]  # the criteria the rubric applies to this service
    portal: PortalView | None = None  # what the citizen meets: a ministry system's view, or
    # the unit's own portal, when one was visited
    fees: FeeRule | None = None  # the rubric's fee rule (rubrics/fees.yaml)
    unattributed: int = 0  # office rows of the service's procedures that no unit claims
    threshold: float = DEFAULT_COVERAGE  # rubric coverage_threshold
    system: SystemView | None = None  # the ministry system met, when it is one

    def rows_status(self) -> tuple[bool, str]:
        """(complete, reason): do we hold every office row of every procedure?"""
        return self.obs.holds(self.service_codes(), self.obs.lists_complete, "offices")

    def service_codes(self) -> list[str]:
        return [p.code for p in self.service.procedures]

    def details_status(self, codes: Iterable[str]) -> tuple[bool, str]:
        return self.obs.holds(codes, self.obs.details, "detail")


Outcome = tuple[str, str, list[int]]
Rule = Callable[[Cell], Outcome]


def row_rule(predicate: Callable[[dict[str, Any], Cell], bool], absent: str = "") -> Rule:
    """met if a row of the unit satisfies `predicate`; not_met (`absent` when the unit has
    rows) only on complete evidence."""

    def rule(cell: Cell) -> Outcome:
        hits = [ev for row, ev in cell.rows if predicate(row, cell)]
        if hits:
            return MET, "", hits
        complete, reason = cell.rows_status()
        if not complete:
            return CANNOT, reason, []
        return _absent(cell, absent)

    return rule


def _absent(cell: Cell, reason: str) -> Outcome:
    """not_met on complete rows: `reason` when the unit has rows; `not_listed` when it has none
    - unless rows of the service belong to no unit (generic codes such as BCA_CAX): one of
    them may be the unit's, so its absence is not proven (`unattributed_rows`)."""
    if cell.rows:
        return NOT_MET, reason, [ev for _, ev in cell.rows]
    if cell.unattributed:
        return CANNOT, Reason.UNATTRIBUTED_ROWS, []
    return NOT_MET, Reason.NOT_LISTED, []


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
            reason = Reason.NO_ONLINE_METHOD
    return verdict, reason, evs


def national_payment(cell: Cell) -> Outcome | None:
    """What the national evidence alone says (audits/fees.py reads each fee): not_applicable
    (no_fee) only when every online fee of the service's procedures is exempt; cannot_test
    otherwise: `no_portal_evidence` when a fee is charged, else the reason a detail is missing,
    else `fee_unknown`. None for a service without procedures."""
    if not cell.service.procedures:
        return None
    codes = [c for c in cell.service_codes() if c in cell.obs.listed or
             not cell.obs.catalogue_complete]
    seen = [c for c in codes if c in cell.obs.details]
    rule = cell.fees or fees.default_rule()
    kinds = [fees.procedure_fee(cell.obs.details[c][0], rule) for c in seen]
    if fees.CHARGED in kinds:
        return CANNOT, Reason.NO_PORTAL_EVIDENCE, []
    complete, reason = cell.details_status(codes)
    if not complete:
        return CANNOT, reason, []
    if fees.combine(k for k in kinds if k is not None) == fees.EXEMPT:
        return NA, Reason.NO_FEE, [cell.obs.details[c][1] for c in codes]
    return CANNOT, Reason.FEE_UNKNOWN, [cell.obs.details[c][1] for c in seen]


def online_payment(cell: Cell) -> Outcome:
    national = national_payment(cell)
    if national is not None and national[0] == NA:
        return national
    portal = cell.portal
    if portal is None:
        return national or (CANNOT, Reason.NO_PORTAL_EVIDENCE, [])
    unreadable = portal.service_failure(cell.service_codes() or None)
    if unreadable and cell.service.procedures:  # this service's flow could not be read
        return CANNOT, unreadable, []
    codes = cell.service_codes() or list(portal.applies)  # capability: any procedure's flow
    hits = [ev for c in codes for data, ev in portal.applies.get(c, []) if data.get("payment")]
    if hits:
        return MET, "", hits
    if portal.failure or unreadable:  # capability: the unread flow may be the one that pays
        return CANNOT, portal.failure or unreadable, []
    if national is not None and national[1] != Reason.NO_PORTAL_EVIDENCE:
        return national  # fees unknown: the missing step may be right (no fee)
    offered = [c for c in codes if portal.levels.get(c, (-1, 0))[0] >= Offer.PARTIAL.rank]
    failed = [portal.apply_failures[c] for c in offered if c in portal.apply_failures]
    if failed:
        return CANNOT, failed[0], []
    walked = [ev for c in offered for _, ev in portal.applies.get(c, [])]
    if offered or not cell.service.procedures:
        return NOT_MET, Reason.NO_PAYMENT_STEP, walked
    return NOT_MET, Reason.NOT_OFFERED_ON_PORTAL, portal.level(cell.service_codes())[1]


def national_sso(cell: Cell) -> Outcome:
    """On the apply flow of a service the portal offers online, else at the portal's login."""
    portal = cell.portal
    if portal is None:
        return CANNOT, Reason.NO_PORTAL_EVIDENCE, []
    codes = cell.service_codes()
    offered = [c for c in codes if portal.levels.get(c, (-1, 0))[0] >= Offer.PARTIAL.rank]
    pages = [(d, ev) for c in offered for d, ev in portal.applies.get(c, [])]
    if offered:
        hits = [ev for d, ev in pages if (d.get("login") or {}).get("national")]
        if hits:
            return MET, "", hits
        if portal.failure:
            return CANNOT, portal.failure, []
        failed = [portal.apply_failures[c] for c in offered if c in portal.apply_failures]
        if failed or not pages:
            return CANNOT, failed[0] if failed else Reason.NO_APPLY_PAGE, []
        return NOT_MET, Reason.NO_NATIONAL_SSO, [ev for _, ev in pages]
    hits = [ev for d, ev in portal.login if d.get("national")]
    if hits:
        return MET, "", hits
    if portal.failure or portal.login_failure or not portal.login:
        return CANNOT, portal.failure or portal.login_failure or Reason.NO_LOGIN_OPTIONS, []
    return NOT_MET, Reason.NO_NATIONAL_SSO, [ev for _, ev in portal.login]


NEED = {"level3_partial": Offer.PARTIAL.rank, "level4_full": Offer.FULL.rank}
PORTAL_REASON = {-1: Reason.PORTAL_ABSENT, 0: Reason.PORTAL_INFO_ONLY,
                 1: Reason.PORTAL_PARTIAL_ONLY}


def level_rule(criterion_id: str, national: Rule) -> Rule:
    """A level criterion: the portal decides when it was read completely; a positive
    observation on either side is met; otherwise cannot_test with the portal's failure."""
    need = NEED[criterion_id]

    def rule(cell: Cell) -> Outcome:
        portal = cell.portal
        if portal is None:
            return national(cell)
        unreadable = portal.service_failure(cell.service_codes())
        if unreadable:  # the listing's claim for this service could not be confirmed
            verdict = national(cell)
            return verdict if verdict[0] == MET else (CANNOT, unreadable, [])
        rank, evs = portal.level(cell.service_codes())
        if rank >= need:
            return MET, "", evs
        if portal.conclusive:
            return NOT_MET, PORTAL_REASON[rank], evs
        verdict = national(cell)
        if verdict[0] == MET:
            return verdict
        return CANNOT, portal.failure, []

    return rule


def _level(row: dict[str, Any]) -> int:
    return LEVELS.get(row.get("implement_level") or Implementation.NONE, 0)


def office_key(row: dict[str, Any]) -> str:
    return (row.get("office_code") or "").strip().upper()


def coverage(rows: Iterable[tuple[dict[str, Any], int]], need: int
             ) -> tuple[int, int, list[int]]:
    """(offices offering the level, offices, evidence of the offering rows): over the distinct
    office codes of `rows`; an office offers it when one of its rows is at `need` or above and
    not in testing (a row in testing is not offered to citizens)."""
    offers: dict[str, bool] = {}
    hits: list[int] = []
    for row, ev in rows:
        ok = _level(row) >= need and not row.get("testing")
        offers[office_key(row)] = offers.get(office_key(row), False) or ok
        if ok:
            hits.append(ev)
    return sum(offers.values()), len(offers), hits


def covered(n: int, total: int, threshold: float) -> bool:
    return total > 0 and n >= threshold * total - 1e-9  # float slack: 9/10 meets 0.9


def coverage_rule(need: int) -> Rule:
    """A level on the national side: met when the share of the unit's offices offering it
    reaches the rubric's coverage_threshold (docs/ARCHITECTURE.md "Coverage across offices").
    A share reached on the rows read wins over a failure of another procedure, as any positive
    observation does; below it, not_met (`below_coverage`) needs every row."""

    def rule(cell: Cell) -> Outcome:
        n, total, hits = coverage(cell.rows, need)
        if covered(n, total, cell.threshold):
            return MET, "", hits
        complete, reason = cell.rows_status()
        if not complete:
            return CANNOT, reason, []
        return _absent(cell, Reason.BELOW_COVERAGE)

    return rule


NATIONAL_LEVEL: dict[str, Rule] = {
    "level3_partial": coverage_rule(LEVELS[Implementation.PARTIAL]),
    "level4_full": coverage_rule(LEVELS[Implementation.FULL]),
}

RULES: dict[str, Rule] = {
    "offered_online": offered_online,
    "level3_partial": level_rule("level3_partial", NATIONAL_LEVEL["level3_partial"]),
    "level4_full": level_rule("level4_full", NATIONAL_LEVEL["level4_full"]),
    "national_handoff": row_rule(lambda row, _: bool(row.get("citizen_url"))
                                 and not row.get("testing"), "no_handoff"),
    "online_payment": online_payment,
    "national_sso": national_sso,
}


def delivers(unit: Unit, service: Service) -> bool:
    if unit.kind == "province":
        return "province" in service.delivery
    return "agency" in service.delivery and unit.code in service.agency_codes


def judge(cell: Cell, criterion: Criterion) -> Outcome:
    if not delivers(cell.unit, cell.service):
        return NA, Reason.NOT_DELIVERED_BY_UNIT, []
    if criterion not in cell.criteria:
        return NA, Reason.CRITERION_NOT_APPLICABLE, []
    rule = RULES.get(criterion.id)
    if rule is None:
        missing = Reason.NO_PORTAL_EVIDENCE if criterion.evidence == "portal" else Reason.NO_RULE
        return CANNOT, missing, []
    return rule(cell)


UNATTRIBUTED = ""  # rows_by_unit's key for rows no unit claims


def rows_by_unit(rubric: Rubric, obs: Observations) -> dict[tuple[str, str], list]:
    """(unit code, procedure code) -> office rows of that unit; rows no unit claims (generic
    codes such as BCA_CAX) under (UNATTRIBUTED, procedure code)."""
    out: dict[tuple[str, str], list] = defaultdict(list)
    for code, rows in obs.rows.items():
        for row, ev in rows:
            unit = unit_for_office(rubric, row.get("office_code") or "")
            out[(unit.code if unit is not None else UNATTRIBUTED, code)].append((row, ev))
    return out


def cells(obs: Observations, rubric: Rubric,
          only: tuple[str, str] | None = None) -> Iterable[Cell]:
    """Every (unit, service) cell of the rubric; `only`: just that (unit code, service id)."""
    by_unit = rows_by_unit(rubric, obs)
    loose = {s.id: sum(len(by_unit.get((UNATTRIBUTED, p.code), [])) for p in s.procedures)
             for s in rubric.services}
    for unit in rubric.units:
        portal = obs.portals.get(unit.code) if unit.kind == "province" else None
        for service in rubric.services:
            if only is not None and only != (unit.code, service.id):
                continue
            rows = [r for p in service.procedures for r in by_unit.get((unit.code, p.code), [])]
            codes = [p.code for p in service.procedures]
            system = system_met(obs, unit.code, codes) if unit.kind == "province" and codes \
                else None
            yield Cell(unit, service, obs, rows, rubric.criteria_for(service),
                       system.view if system else portal, rubric.fees, loose[service.id],
                       rubric.coverage_threshold, system)


SYSTEM_DECIDES = ("level3_partial", "level4_full", "online_payment", "national_sso")


def _name(text: str) -> str:
    return " ".join(unicodedata.normalize("NFC", text or "").casefold().split())


def unit_codes(unit: Unit) -> set[str]:
    """Every code under which an answer may name the unit."""
    return {unit.code.upper(), unit.office_code.upper(), *unit.aliases}


def confirmed_agencies(obs: Observations, rubric: Rubric) -> set[str]:
    """Agencies whose code an answer of the run showed: a detail's promulgating agency code
    (departmentPromulgateCode) or an office row attributed to it. The others' codes are
    unproven tonight (docs/ARCHITECTURE.md "Agency codes")."""
    seen = {str(data.get("agency_code") or "").strip().upper()
            for data, _ in obs.details.values()}
    out = {u.code for u in rubric.agencies if unit_codes(u) & seen}
    by_unit = rows_by_unit(rubric, obs)
    return out | {code for code, _ in by_unit if code != UNATTRIBUTED}


def unverified(outcome: Outcome, unit: Unit, confirmed: set[str]) -> Outcome:
    """An agency whose code no answer showed cannot be proven absent: its not_met is
    `cannot_test` (`unit_code_unverified`); rows may sit under its real, unknown code."""
    if outcome[0] == NOT_MET and unit.kind == "agency" and unit.code not in confirmed:
        return CANNOT, Reason.UNIT_CODE_UNVERIFIED, []
    return outcome


def level_detail(cell: Cell, criterion_id: str) -> str:
    """The share the national rows give for a level criterion: "97/126" (offices offering it
    at that level, not in testing / the unit's offices listing the service); "" otherwise."""
    if criterion_id not in NEED or not cell.rows:
        return ""
    n, total, _ = coverage(cell.rows, NEED[criterion_id])
    return f"{n}/{total}"


def evaluate(evidence: Iterable[EvidenceRow], rubric: Rubric, *,
             only: tuple[str, str] | None = None) -> list[VerdictRow]:
    """One verdict per unit x service x criterion of the rubric. `only` (unit code, service
    id): just that cell's verdicts, the same as among all (a cell is judged from the run's
    evidence, never from other cells); the rule cases ask for one cell each."""
    return observed_verdicts(observe(evidence), rubric, only)


# Every kind `observe` reads: evidence of other kinds (the 766 figures, the site search's
# pages) never changes a verdict or a finding.
VERDICT_KINDS: tuple[EvidenceKind, ...] = (
    EvidenceKind.CATALOGUE, EvidenceKind.PROCEDURE, EvidenceKind.PROCEDURE_DETAIL,
    EvidenceKind.OFFICE_ROW, EvidenceKind.OFFICE_LIST, EvidenceKind.FETCH,
    EvidenceKind.NATIONAL_PAGE, *PORTAL_KINDS)


def observed_verdicts(obs: Observations, rubric: Rubric,
                      only: tuple[str, str] | None = None) -> list[VerdictRow]:
    """`evaluate` from evidence observed already."""
    confirmed = confirmed_agencies(obs, rubric)
    verdicts: list[VerdictRow] = []
    for cell in cells(obs, rubric, only):
        unit, service = cell.unit, cell.service
        for criterion in rubric.criteria:
            verdict, reason, evs = unverified(judge(cell, criterion), unit, confirmed)
            if criterion.id == "offered_online" and verdict != NA:  # how the page shows it
                evs = evs + [i for c in cell.service_codes() for i in obs.national_pages[c]]
            if cell.system is not None and criterion.id in SYSTEM_DECIDES and verdict != NA:
                # the system met comes first: the report names it from this evidence
                evs = cell.system.home[:1] + [e for e in evs if e not in cell.system.home[:1]]
            verdicts.append({
                "unit_code": unit.code, "unit_name": unit.name, "unit_kind": unit.kind,
                "service_id": service.id, "criterion_id": criterion.id,
                "verdict": verdict, "reason": reason, "evidence_ids": evs,
                "detail": level_detail(cell, criterion.id) if verdict != NA else "",
            })
    return verdicts


NATIONAL_STATE = {-1: "", **{rank: level for level, rank in LEVELS.items()}}


def findings(evidence: Iterable[EvidenceRow], rubric: Rubric) -> list[FindingRow]:
    """Where the national portal and a province's own portal disagree about a service, when
    both were read completely (docs/ARCHITECTURE.md "Findings"):

    - `national_overstates`: the national portal lists a level (FULL / PARTIAL) the portal
      does not offer (portal offers less, or only information, or nothing);
    - `national_understates`: the national portal lists the unit, at a lower level than the
      portal offers online;
    - `not_listed_nationally`: the portal offers the service online, the national portal lists
      no office of the unit for it.
    """
    return observed_findings(observe(evidence), rubric)


def observed_findings(obs: Observations, rubric: Rubric) -> list[FindingRow]:
    """`findings` from evidence observed already (the national pages play no part)."""
    out = code_mismatches(obs, rubric)
    for cell in cells(obs, rubric):
        portal = cell.portal
        if (portal is None or not portal.conclusive or not cell.service.procedures
                or not delivers(cell.unit, cell.service) or not cell.rows_status()[0]):
            continue
        national = max((_level(row) for row, _ in cell.rows), default=-1)
        rank, portal_evs = portal.level(cell.service_codes())
        kind = ""
        if national >= LEVELS[Implementation.PARTIAL] and rank < national:
            kind = "national_overstates"
        elif cell.rows and rank >= LEVELS[Implementation.PARTIAL] and rank > national:
            kind = "national_understates"
        elif not cell.rows and not cell.unattributed and rank >= LEVELS[Implementation.PARTIAL]:
            kind = "not_listed_nationally"  # (a row no unit claims may be the unit's)
        if not kind:
            continue
        n, p = NATIONAL_STATE[national] or "not listed", PORTAL_STATE[rank]
        met = (f"ministry system {cell.system.host or cell.system.base}" if cell.system
               else "provincial portal")
        out.append({
            "unit_code": cell.unit.code, "service_id": cell.service.id, "kind": kind,
            "national": NATIONAL_STATE[national], "portal": PORTAL_STATE[rank],
            "detail": f"national portal: {n}; {met}: {p}",
            "evidence_ids": [ev for _, ev in cell.rows] + portal_evs
            + (cell.system.home[:1] if cell.system else []),
        })
    return out


def judged(evidence: Iterable[EvidenceRow],
           rubric: Rubric) -> tuple[list[VerdictRow], list[FindingRow]]:
    """`evaluate` and `findings` from one reading of `evidence` (a stored run's rows of
    `VERDICT_KINDS` are all they read)."""
    obs = observe(evidence)
    return observed_verdicts(obs, rubric), observed_findings(obs, rubric)


def code_mismatches(obs: Observations, rubric: Rubric) -> list[FindingRow]:
    """`unit_code_mismatch` findings: the rubric names agency A for a service, and a detail of
    one of the service's procedures names A's agency (departmentPromulgateName = A's name) under
    another code (departmentPromulgateCode): the rubric's code contradicts the portal."""
    out: list[FindingRow] = []
    for service in rubric.services:
        for code in service.agency_codes:
            unit = rubric.unit(code)
            seen = [(c, obs.details[c]) for c in (p.code for p in service.procedures)
                    if c in obs.details]
            wrong = [(c, data, ev) for c, (data, ev) in seen
                     if _name(data.get("agency_name", "")) == _name(unit.name)
                     and str(data.get("agency_code") or "").strip().upper() not in unit_codes(unit)]
            if not wrong:
                continue
            shown = sorted({str(d.get("agency_code") or "") for _, d, _ in wrong})
            out.append({
                "unit_code": unit.code, "service_id": service.id, "kind": "unit_code_mismatch",
                "national": ", ".join(shown), "portal": "",
                "detail": f"rubric code {unit.code}; details of "
                          f"{', '.join(c for c, _, _ in wrong)} name {unit.name} as "
                          f"{', '.join(shown)}",
                "evidence_ids": [ev for _, _, ev in wrong],
            })
    return out
