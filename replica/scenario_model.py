"""The scenario model: what a scenario file declares (procedures, offers, portals, ministry
systems, faults) as frozen dataclasses, the words a file may use, and `ScenarioError`.

Parsed and checked by replica/scenario.py (which also exports these names).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.validate import InputError
from core.vocab import OFFER_RANK, Implementation, Reason
from core.vocab import Offer as OfferLevel

GOV_LEVELS = ("ward", "province", "ministry")
METHODS = ("ONLINE", "DIRECT", "POSTAL")
IMPLEMENT_LEVELS = (Implementation.FULL, Implementation.PARTIAL, Implementation.NONE)
OFFICES = ("province", "ward", "agency")
FEE_TYPES = ("FEE", "SERVICE_FEE", "PRICE_LEVEL")
TARGETS = ("VIETNAMESE_CITIZEN", "ENTERPRISE", "FOREIGNER")
PROCEDURE_TYPES = ("STANDARD", "SPECIFIC", "STANDARD_INTERNAL")
STATES = ("ACTIVE", "UPDATED")
PLATFORMS = ("igate", "eform", "legacy")  # provincial platform families (docs/SCENARIOS.md)
PORTAL_OFFERS = tuple(OfferLevel)  # absent, info, partial, full
SYSTEM_PLATFORMS = ("moj", "moc")  # ministry systems the replica serves (replica/systems/)
SYSTEM_PREFIX = "system:"  # offers[].citizen_url "system:<id>": hands off to that system

# What the audit of a replica allows a page (crawler/profiles.py LOOPBACK, crawler/settings.py;
# tests/test_retries.py checks they agree), so the truth knows which faults an audit must report:
REPLICA_RETRIES = 1  # RETRY_TIMES: a `times: N` fault heals for the audit iff N <= this
PAGE_TIMEOUT = 15.0  # s, DOWNLOAD_TIMEOUT: a request, a navigation, a render wait
SLOW_IN_TIME = 10.0  # s: a `slow` wait below this is read in time (no failure)
SLOW_TIMES_OUT = 2 * PAGE_TIMEOUT  # s: from this on it is a timeout even for a longer retry
MAX_PAGE_MIB = 32.0  # DOWNLOAD_MAXSIZE: a `huge` page up to this size is read whole


@dataclass(frozen=True)
class FaultKind:
    """What a fault kind does (HTTP behaviour: replica/faults.py; table: docs/SCENARIOS.md).

    ``reason`` is the failure an audit must report ("" = no failure: the audit must cope);
    ``params`` maps each parameter to its default."""

    reason: str
    procedure: bool = True  # may be scoped to a national procedure
    unit: bool = True  # may be scoped to a province's portal
    service: bool = True  # a unit fault may be narrowed to one service
    transient: bool = False  # may take `times` (heals after N answers per request target)
    params: dict[str, Any] = field(default_factory=dict, hash=False)
    platforms: tuple[str, ...] = ()  # portal families it applies to (() = all)


_UNIT_ONLY: dict[str, Any] = {"procedure": False, "service": False}
_SERVER_RENDERED = ("eform", "legacy")
FAULT_KINDS: dict[str, FaultKind] = {
    # F5's HTTP-200 "Request Rejected" page for a national procedure (= rejected on a procedure)
    "blocked": FaultKind(reason=Reason.BLOCKED, unit=False),
    # the province's portal refuses connections (nothing listens on its address)
    "portal_down": FaultKind(reason=Reason.REFUSED, **_UNIT_ONLY),
    "down": FaultKind(reason=Reason.REFUSED, **_UNIT_ONLY),  # alias of portal_down
    # the province's portal answers HTTP 403 to every request (= forbidden on a whole unit)
    "portal_blocked": FaultKind(reason=Reason.BLOCKED, **_UNIT_ONLY),
    "slow": FaultKind(reason=Reason.TIMEOUT, transient=True, params={"seconds": 60}),
    "http_error": FaultKind(reason=Reason.HTTP_5XX, transient=True, params={"status": 503}),
    "rate_limited": FaultKind(reason=Reason.RATE_LIMITED, transient=True,
                              params={"retry_after": 1}),
    "forbidden": FaultKind(reason=Reason.BLOCKED),
    "rejected": FaultKind(reason=Reason.BLOCKED),
    "challenge": FaultKind(reason=Reason.JS_CHALLENGE),
    "redirect_loop": FaultKind(reason=Reason.REDIRECT_LOOP),
    "truncated": FaultKind(reason=Reason.MALFORMED),
    "malformed": FaultKind(reason=Reason.MALFORMED),
    "huge": FaultKind(reason=Reason.TOO_LARGE, params={"megabytes": 40}),
    "robots": FaultKind(reason=Reason.ROBOTS_DISALLOWED, **_UNIT_ONLY),
    "legacy_encoding": FaultKind(reason="", procedure=False, params={"charset": "windows-1258"},
                                 platforms=_SERVER_RENDERED),
    "mislabelled_charset": FaultKind(reason="", procedure=False, platforms=_SERVER_RENDERED),
}
HTTP_ERROR_STATUSES = (500, 502, 503, 504)
LEGACY_CHARSETS = ("windows-1258",)  # must carry Vietnamese (cp1258: combining tone marks)

PROVINCE_CODE_RE = re.compile(r"^\d{2}$")
PROCEDURE_CODE_RE = re.compile(r"^\d+\.\d{6,}$")


class ScenarioError(InputError):
    """A scenario file problem: ``str()`` is ``"<file>: field '<field>': <message>"``."""

    def __init__(self, file: str | Path, field: str, message: str, line: int | None = None):
        super().__init__(file, "", field, message, line)


@dataclass(frozen=True)
class Fee:
    value: int | None
    type: str = "FEE"
    description: str = ""


@dataclass(frozen=True)
class ProcedureSpec:
    code: str
    name: str
    department: str  # promulgating agency name ("Bộ Tư pháp")
    agency_code: str  # promulgating agency code ("G15")
    services: tuple[str, ...]  # rubric service ids
    levels: tuple[str, ...]  # subset of GOV_LEVELS
    methods: tuple[str, ...]  # subset of METHODS, in order
    fees: dict[str, tuple[Fee, ...]] = field(default_factory=dict, hash=False)
    full_process: bool = False
    vertical: bool = False
    targets: tuple[str, ...] = ("VIETNAMESE_CITIZEN",)
    type: str = "STANDARD"
    state: str = "UPDATED"
    category: str = ""  # "" = derived from the agency
    decision: str = ""  # procedureProposal.proposalNumber; "" = derived
    cases: int = 1
    # real detail shapes (docs/SCENARIOS.md "Real detail shapes")
    duplicate_methods: bool = False  # every method served twice (same fees, another time)
    duplicate_cases: bool = False  # every case code served twice
    processing_time: str = "int"  # processingTime served as int | float | text
    offline_only_flag: bool | None = None  # isOfflineOnly; None = derived (no ONLINE method)

    @property
    def service(self) -> str:
        return self.services[0] if self.services else ""

    def fees_for(self, method: str) -> tuple[Fee, ...]:
        return self.fees.get(method, (Fee(0),))

    def online_fees(self) -> tuple[int | None, ...]:
        if "ONLINE" not in self.methods:
            return ()
        return tuple(f.value for f in self.fees_for("ONLINE"))


@dataclass(frozen=True)
class Offer:
    unit: str  # unit code ("01", "G01")
    procedure: str  # procedure code
    office: str  # province | ward | agency
    level: str  # FULL | PARTIAL | NONE
    citizen_url: str = "default"  # "default" | "" | explicit URL | "system:<id>"
    testing: bool = False
    count: int = 1  # ward offers: how many ward offices share this row's state
    office_name: str = ""  # override the generated office name
    essential: bool = False
    field: str = ""  # where it was declared, for messages
    office_code: str = ""  # served verbatim as departmentCode ("" = generated)

    @property
    def system(self) -> str:
        """The ministry system this office hands off to ("" = none)."""
        url = self.citizen_url
        return url[len(SYSTEM_PREFIX):] if url.startswith(SYSTEM_PREFIX) else ""

    def url_for(self, base_url: str) -> str:
        if self.citizen_url == "default":
            return f"{base_url}/portals/{self.unit}/vi/nps/apply?ma={self.procedure}"
        return self.citizen_url


@dataclass(frozen=True)
class PortalService:
    """What a province's own portal offers for one rubric service."""

    service: str  # rubric service id
    offer: str = "absent"  # absent | info | partial | full
    payment: bool = False  # the apply flow has an online payment step
    sso: bool | None = None  # national sign-on on the apply flow; None = the portal's `sso`
    procedure: str = ""  # the code the portal lists it under; "" = chosen with the rubric
    field: str = ""

    @property
    def online(self) -> bool:
        return OFFER_RANK[self.offer] >= OfferLevel.PARTIAL.rank


@dataclass(frozen=True)
class PortalSpec:
    """A province's own portal: its platform family, login options and per-service offer."""

    unit: str
    platform: str  # igate | eform | legacy
    sso: bool = False  # the portal's login offers VNeID / the national portal account
    services: tuple[PortalService, ...] = ()
    field: str = ""

    def service(self, service_id: str) -> PortalService:
        for s in self.services:
            if s.service == service_id:
                return s
        return PortalService(service_id)

    def service_sso(self, service_id: str) -> bool:
        s = self.service(service_id)
        return self.sso if s.sso is None else s.sso


@dataclass(frozen=True)
class SystemSpec:
    """A ministry's own system (civil status: Bộ Tư pháp; building permits: Bộ Xây dựng) that
    offices of many provinces hand off to: what it offers per service, like a portal."""

    id: str
    platform: str  # moj | moc
    name: str  # the ministry ("Bộ Tư pháp")
    host: str  # the real host its rows name (informational: dichvucongnganhtuphap.moj.gov.vn)
    sso: bool = False
    services: tuple[PortalService, ...] = ()
    scheme: bool = False  # citizen URLs served with "http://" (real rows: mostly without)
    field: str = ""

    def service(self, service_id: str) -> PortalService:
        return next((s for s in self.services if s.service == service_id),
                    PortalService(service_id))

    def service_sso(self, service_id: str) -> bool:
        s = self.service(service_id)
        return self.sso if s.sso is None else s.sso


@dataclass(frozen=True)
class Fault:
    kind: str
    procedure: str = ""  # national scope: the faulted procedure's code
    params: dict[str, Any] = field(default_factory=dict, hash=False)  # given ones only
    unit: str = ""  # portal scope: the province whose portal fails
    service: str = ""  # portal scope narrowed to this rubric service's listed procedure
    times: int = 0  # transient: fails the first N answers per request target (0 = always)
    system: str = ""  # ministry-system scope: the system (systems.<id>) that fails

    @property
    def reason(self) -> str:
        return FAULT_KINDS[self.kind].reason

    @property
    def fails(self) -> str:
        """The failure reason the truth records: "" for encoding faults, for `times` faults that
        heal within the audit's retries, for a `slow` wait read in time and a `huge` page under
        the size cap (they are not failures)."""
        if self.times and self.times <= REPLICA_RETRIES:
            return ""
        if self.kind == "slow" and float(self.param("seconds")) < SLOW_IN_TIME:
            return ""
        if self.kind == "huge" and float(self.param("megabytes")) <= MAX_PAGE_MIB:
            return ""
        return self.reason

    def param(self, name: str) -> Any:
        return self.params.get(name, FAULT_KINDS[self.kind].params[name])


OFFICE_FILTERS = ("honoured", "ignored")
TARGET_DEFAULTS = ("all", "VIETNAMESE_CITIZEN")
SHAPE_PLACES = ("detail", "office_row")
SHAPE_TYPES = {"string": "x", "number": 1, "bool": True, "list": [], "object": {}, "null": None}


@dataclass(frozen=True)
class ShapeChange:
    """One key of the detail (top level of `data`) or of every office row, renamed or retyped,
    as a changed real API would answer (`dvc-audit probe` must notice)."""

    place: str  # detail | office_row
    key: str
    rename: str = ""  # the key's new name
    retype: str = ""  # a SHAPE_TYPES name: the value becomes a sample of that type

    def apply(self, obj: dict[str, Any]) -> dict[str, Any]:
        if self.key not in obj:
            return obj
        out = dict(obj)
        if self.rename:
            out[self.rename] = out.pop(self.key)
        else:
            out[self.key] = SHAPE_TYPES[self.retype]
        return out


@dataclass(frozen=True)
class NationalOptions:
    """How the replica's national API behaves where the real one is unverified (docs/SCENARIOS.md
    "National API behaviour")."""

    office_filter: str = "honoured"  # ignored: formalityId is not applied to the office list
    target_type_default: str = "all"  # a request without formalityTargetType gets these rows
    shape_change: ShapeChange | None = None


@dataclass(frozen=True)
class Scenario:
    name: str
    description: str
    seed: int
    filler: int
    procedures: tuple[ProcedureSpec, ...]
    offers: tuple[Offer, ...]
    faults: tuple[Fault, ...] = ()
    rubric: str = ""  # optional rubric directory, relative to the scenario file
    path: str = ""
    portals: tuple[PortalSpec, ...] = ()
    index766: dict[str, Any] = field(default_factory=dict, hash=False)  # replica/index766.py
    office_codes: str = "real"  # generated office code forms: real (H26.105) | legacy
    national: NationalOptions = field(default_factory=NationalOptions)
    systems: tuple[SystemSpec, ...] = ()  # ministry systems offices hand off to

    def system(self, system_id: str) -> SystemSpec | None:
        return next((s for s in self.systems if s.id == system_id), None)

    def system_failure(self, system_id: str) -> str:
        """Why the ministry system cannot be read ("" = it can): its first lasting fault."""
        return next((f.fails for f in self.faults if f.system == system_id and f.fails), "")
    # code -> recorded detail answer served verbatim (replica/recorded.py); its methods and fees
    # are already in the procedure's spec
    recorded: dict[str, Any] = field(default_factory=dict, hash=False)
    # unit ("VN", province codes) -> its SiteSpec (replica/site_model.py): the survey features
    sites: dict[str, Any] = field(default_factory=dict, hash=False)

    def portal(self, unit: str) -> PortalSpec | None:
        for p in self.portals:
            if p.unit == unit:
                return p
        return None

    def portal_faults(self) -> dict[str, str]:
        """province code -> failure reason of its whole portal (faults without `service`).
        The first fault in file order that covers a request answers it (replica/provincial
        fault_for): a portal that is down answers nothing; a `robots` fault answers robots.txt,
        read before any page; every other page gets the first unit-wide fault, which may be one
        that is no failure (an encoding, a healing one)."""
        out: dict[str, str] = {}
        for unit in dict.fromkeys(f.unit for f in self.faults if f.unit):
            mine = [f for f in self.faults if f.unit == unit and not f.service]
            down = [f for f in mine if f.kind in ("portal_down", "down")]
            robots = [f for f in mine if f.kind == "robots"]
            pages = [f for f in mine if f.kind != "robots"]
            first = next(iter(down or robots or pages), None)
            if first is not None and first.fails:
                out[unit] = first.fails
        return out

    def service_faults(self) -> dict[tuple[str, str], str]:
        """(province code, service id) -> failure reason of that service on its portal: its
        pages get the first fault in file order covering them, a service fault or a unit-wide
        one (whose failure is the whole portal's: portal_faults)."""
        out: dict[tuple[str, str], str] = {}
        for f in self.faults:
            if not (f.unit and f.service) or (f.unit, f.service) in out:
                continue
            first = next(g for g in self.faults if g.unit == f.unit and g.kind != "robots"
                         and g.service in ("", f.service))
            portal = self.portal(f.unit) if first.service and first.fails else None
            # only an online service has apply pages to read; an information-only one is
            # judged from the listing, so a fault on its (never needed) pages changes nothing
            if portal is not None and portal.service(f.service).online:
                out[(f.unit, f.service)] = first.fails
        return out

    def portal_failure(self, unit: str, service: str) -> str:
        """Why the unit's portal cannot be read for the service ("" = it can)."""
        return (self.portal_faults().get(unit, "")
                or self.service_faults().get((unit, service), ""))

    def procedure(self, code: str) -> ProcedureSpec:
        for p in self.procedures:
            if p.code == code:
                return p
        raise KeyError(code)

    def codes(self) -> set[str]:
        return {p.code for p in self.procedures}

    def offers_for(self, unit: str) -> tuple[Offer, ...]:
        return tuple(o for o in self.offers if o.unit == unit)

    def units(self) -> list[str]:
        seen: dict[str, None] = {}
        for o in self.offers:
            seen.setdefault(o.unit, None)
        return list(seen)

    def failed_procedures(self) -> dict[str, str]:
        """procedure code -> failure reason, for procedure-scoped faults: the first one of a
        procedure in file order answers its requests (replica/server.py procedure_faults)."""
        first: dict[str, Fault] = {}
        for f in self.faults:
            if f.procedure:
                first.setdefault(f.procedure, f)
        return {code: f.fails for code, f in first.items() if f.fails}

    def blocked_codes(self) -> set[str]:
        return {f.procedure for f in self.faults if f.kind == "blocked"}

    def rubric_dir(self) -> Path | None:
        if not self.rubric:
            return None
        p = Path(self.rubric)
        if not p.is_absolute() and self.path:
            p = Path(self.path).parent / p
        return p
