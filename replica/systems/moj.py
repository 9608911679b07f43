"""The Ministry of Justice's civil-status system (dichvucongnganhtuphap.moj.gov.vn), replica.

Server-rendered. Routes: home ``/``; procedure list ``/dvc/thu-tuc?trang=N`` (cards
``div.tthc-item`` with ``span.ma-tthc``, ``span.muc-do`` and a "Nộp hồ sơ" link; pager
``a[rel=next]``); login ``/dang-nhap`` (VNeID link ``/dang-nhap/vneid`` when the system offers
it); the apply steps ``/dvc/nop-ho-so/<code>/buoc-1`` (declarant, "Đăng nhập để nộp hồ sơ"
block), ``buoc-2`` (lệ phí: online payment offered or not), ``buoc-3`` (confirmation whose form
would POST ``/dvc/nop-ho-so/<code>/gui``, never by the crawler).
"""

from __future__ import annotations

from typing import Any

from replica import web
from replica.provincial.site import Listed
from replica.web import esc

TITLE = "Cổng dịch vụ công Bộ Tư pháp – Đăng ký hộ tịch trực tuyến"
LIST = "/dvc/thu-tuc"
FLOW = "/dvc/nop-ho-so"
PAGE_SIZE = 5
OTHER_NAMES = ("Cấp bản sao trích lục hộ tịch", "Đăng ký nhận cha, mẹ, con",
               "Đăng ký giám hộ", "Cấp Phiếu lý lịch tư pháp")
STEPS = ("Thông tin người yêu cầu", "Lệ phí", "Xác nhận và gửi hồ sơ")


def apply_path(code: str) -> str:
    return f"{FLOW}/{code}/buoc-1"


def _layout(title: str, body: str) -> str:
    return f"""<!DOCTYPE html><html lang="vi"><head><meta charset="utf-8">
<meta name="application-name" content="dvc-btp-hotich"><title>{esc(title)} - {esc(TITLE)}</title>
</head><body class="btp-hotich"><div class="btp-top"><span class="btp-brand">{esc(TITLE)}</span>
<ul class="btp-menu"><li><a href="/">Trang chủ</a></li><li><a href="{LIST}">Thủ tục hộ tịch</a></li>
<li><a href="/dang-nhap">Đăng nhập</a></li></ul></div>
<section id="noi-dung">{body}</section>
<div class="btp-footer">Bộ Tư pháp – Hệ thống thông tin đăng ký và quản lý hộ tịch</div>
</body></html>"""


def _vneid(national: bool) -> str:
    if not national:
        return '<a class="dn-tk" href="/dang-nhap">Đăng nhập bằng tài khoản hộ tịch</a>'
    return ('<a class="dn-tk" href="/dang-nhap">Đăng nhập bằng tài khoản hộ tịch</a> '
            '<a class="dn-vneid" href="/dang-nhap/vneid?returnUrl=%2F">Đăng nhập bằng tài khoản '
            "định danh điện tử VNeID</a>")


def _listing(site: Any, params: dict[str, str]) -> web.Response:
    try:
        page = max(1, int(params.get("trang", "1")))
    except ValueError:
        page = 1
    rows = site.procedures[(page - 1) * PAGE_SIZE:page * PAGE_SIZE]
    cards = "".join(
        f'<div class="tthc-item" data-code="{esc(p.code)}"><span class="ma-tthc">{esc(p.code)}'
        f'</span><h3 class="ten-tthc">{esc(p.name)}</h3><span class="muc-do">{esc(p.label)}'
        "</span>" + (f'<a class="btn-nop" href="{esc(apply_path(p.code))}">Nộp hồ sơ</a>'
                     if p.online else "") + "</div>" for p in rows)
    more = page * PAGE_SIZE < len(site.procedures)
    pager = f'<a rel="next" href="{LIST}?trang={page + 1}">Trang tiếp</a>' if more else ""
    body = (f'<h1>Thủ tục hành chính</h1><div class="tthc-list">{cards}</div>'
            f'<nav class="phan-trang">{pager}</nav>')
    return web.page(_layout("Thủ tục", body))


def _step(p: Listed, n: int) -> str:
    items = "".join(f'<li class="{"dang-lam" if i == n else ""}">{esc(label)}</li>'
                    for i, label in enumerate(STEPS, 1))
    return (f'<h1 class="ten-tthc">{esc(p.name)}</h1><p>Mã thủ tục: {esc(p.code)} · '
            f'<span class="muc-do">{esc(p.label)}</span></p><ol class="buoc">{items}</ol>')


def _next(p: Listed, n: int) -> str:
    return f'<a class="buoc-tiep" href="{FLOW}/{p.code}/buoc-{n}">Tiếp theo</a>'


def _page(p: Listed, n: int) -> str:
    if n == 1:
        return (_step(p, 1) + '<div class="yeu-cau-dang-nhap">Đăng nhập để nộp hồ sơ: '
                f'{_vneid(p.sso)}</div><div class="to-khai"><label>Họ tên người yêu cầu '
                '<input name="hoTen"></label></div>' + _next(p, 2))
    if n == 2:
        fee = f"{p.fee:,}".replace(",", ".") + " đồng" if p.fee else "Không thu lệ phí"
        ways = '<li>Nộp trực tiếp khi nhận kết quả</li>'
        if p.payment:
            ways = ("<li>Thanh toán trực tuyến qua Nền tảng thanh toán (Cổng Dịch vụ công quốc "
                    "gia)</li>") + ways
        return (_step(p, 2) + f'<div class="le-phi-ho-tich"><p>Lệ phí: {fee}</p>'
                f'<ul class="cach-nop">{ways}</ul></div>' + _next(p, 3))
    return (_step(p, 3) + f'<form method="post" action="{FLOW}/{p.code}/gui" class="gui-ho-so">'
            '<button type="submit">Gửi hồ sơ</button></form>')


def respond(site: Any, path: str, params: dict[str, str]) -> web.Response:
    if path == "/":
        return web.page(_layout("Trang chủ", f'<h1>{esc(TITLE)}</h1><a href="{LIST}">'
                                              "Danh sách thủ tục hộ tịch</a>"))
    if path == LIST:
        return _listing(site, params)
    if path == "/dang-nhap":
        return web.page(_layout("Đăng nhập", '<div class="dang-nhap">'
                                             f"{_vneid(site.sso)}</div>"))
    parts = path.split("/")  # "", "dvc", "nop-ho-so", code, "buoc-N"
    if len(parts) == 5 and path.startswith(FLOW + "/") and parts[4].startswith("buoc-"):
        p = site.by_code(parts[3])
        n = parts[4][len("buoc-"):]
        if p is not None and p.online and n in ("1", "2", "3"):
            return web.page(_layout("Nộp hồ sơ", _page(p, int(n))))
    return web.not_found(_layout("Không tìm thấy", "<h1>Không tìm thấy thủ tục</h1>"))
