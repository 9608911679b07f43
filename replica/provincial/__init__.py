"""Replicas of the three provincial platform families (../shared/research/REAL_PORTALS.md).

- ``igate``: VNPT iGate-like single-page app (Angular shell, Form.io-style wizard, Keycloak realm
  ``digo``); every procedure, step and login option exists only after JavaScript runs.
- ``eform``: the ``/dich-vu-cong/tiep-nhan-online/...`` family, server-rendered, with a separate
  fee step ``nhap-le-phi-ho-so``.
- ``legacy``: a Liferay ``uniportal`` portlet with server-rendered lists filtered by ``_mucDo``
  and a single-page ``/web/guest/eform`` with VNeID sign-on at ``/web/guest/vneidsso``.

Each family module offers ``apply_path(code)`` (the national portal's hand-off route),
``respond(site, path, params)`` and ``serves(listed, path, params)`` (the requests of one listed
procedure: what a service-scoped fault covers). Any POST is a submission: answered, logged with
outcome ``submission``, and never made by the crawler (tests check the log). Faults
(replica/faults.py) are applied here, before the family answers.
"""

from __future__ import annotations

from types import ModuleType

from replica import web
from replica.faults import FaultState, Hit, answer
from replica.provincial import eform, igate, legacy
from replica.provincial.site import Listed, Site, build_site, build_sites
from replica.scenario import Fault

FAMILIES: dict[str, ModuleType] = {"igate": igate, "eform": eform, "legacy": legacy}

ROBOTS = "User-agent: *\nDisallow: /admin/\n"


def apply_path(platform: str, code: str) -> str:
    return FAMILIES[platform].apply_path(code)


def fault_for(site: Site, path: str, params: dict[str, str]) -> Fault | None:
    """The fault answering this request: the first of the site's faults whose scope covers it.
    `robots` covers only /robots.txt, the others everything but it; a `service` fault only the
    requests of that service's listed procedure (the family's ``serves``)."""
    for f in site.faults:
        if (path == "/robots.txt") != (f.kind == "robots"):
            continue
        listed = site.by_service(f.service) if f.service else None
        if not f.service or (listed and FAMILIES[site.platform].serves(listed, path, params)):
            return f
    return None


def respond(site: Site, method: str, path: str, params: dict[str, str], *, query: str = "",
            state: FaultState | None = None) -> web.Response:
    fault = fault_for(site, path, params)
    if fault is None:
        return _healthy(site, method, path, params)
    return answer(fault, state or FaultState(), Hit(site.unit, method, path, query),
                  lambda: _healthy(site, method, path, params))


def _healthy(site: Site, method: str, path: str, params: dict[str, str]) -> web.Response:
    return web.site_answer(ROBOTS, method, path,
                           lambda: FAMILIES[site.platform].respond(site, path, params))


__all__ = ["FAMILIES", "Listed", "Site", "apply_path", "build_site", "build_sites", "fault_for",
           "respond"]
