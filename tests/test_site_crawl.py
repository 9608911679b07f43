"""The `site` spider against mock sites on loopback (tests/sitemock.py): the pages searched
(depths, via, budget, a failed page, nothing past depth 2, no login or submission link, no
POST), the home page rendered in Chromium (a JavaScript-only home page's links searched), and
the measures (width and viewport meta, axe-core, HTTPS valid/untrusted/refused/timeout, the
redirect, the W3C checker); without a browser and without Java, what could not be measured says
why."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from core import store
from core.vocab import Reason
from crawler import phases
from crawler.measures import find_java
from crawler.runner import crawl, go, prestart
from tests.sitemock import MockSites

pytestmark = pytest.mark.slow


def crawl_sites(mock: MockSites, out: Path, **settings: Any
                ) -> tuple[list[dict], dict[str, Any], dict[str, bytes]]:
    """The site spider alone on the mock sites; (evidence, its stats, DOM bodies by hash)."""
    db = store.open_db(out / "audit.db")
    run_id = store.start_run(db, target="mock", rubric_version="t", engine_version="t")
    code = crawl("site", "http://127.0.0.1:9", out / "audit.db", run_id, quiet=True, overrides={
        "DVC_SITES": mock.sites_list(), "DVC_CA_BUNDLE": mock.ca_file, "DOWNLOAD_TIMEOUT": 3,
        **settings})
    assert code == 0
    stats = json.loads(store.get_run(db, run_id)["stats"])["site"]
    bodies = {r["sha256"]: r["body"] for r in db["responses"].rows}
    return store.load_evidence(db, run_id), stats, bodies


def pages_of(evidence: list[dict], unit: str) -> list[dict]:
    return [e for e in evidence if e["kind"] == "site_page" and e["data"]["units"] == [unit]]


def measure_of(evidence: list[dict], unit: str) -> dict[str, Any]:
    (found,) = [e["data"] for e in evidence
                if e["kind"] == "site_measure" and e["data"]["units"] == [unit]]
    return found


def paths(pages: list[dict]) -> dict[str, tuple[int, str, str]]:
    """path -> (depth, via, reason)"""
    return {"/" + e["url"].split("/", 3)[3]: (e["data"]["depth"], e["data"]["via"], e["reason"])
            for e in pages}


@pytest.fixture(scope="module")
def mock(tmp_path_factory):
    sites = MockSites(tmp_path_factory.mktemp("mock"))
    yield sites
    sites.stop()


@pytest.fixture(scope="module")
def with_browser(mock, tmp_path_factory):
    for site in mock.sites.values():
        site.hits.clear()
    return crawl_sites(mock, tmp_path_factory.mktemp("browser"))


@pytest.mark.browser
def test_pages_searched_to_depth_two_breadth_first(with_browser, mock):
    evidence, stats, _ = with_browser
    assert stats["item_scraped_count"] == len(evidence) == stats["site/pages"] + 4
    found = paths(pages_of(evidence, "01"))
    assert found == {
        "/": (0, "home", ""),
        "/gioi-thieu": (1, "link", ""), "/tin-tuc": (1, "link", ""),
        "/so-do-trang": (1, "link", ""), "/hong": (1, "link", Reason.HTTP_5XX),
        "/tu-so-do-trang": (1, "sitemap", ""),  # listed by the sitemap page the home links to
        "/tu-sitemap": (1, "sitemap", ""),  # listed by /sitemap.xml
        "/gioi-thieu/co-cau-to-chuc": (2, "link", ""), "/tu-so-do-trang/con": (2, "link", ""),
        "/tu-sitemap/con": (2, "link", ""),
    }
    hits = set(mock.sites["01"].hits)
    assert "/gioi-thieu/sau" not in hits  # depth 3: outside the search
    assert not hits & {"/dang-nhap", "/nop-ho-so/1", "/van-ban.pdf"}  # read-only, no files
    assert not any(h.startswith("POST") for s in mock.sites.values() for h in s.hits)
    failed = [e for e in pages_of(evidence, "01") if e["outcome"] == "failed"]
    assert [(e["status"], e["reason"]) for e in failed] == [(500, Reason.HTTP_5XX)]


@pytest.mark.browser
def test_budget_holds_with_more_links_than_pages(with_browser, mock):
    evidence, _, _ = with_browser
    pages = pages_of(evidence, "04")
    assert len(pages) == 40  # detectors.yaml search.max_pages
    assert Counter(e["data"]["depth"] for e in pages) == {0: 1, 1: 39}
    assert {e["url"].rsplit("/", 1)[1] for e in pages if e["data"]["depth"] == 1} \
        == {f"p{i}" for i in range(39)}  # the first 39 links in document order
    assert measure_of(evidence, "04")["pages"] == 40


@pytest.mark.browser
def test_home_rendered_once_per_site_and_a_javascript_home_searched(with_browser):
    evidence, stats, bodies = with_browser
    homes = [e for e in evidence if e["kind"] == "site_page" and e["data"]["home"]]
    assert len(homes) == 4 and all(e["data"]["rendered"] for e in homes)
    assert stats["site/renders"] == 4
    (app,) = [e for e in homes if e["data"]["units"] == ["03"]]
    assert b"Trang JS" in bodies[app["html_sha256"]]  # the rendered DOM is stored
    assert app["html_sha256"] != app["sha256"]  # not the shell the server sent
    assert {p: d for p, (d, _, _) in paths(pages_of(evidence, "03")).items()} == {
        "/": 0, "/trang-js": 1, "/lien-he": 1}
    assert all(not e["data"]["rendered"] for e in pages_of(evidence, "01")
               if e["data"]["depth"])  # plain pages are read without the browser


@pytest.mark.browser
def test_measures_of_a_responsive_and_a_fixed_site(with_browser):
    evidence, _, _ = with_browser
    good, fixed = measure_of(evidence, "01"), measure_of(evidence, "02")
    assert (good["scroll_width"], good["viewport_meta"]) == (390, True)
    assert fixed["scroll_width"] >= 1200 and fixed["viewport_meta"] is False
    assert good["axe_violations"]["critical"] >= 1  # an image without alt text
    assert {"id": "image-alt", "impact": "critical", "nodes": 1} in good["axe_rules"]
    assert fixed["axe_violations"] == {"minor": 0, "moderate": 0, "serious": 0, "critical": 0}


@pytest.mark.browser
def test_https_and_redirect_measures(with_browser):
    evidence, _, _ = with_browser
    m = {u: measure_of(evidence, u) for u in ("01", "02", "03", "04")}
    assert (m["01"]["https_ok"], m["01"]["http_redirects"]) == (True, True)
    assert (m["02"]["https_ok"], m["02"]["http_redirects"]) == (False, False)  # untrusted
    assert (m["03"]["https_ok"], m["03"]["http_redirects"]) == (False, False)  # refused
    assert m["04"]["https_ok"] is None and m["04"]["failures"]["https"] == Reason.TIMEOUT
    assert "https" not in m["01"]["failures"]


@pytest.mark.browser
@pytest.mark.skipif(find_java() is None, reason="no Java on this machine")
def test_w3c_errors_counted_per_site(with_browser):
    evidence, _, _ = with_browser
    good, fixed = measure_of(evidence, "01"), measure_of(evidence, "02")
    assert good["w3c_errors"]["markup"] >= 1 and good["w3c_errors"]["css"] >= 1
    assert fixed["w3c_errors"] == {"markup": 0, "css": 0}
    wide = measure_of(evidence, "04")  # its style sheet is a 404: CSS not measured
    assert wide["w3c_errors"] == {"markup": 0} and wide["failures"]["w3c_css"] == "http_4xx"


def test_without_browser_and_java_the_walk_goes_on(mock, tmp_path_factory, monkeypatch):
    monkeypatch.setitem(os.environ, "JAVA", "/nonexistent/java")
    evidence, stats, _ = crawl_sites(mock, tmp_path_factory.mktemp("plain"), DVC_BROWSER=False)
    assert len(paths(pages_of(evidence, "01"))) == 10  # the same pages, over plain HTTP
    (app,) = pages_of(evidence, "03")  # a JavaScript-only home page cannot be searched
    assert (app["outcome"], app["reason"]) == ("failed", Reason.NO_BROWSER)
    good = measure_of(evidence, "01")
    assert good["scroll_width"] is None and good["axe_violations"] is None
    assert good["w3c_errors"] is None
    assert good["failures"] == {"responsive": "no_browser", "axe": "no_browser",
                                "w3c_markup": "no_validator", "w3c_css": "no_validator"}
    assert (good["https_ok"], good["http_redirects"]) == (True, True)
    assert "site/renders" not in stats


def test_beside_the_national_pages_a_site_on_the_national_host_waits_its_turn(mock, tmp_path):
    """The job runs the site search beside the national pages' crawl: a site on the national
    host (here every mock site: all on 127.0.0.1) is not asked until the job says that crawl
    has ended; on another host it would not wait."""
    for site in mock.sites.values():
        site.hits.clear()
    db = store.open_db(tmp_path / "audit.db")
    run_id = store.start_run(db, target="mock", rubric_version="t", engine_version="t")
    prestart("site", "http://127.0.0.1:9", tmp_path / "audit.db", run_id, quiet=True,
             overrides=(settings := {"DVC_SITES": mock.sites_list(), "DVC_BROWSER": False,
                                     "DOWNLOAD_TIMEOUT": 3, "DVC_AWAIT_NATIONAL_PAGES": True}),
             phased=True)
    crawl_ = go("site", "http://127.0.0.1:9", tmp_path / "audit.db", run_id, quiet=True,
                overrides=settings)
    try:
        time.sleep(4)  # started, and waiting: nothing asked
        assert crawl_.child.poll() is None
        assert not [h for site in mock.sites.values() for h in site.hits]
        crawl_.tell(phases.NATIONAL_PAGES_DONE)
        assert crawl_.wait() == 0
    finally:
        crawl_.stop()
    assert mock.sites["01"].hits
    stats = json.loads(store.get_run(db, run_id)["stats"])["site"]
    assert stats["site/national_host_waited"] > 0  # (how long depends on its start-up)
    assert stats["site/pages"] > 0


def test_a_bad_site_list_is_one_error_line_and_exit_2(tmp_path):
    db = store.open_db(tmp_path / "audit.db")
    run_id = store.start_run(db, target="mock", rubric_version="t", engine_version="t")
    sites = json.dumps([{"units": ["01"], "home": "ftp://nowhere/"}])
    done = subprocess.run(
        [sys.executable, "-m", "crawler.runner", "--spider", "site", "--base", "http://127.0.0.1:9",
         "--db", str(tmp_path / "audit.db"), "--run-id", str(run_id), "--set",
         f"DVC_SITES={sites}", "--set", 'LOG_LEVEL="ERROR"'],
        capture_output=True, text=True, timeout=120, cwd=Path(__file__).resolve().parents[1])
    assert done.returncode == 2
    assert done.stderr.strip().splitlines()[-1] == \
        "error: DVC_SITES[0].home: not an http(s) URL: 'ftp://nowhere/'"
    assert store.load_evidence(db, run_id) == []
