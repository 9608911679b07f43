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

from replica import sitepages, web
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
    return web.site_answer(ROBOTS, method, path, lambda: _page(site, path, params))


# the server-rendered families' home pages (iGate's is its app shell on every /vi/ route)
HOME_PATHS = {"eform": "/", "legacy": "/web/guest/trang-chu"}
EFORM_CSS = "/static/css/app.css"


def survey_view(site: Site) -> sitepages.SiteView:
    return sitepages.SiteView(site.survey, site.title, f"Ủy ban nhân dân {site.unit_name}")


def _page(site: Site, path: str, params: dict[str, str]) -> web.Response:
    """A survey page (replica/sitepages.py), else the family's page; its home decorated."""
    view = survey_view(site)
    if site.platform == "igate" and path == igate.SURVEY_FRAGMENT:
        return web.json_response({"html": sitepages.home_fragment(view)})
    if site.platform == "eform" and path == EFORM_CSS:  # a style sheet the W3C check can read
        return web.text(sitepages.FAMILY_CSS, web.CSS_TYPE)
    found = sitepages.respond(view, path)
    if found is not None:
        return found
    resp = FAMILIES[site.platform].respond(site, path, params)
    shell = site.platform == "igate" and resp.outcome == "ok" and b"<app-root>" in resp.body
    if resp.status != 200 or not (shell or path == HOME_PATHS.get(site.platform)):
        return resp
    fragment = "" if shell else sitepages.home_fragment(view)
    html = sitepages.decorate_home(resp.body.decode(), site.survey, fragment, shell=shell)
    return web.Response(resp.status, resp.content_type, html.encode(), resp.outcome,
                        resp.headers)


__all__ = ["FAMILIES", "Listed", "Site", "apply_path", "build_site", "build_sites", "fault_for",
           "respond"]
