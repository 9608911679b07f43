"""Replicas of the ministries' own systems that provincial offices hand citizens off to.

Real office rows (../shared/research/portals/office_rows_2026-10/README.md) hand every birth,
death and marriage registration to the Ministry of Justice's civil-status system
(``dichvucongnganhtuphap.moj.gov.vn``) and every building permit to the Ministry of
Construction's (``dvc.moc.gov.vn``), often without a scheme. Each system here has its own markup
and routes (``moj``: server-rendered card list and ``/dvc/nop-ho-so/<code>/buoc-N`` steps;
``moc``: an ASP.NET-style table and ``/DichVuCong/NopHoSo?maTTHC=&buoc=`` steps), a payment step
and a VNeID sign-on link as the scenario says, and its own loopback address
(``127.0.3.<n>``, ``hosts.system_address``). Any POST is a submission (401, logged), never made
by the crawler. A system fault (``faults[].system``) covers the whole system.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import ModuleType
from typing import Any

from replica import web
from replica.faults import FaultState, Hit, answer
from replica.ids import keyed_rng
from replica.provincial.site import Listed
from replica.scenario import Fault, Scenario, SystemSpec
from replica.systems import moc, moj

FAMILIES: dict[str, ModuleType] = {"moj": moj, "moc": moc}
ROBOTS = "User-agent: *\nDisallow: /quan-tri/\n"
OTHER_PROCEDURES = 4  # the ministry's other procedures on the system (never rubric codes)


@dataclass(frozen=True)
class SystemSite:
    id: str
    platform: str
    name: str  # the ministry
    host: str  # the real host it stands for
    sso: bool
    procedures: tuple[Listed, ...]
    faults: tuple[Fault, ...] = ()

    @property
    def down(self) -> bool:
        return any(f.kind in ("portal_down", "down") for f in self.faults)

    @property
    def title(self) -> str:
        return FAMILIES[self.platform].TITLE

    def by_code(self, code: str) -> Listed | None:
        return next((p for p in self.procedures if p.code == code), None)


def apply_path(platform: str, code: str) -> str:
    return FAMILIES[platform].apply_path(code)


def _listed(scenario: Scenario, rubric: Any, spec: SystemSpec) -> list[Listed]:
    from replica.provincial.site import _fee, _service_code  # the portals' choice of code

    services = {s.id: s for s in rubric.services}
    out = []
    for ps in spec.services:
        if ps.offer == "absent":
            continue
        code, name = _service_code(scenario, services[ps.service], ps.procedure)
        out.append(Listed(code=code, name=name, service=ps.service, offer=ps.offer,
                          payment=ps.payment, sso=spec.service_sso(ps.service),
                          fee=_fee(scenario, code), sid=0, oid=""))
    return out


def build_system(scenario: Scenario, rubric: Any, spec: SystemSpec) -> SystemSite:
    rng = keyed_rng(scenario.seed, "system", spec.id)
    listed = _listed(scenario, rubric, spec)
    taken = {p.code for p in listed}
    for i in range(OTHER_PROCEDURES):  # codes of the filler block no real procedure uses
        code = f"2.09{rng.randint(0, 9999):04d}"
        if code in taken:
            continue
        taken.add(code)
        listed.append(Listed(code=code, name=f"{FAMILIES[spec.platform].OTHER_NAMES[i]}",
                             service="", offer=rng.choice(("info", "partial", "full")),
                             payment=False, sso=spec.sso, fee=0, sid=0, oid=""))
    listed.sort(key=lambda p: p.code)
    numbered = tuple(Listed(**{**vars(p), "sid": 500 + i}) for i, p in enumerate(listed))
    return SystemSite(id=spec.id, platform=spec.platform, name=spec.name, host=spec.host,
                      sso=spec.sso, procedures=numbered,
                      faults=tuple(f for f in scenario.faults if f.system == spec.id))


def build_systems(scenario: Scenario, rubric: Any) -> dict[str, SystemSite]:
    return {s.id: build_system(scenario, rubric, s) for s in scenario.systems}


def respond(site: SystemSite, method: str, path: str, params: dict[str, str], *,
            query: str = "", state: FaultState | None = None) -> web.Response:
    fault = next((f for f in site.faults if (path == "/robots.txt") == (f.kind == "robots")),
                 None)
    if fault is None:
        return _healthy(site, method, path, params)
    return answer(fault, state or FaultState(), Hit(f"system:{site.id}", method, path, query),
                  lambda: _healthy(site, method, path, params))


def _healthy(site: SystemSite, method: str, path: str, params: dict[str, str]) -> web.Response:
    return web.site_answer(ROBOTS, method, path,
                           lambda: FAMILIES[site.platform].respond(site, path, params))
