"""One provincial portal's data, built from a scenario's `portals` entry (docs/SCENARIOS.md).

A site lists one procedure per service the scenario says it offers (info, partial or full), plus
a few province-specific procedures (local codes such as `1.100042.H26`, never rubric codes).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from replica import names
from replica.faults import cp1258_bytes
from replica.ids import keyed_rng
from replica.scenario import Fault, PortalSpec, Scenario, ScenarioError
from replica.site_model import SiteSpec

OFFER_LABELS = {"info": "Cung cấp thông tin", "partial": "Một phần", "full": "Toàn trình"}
LOCAL_PROCEDURES = 6


@dataclass(frozen=True)
class Listed:
    """A procedure as the portal lists it."""

    code: str
    name: str
    service: str  # rubric service id ("" for province-specific procedures)
    offer: str  # info | partial | full
    payment: bool  # the apply flow offers online payment
    sso: bool  # the apply flow offers the national sign-on
    fee: int  # the fee shown on the apply flow (0 = none)
    sid: int  # the portal's own sequence number (?sid=)
    oid: str  # the portal's own 24-hex object id (iGate apply-online route)

    @property
    def online(self) -> bool:
        return self.offer in ("partial", "full")

    @property
    def label(self) -> str:
        return OFFER_LABELS[self.offer]


@dataclass(frozen=True)
class Site:
    unit: str
    unit_name: str
    office_code: str  # Hxx
    platform: str
    sso: bool  # the portal's own login offers the national sign-on
    procedures: tuple[Listed, ...]
    faults: tuple[Fault, ...] = ()  # this portal's faults (replica/faults.py), file order
    survey: SiteSpec = field(default_factory=SiteSpec)  # UN survey features (sitepages.py)

    @property
    def down(self) -> bool:
        """Nothing listens on its address: connections are refused."""
        return any(f.kind in ("portal_down", "down") for f in self.faults)

    @property
    def title(self) -> str:
        return f"Cổng Dịch vụ công {names.locative(self.unit_name)}"

    def by_code(self, code: str) -> Listed | None:
        return next((p for p in self.procedures if p.code == code), None)

    def by_sid(self, sid: str) -> Listed | None:
        return next((p for p in self.procedures if str(p.sid) == sid), None)

    def by_oid(self, oid: str) -> Listed | None:
        return next((p for p in self.procedures if p.oid == oid), None)

    def by_service(self, service: str) -> Listed | None:
        return next((p for p in self.procedures if p.service == service), None)


def _service_code(scenario: Scenario, service: Any, declared: str) -> tuple[str, str]:
    """(code, name) the portal lists a service under: the declared code, else the first rubric
    code the scenario declares, else the service's first rubric code."""
    rubric_procs = {p.code: p.name for p in service.procedures}
    code = declared or next((c for c in rubric_procs if c in scenario.codes()),
                            next(iter(rubric_procs)))
    name = scenario.procedure(code).name if code in scenario.codes() else rubric_procs[code]
    return code, name


def _fee(scenario: Scenario, code: str) -> int:
    if code not in scenario.codes():
        return 0
    return max((v or 0 for v in scenario.procedure(code).online_fees()), default=0)


def build_site(scenario: Scenario, rubric: Any, spec: PortalSpec) -> Site:
    unit = rubric.unit(spec.unit)
    services = {s.id: s for s in rubric.services}
    rng = keyed_rng(scenario.seed, "portal", spec.unit)
    listed: list[Listed] = []
    for ps in spec.services:
        if ps.offer == "absent":
            continue
        code, name = _service_code(scenario, services[ps.service], ps.procedure)
        listed.append(Listed(code=code, name=name, service=ps.service, offer=ps.offer,
                             payment=ps.payment, sso=spec.service_sso(ps.service),
                             fee=_fee(scenario, code), sid=0, oid=""))
    for _ in range(LOCAL_PROCEDURES):  # province-specific procedures: realistic noise
        code = f"1.1{rng.randint(0, 99999):05d}.{unit.office_code}"
        name = f"{rng.choice(names.FILLER_ACTIONS)} {rng.choice(names.FILLER_LOCAL[1])}"
        listed.append(Listed(code=code, name=name, service="",
                             offer=rng.choice(("info", "partial", "full")), payment=False,
                             sso=spec.sso, fee=0, sid=0, oid=""))
    listed.sort(key=lambda p: p.code)
    numbered = tuple(
        Listed(**{**vars(p), "sid": 1000 + i,
                  "oid": f"{rng.getrandbits(96):024x}"})
        for i, p in enumerate(listed))
    site = Site(unit=spec.unit, unit_name=unit.name, office_code=unit.office_code,
                platform=spec.platform, sso=spec.sso, procedures=numbered,
                faults=tuple(f for f in scenario.faults if f.unit == spec.unit),
                survey=scenario.sites.get(spec.unit) or SiteSpec())
    _check_encodable(scenario, site)
    return site


def _check_encodable(scenario: Scenario, site: Site) -> None:
    """A legacy_encoding portal must be able to carry every name it shows in its charset."""
    for i, f in enumerate(scenario.faults):
        if f.unit != site.unit or f.kind != "legacy_encoding":
            continue
        for text in (site.title, site.unit_name, *(p.name for p in site.procedures)):
            try:
                cp1258_bytes(text)
            except UnicodeEncodeError as exc:
                raise ScenarioError(scenario.path or scenario.name, f"faults[{i}].charset",
                                    f"{f.param('charset')} cannot carry {text!r}: {exc}") from None


def build_sites(scenario: Scenario, rubric: Any) -> dict[str, Site]:
    return {p.unit: build_site(scenario, rubric, p) for p in scenario.portals}
