"""The Ministry of Justice's civil-status system (``dichvucongnganhtuphap.moj.gov.vn``): a
ministry system offices of every province hand birth, death and marriage registration off to.

Server-rendered: a card list of procedures (``div.tthc-item``: code, name, level, "Nộp hồ sơ"
link) paged by ``a[rel=next]``; the apply flow's steps are pages linked by "Tiếp theo"
(declarant with its "log in to submit" block, the fee step, the confirmation whose form would
POST the dossier: never sent). Recognised by its ``application-name`` or its card list.
"""

from __future__ import annotations

from urllib.parse import urljoin

from bs4 import BeautifulSoup

from crawler.platforms.base import (
    ApplyPage,
    ListedProcedure,
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
)

NAME = "moj"
SYSTEM = "Bộ Tư pháp"  # the ministry whose system this is (a shared system, not a portal)
LISTING_PATHS = ("/dvc/thu-tuc",)
LOGIN_FROM = "/dang-nhap"
CONFIG_PATH = ""


def matches(soup: BeautifulSoup, html: str) -> bool:
    meta = soup.find("meta", attrs={"name": "application-name"})
    return (meta is not None and attr(meta, "content").startswith("dvc-btp")) \
        or soup.select_one("div.tthc-list, body.btp-hotich") is not None


def listing_urls(base_url: str, root: BeautifulSoup | None = None) -> list[str]:
    return [base_url + p for p in LISTING_PATHS]


def parse_listing(url: str, html: str | bytes) -> ListingPage:
    soup = soup_of(html)
    out = []
    for card in soup.select("div.tthc-item"):
        code = code_in(attr(card, "data-code") or card.get_text(" "))
        if not code:
            continue
        link = card.select_one("a.btn-nop[href]")
        level = card.select_one(".muc-do")
        name = card.select_one(".ten-tthc")
        out.append(ListedProcedure(code=code, name=clean(name.get_text(" ") if name else ""),
                                   level=level_of(level.get_text() if level else ""),
                                   apply_url=urljoin(url, attr(link, "href")) if link else ""))
    nxt = soup.select_one("a[rel=next][href]")
    return ListingPage(out, urljoin(url, attr(nxt, "href")) if nxt else "")


def parse_login(url: str, html: str | bytes) -> LoginFacts | None:
    return login_in(html, url, ".dang-nhap", whole_page=False)


def parse_apply(url: str, html: str | bytes) -> ApplyPage:
    soup = soup_of(html)
    main = soup.select_one("#noi-dung") or soup
    text = norm(main.get_text(" "))
    if "không tìm thấy" in text or main.select_one("ol.buoc") is None:
        return ApplyPage(found=False)
    steps = [clean(li.get_text(" ")) for li in main.select("ol.buoc li")]
    active = main.select_one("ol.buoc li.dang-lam")
    fee = main.select_one(".le-phi-ho-tich")
    form = main.select_one("form[method=post]")
    button = form.find(["button", "input"], attrs={"type": "submit"}) if form else None
    nxt = main.select_one("a.buoc-tiep[href]")
    login = main.select_one(".yeu-cau-dang-nhap")
    level = main.select_one(".muc-do")
    return ApplyPage(
        found=True, code=code_in(text),
        name=clean((main.select_one("h1") or main).get_text(" "))[:300],
        level=level_of(level.get_text() if level else ""), online=True, steps=steps,
        step=clean(active.get_text(" ")) if active else "",
        fee_step=fee is not None,
        payment=fee is not None and any(says_online_payment(li.get_text(" "))
                                        for li in fee.select("li")),
        final=button is not None,
        final_button=clean(button.get_text(" ") or attr(button, "value")) if button else "",
        submit_action=urljoin(url, attr(form, "action")) if form else "",
        next_url=urljoin(url, attr(nxt, "href")) if nxt else "",
        login=login_facts(login, url) if login is not None else LoginFacts(False),
    )


def page_excerpt(kind: str, html: str | bytes) -> str:
    soup = soup_of(html)
    if kind == "apply":
        return excerpt(soup, ".le-phi-ho-tich", ".yeu-cau-dang-nhap", "form[method=post]",
                       "#noi-dung")
    if kind == "login":
        return excerpt(soup, ".dang-nhap", "#noi-dung")
    return excerpt(soup, ".tthc-list", "#noi-dung")
