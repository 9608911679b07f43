"""National portal spider: JSON API only (no browser needed).

Pages the catalogue, and for every procedure code the rubric names fetches its detail and the
per-office online-offer rows (all provinces and agencies). Yields evidence; never scores.

The catalogue comes first, then every office list, then the details (request priorities): the
office rows are what the provincial crawl starts from, so it can start while details are read.
"""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import scrapy
from scrapy.crawler import Crawler
from scrapy.http import JsonRequest, Response
from scrapy.settings import BaseSettings
from twisted.python.failure import Failure

from audits.rubric import RUBRIC_DIR, load_rubric
from crawler import parsers
from crawler.failures import failure_reason, stop_evidence
from crawler.items import evidence, from_response
from crawler.middlewares import guard_of

API = {
    "provinces": "/api/v1/configuring/province-vn/list-by-citizen",
    "catalogue": "/api/v1/submitting/formality/list-all-public-formality-by-citizen",
    "detail": "/api/v1/configuring/formality/get-formality-by-citizen",
    "offices": "/api/v1/submitting/formality/list-department-url-by-citizen",
}
PAGE_LIMIT = 200  # the API refuses more
# Scheduling order on the one national host (higher first): the office lists seed the
# provincial crawl that runs beside this one (crawler/phases.py).
PRIORITY = {"provinces": 3, "catalogue": 3, "offices": 2, "detail": 1}


def guarded(callback: Callable[..., Iterator[Any]]) -> Callable[..., Iterator[Any]]:
    """An answer that is not a valid API envelope (block page, error code, bad JSON) is a
    failed fetch with a reason, never an empty result."""

    @functools.wraps(callback)
    def wrapper(self: NationalSpider, response: Response) -> Iterator[Any]:
        try:
            yield from callback(self, response)
        except parsers.ApiError as exc:
            reason = str(exc).split(":", 1)[0]
            guard = guard_of(self)
            if reason == "js_challenge" and guard is not None:
                guard.note_block(response.url, reason)  # a JSON API gated for browsers only
            yield from self.record_failure(response.request, reason, response.status)

    return wrapper


class NationalSpider(scrapy.Spider):
    name = "national"

    def __init__(self, base_url: str = "", codes: set[str] | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.base_url = base_url.rstrip("/")
        self.codes = codes or set()
        self.catalogue_pages = 0
        self.catalogue_seen = 0

    @classmethod
    def update_settings(cls, settings: BaseSettings) -> None:
        super().update_settings(settings)
        # One host: requests wait in the scheduler, where priorities count, rather than in the
        # downloader's queue for that host, which is first come first served.
        settings.set("CONCURRENT_REQUESTS", settings.getint("CONCURRENT_REQUESTS_PER_DOMAIN", 1),
                     priority="spider")

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> NationalSpider:
        settings = crawler.settings
        kwargs.setdefault("base_url", settings.get("DVC_BASE_URL"))
        if "codes" not in kwargs:
            rubric = load_rubric(settings.get("DVC_RUBRIC_DIR") or RUBRIC_DIR)
            kwargs["codes"] = rubric.all_codes()
        return super().from_crawler(crawler, *args, **kwargs)

    async def start(self) -> AsyncIterator[scrapy.Request]:
        yield self.api("provinces", {}, self.parse_provinces)
        yield self.catalogue_request(None)

    # -- requests -------------------------------------------------------------------------

    def api(self, endpoint: str, body: dict[str, Any], callback: Any,
            **meta: Any) -> JsonRequest:
        return JsonRequest(
            self.base_url + API[endpoint], data=body, method="POST",
            headers={"Origin": self.base_url, "Referer": self.base_url + "/"},
            callback=callback, errback=self.failed, meta={"endpoint": endpoint, **meta},
            dont_filter=True, priority=PRIORITY.get(endpoint, 0),
        )

    def catalogue_request(self, last_id: str | None) -> JsonRequest:
        body = {"limit": PAGE_LIMIT, "lastId": last_id, "q": ""}
        return self.api("catalogue", body, self.parse_catalogue, last_id=last_id)

    def office_request(self, item: parsers.CatalogueItem, last_id: str | None,
                       rows: int = 0) -> JsonRequest:
        body = {"formalityId": item.id, "limit": PAGE_LIMIT, "lastId": last_id}
        return self.api("offices", body, self.parse_offices, procedure=item, rows=rows,
                        procedure_code=item.code)

    # -- callbacks ------------------------------------------------------------------------

    @guarded
    def parse_provinces(self, response: Response) -> Iterator[dict[str, Any]]:
        rows = parsers.province_rows(self.envelope(response))
        yield from_response("province_list", response, first=True, data={"rows": rows})

    @guarded
    def parse_catalogue(self, response: Response) -> Iterator[Any]:
        page = parsers.parse_page(self.envelope(response))
        self.catalogue_pages += 1
        self.catalogue_seen += len(page.items)
        self.logger.info("catalogue page %d: %d/%s procedures", self.catalogue_pages,
                         self.catalogue_seen, page.total or "?")
        last = len(page.items) < PAGE_LIMIT or not page.last_id
        if page.last_id == response.meta["last_id"] or self.catalogue_pages > 1000:
            last = True  # a cursor that does not move would loop for ever
        if not last:  # first, so the next page is asked before this page's procedures are
            yield self.catalogue_request(page.last_id)
        items = [i for i in map(parsers.catalogue_item, page.items) if i.code in self.codes]
        # requests before evidence, office lists before details: all are queued at once, so
        # the office lists go first by priority rather than by whichever was queued first
        for item in items:
            yield self.office_request(item, None)
        for item in items:
            yield self.api("detail", {"id": item.id}, self.parse_detail,
                           procedure_code=item.code)
        first = True
        for item in items:
            yield from_response("procedure", response, first=first, procedure_code=item.code,
                                data=vars(item) | {"categories": list(item.categories)})
            first = False
        if last:
            yield from_response("catalogue", response, first=first, data={
                "total": page.total, "seen": self.catalogue_seen,
                "pages": self.catalogue_pages, "complete": True,
            })
        elif first:
            yield from_response("catalogue", response, first=True, data={
                "page": self.catalogue_pages, "items": len(page.items), "partial": True})

    @guarded
    def parse_detail(self, response: Response) -> Iterator[dict[str, Any]]:
        facts = parsers.detail_facts(self.envelope(response))
        yield from_response("procedure_detail", response, first=True,
                            procedure_code=response.meta["procedure_code"], data=facts.as_dict())

    @guarded
    def parse_offices(self, response: Response) -> Iterator[Any]:
        item: parsers.CatalogueItem = response.meta["procedure"]
        page = parsers.parse_page(self.envelope(response))
        first = True
        for raw in page.items:
            row = parsers.office_row(raw)
            yield from_response("office_row", response, first=first, procedure_code=item.code,
                                office_code=row["office_code"] or "", data=row)
            first = False
        rows = response.meta["rows"] + len(page.items)
        if len(page.items) < PAGE_LIMIT or not page.last_id:
            yield from_response("office_list", response, first=first, procedure_code=item.code,
                                data={"rows": rows, "total": page.total, "complete": True,
                                      "procedure_id": item.id})
        else:
            yield self.office_request(item, page.last_id, rows)

    def envelope(self, response: Response) -> Any:
        return parsers.parse_envelope(response.body)

    # -- failures -------------------------------------------------------------------------

    def failed(self, failure: Failure) -> Iterator[dict[str, Any]]:
        yield from stop_evidence(failure)
        reason, status = failure_reason(failure)
        yield from self.record_failure(failure.request, reason, status)

    def record_failure(self, request: scrapy.Request, reason: str,
                       status: int | None) -> Iterator[dict[str, Any]]:
        meta = request.meta
        code = meta.get("procedure_code", "")
        self.logger.warning("could not fetch %s (%s): %s", meta.get("endpoint"), code, reason)
        yield evidence("fetch", url=request.url, status=status, outcome="failed", reason=reason,
                       procedure_code=code, data={"endpoint": meta.get("endpoint")})
        summary = {"catalogue": "catalogue", "offices": "office_list"}.get(meta.get("endpoint"))
        if summary:
            yield evidence(summary, url=request.url, status=status, outcome="failed",
                           reason=reason, procedure_code=code,
                           data={"complete": False, "pages": self.catalogue_pages})
