"""The Ministry of Construction's system (``dvc.moc.gov.vn``): a ministry system offices of every
province hand building permits off to.

Server-rendered, ASP.NET-style: a table ``table.tbl-dvc`` (Mã TTHC, name, "Mức độ 4/3/2",
"Nộp trực tuyến" link) paged by ``a.page-next``; the apply flow
``/DichVuCong/NopHoSo?maTTHC=<code>&buoc=N`` linked by "Tiếp tục": the declaration with its
"log in to submit" panel, the fee step ("Phí, lệ phí" with its payment choices), the
confirmation whose form would POST the dossier (never sent).
"""

from __future__ import annotations

from urllib.parse import urljoin

from bs4 import BeautifulSoup

from crawler.platforms.base import (
    ApplyPage,
    ListingPage,
    LoginFacts,
    attr,
    clean,
    code_in,
    excerpt,
    level_of,
    login_facts,
    login_in,
    norm,
    says_online_payment,
    soup_of,
    table_procedures,
)

NAME = "moc"
SYSTEM = "Bộ Xây dựng"
LISTING_PATHS = ("/DichVuCong/DanhSach",)
LOGIN_FROM = "/Account/Login"
CONFIG_PATH = ""


def matches(soup: BeautifulSoup, html: str) -> bool:
    meta = soup.find("meta", attrs={"name": "generator"})
    return (meta is not None and attr(meta, "content").startswith("MOC.DVC")) \
        or "/DichVuCong/DanhSach" in html


def listing_urls(base_url: str, root: BeautifulSoup | None = None) -> list[str]:
    return [base_url + p for p in LISTING_PATHS]


def parse_listing(url: str, html: str | bytes) -> ListingPage:
    soup = soup_of(html)
    table = soup.select_one("table.tbl-dvc") or soup
    nxt = soup.select_one("a.page-next[href]")
    return ListingPage(table_procedures(table, url),
                       urljoin(url, attr(nxt, "href")) if nxt else "")


def parse_login(url: str, html: str | bytes) -> LoginFacts | None:
    return login_in(html, url, ".login", whole_page=False)


def parse_apply(url: str, html: str | bytes) -> ApplyPage:
    soup = soup_of(html)
    main = soup.select_one("#moc-content") or soup
    text = norm(main.get_text(" "))
    wizard = main.select_one(".wizard")
    if "không tìm thấy" in text or wizard is None:
        return ApplyPage(found=False)
    fee = main.select_one("fieldset.phi-le-phi")
    form = main.select_one("form[method=post]")
    button = form.find(["button", "input"], attrs={"type": "submit"}) if form else None
    nxt = main.select_one("a.btn-continue[href]")
    login = main.select_one(".panel-login")
    level = main.select_one(".tthc-level")
    code = main.select_one(".tthc-code")
    return ApplyPage(
        found=True, code=code_in(code.get_text() if code else text),
        name=clean((main.select_one("h2") or main).get_text(" "))[:300],
        level=level_of(level.get_text() if level else ""), online=True,
        step=clean(wizard.get_text(" ")),
        fee_step=fee is not None,
        payment=fee is not None and any(says_online_payment(o.get_text(" "))
                                        for o in fee.select("option")),
        final=button is not None,
        final_button=clean(attr(button, "value") or button.get_text(" ")) if button else "",
        submit_action=urljoin(url, attr(form, "action")) if form else "",
        next_url=urljoin(url, attr(nxt, "href")) if nxt else "",
        login=login_facts(login, url) if login is not None else LoginFacts(False),
    )


def page_excerpt(kind: str, html: str | bytes) -> str:
    soup = soup_of(html)
    if kind == "apply":
        return excerpt(soup, "fieldset.phi-le-phi", ".panel-login", "form[method=post]",
                       "#moc-content")
    if kind == "login":
        return excerpt(soup, ".login", "#moc-content")
    return excerpt(soup, "table.tbl-dvc", "#moc-content")
