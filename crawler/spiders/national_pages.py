"""The national portal's HTML procedure pages (`national_page` evidence), read by the provincial
crawl once the national host is free (crawler/phases.py `national-free`).

A page behind the portal's JavaScript challenge is read in a browser; once one has passed, the
cookie the browser earned is tried with plain requests (`share_cookie`), and the first page
that does not come back real sends the rest back to the browser (`on_national`). The pages are
one `Run` of the provincial spider's scheduler (crawler/sites.py) with no platform family: they
share its browser, its render and retry handling, and take no portal's browser turn.
`NationalPages` is a mixin of `ProvincialSpider` (one crawl process, one Chromium).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Any, Protocol

import scrapy
from scrapy.crawler import Crawler
from scrapy.http import Response
from twisted.python.failure import Failure

from core import store
from core.vocab import EvidenceKind, Outcome, Reason
from crawler import pages, phases
from crawler.failures import failure_reason, stop_evidence
from crawler.items import evidence, page_evidence
from crawler.plainpages import plain_dom
from crawler.platforms import fingerprint, seeds
from crawler.sites import Run, Task

NATIONAL_PAGE = "/thu-tuc-hanh-chinh/"
# A national procedure page has rendered (past the challenge, the React app has drawn it) when it
# shows a procedure code label, says "not found", or is the rejection page.
NATIONAL_READY = """() => { const t = document.body ? document.body.innerText : '';
  return /Mã thủ tục|Không tìm thấy|requested URL was rejected/i.test(t); }"""


class SiteCrawl(Protocol):
    """What the national pages use of the spider they are part of (ProvincialSpider): its
    scheduler of site runs (crawler/sites.py) and its page evidence."""

    base_url: str
    national: list[tuple[str, str]]  # (procedure code, procedure id) of the pages to read
    sources: seeds.Sources | None
    runs: dict[str, Run]
    browser: bool
    browser_reason: str
    crawler: Crawler

    @property
    def logger(self) -> logging.LoggerAdapter[logging.Logger]: ...

    def lanes_for(self, base: str, browser: bool, national: bool = False) -> int: ...

    def launch(self, run: Run) -> AsyncIterator[Any]: ...

    def item(self, kind: EvidenceKind, run: Run, task: Task, url: str, status: int | None,
             raw: bytes, dom: bytes, shot: str, data: dict[str, Any], excerpt: str = "",
             outcome: Outcome = Outcome.OK, reason: str = "") -> dict[str, Any]: ...

    def probe_request(self) -> scrapy.Request: ...

    def on_probe(self, response: Response) -> AsyncIterator[Any]: ...

    def on_probe_error(self, failure: Failure) -> Any: ...


class NationalPages:
    """The national procedure pages' part of the provincial spider (a mixin: its methods take
    the spider, a `SiteCrawl`, as `self`)."""

    async def national_when_free(self: SiteCrawl) -> None:
        """The national pages, once the national host is no other crawl's (crawler/phases.py)."""
        await phases.wait_for(phases.NATIONAL_FREE)
        self.national = self.sources.national() if self.sources is not None else []
        self.logger.info("%d national procedure pages", len(self.national))
        if self.national:
            self.crawler.engine.crawl(self.probe_request())

    def probe_request(self: SiteCrawl) -> scrapy.Request:
        code, fid = self.national[0]
        return scrapy.Request(self.base_url + NATIONAL_PAGE + fid, callback=self.on_probe,
                              errback=self.on_probe_error, dont_filter=True,
                              meta={"code": code}, priority=1)

    async def on_probe(self: SiteCrawl, response: Response) -> AsyncIterator[Any]:
        fp = fingerprint(response.url, plain_dom(response))
        run = Run(response.url.split("/")[2], self.base_url, (), None, fp.needs_js,
                  self.lanes_for(self.base_url, fp.needs_js, national=True))
        self.runs[run.key] = run
        if run.browser and not self.browser:
            run.finished = True
            reason = Reason.JS_CHALLENGE if "js_challenge" in fp.signals else self.browser_reason
            for code, fid in self.national:
                yield page_evidence(EvidenceKind.NATIONAL_PAGE,
                                    url=self.base_url + NATIONAL_PAGE + fid,
                                    status=response.status,
                                    raw_sha256=store.sha256(response.body), dom=response.body,
                                    excerpt=response.text[:1000], outcome=Outcome.FAILED,
                                    reason=reason, procedure_code=code,
                                    data={"procedure_id": fid, "signals": fp.signals})
            return
        for code, fid in self.national:
            run.queue.append(Task("national", self.base_url + NATIONAL_PAGE + fid, code=code,
                                  browser=run.browser, extra={"procedure_id": fid}))
        async for r in self.launch(run):
            yield r

    def on_probe_error(self: SiteCrawl, failure: Failure) -> Any:
        yield from stop_evidence(failure)
        reason, status = failure_reason(failure)
        for code, fid in self.national:
            yield evidence(EvidenceKind.NATIONAL_PAGE, url=self.base_url + NATIONAL_PAGE + fid,
                           method="GET", status=status, outcome=Outcome.FAILED, reason=reason,
                           procedure_code=code, data={"procedure_id": fid})

    async def share_cookie(self: SiteCrawl, run: Run, page: Any, dom: bytes) -> None:
        """Once the browser has passed a challenge, try the cookie it earned with plain
        requests: if they then get real pages the browser is spared; the first one that does
        not (a challenge again, or an app shell) sends the rest back to the browser."""
        if not pages.parse_procedure_page(dom).found:
            return
        run.cookie_tried = True
        cookies = await page.context.cookies(run.base)
        run.cookie = "; ".join(f"{c['name']}={c['value']}" for c in cookies)
        if run.cookie:
            for queued in run.queue:
                queued.browser = False

    def on_national(self: SiteCrawl, run: Run, task: Task, url: str, status: int | None,
                    raw: bytes, dom: bytes, shot: str, steps: list[str]) -> Any:
        page = pages.parse_procedure_page(dom)
        if not task.browser and run.browser and (page.challenge or fingerprint(url, dom).needs_js):
            run.cookie = ""  # the shared cookie does not do: the browser reads every page
            for queued in (*run.queue, task):
                queued.browser = True
            run.queue.appendleft(task)
            return
        reason = (Reason.BLOCKED if page.blocked else Reason.JS_CHALLENGE if page.challenge
                  else "" if page.found else Reason.NOT_FOUND)
        yield self.item(EvidenceKind.NATIONAL_PAGE, run, task, url, status, raw, dom, shot,
                        {**page.as_dict(), **task.extra}, pages.page_excerpt(dom),
                        outcome=Outcome.FAILED if reason else Outcome.OK, reason=reason)
