"""VNPT iGate-like portal: an Angular-style shell whose content exists only after JavaScript.

Plain HTTP sees the same empty ``<app-root>`` shell on every ``/vi/...`` route. The app
(``/vi/main.js``) reads ``/vi/assets/app.config.json`` (Keycloak realm ``digo``) and a JSON API
under ``/pa/`` (GET only), then renders the procedure list (``/vi/procedure``), the apply routes
``/vi/nps/apply?ma=<code>`` and ``/vi/padsvc/apply-online/<24-hex>`` as a Form.io-style wizard
whose last button reads "Thanh toán" when the fee is paid online, and the login options (the
portal's Keycloak account; "Đăng nhập bằng VNeID" with ``kc_idp_hint=vneid`` when national sign-on
is on). Submitting would POST ``/pa/dossier/--apply``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from replica import web
from replica.provincial.site import Listed, Site

PAGE_SIZE = 20
REALM = "digo"
CLIENT_ID = "web-onegate"
SURVEY_FRAGMENT = "/pa/portal/home-blocks"  # the home page's survey menus (replica/sitepages)


def apply_path(code: str) -> str:
    return f"/vi/nps/apply?ma={code}"


def serves(p: Listed, path: str, params: dict[str, str]) -> bool:
    """A procedure's app routes and the JSON its app fetches for it."""
    if path == "/pa/procedure/--detail":
        return params.get("id") == p.oid or (not params.get("id")
                                             and params.get("code") == p.code)
    return (path == "/vi/nps/apply" and params.get("ma") == p.code) or \
        path == f"/vi/padsvc/apply-online/{p.oid}"


def _login_options(site: Site, national: bool) -> list[dict[str, str]]:
    auth = (f"/auth/realms/{REALM}/protocol/openid-connect/auth?client_id={CLIENT_ID}"
            "&response_type=code&scope=openid&redirect_uri=%2Fvi%2F")
    out = [{"label": "Đăng nhập", "kind": "local", "href": auth}]
    if national:
        out.append({"label": "Đăng nhập bằng tài khoản định danh điện tử VNeID",
                    "kind": "vneid", "href": auth + "&kc_idp_hint=vneid"})
    return out


def _steps(p: Listed) -> list[str]:
    steps = ["Thông tin người nộp", "Thành phần hồ sơ"]
    if p.fee or p.payment:
        steps.append("Phí, lệ phí")
    return steps + ["Xác nhận"]


def _detail(site: Site, p: Listed) -> dict[str, Any]:
    return {
        "id": p.oid, "code": p.code, "name": p.name, "level": p.offer, "levelName": p.label,
        "online": p.online, "fee": p.fee, "steps": _steps(p) if p.online else [],
        "submitLabel": "Thanh toán" if p.payment else "Nộp hồ sơ",
        "loginOptions": _login_options(site, p.sso),
    }


def _row(p: Listed) -> dict[str, Any]:
    return {"id": p.oid, "code": p.code, "name": p.name, "level": p.offer,
            "levelName": p.label, "online": p.online}


def _search(site: Site, params: dict[str, str]) -> web.Response:
    try:
        page, size = int(params.get("page", "0")), int(params.get("size", str(PAGE_SIZE)))
    except ValueError:
        return web.json_response({"error": "bad paging"}, status=400, outcome="bad_request")
    size = max(1, min(size, 50))
    rows = site.procedures
    chunk = rows[page * size:(page + 1) * size]
    return web.json_response({"content": [_row(p) for p in chunk], "number": page, "size": size,
                              "totalElements": len(rows),
                              "totalPages": (len(rows) + size - 1) // size})


def _config(site: Site) -> dict[str, Any]:
    return {"deploymentId": f"igate-{site.office_code.lower()}", "title": site.title,
            "apiGateway": "/pa", "keycloak": {"url": "/auth", "realm": REALM,
                                               "clientId": CLIENT_ID}}


SHELL = """<!doctype html>
<html lang="vi"><head><meta charset="utf-8"><title>Cổng dịch vụ công</title>
<base href="/vi/"><meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" type="image/x-icon" href="favicon.ico"><link rel="stylesheet" href="styles.css">
</head><body><app-root></app-root>
<noscript>Vui lòng bật JavaScript để sử dụng Cổng dịch vụ công.</noscript>
<script src="runtime.js" type="module"></script><script src="main.js" type="module"></script>
<script async src="__OFFSITE__/analytics.js"></script>
</body></html>
"""

STYLES = """@font-face{font-family:Roboto;src:url(assets/fonts/roboto.woff2) format("woff2")}
body{font-family:Roboto,Arial,sans-serif;margin:0;color:#222}
.igate-header{background:#0b4f9c;color:#fff;padding:12px 24px;display:flex;gap:16px}
.igate-header a{color:#fff}.content{padding:16px 24px}
table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:4px 8px}
.pagination{display:flex;gap:8px;list-style:none;padding:0}
.page-item.active .page-link{font-weight:bold;text-decoration:underline}
"""

# The app: plain JavaScript standing in for the Angular + Form.io bundle.
MAIN_JS = (Path(__file__).with_name("igate_app.js")).read_text(encoding="utf-8")

KEYCLOAK_PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>Đăng nhập</title></head>
<body><div id="kc-form"><form id="kc-form-login" method="post" action="/auth/realms/digo/login">
<input name="username"><input name="password" type="password"><button>Đăng nhập</button></form>
</div></body></html>"""


def respond(site: Site, path: str, params: dict[str, str]) -> web.Response:
    if path in ("/", "/vi"):
        return web.redirect("/vi/")
    if path == "/vi/assets/app.config.json":
        return web.json_response(_config(site))
    if path == "/vi/main.js":
        return web.text(MAIN_JS, web.JS_TYPE)
    if path == "/vi/runtime.js":
        return web.text("/* runtime */", web.JS_TYPE)
    if path == "/vi/styles.css":
        return web.text(STYLES, web.CSS_TYPE)
    if path.startswith("/vi/favicon") or path.startswith("/vi/assets/"):
        return web.Response(200, "application/octet-stream", b"\0" * 64, "ok")
    if path == "/pa/login-options":
        return web.json_response(_login_options(site, site.sso))
    if path == "/pa/procedure/--search":
        return _search(site, params)
    if path == "/pa/procedure/--detail":
        p = site.by_oid(params.get("id", "")) if params.get("id") else \
            site.by_code(params.get("code", ""))
        if p is None:
            return web.json_response({"error": "not found"}, status=404, outcome="not_found")
        return web.json_response(_detail(site, p))
    if path.startswith("/auth/realms/"):
        return web.page(KEYCLOAK_PAGE)
    if path.startswith("/vi/"):
        return web.page(SHELL)  # every app route: the same empty shell
    return web.not_found()
