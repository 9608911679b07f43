"""The site spider's W3C checker runs per group (crawler/spiders/site.py `w3c_groups`): the sites
off the national host in one run as soon as their home pages are in, those on it in another, so
with DVC_AWAIT_NATIONAL_PAGES the portals' measures are out before the national host is free.
In process, over a fake engine (canned pages, no network) and a fake checker that records its
runs; tests/test_sitewalk.py shows two runs give what one gives, tests/test_site_crawl.py the
spider over real mock sites."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any, cast

import pytest
import scrapy
from scrapy.http import HtmlResponse
from scrapy.settings import Settings

from crawler import measures, phases
from crawler.sitewalk import Site
from crawler.spiders.site import SurveySiteSpider

NATIONAL = "http://127.0.0.1:8001"
PORTALS = ("http://127.0.0.2:8002", "http://127.0.0.3:8003")
HOME = (b'<!DOCTYPE html><html lang="vi"><head><title>Trang chu</title>'
        b'<link rel="stylesheet" href="/s.css"></head>'
        b'<body><a href="/gioi-thieu">Gioi thieu</a></body></html>')


class Engine:
    """Every home page and its one link answer; anything else is a 404."""

    async def download_async(self, request: scrapy.Request) -> HtmlResponse:
        path = "/" + request.url.split("/", 3)[3]
        body = {"/": HOME, "/gioi-thieu": HOME.replace(b"/gioi-thieu", b"/"),
                "/s.css": b"p { color: red; }"}.get(path)
        return HtmlResponse(request.url, status=200 if body else 404, body=body or b"",
                            headers={"Content-Type": "text/css" if path.endswith(".css")
                                     else "text/html; charset=utf-8"})


class Stats(Counter[str]):
    def inc_value(self, key: str, count: int = 1) -> None:
        self[key] += count

    def set_value(self, key: str, value: Any) -> None:
        self[key] = value


def spider_of(homes: list[str], **settings: Any) -> SurveySiteSpider:
    sites = [Site((f"{n:02d}",), home + "/", home.replace("http:", "https:") + "/", home + "/")
             for n, home in enumerate(homes)]
    spider = SurveySiteSpider(sites=sites, search={"depth": 1, "max_pages": 5, "sitemap": False},
                              browser=False)
    # settings, stats and an engine are all the spider uses of its crawler
    spider.crawler = cast(Any, SimpleNamespace(
        settings=Settings({"DVC_BASE_URL": NATIONAL, "DOWNLOAD_TIMEOUT": 3, **settings}),
        stats=Stats(), engine=Engine()))
    return spider


@pytest.fixture
def checker(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[tuple[list[str], bool]]]:
    """The checker's runs: (the sites checked, national pages done by then); no HTTPS check."""
    runs: list[tuple[list[str], bool]] = []

    def run_vnu(inputs: list[measures.W3cInput], **_: Any) -> dict[str, measures.W3cResult]:
        runs.append(([i.key for i in inputs], phases.reached(phases.NATIONAL_PAGES_DONE)))
        return {i.key: measures.W3cResult(errors={"markup": len(runs), "css": 0})
                for i in inputs}

    async def check_https(self: SurveySiteSpider, state: Any) -> None:
        state.https = measures.HttpsMeasure(https_ok=True, http_redirects=True)

    monkeypatch.setattr(measures, "run_vnu", run_vnu)
    monkeypatch.setattr(SurveySiteSpider, "check_https", check_https)
    phases.reset()
    yield runs
    phases.reset()


def measures_of(items: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {i["url"]: i["data"] for i in items if i["kind"] == "site_measure"}


def test_the_portals_measures_are_out_before_the_national_host_is_free(checker):
    spider = spider_of([NATIONAL, *PORTALS], DVC_AWAIT_NATIONAL_PAGES=True)
    portals = {home + "/" for home in PORTALS}

    async def crawl() -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        async for item in spider.start():
            items.append(item)
            if set(measures_of(items)) == portals and not phases.reached(
                    phases.NATIONAL_PAGES_DONE):
                # every portal measured while the national host is busy; now the job says it
                # is free (the only place the phase is set)
                assert not [i for i in items if i["url"].startswith(NATIONAL)]
                phases._events[phases.NATIONAL_PAGES_DONE].set()
        return items

    # (a guard against a hang: were the portals' measures to wait for the phase, it never comes)
    items = asyncio.run(asyncio.wait_for(crawl(), 60))
    assert checker == [(["127.0.0.2:8002", "127.0.0.3:8003"], False),
                       (["127.0.0.1:8001"], True)]
    found = measures_of(items)
    assert list(found)[-1] == NATIONAL + "/" and set(found) == {*portals, NATIONAL + "/"}
    assert {h: m["w3c_errors"]["markup"] for h, m in found.items()} == {
        **{h: 1 for h in portals}, NATIONAL + "/": 2}  # each site has its own run's result
    assert all(m["pages"] == 2 and "w3c_markup" not in m["failures"] for m in found.values())
    assert spider.crawler.stats["site/national_host_waited"] >= 0


@pytest.mark.parametrize("homes", [[NATIONAL], list(PORTALS)], ids=["national", "portals"])
def test_one_group_is_one_run_of_the_checker(checker, homes):
    spider = spider_of(homes)

    async def crawl() -> list[dict[str, Any]]:
        return [item async for item in spider.start()]

    items = asyncio.run(crawl())
    assert checker == [([h.split("//")[1] for h in homes], False)]
    assert len(measures_of(items)) == len(homes)
