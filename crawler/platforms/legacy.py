"""Older Liferay / ASP.NET portlet portals: server-rendered lists filtered by level (``_mucDo``).

Recognised by Liferay portlet markers (``p_p_id=``, ``/web/guest/``) with a ``_mucDo`` list
link. The list link found on the home page is requested once per level (2 = information, 3 =
một phần, 4 = toàn trình), following "Trang sau"; a procedure's level is the list it is in. The
apply page (``/web/guest/eform``) is one page: form, fee section, sign-on notice.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

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

NAME = "legacy"
LOGIN_FROM = "root"  # the header of every page carries the sign-in links
CONFIG_PATH = ""
LEVELS = {"2": "info", "3": "partial", "4": "full"}
MUC_DO = re.compile(r"_mucDo$")


def matches(soup: BeautifulSoup, html: str) -> bool:
    return ("p_p_id" in html or "/web/guest/" in html) and "_mucDo" in html


def _list_link(root: Tag, base_url: str) -> str:
    for a in root.find_all("a", href=True):
        if "_mucDo" in attr(a, "href"):
            return urljoin(base_url, attr(a, "href"))
    return ""


def listing_urls(base_url: str, root: BeautifulSoup | None = None) -> list[str]:
    """The home page's list link, once per level (`_mucDo` = 2, 3, 4), first page each."""
    link = _list_link(root, base_url) if root is not None else ""
    if not link:
        return []
    parts = urlsplit(link)
    out = []
    for level in LEVELS:
        query = [(k, level if MUC_DO.search(k) else v) for k, v in parse_qsl(
            parts.query, keep_blank_values=True) if not k.endswith("_cur")]
        out.append(urlunsplit(parts._replace(query=urlencode(query))))
    return out


def level_hint(url: str) -> str:
    for k, v in parse_qsl(urlsplit(url).query, keep_blank_values=True):
        if MUC_DO.search(k):
            return LEVELS.get(v, "")
    return ""


def parse_listing(url: str, html: str | bytes) -> ListingPage:
    soup = soup_of(html)
    content = soup.select_one("#content") or soup
    return ListingPage(table_procedures(content, url, level_hint(url)),
                       next_link(content, url), total_in(content.get_text(" ")))


def parse_login(url: str, html: str | bytes) -> LoginFacts | None:
    return login_in(html, url, "header, #banner, .user-links")


def parse_apply(url: str, html: str | bytes) -> ApplyPage:
    soup = soup_of(html)
    content = soup.select_one("#content") or soup
    text = norm(content.get_text(" "))
    if "không tìm thấy" in text:
        return ApplyPage(found=False)
    form = content.find("form", attrs={"method": re.compile("post", re.I)})
    fee = next((f for f in content.find_all("fieldset")
                if "lệ phí" in norm((f.find("legend") or f).get_text(" "))), None)
    options = [clean(x.get_text(" ")) for x in fee.find_all("label")] if fee else []
    button = form.find(["input", "button"], attrs={"type": "submit"}) if form else None
    label = (attr(button, "value") or clean(button.get_text(" "))) if button else ""
    steps = [clean(lg.get_text(" ")) for lg in form.find_all("legend")] if form else []
    level_el = content.select_one(".muc-do")
    notice = content.select_one(".portlet-msg-info")
    return ApplyPage(
        found=True,
        code=code_in(text),
        name=clean((content.select_one("h2") or content).get_text(" "))[:300],
        level=level_of(level_el.get_text() if level_el else text),
        online=form is not None,
        steps=steps,
        step=steps[-1] if steps else "",
        fee_step=fee is not None,
        payment=any(says_online_payment(o) for o in options),
        final=button is not None,
        final_button=clean(label),
        submit_action=urljoin(url, attr(form, "action")) if form else "",
        login=login_facts(notice, url) if notice is not None else LoginFacts(False),
    )


def page_excerpt(kind: str, html: str | bytes) -> str:
    soup = soup_of(html)
    if kind == "apply":
        return excerpt(soup, "form.eform", "#content")
    if kind == "login":
        return excerpt(soup, ".user-links", "header")
    return excerpt(soup, "table", "#content")
