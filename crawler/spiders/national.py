"""National portal spider: JSON API only (no browser needed).

Pages the catalogue, and for every procedure code the rubric names fetches its detail and the
per-office online-offer rows (all provinces and agencies): once per target type of the
procedure, every row checked against the procedure asked, page size stepped down on failure
(crawler/officelist.py). Yields evidence; never scores.

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

from core.rubric import RUBRIC_DIR, load_rubric
from core.vocab import EvidenceKind, Outcome, Reason
from crawler import parsers
from crawler.downloadermiddlewares.hostguard import guard_of
from crawler.failures import failed_request, failure_reason, stop_evidence
from crawler.httpcache import stamp
from crawler.items import evidence, from_response
from crawler.officelist import FILTER_IGNORED, OfficeList, check_rows, request_targets, step_down

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
# The summary a failed list request leaves, by endpoint.
SUMMARY_KIND = {"catalogue": EvidenceKind.CATALOGUE, "offices": EvidenceKind.OFFICE_LIST}


def asked(response: Response) -> scrapy.Request:
    """The request a callback's response answers (Scrapy sets it on every response)."""
    if response.request is None:
        raise ValueError(f"{response.url}: an answer without its request")
    return response.request


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
            if reason == Reason.JS_CHALLENGE and guard is not None:
                guard.note_block(response.url, reason)  # a JSON API gated for browsers only
            yield from self.record_failure(asked(response), reason, response.status)

    return wrapper


class NationalSpider(scrapy.Spider):
    name = "national"

    def __init__(self, base_url: str = "", codes: set[str] | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.base_url = base_url.rstrip("/")
        self.codes = codes or set()
        self.catalogue_pages = 0
        self.catalogue_seen = 0
        self._office_lists: dict[str, OfficeList] = {}  # without a JOBDIR (office_lists)

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

    @property
    def office_lists(self) -> dict[str, OfficeList]:
        """formality id -> its office list being read. In the spider, not in the requests (a
        JOBDIR queue copies whatever requests carry); with a JOBDIR, in `self.state`, which
        Scrapy keeps there when the crawl stops (SpiderState), so a resumed crawl goes on with
        the rows it held."""
        state = getattr(self, "state", None)
        if isinstance(state, dict):
            return state.setdefault("office_lists", {})
        return self._office_lists

    def office_requests(self, item: parsers.CatalogueItem) -> Iterator[JsonRequest]:
        """One list per target type of the procedure (crawler/officelist.py)."""
        if item.id in self.office_lists:
            return  # asked already by this process
        state = self.office_lists[item.id] = OfficeList(item.id, request_targets(item.targets))
        for target in state.targets:
            yield self.office_request(item, target, None)

    def office_request(self, item: parsers.CatalogueItem, target: str, last_id: str | None,
                       limit: int = PAGE_LIMIT) -> JsonRequest:
        body: dict[str, Any] = {"formalityId": item.id, "limit": limit, "lastId": last_id}
        if target:
            body["formalityTargetType"] = target
        return self.api("offices", body, self.parse_offices, procedure=item, target=target,
                        limit=limit, last_id=last_id, procedure_code=item.code)

    def office_state(self, request: scrapy.Request) -> OfficeList | None:
        """The list a request belongs to; None when its state was lost (a resumed crawl whose
        earlier process could not keep it): the list is then read again from its start."""
        return self.office_lists.get(request.meta["procedure"].id)

    # -- callbacks ------------------------------------------------------------------------

    @guarded
    def parse_provinces(self, response: Response) -> Iterator[dict[str, Any]]:
        rows = parsers.province_rows(self.envelope(response))
        yield from_response(EvidenceKind.PROVINCE_LIST, response, first=True, data={"rows": rows})

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
            yield from self.office_requests(item)
        for item in items:
            yield self.api("detail", {"id": item.id}, self.parse_detail,
                           procedure_code=item.code)
        first = True
        for item in items:
            yield from_response(EvidenceKind.PROCEDURE, response, first=first,
                                procedure_code=item.code,
                                data=vars(item) | {"categories": list(item.categories),
                                                   "targets": list(item.targets)})
            first = False
        if last:
            yield from_response(EvidenceKind.CATALOGUE, response, first=first, data={
                "total": page.total, "seen": self.catalogue_seen,
                "pages": self.catalogue_pages, "complete": True,
            })
        elif first:
            yield from_response(EvidenceKind.CATALOGUE, response, first=True, data={
                "page": self.catalogue_pages, "items": len(page.items), "partial": True})

    @guarded
    def parse_detail(self, response: Response) -> Iterator[dict[str, Any]]:
        facts = parsers.detail_facts(self.envelope(response))
        yield from_response(EvidenceKind.PROCEDURE_DETAIL, response, first=True,
                            procedure_code=response.meta["procedure_code"], data=facts.as_dict())

    @guarded
    def parse_offices(self, response: Response) -> Iterator[Any]:
        """Rows are held until every target type's list is read, and checked first: an answer
        that holds another procedure's rows is a failure, and nothing of it is evidence."""
        meta = response.meta
        item: parsers.CatalogueItem = meta["procedure"]
        state = self.office_state(asked(response))
        if state is None:  # resumed: the list is read again from its start, every target type
            yield from self.office_requests(item)
            return
        if state.failed:
            return  # given up already (another target type failed): nothing more counts
        page = parsers.parse_page(self.envelope(response))
        state.pages += 1
        wrong = check_rows(page.items, item.id)
        if wrong:  # never stepped down: a smaller page of a list that ignores its filter is
            yield from self.office_failure(asked(response), wrong, response.status)  # no better
            return
        first = True
        for raw in state.new_rows(page.items):
            row = parsers.office_row(raw)
            # held, so stamped now by its own answer (a reused one keeps its time)
            state.held.append(stamp(from_response(EvidenceKind.OFFICE_ROW, response, first=first,
                                                  procedure_code=item.code,
                                                  office_code=row["office_code"] or "",
                                                  data=row), response))
            first = False
        limit = meta["limit"]
        if len(page.items) < limit or not page.last_id or page.last_id == meta["last_id"]:
            if state.finish(meta["target"], page.total):
                yield from state.held
                state.held = []
                yield from_response(EvidenceKind.OFFICE_LIST, response, first=first,
                                    procedure_code=item.code, data=state.summary())
        else:
            yield self.office_request(item, meta["target"], page.last_id, limit)

    def office_failure(self, request: scrapy.Request, reason: str,
                       status: int | None) -> Iterator[Any]:
        """A page of an office list failed: ask it again with a smaller page, or give the list
        up (the rows of pages read well stay evidence, unless the filter was ignored)."""
        meta = request.meta
        state = self.office_state(request)
        if state is None:
            yield from self.office_requests(meta["procedure"])
            return
        if state.failed:
            return
        size = step_down(meta["limit"], reason) if reason != FILTER_IGNORED else None
        if size is not None:
            self.logger.info("office list of %s (%s): %s at %d rows a page; asking %d",
                             meta["procedure_code"], meta["target"] or "any target", reason,
                             meta["limit"], size)
            state.stepped.append({"target": meta["target"], "from": meta["limit"], "to": size,
                                  "reason": reason})
            yield self.office_request(meta["procedure"], meta["target"], meta["last_id"], size)
            return
        yield from state.fail(reason)
        yield from self.record_failure(request, reason, status, office_list=state)

    def envelope(self, response: Response) -> Any:
        return parsers.parse_envelope(response.body)

    # -- failures -------------------------------------------------------------------------

    def failed(self, failure: Failure) -> Iterator[Any]:
        yield from stop_evidence(failure)
        reason, status = failure_reason(failure)
        yield from self.record_failure(failed_request(failure), reason, status)

    def record_failure(self, request: scrapy.Request, reason: str, status: int | None,
                       office_list: OfficeList | None = None) -> Iterator[Any]:
        meta = request.meta
        if meta.get("endpoint") == "offices" and office_list is None:
            yield from self.office_failure(request, reason, status)  # may step the page down
            return
        code = meta.get("procedure_code", "")
        self.logger.warning("could not fetch %s (%s): %s", meta.get("endpoint"), code, reason)
        yield evidence(EvidenceKind.FETCH, url=request.url, status=status,
                       outcome=Outcome.FAILED, reason=reason, procedure_code=code,
                       data={"endpoint": meta.get("endpoint")})
        summary = SUMMARY_KIND.get(meta.get("endpoint") or "")
        if summary:
            data = office_list.summary() if office_list else {
                "complete": False, "pages": self.catalogue_pages}
            yield evidence(summary, url=request.url, status=status, outcome=Outcome.FAILED,
                           reason=reason, procedure_code=code, data=data)
