"""The eForm / ``tiep-nhan-online`` family: server-rendered, one page per apply step.

Routes: home ``/``; list ``/dich-vu-cong/danh-sach-dich-vu-cong?page=N`` (20 a page, "Mức độ"
column, "Nộp hồ sơ" links); login ``/dang-nhap`` (national sign-on link ``/dang-nhap/dvcqg``
when on); the apply flow under ``/dich-vu-cong/tiep-nhan-online/``:
``chon-truong-hop-ho-so?ma=<code>`` -> ``nhap-thong-tin-ho-so?sid=N`` ->
``nhap-le-phi-ho-so?sid=N`` (the separate fee step, when a fee is due; it offers online payment
only when the scenario says so) -> ``xac-nhan-ho-so?sid=N``, whose form would POST
``nop-ho-so`` (never by the crawler).
"""

from __future__ import annotations

from replica import web
from replica.provincial.site import Listed, Site
from replica.web import esc

PAGE_SIZE = 20
FLOW = "/dich-vu-cong/tiep-nhan-online"
LIST = "/dich-vu-cong/danh-sach-dich-vu-cong"


def apply_path(code: str) -> str:
    return f"{FLOW}/chon-truong-hop-ho-so?ma={code}"


def serves(p: Listed, path: str, params: dict[str, str]) -> bool:
    """The apply-flow pages of one procedure (by ?ma= on the first step, ?sid= after)."""
    return path.startswith(FLOW + "/") and (params.get("ma") == p.code
                                            or params.get("sid") == str(p.sid))


def _layout(site: Site, title: str, body: str) -> str:
    return f"""<!DOCTYPE html><html lang="vi"><head><meta charset="utf-8">
<title>{esc(title)} - {esc(site.title)}</title><link rel="stylesheet" href="/static/css/app.css">
</head><body class="tiep-nhan-online">
<header class="site-header"><img class="logo" src="/static/img/quoc-huy.png" alt="">
<span class="site-title">{esc(site.title)}</span>
<nav class="main-nav"><a href="/">Trang chủ</a> <a href="{LIST}">Dịch vụ công trực tuyến</a>
<a href="/tra-cuu-ho-so">Tra cứu hồ sơ</a> <a class="login" href="/dang-nhap">Đăng nhập</a></nav>
</header><main class="container">{body}</main>
<footer>Hệ thống thông tin giải quyết thủ tục hành chính {esc(site.unit_name)}
<a href="__OFFSITE__/">Cổng Dịch vụ công quốc gia</a></footer>
</body></html>"""


def _steps(p: Listed, current: str) -> str:
    names = [("chon-truong-hop-ho-so", "Chọn trường hợp hồ sơ"),
             ("nhap-thong-tin-ho-so", "Nhập thông tin hồ sơ")]
    if p.fee or p.payment:
        names.append(("nhap-le-phi-ho-so", "Nhập lệ phí hồ sơ"))
    names.append(("xac-nhan-ho-so", "Xác nhận và nộp hồ sơ"))
    items = "".join(f'<li class="step{" active" if key == current else ""}">{esc(label)}</li>'
                    for key, label in names)
    return f'<ol class="steps">{items}</ol>'


def _next(url: str) -> str:
    return f'<div class="actions"><a class="btn btn-next" href="{esc(url)}">Tiếp tục</a></div>'


def _login_links(national: bool) -> str:
    links = '<a class="btn-login" href="/dang-nhap">Đăng nhập tài khoản Cổng dịch vụ công tỉnh</a>'
    if national:
        links += (' <a class="btn-login btn-sso" href="/dang-nhap/dvcqg?redirect=%2F">'
                  "Đăng nhập bằng tài khoản Cổng Dịch vụ công quốc gia (VNeID)</a>")
    return links


def _listing(site: Site, params: dict[str, str]) -> web.Response:
    try:
        page = max(1, int(params.get("page", "1")))
    except ValueError:
        page = 1
    rows = site.procedures[(page - 1) * PAGE_SIZE:page * PAGE_SIZE]
    body = "".join(
        f'<tr><td class="ma">{esc(p.code)}</td><td class="ten">{esc(p.name)}</td>'
        f'<td class="muc-do">{esc(p.label)}</td><td>'
        + (f'<a class="nop-ho-so" href="{esc(apply_path(p.code))}">Nộp hồ sơ</a>' if p.online
           else "") + "</td></tr>" for p in rows)
    more = page * PAGE_SIZE < len(site.procedures)
    pager = f'<a class="next" href="{LIST}?page={page + 1}">Trang sau</a>' if more else ""
    html = (f'<h1>Danh sách dịch vụ công</h1><p class="tong-so">Tổng số: {len(site.procedures)}'
            f' thủ tục</p><table class="ds-thu-tuc"><thead><tr><th>Mã thủ tục</th>'
            f"<th>Tên thủ tục</th><th>Mức độ</th><th></th></tr></thead><tbody>{body}</tbody>"
            f'</table><div class="pager">Trang {page} {pager}</div>')
    return web.page(_layout(site, "Danh sách dịch vụ công", html))


def _choose(site: Site, p: Listed) -> str:
    if not p.online:
        return (f'<h1 class="ten-thu-tuc">{esc(p.name)}</h1><p>Mã thủ tục: {esc(p.code)} · '
                f'Mức độ: <span class="muc-do">{esc(p.label)}</span></p>'
                '<p class="canh-bao">Thủ tục chỉ cung cấp thông tin, chưa tiếp nhận hồ sơ '
                "trực tuyến.</p>")
    return (f'<h1 class="ten-thu-tuc">{esc(p.name)}</h1>{_steps(p, "chon-truong-hop-ho-so")}'
            f'<p>Mã thủ tục: {esc(p.code)} · Mức độ: <span class="muc-do">{esc(p.label)}</span>'
            f'</p><ul class="truong-hop"><li><label><input type="radio" name="truongHop" '
            f'checked> {esc(p.name)}</label></li></ul>'
            + _next(f"{FLOW}/nhap-thong-tin-ho-so?sid={p.sid}"))


def _info(p: Listed) -> str:
    after = "nhap-le-phi-ho-so" if p.fee or p.payment else "xac-nhan-ho-so"
    return (f'<h1 class="ten-thu-tuc">{esc(p.name)}</h1>{_steps(p, "nhap-thong-tin-ho-so")}'
            f'<div class="login-required">Bạn cần đăng nhập để nộp hồ sơ: '
            f'{_login_links(p.sso)}</div><form class="thong-tin" onsubmit="return false">'
            '<label>Họ và tên <input name="hoTen"></label><label>Số định danh cá nhân '
            '<input name="soDinhDanh"></label></form>'
            + _next(f"{FLOW}/{after}?sid={p.sid}"))


def _fee(p: Listed) -> str:
    options = '<li><label><input type="radio" name="hinhThuc" value="truc-tiep"> Nộp trực tiếp ' \
              "tại Bộ phận tiếp nhận và trả kết quả</label></li>"
    if p.payment:
        options = ('<li><label><input type="radio" name="hinhThuc" value="truc-tuyen" checked> '
                   "Thanh toán trực tuyến qua Nền tảng thanh toán của Cổng Dịch vụ công quốc gia"
                   "</label></li>") + options
    amount = f"{p.fee:,}".replace(",", ".") + " đồng" if p.fee else "Theo quy định"
    return (f'<h1 class="ten-thu-tuc">{esc(p.name)}</h1>{_steps(p, "nhap-le-phi-ho-so")}'
            f'<section class="le-phi"><p>Lệ phí: <b>{amount}</b></p>'
            f'<ul class="hinh-thuc-thanh-toan">{options}</ul></section>'
            + _next(f"{FLOW}/xac-nhan-ho-so?sid={p.sid}"))


def _confirm(p: Listed) -> str:
    return (f'<h1 class="ten-thu-tuc">{esc(p.name)}</h1>{_steps(p, "xac-nhan-ho-so")}'
            '<p>Kiểm tra lại thông tin trước khi nộp.</p>'
            f'<form method="post" action="{FLOW}/nop-ho-so"><input type="hidden" name="sid" '
            f'value="{p.sid}"><button type="submit" id="kt_gui-ho-so" class="btn btn-primary">'
            "Nộp hồ sơ</button></form>")


def _login(site: Site) -> str:
    sso = ""
    if site.sso:
        sso = ('<div class="sso"><a class="btn-sso" href="/dang-nhap/dvcqg?redirect=%2F">'
               "Đăng nhập bằng tài khoản Cổng Dịch vụ công quốc gia (VNeID)</a></div>")
    return ('<h1>Đăng nhập</h1><form method="post" action="/dang-nhap" class="login-form">'
            '<input name="username"><input name="password" type="password">'
            f"<button>Đăng nhập</button></form>{sso}")


def respond(site: Site, path: str, params: dict[str, str]) -> web.Response:
    if path == "/":
        home = (f"<h1>{esc(site.title)}</h1><p><a href=\"{LIST}\">Nộp hồ sơ trực tuyến</a></p>")
        return web.page(_layout(site, "Trang chủ", home))
    if path == LIST:
        return _listing(site, params)
    if path == "/dang-nhap":
        return web.page(_layout(site, "Đăng nhập", _login(site)))
    if path.startswith("/static/"):
        return web.Response(200, "application/octet-stream", b"\0" * 64, "ok")
    if not path.startswith(FLOW + "/"):
        return web.not_found(_layout(site, "Không tìm thấy", "<h1>Không tìm thấy trang</h1>"))
    step = path[len(FLOW) + 1:]
    p = site.by_code(params.get("ma", "")) if step == "chon-truong-hop-ho-so" else \
        site.by_sid(params.get("sid", ""))
    if p is None or (step != "chon-truong-hop-ho-so" and not p.online):
        return web.not_found(_layout(site, "Không tìm thấy", "<h1>Không tìm thấy thủ tục</h1>"))
    render = {"chon-truong-hop-ho-so": lambda: _choose(site, p),
              "nhap-thong-tin-ho-so": lambda: _info(p), "nhap-le-phi-ho-so": lambda: _fee(p),
              "xac-nhan-ho-so": lambda: _confirm(p)}.get(step)
    if render is None:
        return web.not_found()
    return web.page(_layout(site, "Nộp hồ sơ trực tuyến", render()))
