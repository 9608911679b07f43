"""eForm / ``tiep-nhan-online`` portals: server-rendered, one page per apply step.

Recognised by links into ``/dich-vu-cong/tiep-nhan-online/`` or the eForm ``/nop-ho-so``
routes. The apply flow is walked by its "Tiếp tục" GET links: choose the case, enter the data,
the separate fee step ``nhap-le-phi-ho-so`` (online payment is one of its options, or not), and
the confirmation page whose form would POST the dossier (never sent).
"""

from __future__ import annotations

from urllib.parse import urljoin

from bs4 import BeautifulSoup, Tag

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
    next_link,
    norm,
    says_online_payment,
    soup_of,
    table_procedures,
    total_in,
)

NAME = "eform"
LISTING_PATHS = ("/dich-vu-cong/danh-sach-dich-vu-cong",)
LOGIN_FROM = "/dang-nhap"
CONFIG_PATH = ""
FEE_STEP = "nhap-le-phi-ho-so"


def matches(soup: BeautifulSoup, html: str) -> bool:
    hrefs = " ".join(attr(a, "href") for a in soup.find_all("a", href=True))
    return "/dich-vu-cong/" in hrefs and ("tiep-nhan-online" in html or "/nop-ho-so" in html
                                          or "danh-sach-dich-vu-cong" in hrefs)


def listing_urls(base_url: str, root: BeautifulSoup | None = None) -> list[str]:
    return [base_url + p for p in LISTING_PATHS]


def parse_listing(url: str, html: str | bytes) -> ListingPage:
    soup = soup_of(html)
    return ListingPage(table_procedures(soup, url), next_link(soup, url),
                       total_in(soup.get_text(" ")))


def parse_login(url: str, html: str | bytes) -> LoginFacts | None:
    return login_in(html, url, "main", whole_page=True)


def _next(soup: Tag, url: str) -> str:
    for a in soup.find_all("a", href=True):
        if "btn-next" in (a.get("class") or []) or norm(a.get_text()) in ("tiếp tục",
                                                                         "tiếp theo"):
            return urljoin(url, attr(a, "href"))
    return ""


def parse_apply(url: str, html: str | bytes) -> ApplyPage:
    soup = soup_of(html)
    main = soup.select_one("main") or soup
    text = norm(main.get_text(" "))
    if "không tìm thấy" in text:
        return ApplyPage(found=False)
    steps = [clean(li.get_text(" ")) for li in main.select("ol.steps li")]
    active = main.select_one("ol.steps li.active")
    fee = main.select_one(".le-phi")
    options = [clean(li.get_text(" ")) for li in fee.select("li, label")] if fee else []
    form = next((f for f in main.find_all("form")
                 if attr(f, "method").lower() == "post"), None)
    button = form.find(["button", "input"], attrs={"type": "submit"}) if form else None
    label = (clean(button.get_text(" ")) or attr(button, "value")) if button else ""
    level_el = main.select_one(".muc-do")
    login_scope = main.select_one(".login-required")
    return ApplyPage(
        found=True,
        code=code_in(text),
        name=clean((main.select_one("h1") or main).get_text(" "))[:300],
        level=level_of(level_el.get_text() if level_el else ""),
        online=bool(steps) and "chỉ cung cấp thông tin" not in text,
        steps=steps,
        step=clean(active.get_text(" ")) if active else "",
        fee_step=FEE_STEP in url or fee is not None,
        payment=any(says_online_payment(o) for o in options),
        final=button is not None,
        final_button=clean(label),
        submit_action=urljoin(url, attr(form, "action")) if form else "",
        next_url=_next(main, url),
        login=login_facts(login_scope, url) if login_scope is not None else LoginFacts(False),
    )


def page_excerpt(kind: str, html: str | bytes) -> str:
    soup = soup_of(html)
    if kind == "apply":
        return excerpt(soup, ".le-phi", ".login-required", "form[method=post]", "main")
    if kind == "login":
        return excerpt(soup, ".sso", "main")
    return excerpt(soup, "table", "main")
