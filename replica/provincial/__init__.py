"""Replicas of the three provincial platform families (../shared/research/REAL_PORTALS.md).

- ``igate``: VNPT iGate-like single-page app (Angular shell, Form.io-style wizard, Keycloak realm
  ``digo``); every procedure, step and login option exists only after JavaScript runs.
- ``eform``: the ``/dich-vu-cong/tiep-nhan-online/...`` family, server-rendered, with a separate
  fee step ``nhap-le-phi-ho-so``.
- ``legacy``: a Liferay ``uniportal`` portlet with server-rendered lists filtered by ``_mucDo``
  and a single-page ``/web/guest/eform`` with VNeID sign-on at ``/web/guest/vneidsso``.

Each family module offers ``apply_path(code)`` (the national portal's hand-off route) and
``respond(site, method, path, params)``. Any POST is a submission: answered, logged with outcome
``submission``, and never made by the crawler (tests check the log).
"""

from __future__ import annotations

from types import ModuleType

from replica import web
from replica.provincial import eform, igate, legacy
from replica.provincial.site import Listed, Site, build_site, build_sites

FAMILIES: dict[str, ModuleType] = {"igate": igate, "eform": eform, "legacy": legacy}

ROBOTS = "User-agent: *\nDisallow: /admin/\n"


def apply_path(platform: str, code: str) -> str:
    return FAMILIES[platform].apply_path(code)


def respond(site: Site, method: str, path: str, params: dict[str, str]) -> web.Response:
    if site.fault == "portal_blocked":
        return web.forbidden()
    if path == "/robots.txt":
        return web.text(ROBOTS)
    if method == "POST":
        return web.Response(401, web.HTML_TYPE, "<p>Vui lòng đăng nhập để nộp hồ sơ.</p>".encode(),
                            "submission")
    if method not in ("GET", "HEAD"):
        return web.Response(405, web.HTML_TYPE, b"", "not_allowed")
    return FAMILIES[site.platform].respond(site, path, params)


__all__ = ["FAMILIES", "Listed", "Site", "apply_path", "build_site", "build_sites", "respond"]
