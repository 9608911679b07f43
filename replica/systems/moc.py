"""The Ministry of Construction's online public service system (dvc.moc.gov.vn), replica.

Server-rendered, ASP.NET-style routes. Home ``/``; list ``/DichVuCong/DanhSach?page=N``
(``table.tbl-dvc``: Mã TTHC, Tên, "Mức độ 4" / "Mức độ 3" / "Mức độ 2", "Nộp trực tuyến" link;
pager ``a.page-next``); login ``/Account/Login`` (VNeID ``/Account/VNeID`` when offered); the
apply steps ``/DichVuCong/NopHoSo?maTTHC=<code>&buoc=1..3``: the declaration with a
"log in to submit" panel, the fee step ("Phí, lệ phí": online payment offered or not), the
confirmation whose form would POST ``/DichVuCong/NopHoSo/Submit`` (never by the crawler).
"""

from __future__ import annotations

from typing import Any

from replica import web
from replica.provincial.site import Listed
from replica.web import esc

TITLE = "Hệ thống dịch vụ công trực tuyến Bộ Xây dựng"
LIST = "/DichVuCong/DanhSach"
FLOW = "/DichVuCong/NopHoSo"
PAGE_SIZE = 10
OTHER_NAMES = ("Cấp chứng chỉ hành nghề hoạt động xây dựng", "Cấp giấy phép thầu",
               "Thẩm định báo cáo nghiên cứu khả thi", "Cấp chứng chỉ năng lực")
LEVELS = {"info": "Mức độ 2", "partial": "Mức độ 3", "full": "Mức độ 4"}


def apply_path(code: str) -> str:
    return f"{FLOW}?maTTHC={code}&buoc=1"


def _layout(title: str, body: str) -> str:
    return f"""<!DOCTYPE html><html lang="vi"><head><meta charset="utf-8">
<meta name="generator" content="MOC.DVC"><title>{esc(title)} | {esc(TITLE)}</title></head>
<body><div id="moc-header"><b>{esc(TITLE)}</b> <a href="/">Trang chủ</a>
<a href="{LIST}">Dịch vụ công</a> <a href="/Account/Login">Đăng nhập</a></div>
<div id="moc-content">{body}</div><div id="moc-footer">Bộ Xây dựng</div></body></html>"""


def _login_panel(national: bool) -> str:
    links = '<a href="/Account/Login">Đăng nhập tài khoản doanh nghiệp/cá nhân</a>'
    if national:
        links += (' <a class="vneid" href="/Account/VNeID">Đăng nhập bằng VNeID (tài khoản '
                  "định danh điện tử)</a>")
    return links


def _listing(site: Any, params: dict[str, str]) -> web.Response:
    try:
        page = max(1, int(params.get("page", "1")))
    except ValueError:
        page = 1
    rows = site.procedures[(page - 1) * PAGE_SIZE:page * PAGE_SIZE]
    body = "".join(
        f"<tr><td>{esc(p.code)}</td><td>{esc(p.name)}</td><td>{esc(LEVELS[p.offer])}</td><td>"
        + (f'<a class="nop-tt" href="{esc(apply_path(p.code))}">Nộp trực tuyến</a>' if p.online
           else "") + "</td></tr>" for p in rows)
    more = page * PAGE_SIZE < len(site.procedures)
    pager = f'<a class="page-next" href="{LIST}?page={page + 1}">&raquo;</a>' if more else ""
    html = ('<table class="tbl-dvc"><tr><th>Mã TTHC</th><th>Tên thủ tục</th><th>Mức độ</th>'
            f"<th></th></tr>{body}</table><div class=\"paging\">{pager}</div>")
    return web.page(_layout("Danh sách dịch vụ công", html))


def _head(p: Listed, n: int) -> str:
    return (f'<h2 class="tthc-name">{esc(p.name)}</h2><div class="tthc-code">Mã TTHC: '
            f'{esc(p.code)}</div><div class="tthc-level">{esc(LEVELS[p.offer])}</div>'
            f'<div class="wizard" data-step="{n}">Bước {n}/3</div>')


def _continue(p: Listed, n: int) -> str:
    return f'<a class="btn-continue" href="{FLOW}?maTTHC={p.code}&amp;buoc={n}">Tiếp tục</a>'


def _page(p: Listed, n: int) -> str:
    if n == 1:
        return (_head(p, 1) + '<div class="panel-login">Bạn cần đăng nhập để nộp hồ sơ: '
                f"{_login_panel(p.sso)}</div>" + _continue(p, 2))
    if n == 2:
        fee = f"{p.fee:,}".replace(",", ".") + " VNĐ" if p.fee else "Theo quy định"
        ways = '<option value="tructiep">Nộp tại bộ phận một cửa</option>'
        if p.payment:
            ways = ('<option value="online">Thanh toán trực tuyến (Cổng Dịch vụ công quốc gia)'
                    "</option>") + ways
        return (_head(p, 2) + f'<fieldset class="phi-le-phi"><legend>Phí, lệ phí</legend>'
                f'<p>{fee}</p><select name="hinhThucNop">{ways}</select></fieldset>'
                + _continue(p, 3))
    return (_head(p, 3) + f'<form method="post" action="{FLOW}/Submit"><input type="submit" '
            'value="Nộp hồ sơ"></form>')


def respond(site: Any, path: str, params: dict[str, str]) -> web.Response:
    if path == "/":
        return web.page(_layout("Trang chủ", f'<a href="{LIST}">Danh sách dịch vụ công</a>'))
    if path == LIST:
        return _listing(site, params)
    if path == "/Account/Login":
        return web.page(_layout("Đăng nhập", f'<div class="login">{_login_panel(site.sso)}'
                                             "</div>"))
    if path == FLOW:
        p = site.by_code(params.get("maTTHC", ""))
        n = params.get("buoc", "1")
        if p is not None and p.online and n in ("1", "2", "3"):
            return web.page(_layout("Nộp hồ sơ", _page(p, int(n))))
    return web.not_found(_layout("Không tìm thấy", "<p>Không tìm thấy thủ tục</p>"))
