"""The site crawl's pure parts (crawler/sitewalk.py) and its plain measures (crawler/measures.py:
HTTPS and the redirect against loopback servers, the W3C report's counting)."""

from __future__ import annotations

import pytest

from core.vocab import Reason
from crawler import measures, sitewalk
from crawler.exceptions import PortalListError
from crawler.platforms.base import soup_of
from crawler.sitewalk import Walk
from tests.sitemock import MockSites

HOME = "http://127.0.0.1:8080/"


def test_links_in_document_order_absolute_once_each():
    html = ('<base href="/vi/"><a href="a">A</a><a href="/b#x">B</a><a href="/b">B again</a>'
            '<a href="#top">top</a><a href="mailto:x@y.vn">mail</a>'
            '<area href="c" alt="c"><a href="javascript:void(0)">js</a>')
    links = sitewalk.page_links(HOME, html)
    assert [link.url for link in links] == [
        "http://127.0.0.1:8080/vi/a", "http://127.0.0.1:8080/b", "http://127.0.0.1:8080/vi/c"]


def test_search_follows_pages_of_the_same_host_only_and_never_a_submission():
    html = "".join(f'<a href="{href}">{text}</a>' for href, text in [
        ("/gioi-thieu", "Giới thiệu"), ("http://127.0.0.1:9090/x", "other port"),
        ("https://example.gov.vn/", "other host"), ("/van-ban.PDF", "file"),
        ("/dang-nhap", "login page"), ("/x?returnUrl=/sso/login", "sso"),
        ("/nop-ho-so/123", "apply"), ("/thu-tuc", "Nộp hồ sơ trực tuyến"),
        ("/tai-khoan", "Đăng nhập"), ("/dang-ky", "register"), ("/thanh-toan", "pay"),
        ("/dang-ky-kinh-doanh", "business registration information")])
    found = [link.url for link in sitewalk.search_links(HOME, html, sitewalk.host_key(HOME))]
    assert found == ["http://127.0.0.1:8080/gioi-thieu",
                     "http://127.0.0.1:8080/dang-ky-kinh-doanh"]


def test_host_key_leaves_default_ports_out():
    assert sitewalk.host_key("https://A.gov.vn:443/x") == "a.gov.vn"
    assert sitewalk.host_key("http://a.gov.vn/") == sitewalk.host_key("https://a.gov.vn/")
    assert sitewalk.host_key("http://127.0.0.1:8080/") == "127.0.0.1:8080"
    assert sitewalk.normalize("HTTP://A.gov.vn:80#top") == "http://a.gov.vn/"


def test_sitemap_links_by_the_detector_patterns_accent_insensitive():
    links = [sitewalk.Link("http://h/a", "SƠ ĐỒ CỔNG"), sitewalk.Link("http://h/map", "Map"),
             sitewalk.Link("http://h/sitemap.html", "x"), sitewalk.Link("http://h/b", "Tin")]
    found = sitewalk.sitemap_links(links, ["sơ đồ (cổng|trang)"], ["sitemap"])
    assert [link.url for link in found] == ["http://h/a", "http://h/sitemap.html"]


def test_parse_sitemap_urlset_index_and_garbage():
    urlset = (b'<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
              b"<url><loc> http://h/a </loc></url><url><loc>http://h/b</loc></url></urlset>")
    index = (b'<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"><sitemap>'
             b"<loc>http://h/s1.xml</loc></sitemap></sitemapindex>")
    assert sitewalk.parse_sitemap(urlset) == (["http://h/a", "http://h/b"], [])
    assert sitewalk.parse_sitemap(index) == ([], ["http://h/s1.xml"])
    assert sitewalk.parse_sitemap(b"<html><body>404</body></html>") == ([], [])
    assert sitewalk.parse_sitemap(b"<?xml version='1.0'?><urlset><loc>") == ([], [])


def test_walk_is_breadth_first_within_the_budget_and_the_depth():
    walk = Walk(HOME, max_depth=2, max_pages=4)
    home = walk.start()
    assert (home.depth, home.via) == (0, "home")
    one = walk.frontier([(HOME + "a", "link"), (HOME + "a#x", "link"), (HOME, "link"),
                         ("http://other/", "link"), (HOME + "s", "sitemap")], 1)
    assert [(t.url, t.via) for t in one] == [(HOME + "a", "link"), (HOME + "s", "sitemap")]
    two = walk.frontier([(HOME + "a", "link"), (HOME + "b", "link"), (HOME + "c", "link")], 2)
    assert [t.url for t in two] == [HOME + "b"]  # the budget: 4 pages in all
    assert walk.full and walk.taken == 4
    walk.forget(two[0])  # a file after all: not a page searched
    assert not walk.full
    assert walk.frontier([(HOME + "d", "link")], 3) == []  # beyond the depth


def test_parse_sites_checks_every_field_and_derives_the_addresses():
    sites = sitewalk.parse_sites('[{"units": ["79"], "home": "http://127.0.1.79:81/vi/"}]')
    assert sites[0].https == "https://127.0.1.79/" and sites[0].http == "http://127.0.1.79:81/"
    assert sites[0].key == "127.0.1.79:81"
    for bad, field in [([{"units": [], "home": HOME}], "units"),
                       ([{"units": ["01"], "home": "ftp://x"}], "home"),
                       ([{"units": ["01"], "home": HOME, "https": "nope"}], "https"),
                       ([{"units": ["01"], "home": HOME, "extra": 1}], "extra")]:
        with pytest.raises(PortalListError, match=rf"DVC_SITES\[0\]\.{field}"):
            sitewalk.parse_sites(bad)


def test_derive_sites_national_then_provinces_without_shared_systems():
    portals = [
        {"url": "https://dvc.a.gov.vn/", "data": {"units": ["01"], "base": "https://dvc.a.gov.vn"}},
        {"url": "https://moj.gov.vn/", "data": {"units": [], "base": "https://moj.gov.vn",
                                                "system": {"host": "moj.gov.vn"}}},
        {"url": "https://dvc.b.gov.vn/", "data": {"units": ["79"], "base": "https://dvc.b.gov.vn"}},
    ]
    listed = [{"unit": "79", "url": "https://dvc.b.gov.vn/vi/"},
              {"unit": "80", "url": "https://dvc.b.gov.vn/vi/"}]
    sites = sitewalk.derive_sites("https://dichvucong.gov.vn", listed, portals)
    assert [(s.units, s.home) for s in sites] == [
        (("VN",), "https://dichvucong.gov.vn/"), (("01",), "https://dvc.a.gov.vn/"),
        (("79", "80"), "https://dvc.b.gov.vn/vi/")]
    assert sites[1].http == "http://dvc.a.gov.vn/"


def test_axe_counts_by_impact():
    rules = [{"id": "image-alt", "impact": "critical", "nodes": 2},
             {"id": "color-contrast", "impact": "serious", "nodes": 5},
             {"id": "x", "impact": None, "nodes": 1}]
    assert measures.axe_counts(rules) == {"minor": 1, "moderate": 0, "serious": 1, "critical": 1}


def test_count_messages_css_inside_the_page_counts_as_css():
    report = {"messages": [
        {"type": "error", "url": "file:/t/site0.html", "message": "Unclosed element “div”."},
        {"type": "error", "url": "file:/t/site0.html", "message": "CSS: “colr”: Property"},
        {"type": "error", "url": "file:/t/site0-0.css", "message": "CSS: Unknown dimension."},
        {"type": "info", "url": "file:/t/site0.html", "message": "a warning"},
        {"type": "error", "url": "file:/t/site1.html", "message": "Stray end tag."}]}
    files = {"site0.html": ("a", "markup"), "site0-0.css": ("a", "css"),
             "site1.html": ("b", "markup")}
    assert measures.count_messages(report, files) == {"a": {"markup": 1, "css": 2},
                                                      "b": {"markup": 1, "css": 0}}


def test_no_java_means_no_validator(monkeypatch):
    monkeypatch.setenv("JAVA", "/nonexistent/java")
    out = measures.run_vnu([measures.W3cInput("a", b"<!DOCTYPE html>")], timeout=5)
    assert out["a"].errors is None
    assert out["a"].failures == {"w3c_markup": Reason.NO_VALIDATOR,
                                 "w3c_css": Reason.NO_VALIDATOR}


def test_the_checker_gets_every_page_before_every_style_sheet(tmp_path, monkeypatch):
    # vnu switching between pages and style sheets file after file took five times as long
    log = tmp_path / "args"
    java = tmp_path / "java"
    java.write_text(f'#!/bin/sh\nprintf "%s\\n" "$@" > {log}\necho \'{{"messages": []}}\'\n')
    java.chmod(0o755)
    jar = tmp_path / "vnu.jar"
    jar.write_bytes(b"")
    monkeypatch.setenv("JAVA", str(java))
    inputs = [measures.W3cInput(key, b"<!DOCTYPE html>", css=[b"a{}", b"b{}"])
              for key in ("a", "b", "c")]
    out = measures.run_vnu(inputs, timeout=5, jar_setting=str(jar))
    assert all(out[key].errors == {"markup": 0, "css": 0} for key in "abc")
    files = [arg for arg in log.read_text().split() if arg.endswith((".html", ".css"))]
    kinds = [name.rsplit(".", 1)[1] for name in files]
    assert kinds == ["html"] * 3 + ["css"] * 6


@pytest.fixture(scope="module")
def mock(tmp_path_factory):
    sites = MockSites(tmp_path_factory.mktemp("tls"))
    yield sites
    sites.stop()


def https_of(mock: MockSites, n: int, timeout: float = 2) -> measures.HttpsMeasure:
    site = mock.sites_list()[n]
    return measures.measure_https(site["https"], site["http"], timeout=timeout, agent="test",
                                  ca_bundle=mock.ca_file)


def test_https_valid_certificate_and_redirect(mock):
    m = https_of(mock, 0)
    assert (m.https_ok, m.http_redirects, m.failures) == (True, True, {})


def test_https_untrusted_certificate_is_not_met_and_no_redirect(mock):
    m = https_of(mock, 1)
    assert (m.https_ok, m.http_redirects, m.failures) == (False, False, {})
    assert "certificate" in m.detail["https"]


def test_https_refused_while_http_answers_is_false(mock):
    m = https_of(mock, 2)
    assert (m.https_ok, m.http_redirects, m.failures) == (False, False, {})


def test_https_timeout_is_not_measured(mock):
    m = https_of(mock, 3, timeout=0.5)
    assert m.https_ok is None and m.failures == {"https": Reason.TIMEOUT}
    assert m.http_redirects is True


def test_https_without_the_test_ca_is_refused(mock):
    site = mock.sites_list()[0]
    m = measures.measure_https(site["https"], site["http"], timeout=2, agent="test")
    assert m.https_ok is False  # the system's trust store does not know the test CA


def test_host_down_is_not_measured(mock):
    gone = mock.refused.replace("https", "http")
    m = measures.measure_https(mock.refused, gone, timeout=2, agent="test")
    assert m.https_ok is None and m.http_redirects is None
    assert m.failures == {"https": Reason.REFUSED, "http_redirect": Reason.REFUSED}


def test_an_app_shells_base_href_resolves_its_addresses() -> None:
    shell = '<html><head><base href="/vi/"><link rel="stylesheet" href="styles.css"></head></html>'
    assert sitewalk.base_of("http://h/", soup_of(shell)) == "http://h/vi/"
    assert sitewalk.base_of("http://h/a/b", soup_of("<html></html>")) == "http://h/a/b"
