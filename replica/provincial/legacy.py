"""The older Liferay ``uniportal`` portal: server-rendered lists filtered by level (``_mucDo``).

Home ``/`` redirects to ``/web/guest/trang-chu``, whose header carries the login links (the
national sign-on at ``/web/guest/vneidsso`` when on). The list
``/web/guest/dich-vu-cong-truc-tuyen?p_p_id=thutuchanhchinh_WAR_uniportalportlet&..._mucDo=N``
shows the procedures of level N (2 = information, 3 = một phần, 4 = toàn trình; empty = all), 15
a page (``..._cur=N``). Online procedures link to ``/web/guest/eform?ma=<code>``: one page with
the form, a fee section (online payment when on), the sign-on notice, and a form that would POST
the dossier.
"""

from __future__ import annotations

from urllib.parse import urlencode

from replica import web
from replica.provincial.site import Listed, Site
from replica.web import esc

PAGE_SIZE = 15
PORTLET = "thutuchanhchinh_WAR_uniportalportlet"
NS = f"_{PORTLET}_"
LIST = "/web/guest/dich-vu-cong-truc-tuyen"
MUC_DO = {"info": "2", "partial": "3", "full": "4"}


def apply_path(code: str) -> str:
    return f"/web/guest/eform?ma={code}"


def serves(p: Listed, path: str, params: dict[str, str]) -> bool:
    """The one eform page of a procedure."""
    return path == "/web/guest/eform" and params.get("ma") == p.code


def list_url(muc_do: str = "", cur: int = 1) -> str:
    query = {"p_p_id": PORTLET, "p_p_lifecycle": "0", f"{NS}mucDo": muc_do,
             f"{NS}capThucHien": "", f"{NS}cur": str(cur)}
    return f"{LIST}?{urlencode(query)}"


def _layout(site: Site, title: str, body: str) -> str:
    sso = ('<a class="vneid-login" href="/web/guest/vneidsso">Đăng nhập bằng VNeID</a>'
           if site.sso else "")
    return f"""<!DOCTYPE html><html class="ltr" dir="ltr" lang="vi-VN"><head>
<title>{esc(title)} - {esc(site.title)}</title><meta charset="utf-8">
<link href="/o/uniportal-theme/css/main.css" rel="stylesheet">
<script>var Liferay = {{ThemeDisplay: {{getPathMain: function() {{ return '/c'; }}}}}};</script>
</head><body class="controls-visible guest-site signed-out public-page site">
<div id="wrapper"><header id="banner"><h1 class="site-title">{esc(site.title)}</h1>
<div class="user-links"><a href="/c/portal/login">Đăng nhập</a> {sso}</div>
<nav id="navigation"><a href="/web/guest/trang-chu">Trang chủ</a>
<a href="{esc(list_url())}">Dịch vụ công trực tuyến</a></nav></header>
<section id="content"><div id="p_p_id{NS}" class="portlet-boundary portlet-boundary{NS}">
{body}</div></section>
<footer><a href="__OFFSITE__/">Cổng Dịch vụ công quốc gia</a></footer></div></body></html>"""


def _listing(site: Site, params: dict[str, str]) -> web.Response:
    muc_do = params.get(f"{NS}mucDo", "")
    try:
        cur = max(1, int(params.get(f"{NS}cur", "1") or "1"))
    except ValueError:
        cur = 1
    rows = [p for p in site.procedures if not muc_do or MUC_DO[p.offer] == muc_do]
    chunk = rows[(cur - 1) * PAGE_SIZE:cur * PAGE_SIZE]
    body = "".join(
        f"<tr><td>{(cur - 1) * PAGE_SIZE + i}</td><td class=\"ma-thu-tuc\">{esc(p.code)}</td>"
        f"<td class=\"ten-thu-tuc\">{esc(p.name)}</td><td class=\"muc-do\">Mức độ "
        f"{MUC_DO[p.offer]}</td><td>"
        + (f'<a href="{esc(apply_path(p.code))}">Nộp hồ sơ</a>' if p.online else "")
        + "</td></tr>" for i, p in enumerate(chunk, 1))
    more = cur * PAGE_SIZE < len(rows)
    pager = f'<a class="next" href="{esc(list_url(muc_do, cur + 1))}">Trang sau</a>' if more \
        else ""
    html = (f'<h2>Danh sách dịch vụ công trực tuyến</h2><form class="filter">Mức độ: '
            f'<select name="{NS}mucDo"><option value="">Tất cả</option><option value="2">Mức độ'
            ' 2</option><option value="3">Mức độ 3</option><option value="4">Mức độ 4</option>'
            f'</select></form><p class="total">Có {len(rows)} thủ tục</p>'
            '<table class="table taglib-search-iterator"><thead><tr><th>STT</th>'
            "<th>Mã thủ tục</th><th>Tên thủ tục</th><th>Mức độ</th><th></th></tr></thead>"
            f'<tbody>{body}</tbody></table><div class="lfr-pagination">{pager}</div>')
    return web.page(_layout(site, "Dịch vụ công trực tuyến", html))


def _eform(site: Site, p: Listed) -> str:
    if not p.online:
        return (f'<h2 class="ten-thu-tuc">{esc(p.name)}</h2><p>Mức độ {MUC_DO[p.offer]}: '
                "thủ tục chưa được cung cấp trực tuyến.</p>")
    sso = ('<a class="vneid-login" href="/web/guest/vneidsso">Đăng nhập bằng tài khoản định '
           "danh điện tử VNeID</a>") if p.sso else ""
    fee = ""
    if p.fee or p.payment:
        online = ('<label><input type="radio" name="thanhToan" value="online" checked> '
                  "Thanh toán trực tuyến</label>") if p.payment else ""
        amount = f"{p.fee:,}".replace(",", ".")
        fee = (f'<fieldset class="le-phi"><legend>Bước 3: Lệ phí</legend><p>Mức thu: '
               f'{amount} đồng</p>{online}<label><input type="radio" name="thanhToan" '
               'value="offline"> Nộp khi nhận kết quả</label></fieldset>')
    return (f'<h2 class="ten-thu-tuc">{esc(p.name)}</h2><p>Mã thủ tục: {esc(p.code)} · '
            f'<span class="muc-do">Mức độ {MUC_DO[p.offer]}</span></p>'
            f'<div class="portlet-msg-info">Đăng nhập để gửi hồ sơ: '
            f'<a href="/c/portal/login">Tài khoản cổng tỉnh</a> {sso}</div>'
            f'<form class="eform" method="post" action="/web/guest/eform?p_p_lifecycle=1">'
            '<fieldset><legend>Bước 1: Thông tin người nộp</legend><input name="hoTen">'
            '</fieldset><fieldset><legend>Bước 2: Thành phần hồ sơ</legend><input type="file" '
            f'name="tepDinhKem"></fieldset>{fee}<input type="submit" class="btn" '
            'value="Gửi hồ sơ"></form>')


def respond(site: Site, path: str, params: dict[str, str]) -> web.Response:
    if path == "/":
        return web.redirect("/web/guest/trang-chu")
    if path == "/web/guest/trang-chu":
        body = f'<p><a href="{esc(list_url())}">Danh sách dịch vụ công trực tuyến</a></p>'
        return web.page(_layout(site, "Trang chủ", body))
    if path == LIST:
        return _listing(site, params)
    if path == "/web/guest/eform":
        p = site.by_code(params.get("ma", ""))
        if p is None:
            return web.not_found(_layout(site, "Lỗi", "<p>Không tìm thấy thủ tục.</p>"))
        return web.page(_layout(site, "Nộp hồ sơ trực tuyến", _eform(site, p)))
    if path.startswith("/o/"):
        return web.text("", web.CSS_TYPE)
    return web.not_found(_layout(site, "Lỗi", "<p>Trang không tồn tại.</p>"))
