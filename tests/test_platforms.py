"""Platform families: fingerprints (from the page, never the host) and parsers, on the replica's
three families over real HTTP. The iGate-like family shows nothing without a browser and the
right facts with one."""

from __future__ import annotations

import urllib.request
from typing import Any

import pytest

from crawler.platforms import FAMILIES, eform, fingerprint, igate, legacy
from crawler.platforms.base import compact, level_of, login_facts, soup_of, visible_text

SMALL = "replica/scenarios/small.yaml"
UA = "Mozilla/5.0 (compatible; dvc-audit-test)"


def get(url: str) -> tuple[str, str]:
    """(final URL, body) of a plain GET (redirects followed)."""
    with urllib.request.urlopen(urllib.request.Request(url, headers={"User-Agent": UA}),
                                timeout=10) as resp:
        return resp.url, resp.read().decode()


@pytest.fixture(scope="module")
def srv(replica) -> Any:
    return replica(SMALL)


@pytest.mark.parametrize(("unit", "family", "needs_js"), [
    ("79", "igate", True), ("01", "eform", False), ("46", "legacy", False),
    ("24", "legacy", False)])
def test_fingerprint_names_the_family_from_the_home_page(srv, unit, family, needs_js):
    url, html = get(srv.portal_urls[unit] + "/")
    fp = fingerprint(url, html)
    assert (fp.family, fp.needs_js) == (family, needs_js)
    assert FAMILIES[family] is fp.module


def test_unknown_pages_match_no_family():
    assert fingerprint("http://x/", "<html><body><h1>Xin chào</h1><p>" + "chữ " * 50 +
                       "</p></body></html>").family == ""
    shell = fingerprint("http://x/", "<html><body><div id=app></div><script src=a.js></script>"
                        "</body></html>")
    assert shell.needs_js and shell.family == ""


def test_level_vocabulary():
    assert [level_of(t) for t in ("Toàn trình", "Mức độ 4", "Một phần", "mức độ 3",
                                  "Cung cấp thông tin", "Mức độ 2", "Chưa cập nhật")] == [
        "full", "full", "partial", "partial", "info", "info", ""]


def test_national_sign_on_is_a_login_link_only():
    soup = soup_of('<nav><a href="https://dichvucong.gov.vn/">Cổng Dịch vụ công quốc gia</a>'
                   '<a href="/auth/realms/digo/protocol/openid-connect/auth?x=1">Đăng nhập</a>'
                   "</nav>")
    facts = login_facts(soup, "http://p/")
    assert not facts.national and facts.realm == "digo" and len(facts.links) == 1
    soup = soup_of('<a href="/web/guest/vneidsso">Đăng nhập bằng VNeID</a>')
    assert login_facts(soup, "http://p/").national


def test_soup_helpers_read_the_tree_and_never_change_it():
    html = ('<html><body><main class="apply x" style="c"><h1>Thủ tục\x00 đăng ký</h1>'
            '<svg><path d="M0"/></svg><script>var s = "ẩn";</script><noscript>Bật JavaScript'
            '</noscript><a class="btn" href="/nop">Nộp&nbsp;hồ sơ<br/></a></main></body></html>')
    soup = soup_of(html)
    before = str(soup)
    assert visible_text(soup) == "Thủ tục đăng ký Nộp hồ sơ"  # NUL dropped, NFC kept
    main = soup.select_one("main")
    assert compact(main) == ("<main><h1>Thủ tục đăng ký</h1><noscript>Bật JavaScript</noscript>"
                             '<a href="/nop">Nộp hồ sơ<br/></a></main>')
    assert str(soup) == before  # compact and visible_text worked beside the page's tree
    assert soup_of(html.encode()) is soup  # the same page (bytes or text): the same tree
    assert soup_of("<p>autre</p>") is not soup and soup_of("<p>autre</p>").p.text == "autre"


# ----------------------------------------------------------------------------- eForm


def test_eform_listing_login_and_apply_flow(srv):
    base = srv.portal_urls["01"]
    listing = eform.parse_listing(*get(base + eform.LISTING_PATHS[0]))
    levels = {p.code: p.level for p in listing.procedures}
    assert levels["1.013236" if "1.013236" in levels else "1.013225"] == "full"
    assert levels["2.001610"] == "partial" and levels["1.001776"] == "info"
    assert listing.total == len(srv.sites["01"].procedures) and not listing.next_url
    assert all(p.apply_url for p in listing.procedures if p.level in ("partial", "full"))
    assert not any(p.apply_url for p in listing.procedures if p.level == "info")
    login = eform.parse_login(*get(base + eform.LOGIN_FROM))
    assert login.national  # Hà Nội's portal offers the national sign-on
    # building permit: choose case -> data -> the separate fee step (online payment) -> confirm
    url = next(p.apply_url for p in listing.procedures if p.code in ("1.013225", "1.013236"))
    seen = []
    while url:
        page = eform.parse_apply(*get(url))
        seen.append(page)
        url = page.next_url
    assert [p.step for p in seen] == ["Chọn trường hợp hồ sơ", "Nhập thông tin hồ sơ",
                                      "Nhập lệ phí hồ sơ", "Xác nhận và nộp hồ sơ"]
    assert [p.payment for p in seen] == [False, False, True, False]
    assert seen[1].login.national
    assert seen[-1].final and seen[-1].final_button == "Nộp hồ sơ"
    assert seen[-1].submit_action.endswith("/dich-vu-cong/tiep-nhan-online/nop-ho-so")
    # civil service: a fee step, but no online payment among its options
    url = next(p.apply_url for p in listing.procedures if p.code == "1.014111")
    pages = []
    while url:
        pages.append(eform.parse_apply(*get(url)))
        url = pages[-1].next_url
    assert any(p.fee_step for p in pages) and not any(p.payment for p in pages)


# ----------------------------------------------------------------------------- legacy


def test_legacy_lists_by_level_and_one_page_apply(srv):
    base = srv.portal_urls["46"]
    home_url, home = get(base + "/")
    urls = legacy.listing_urls(base, soup_of(home))
    assert [legacy.level_hint(u) for u in urls] == ["info", "partial", "full"]
    seen: dict[str, str] = {}
    for url in urls:
        while url:
            page = legacy.parse_listing(*get(url))
            seen.update({p.code: p.level for p in page.procedures})
            url = page.next_url
    assert seen["1.012783"] == "full" and seen["1.001193"] == "info"
    assert seen["3.000182"] == "full"
    assert not legacy.parse_login(home_url, home).national  # Huế: no national sign-on
    building = next(c for c in seen if c in ("1.013225", "1.013236"))
    apply = legacy.parse_apply(*get(f"{base}{'/web/guest/eform'}?ma={building}"))
    assert apply.online and apply.level == "partial" and apply.final
    assert apply.final_button == "Gửi hồ sơ" and not apply.payment and not apply.login.national
    url, html = get(srv.portal_urls["24"] + "/")
    assert legacy.parse_login(url, html).national  # Bắc Ninh: /web/guest/vneidsso


# ----------------------------------------------------------------------------- iGate


def test_igate_without_a_browser_yields_nothing(srv):
    base = srv.portal_urls["79"]
    for path in ("/vi/procedure", "/vi/nps/apply?ma=1.013225", "/vi/"):
        url, html = get(base + path)
        assert fingerprint(url, html).needs_js
        assert igate.parse_listing(url, html).procedures == []
        apply = igate.parse_apply(url, html)
        assert not apply.online and not apply.steps and not apply.payment and not apply.final
        assert not igate.parse_login(url, html)
        assert "1.013225" not in html and "Thanh toán" not in html
    config = igate.parse_config(get(base + igate.CONFIG_PATH)[1])  # plain JSON, no content
    assert config["realm"] == "digo"


@pytest.mark.browser
def test_igate_with_a_browser_yields_the_facts(srv):
    from playwright.sync_api import sync_playwright

    from crawler.browser import launch_options

    base = srv.portal_urls["79"]
    with sync_playwright() as pw:
        browser = pw.chromium.launch(**launch_options())
        try:
            page = browser.new_page()
            page.goto(base + "/vi/procedure")
            page.wait_for_function(igate.READY_JS)
            listing_html = page.content()
            url = base + "/vi/nps/apply?ma=" + next(
                c for c in ("1.013225", "1.013236") if c in listing_html)
            page.goto(url)
            page.wait_for_function(igate.READY_JS)
            first = igate.parse_apply(url, page.content())
            steps = _run(igate.walk, page)
            last = igate.parse_apply(url, page.content())
        finally:
            browser.close()
    listing = igate.parse_listing(base + "/vi/procedure", listing_html)
    levels = {p.code: p.level for p in listing.procedures}
    assert levels["1.000894"] == "full" and levels["1.001193"] == "partial"
    assert levels["1.012783"] == "info" and listing.total == len(listing.procedures)
    login = igate.parse_login(base, listing_html)
    assert login.national and login.realm == "digo"
    assert first.online and first.level == "full" and not first.final
    assert steps == ["Thông tin người nộp", "Thành phần hồ sơ", "Phí, lệ phí", "Xác nhận"]
    assert last.final and last.final_button == "Thanh toán" and last.payment
    assert last.login.national
    assert not srv.posts(site="79")  # the wizard was walked, never submitted


def _run(walk: Any, page: Any) -> list[str]:
    """igate.walk is async (for scrapy-playwright); run its script on a sync page."""
    return page.evaluate(igate.WALK_JS, igate.MAX_STEPS)
