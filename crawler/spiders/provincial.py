"""Provincial portals spider (scrapy-playwright), on the same run as the national spider.

Starts from the hosts of the `citizenUrl`s the national crawl stored, plus a configured portal
list (crawler/platforms/seeds.py). With DVC_AWAIT_NATIONAL it runs beside the national crawl:
it visits a portal as soon as the national crawl has stored an office row that hands off to it,
holding what it finds until all are stored (seeds.Seeding), and reads the national portal's
pages once no other crawl asks that host (crawler/phases.py).

For each portal: plain GET of its home page, fingerprint (crawler/platforms), then its procedure
list, its login options and, for each rubric procedure it offers online, its apply flow up to,
never past, submission. A browser is used only for a portal whose home page needs JavaScript;
each such portal gets one browser context, closed when the portal is done, and pages are reused
along the portal's sequence and always closed (errbacks too). It also reads the national
portal's HTML procedure pages (behind a JavaScript challenge; crawler/spiders/national_pages.py,
a mixin of this spider). Nothing is submitted, nobody logs in, and no POST is ever sent.
Evidence only; never scores. A site's tasks and their scheduling state: crawler/sites.py.

A page that cannot be read is a failed observation with a reason (crawler/failures.py), never an
empty one: truncated or garbage HTML is `malformed`, a rejection page `blocked`, a challenge that
never clears `js_challenge` (a home page behind a challenge is tried once in a browser first).
Plain pages are decoded once (`plain_dom`: UTF-8, else the declared charset, else windows-1258).
"""

from __future__ import annotations

import asyncio
import functools
from collections import deque
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import scrapy
from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.exceptions import DontCloseSpider
from scrapy.http import Response
from scrapy.settings import BaseSettings
from twisted.python.failure import Failure

from core import store
from core.vocab import OFFER_RANK, EvidenceKind, Offer, Outcome, Reason
from crawler import httpcache, pages, phases
from crawler.browser import driver_environment, launch_options
from crawler.downloadermiddlewares.hostguard import guard_of
from crawler.downloadermiddlewares.retry import backoff, parse_retry_after
from crawler.exceptions import BrowserNotFound, PageFault
from crawler.failures import (
    exception_reason,
    failed_request,
    failure_reason,
    http_reason,
    is_transient,
    stop_evidence,
)
from crawler.items import evidence, page_evidence
from crawler.parsers import is_block_page
from crawler.plainpages import content_type, plain_dom
from crawler.platforms import CONFIGURED, RENDERED, browsing, fingerprint, seeds
from crawler.platforms.base import decode_html, html_fault, soup_of
from crawler.profiles import is_loopback
from crawler.sites import Run, Task, context_name
from crawler.spiders.national_pages import NATIONAL_READY, NationalPages

HANDLER = "scrapy_playwright.handler.ScrapyPlaywrightDownloadHandler"
READY_TIMEOUT = 15_000  # ms a rendered page may take to settle (DVC_READY_TIMEOUT)
SEED_POLL = 0.5  # seconds between looks at the national crawl's new office rows
MAX_FLOW_PAGES = 8  # apply steps followed per procedure (a loop guard)
# The evidence a task that could not be read leaves, by task kind.
FAILED_TASK_KIND = {"list": EvidenceKind.PORTAL_PAGE, "login": EvidenceKind.PORTAL_LOGIN,
                    "config": EvidenceKind.PORTAL_PAGE, "apply": EvidenceKind.PORTAL_APPLY,
                    "national": EvidenceKind.NATIONAL_PAGE}


def holding(callback: Any) -> Any:
    """Portal evidence a callback yields goes through the spider's Seeding (held until the
    seeds are final) when the crawl runs beside the national one."""

    @functools.wraps(callback)
    async def wrapper(self: ProvincialSpider, *args: Any, **kwargs: Any) -> AsyncIterator[Any]:
        async for out in callback(self, *args, **kwargs):
            out = httpcache.stamp(out, args[0] if args else None)  # before it is held
            for item in self.seeding.hold(out) if self.seeding is not None else (out,):
                yield item

    return wrapper


class ProvincialSpider(NationalPages, scrapy.Spider):
    name = "provincial"

    @classmethod
    def update_settings(cls, settings: BaseSettings) -> None:
        super().update_settings(settings)
        if not settings.getbool("DVC_BROWSER"):
            return
        try:
            if not settings.get("PLAYWRIGHT_LAUNCH_OPTIONS"):
                settings.set("PLAYWRIGHT_LAUNCH_OPTIONS",
                             launch_options(settings.get("DVC_AUDIT_CHROMIUM") or None),
                             priority="spider")
        except BrowserNotFound:
            settings.set("DVC_BROWSER", False, priority="spider")
            settings.set("DVC_BROWSER_MISSING", True, priority="spider")
            return
        settings.set("DOWNLOAD_HANDLERS", {"http": HANDLER, "https": HANDLER}, priority="spider")
        driver_environment()  # before scrapy-playwright starts the driver

    def __init__(self, *, base_url: str, seed_list: list[seeds.Seed],
                 national: list[tuple[str, str]], codes: set[str], out_dir: Path, run_id: int,
                 browser: bool, browser_portals: int, browser_reason: str = Reason.NEEDS_BROWSER,
                 reuse: Callable[[str], list[dict[str, Any]]] | None = None,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.base_url = base_url.rstrip("/")
        self.seed_list = seed_list
        self.national = national
        self.codes = codes
        self.out_dir = Path(out_dir)
        self.shot_dir = Path("screenshots") / f"run-{run_id}"
        self.browser = browser
        self.browser_reason = browser_reason
        self.slots = max(1, browser_portals)
        self.active = 0
        self.waiting: deque[Run] = deque()
        self.runs: dict[str, Run] = {}
        self.sources: seeds.Sources | None = None  # set: started beside the national crawl
        # its seeds as they come (beside the national crawl), else final from the start
        self.seeding: seeds.Seeding | None = seeds.Seeding.settled(seed_list)
        self.national_later: asyncio.Future[None] | None = None
        self.reuse = reuse  # base -> an earlier run's evidence standing for the visit, or []
        self.allow(seed_list)

    def allow(self, seed_list: list[seeds.Seed]) -> None:
        """The hosts requests may go to: the seeds' and the national portal's."""
        hosts = {s.host.split(":")[0] for s in seed_list}
        self.allowed_domains = sorted(hosts | {self.base_url.split("//", 1)[-1].split(":")[0]})

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> ProvincialSpider:
        s = crawler.settings
        base = s.get("DVC_BASE_URL")
        run_id = s.getint("DVC_RUN_ID")
        sources = seeds.Sources.from_settings(s)
        awaiting = s.getbool("DVC_AWAIT_NATIONAL")
        kwargs.setdefault("base_url", base)
        given = seeds.given_seeds(s)  # a Scrapyd job: its seeds come with it (app/engines.py)
        if given is not None:
            awaiting = False
            kwargs.setdefault("seed_list", given[0])
            kwargs.setdefault("national", given[1])
        kwargs.setdefault("seed_list", [] if awaiting else sources.seed_list())
        kwargs.setdefault("national", [] if awaiting else sources.national())
        kwargs.setdefault("codes", sources.rubric.all_codes())
        kwargs.setdefault("out_dir", Path(s.get("DVC_OUT_DIR") or Path(sources.db or ".").parent))
        kwargs.setdefault("run_id", run_id)
        kwargs.setdefault("browser", s.getbool("DVC_BROWSER"))
        kwargs.setdefault("browser_reason", Reason.NO_BROWSER if s.getbool("DVC_BROWSER_MISSING")
                          else Reason.NEEDS_BROWSER)
        kwargs.setdefault("browser_portals", s.getint("DVC_BROWSER_PORTALS", 2))
        kwargs.setdefault("reuse", sources.reused_portal)
        spider = super().from_crawler(crawler, *args, **kwargs)
        if awaiting:
            spider.sources, spider.seeding = sources, seeds.Seeding()
            crawler.signals.connect(spider.on_idle, signal=signals.spider_idle)
        return spider

    # -- start ------------------------------------------------------------------------------

    async def start(self) -> AsyncIterator[Any]:
        if self.sources is not None:  # beside the national crawl (crawler/phases.py)
            # not from here: start() is only read on when the downloader has room
            self.national_later = asyncio.ensure_future(self.national_when_free())
            for item in await self.follow_seeds():
                yield item
            return
        self.logger.info("%d portals to visit", len(self.seed_list))
        for seed in self.seed_list:
            reused = self.reused(seed)
            for out in reused or (self.root_request(seed),):
                yield out
        if self.national:
            yield self.probe_request()

    def root_request(self, seed: seeds.Seed) -> scrapy.Request:
        return scrapy.Request(seed.base + "/", callback=self.on_root, errback=self.on_root_error,
                              meta={"seed": seed}, dont_filter=True)

    async def follow_seeds(self) -> list[dict[str, Any]]:
        """Visit each seed as soon as the national crawl has stored it, until it has stored
        them all; then settle the seeds: the held evidence to pass on."""
        assert self.sources is not None and self.seeding is not None
        while True:
            done = phases.reached(phases.NATIONAL_DONE) or self.sources.seeded()
            current = self.sources.seed_list()  # read after `done`: complete when done
            fresh = self.seeding.new(current)
            if fresh:
                self.allow(list(self.seeding.started.values()))
                for seed in fresh:
                    reused = self.reused(seed)
                    for item in reused:
                        self.seeding.hold(item)  # released with the portal's final units
                    if not reused:
                        self.crawler.engine.crawl(self.root_request(seed))
            if done:
                break
            await asyncio.sleep(SEED_POLL)
        self.logger.info("%d portals to visit", len(current))
        gone, released = self.seeding.settle(current)
        for seed in gone:
            self.logger.info("%s is not a seed after all: not visited further", seed.base)
        return released

    def reused(self, seed: seeds.Seed) -> list[dict[str, Any]]:
        """An earlier run's evidence of the portal, when it may stand for tonight's visit
        (within the reuse window, every observation good: seeds.Sources.reused_portal)."""
        items = self.reuse(seed.base) if self.reuse is not None else []
        if items:
            self.crawler.stats.inc_value("provincial/portals_reused")
            self.logger.info("%s: %d observations of run %s reused, not visited", seed.base,
                             len(items), items[0]["data"]["reused_from"])
        return items

    def dropped(self, base: str) -> bool:
        """A host visited as a province's portal that is not one after all (seeds.Seeding):
        nothing more is asked of it (start_site, pump)."""
        return self.seeding is not None and not self.seeding.keeps(base)

    def on_idle(self) -> None:
        """Not done while the national pages are still to come."""
        if self.national_later is not None and not self.national_later.done():
            raise DontCloseSpider

    def lanes_for(self, base: str, browser: bool, national: bool = False) -> int:
        """Requests in flight per site: one for a real host (politeness); on loopback (the
        replica) a few, so the browser part is bound by CPU rather than by latency."""
        if not is_loopback(base):
            return 1
        return 2 if browser and national else 3

    # -- portal home: fingerprint -----------------------------------------------------------

    @holding
    async def on_root(self, response: Response) -> AsyncIterator[Any]:
        seed: seeds.Seed = response.meta["seed"]
        dom = plain_dom(response)
        fp = fingerprint(response.url, dom)
        if self.browser and fp.module is None and "js_challenge" in fp.signals \
                and not html_fault(response.body, content_type(response)):
            yield self.root_in_browser(seed, response.url)  # a browser may pass the challenge
            return
        async for r in self.start_site(seed, response.url, response.status, response.body, dom,
                                       fp, self.root_fault(response, fp)):
            yield r

    def root_in_browser(self, seed: seeds.Seed, url: str) -> scrapy.Request:
        return scrapy.Request(url, callback=self.on_root_rendered, errback=self.on_root_error,
                              dont_filter=True, meta={
                                  "seed": seed, "playwright": True,
                                  "playwright_include_page": True,
                                  "playwright_context": context_name(seed.host),
                                  "playwright_page_init_callback": browsing.init_page,
                                  "playwright_page_goto_kwargs": {
                                      "wait_until": "commit", "timeout": self.goto_timeout}})

    @holding
    async def on_root_rendered(self, response: Response) -> AsyncIterator[Any]:
        """The home page behind a challenge, in a browser: once the challenge has cleared, the
        portal is fingerprinted from its DOM and read in the browser (same context, cookie)."""
        seed: seeds.Seed = response.meta["seed"]
        page = response.meta["playwright_page"]
        try:
            await page.wait_for_function(browsing.CHALLENGE_CLEARED, timeout=self.ready_timeout)
            dom = (await page.content()).encode("utf-8")
        except Exception:  # noqa: BLE001 - the challenge never cleared (or the page died)
            dom = b""
        fp = fingerprint(response.url, dom)
        reason = "" if fp.module is not None else Reason.JS_CHALLENGE if not dom or \
            "js_challenge" in fp.signals else Reason.UNKNOWN_PLATFORM
        if reason:
            self.note_block(response.url, reason)
            await browsing.close_page(page)
            await page.context.close()
        fp.needs_js = True
        async for r in self.start_site(seed, response.url, response.status, response.body,
                                       dom or response.body, fp, reason, page):
            yield r

    async def start_site(self, seed: seeds.Seed, url: str, status: int, raw: bytes, dom: bytes,
                         fp: Any, reason: str, page: Any = None) -> AsyncIterator[Any]:
        data = {"units": sorted(seed.units), "sources": sorted(seed.sources), "base": seed.base,
                "family": fp.family, "needs_js": fp.needs_js, "signals": fp.signals,
                "entry_urls": seed.entry_urls}
        module = fp.module
        yield page_evidence(EvidenceKind.PORTAL, url=url, status=status,
                            raw_sha256=store.sha256(raw), dom=dom,
                            excerpt=dom.decode("utf-8", "replace")[:2000],
                            outcome=Outcome.FAILED if reason else Outcome.OK, reason=reason,
                            data=data)
        if self.dropped(seed.base):
            if page is not None and not reason:  # the page that passed a challenge
                await browsing.close_page(page)
                await page.context.close()
            return
        if reason:
            return
        run = Run(seed.host, seed.base, tuple(sorted(seed.units)), module, fp.needs_js,
                  self.lanes_for(seed.base, fp.needs_js))
        self.runs[run.key] = run
        if page is not None:  # the page that passed the challenge serves the portal's tasks
            run.idle_pages.append(page)
            run.context = page.context
        if run.browser and not self.browser:
            run.finished = True
            yield evidence(EvidenceKind.PORTAL_LIST, url=url, method="GET", outcome=Outcome.FAILED,
                           reason=self.browser_reason, data=run.common())
            return
        root = soup_of(dom)
        for list_url in module.listing_urls(seed.base, root):
            run.queue.append(Task("list", list_url, browser=run.browser))
            run.list_pending += 1
        if not run.list_pending:
            yield self.list_summary(run, failed=Reason.NO_LISTING)
        if module.CONFIG_PATH:
            run.queue.append(Task("config", seed.base + module.CONFIG_PATH))
        if module.LOGIN_FROM == "root":
            yield self.login_item(run, url, dom, status, raw)
        elif module.LOGIN_FROM.startswith("/"):
            run.queue.append(Task("login", seed.base + module.LOGIN_FROM, browser=run.browser))
        async for r in self.launch(run):
            yield r

    def root_fault(self, response: Response, fp: Any) -> str:
        """Why a home page cannot be read ("" when it can): truncated or garbage, a challenge
        that a plain request cannot pass (counted as a block), or no known platform."""
        fault = html_fault(response.body, content_type(response))
        if fault:
            return fault
        if fp.module is None and "js_challenge" in fp.signals:
            self.note_block(response.url, Reason.JS_CHALLENGE)
            return Reason.JS_CHALLENGE
        return "" if fp.module is not None else Reason.UNKNOWN_PLATFORM

    def note_block(self, url: str, reason: str) -> None:
        guard = guard_of(self)
        if guard is not None:
            guard.note_block(url, reason)

    @holding
    async def on_root_error(self, failure: Failure) -> AsyncIterator[Any]:
        for item in stop_evidence(failure):
            yield item
        request = failed_request(failure)
        page = request.meta.get("playwright_page")
        if page is not None:  # the home page tried in a browser: its context is not needed
            await browsing.close_page(page)
            await page.context.close()
        seed: seeds.Seed = request.meta["seed"]
        reason, status = failure_reason(failure)
        self.logger.warning("portal %s unreachable: %s", seed.base, reason)
        yield evidence(EvidenceKind.PORTAL, url=request.url, method="GET", status=status,
                       outcome=Outcome.FAILED, reason=reason,
                       data={"units": sorted(seed.units), "sources": sorted(seed.sources),
                             "base": seed.base, "entry_urls": seed.entry_urls})

    # -- scheduling: lanes per site, browser slots across sites ------------------------------

    async def launch(self, run: Run) -> AsyncIterator[Any]:
        # The national pages take no portal's turn: the national host is free only for a while,
        # and after its first pages they are plain requests with the cookie the browser earned.
        if run.browser and run.portal:
            if self.active >= self.slots:
                self.waiting.append(run)
                return
            self.active += 1
        run.started = True
        async for r in self.pump(run):
            yield r

    async def pump(self, run: Run) -> AsyncIterator[Any]:
        if run.portal and self.dropped(run.base):
            run.queue.clear()
        while run.queue and run.inflight < run.lanes:
            task = run.queue.popleft()
            page = run.idle_pages.pop() if task.browser and run.idle_pages else None
            run.inflight += 1
            yield self.request(run, task, page)
        if not run.queue and run.inflight == 0 and not run.finished:
            async for r in self.finish(run):
                yield r

    def request(self, run: Run, task: Task, page: Any = None) -> scrapy.Request:
        meta: dict[str, Any] = {"run": run.key, "task": task}
        headers = {"Cookie": run.cookie} if run.cookie and not task.browser else None
        if task.browser:
            meta.update(playwright=True, playwright_include_page=True,
                        playwright_context=run.context_name,
                        playwright_page_init_callback=browsing.init_page,
                        # the callback waits for the rendering itself (ready_js): no need to
                        # wait for the load event too
                        playwright_page_goto_kwargs={"wait_until": "commit",
                                                     "timeout": self.goto_timeout})
            if page is not None:
                meta["playwright_page"] = page
        # the national host's turn is short (its other crawls come first): use it at once
        return scrapy.Request(task.url, callback=self.on_task, errback=self.on_task_error,
                              meta=meta, dont_filter=True, headers=headers,
                              priority=1 if task.kind == "national" else 0)

    async def finish(self, run: Run) -> AsyncIterator[Any]:
        run.finished = True
        stats = self.crawler.stats
        for page in run.idle_pages:
            if await browsing.close_page(page):
                stats.inc_value("provincial/pages_closed")
        run.idle_pages.clear()
        if run.context is not None:
            await run.context.close()
            stats.inc_value("provincial/contexts_closed")
            run.context = None
        if run.browser and run.started and run.portal:
            self.active -= 1
            while self.waiting and self.active < self.slots:
                async for r in self.launch(self.waiting.popleft()):
                    yield r

    # -- tasks ------------------------------------------------------------------------------

    @holding
    async def on_task(self, response: Response) -> AsyncIterator[Any]:
        run: Run = self.runs[response.meta["run"]]
        task: Task = response.meta["task"]
        page = response.meta.get("playwright_page")
        if page is not None and run.context is None:
            run.context = page.context
        try:
            async for item in self.handle(run, task, response, page):
                yield item
        except Exception as exc:  # noqa: BLE001 - a page we cannot read is a failed observation
            reason = exception_reason(exc)[0]
            if reason in (Reason.ERROR, Reason.BROWSER_ERROR):
                reason = Reason.UNREADABLE
                self.logger.exception("could not read %s", response.url)
            async for item in self.task_failed(run, task, reason, response.status, str(exc)):
                yield item
        finally:
            if page is not None and not page.is_closed():
                run.idle_pages.append(page)
            run.inflight -= 1
        async for r in self.pump(run):
            yield r

    @holding
    async def on_task_error(self, failure: Failure) -> AsyncIterator[Any]:
        request = failed_request(failure)
        run: Run = self.runs[request.meta["run"]]
        task: Task = request.meta["task"]
        page = request.meta.get("playwright_page")
        if page is not None and run.context is None and not page.is_closed():
            run.context = page.context
        reason, status = failure_reason(failure)
        self.logger.warning("could not fetch %s (%s): %s", task.url, task.kind, reason)
        for item in stop_evidence(failure):
            yield item
        try:
            async for item in self.task_failed(run, task, reason, status):
                yield item
        finally:
            if page is not None and not page.is_closed():
                run.idle_pages.append(page)  # reused for the next task, closed at the end
            run.inflight -= 1
        async for r in self.pump(run):
            yield r

    async def handle(self, run: Run, task: Task, response: Response,
                     page: Any) -> AsyncIterator[Any]:
        raw = response.body
        dom = raw
        status = response.status
        shot = ""
        steps: list[str] = []
        if page is None:
            dom = self.plain_page(task, response)
        else:  # let the app render (and walk a wizard) before reading
            await self.settle(run, task, page)
            rendered = RENDERED.get(run.family.NAME) if run.family is not None else None
            if task.kind == "apply" and rendered is not None:
                steps = await rendered.walk(page)
            dom = (await page.content()).encode("utf-8")
            if task.kind != "national" and is_block_page(dom):  # settled as the rejection page
                self.note_block(task.url, "rejected")
                raise PageFault(Reason.BLOCKED, task.url)
            doc = browsing.take_document(page)
            if doc is not None:
                raw, status = doc[2], doc[1]
                self.check_page(task, raw, "text/html", status)
            if task.kind in ("list", "apply", "national"):
                shot = await self.screenshot(run, task, page)
        handler = getattr(self, f"on_{task.kind}")
        for item in handler(run, task, response.url, status, raw, dom, shot, steps):
            yield item
        if task.kind == "national" and page is not None and not run.cookie_tried:
            await self.share_cookie(run, page, dom)

    def ready_js(self, run: Run) -> str:
        family = RENDERED.get(run.family.NAME) if run.family is not None else None
        ready = family.READY_JS if family is not None else NATIONAL_READY
        return f"() => ({ready})() || {browsing.REJECTED_READY}"

    @property
    def ready_timeout(self) -> int:
        """ms a rendered page may take to settle (DVC_READY_TIMEOUT)."""
        return self.crawler.settings.getint("DVC_READY_TIMEOUT", READY_TIMEOUT)

    @property
    def goto_timeout(self) -> float:
        """ms a browser navigation may take: the plain requests' DOWNLOAD_TIMEOUT."""
        return self.crawler.settings.getfloat("DOWNLOAD_TIMEOUT", 30) * 1000

    def plain_page(self, task: Task, response: Response) -> bytes:
        """The page as UTF-8, or PageFault: truncated/garbage (malformed), or, outside the
        national pages (which go to the browser), a challenge a plain request cannot pass."""
        self.check_page(task, response.body, content_type(response), response.status)
        dom = plain_dom(response)
        if task.kind not in ("national", "config") and pages.is_challenge(dom):
            self.note_block(task.url, Reason.JS_CHALLENGE)
            raise PageFault(Reason.JS_CHALLENGE, task.url, response.status)
        return dom

    def check_page(self, task: Task, raw: bytes, ctype: str, status: int | None) -> None:
        maxsize = self.crawler.settings.getint("DOWNLOAD_MAXSIZE")
        fault = html_fault(raw, "json" if task.kind == "config" else ctype, maxsize)
        if fault:
            raise PageFault(fault, task.url, status)

    async def settle(self, run: Run, task: Task, page: Any) -> None:
        """Wait for the page to render; a page that never does is a failure with the reason
        its DOM shows: a challenge that never cleared, a rejection page, else a timeout. The
        requests the page makes itself get what plain requests get (the retry middleware): a
        transient failure is asked again after the same backoff (`Retry-After` honoured), up to
        RETRY_TIMES per URL, by reloading the page; then the failure is the page's reason."""
        retried: dict[str, int] = {}
        await self.render(run, task, page)
        while failed := browsing.take_failed(page):
            await self.retry_page(task, page, failed[0], retried)
            if not browsing.has_failed(page):  # the document itself came back
                await self.render(run, task, page)

    async def render(self, run: Run, task: Task, page: Any) -> None:
        """Wait for the rendering. A render that times out (a busy machine, or a request of
        the page that hangs) is tried once more, reloaded, with twice the time, and the
        browser work backs off (fewer pages at once) so that it does not happen again."""
        from playwright.async_api import TimeoutError as PlaywrightTimeout

        try:
            await page.wait_for_function(self.ready_js(run), timeout=self.ready_timeout)
            return
        except PlaywrightTimeout:
            reason, status = await self.render_failure(task, page)
        if browsing.has_failed(page):
            return  # a request of the page failed: settle() retries it or names it
        if reason != Reason.TIMEOUT:
            self.give_up(task, reason, status)
        self.back_off(run)
        try:
            await page.reload(wait_until="commit", timeout=self.goto_timeout)
            await page.wait_for_function(self.ready_js(run), timeout=2 * self.ready_timeout)
        except PlaywrightTimeout:
            reason, status = await self.render_failure(task, page)
            if not browsing.has_failed(page):
                self.give_up(task, reason, status)

    async def render_failure(self, task: Task, page: Any) -> tuple[str, int | None]:
        dom = (await page.content()).encode("utf-8")
        doc = browsing.take_document(page)  # the page's own reload may have failed
        status = doc[1] if doc else None
        return (Reason.JS_CHALLENGE if pages.is_challenge(dom) else
                http_reason(status) if status and status >= 400 else Reason.TIMEOUT), status

    def give_up(self, task: Task, reason: str, status: int | None) -> None:
        if reason in (Reason.JS_CHALLENGE, Reason.BLOCKED):
            self.note_block(task.url, reason)
        raise PageFault(reason, task.url, status)

    def back_off(self, run: Run) -> None:
        """A page that timed out rendering (the machine is busy): fewer browser pages at once
        from now on (a lane fewer for every site read in a browser, a browser portal fewer),
        as AutoThrottle slows down on latency."""
        self.crawler.stats.inc_value("provincial/render_retries")
        for other in (run, *self.runs.values()):
            if other.browser:
                other.lanes = max(1, other.lanes - 1)
        self.slots = max(1, self.slots - 1)

    async def retry_page(self, task: Task, page: Any, failed: browsing.FailedRequest,
                         retried: dict[str, int]) -> None:
        """Ask a page's failed request again as a plain one would be, or fail with its reason."""
        reason = http_reason(failed.status)
        done = retried.get(failed.url, 0)
        if not is_transient(reason) or done >= self.crawler.settings.getint("RETRY_TIMES"):
            self.logger.warning("%s: %s answered %s (%s)", task.url, failed.url, failed.status,
                                reason)
            return self.give_up(task, reason, failed.status)
        retried[failed.url] = done + 1
        self.crawler.stats.inc_value("provincial/page_request_retries")
        s = self.crawler.settings
        await asyncio.sleep(backoff(done, s.getfloat("DVC_RETRY_BACKOFF", 5.0),
                                    s.getfloat("DVC_RETRY_BACKOFF_MAX", 120.0), failed.status,
                                    parse_retry_after(failed.retry_after)))
        response = await page.reload(wait_until="commit", timeout=self.goto_timeout)
        if response is not None and response.status in browsing.FAILING_STATUSES:
            browsing.note_failed_document(page, response)  # the page itself failed this time

    async def screenshot(self, run: Run, task: Task, page: Any) -> str:
        run.shots += 1
        name = browsing.safe_name(f"{task.kind}-{task.code or run.shots}") + ".jpg"
        rel = self.shot_dir / browsing.safe_name(run.key) / name
        (self.out_dir / rel.parent).mkdir(parents=True, exist_ok=True)
        try:  # JPEG: a third of PNG's time, and legible
            await page.screenshot(path=str(self.out_dir / rel), type="jpeg", quality=60)
        except Exception:  # noqa: BLE001 - evidence without a picture is still evidence
            self.logger.warning("no screenshot of %s", page.url)
            return ""
        return rel.as_posix()

    def item(self, kind: EvidenceKind, run: Run, task: Task, url: str, status: int | None,
             raw: bytes, dom: bytes, shot: str, data: dict[str, Any], excerpt: str = "",
             outcome: Outcome = Outcome.OK, reason: str = "") -> dict[str, Any]:
        return page_evidence(kind, url=url, status=status, raw_sha256=store.sha256(raw),
                             dom=dom, excerpt=excerpt, screenshot=shot, outcome=outcome,
                             reason=reason, procedure_code=task.code,
                             data={**run.common(), **data})

    # listing pages --------------------------------------------------------------------------

    def on_list(self, run: Run, task: Task, url: str, status: int | None, raw: bytes,
                dom: bytes, shot: str, steps: list[str]) -> Any:
        listing = run.platform.parse_listing(url, dom)
        if not listing.procedures and b"<table" not in dom.lower():
            # no list at all (not an empty one): a page that is not what it should be
            raise PageFault(Reason.MALFORMED, url, status)
        run.list_pages += 1
        for p in listing.procedures:
            known = run.listed.get(p.code)
            if known is None or OFFER_RANK[p.level] > OFFER_RANK[known.level]:
                run.listed[p.code] = p
        yield self.item(EvidenceKind.PORTAL_PAGE, run, task, url, status, raw, dom, shot,
                        listing.as_dict(), run.platform.page_excerpt("list", dom))
        if run.platform.LOGIN_FROM == "listing" and not run.login_done:
            yield self.login_item(run, url, dom, status, raw)
        if listing.next_url and run.list_pages < 200:
            run.queue.appendleft(Task("list", listing.next_url, browser=task.browser))
            run.list_pending += 1
        yield from self.list_done(run)

    def list_done(self, run: Run) -> Any:
        run.list_pending -= 1
        if run.list_pending:
            return
        yield self.list_summary(run, failed=run.list_failure)
        for code, p in sorted(run.listed.items()):
            if code in self.codes and OFFER_RANK[p.level] >= OFFER_RANK[Offer.PARTIAL] \
                    and p.apply_url:
                run.queue.append(Task("apply", p.apply_url, code=code, browser=run.browser))

    def list_summary(self, run: Run, failed: str = "") -> dict[str, Any]:
        procedures = {c: {"level": p.level, "name": p.name, "apply_url": p.apply_url}
                      for c, p in sorted(run.listed.items())}
        return evidence(EvidenceKind.PORTAL_LIST, url=run.base + "/", method="GET",
                        outcome=Outcome.FAILED if failed else Outcome.OK, reason=failed,
                        data={**run.common(), "complete": not failed, "pages": run.list_pages,
                              "procedures": procedures})

    # login options, config ------------------------------------------------------------------

    def login_item(self, run: Run, url: str, dom: bytes, status: int | None,
                   raw: bytes | None = None) -> dict[str, Any]:
        run.login_done = True
        facts = run.platform.parse_login(url, dom)
        task = Task("login", url)
        if facts is None:
            return self.item(EvidenceKind.PORTAL_LOGIN, run, task, url, status, raw or dom, dom, "",
                             {}, outcome=Outcome.FAILED, reason=Reason.NO_LOGIN_OPTIONS)
        return self.item(EvidenceKind.PORTAL_LOGIN, run, task, url, status, raw or dom, dom, "",
                         facts.as_dict(), run.platform.page_excerpt("login", dom))

    def on_login(self, run: Run, task: Task, url: str, status: int | None, raw: bytes,
                 dom: bytes, shot: str, steps: list[str]) -> Any:
        yield self.login_item(run, url, dom, status, raw)

    def on_config(self, run: Run, task: Task, url: str, status: int | None, raw: bytes,
                  dom: bytes, shot: str, steps: list[str]) -> Any:
        config = CONFIGURED[run.platform.NAME].parse_config(raw)
        yield self.item(EvidenceKind.PORTAL_PAGE, run, task, url, status, raw, dom, "",
                        {"config": config}, decode_html(raw)[:2000],
                        outcome=Outcome.OK if config else Outcome.FAILED,
                        reason="" if config else Reason.UNEXPECTED_CONFIG)

    # apply flows ----------------------------------------------------------------------------

    def on_apply(self, run: Run, task: Task, url: str, status: int | None, raw: bytes,
                 dom: bytes, shot: str, steps: list[str]) -> Any:
        facts = run.platform.parse_apply(url, dom)
        data = {**facts.as_dict(), "code": task.code, "flow_step": task.step,
                "walked_steps": steps}
        if not facts.found:
            yield self.item(EvidenceKind.PORTAL_APPLY, run, task, url, status, raw, dom, shot, data,
                            run.platform.page_excerpt("apply", dom), outcome=Outcome.FAILED,
                            reason=Reason.NOT_FOUND)
            return
        yield self.item(EvidenceKind.PORTAL_APPLY, run, task, url, status, raw, dom, shot, data,
                        run.platform.page_excerpt("apply", dom))
        if facts.next_url and not facts.final and task.step + 1 < MAX_FLOW_PAGES:
            run.queue.appendleft(Task("apply", facts.next_url, code=task.code,
                                      browser=task.browser, step=task.step + 1))

    # failures -------------------------------------------------------------------------------

    async def task_failed(self, run: Run, task: Task, reason: str, status: int | None,
                          detail: str = "") -> AsyncIterator[Any]:
        kind = FAILED_TASK_KIND[task.kind]
        data = {**run.common(), "code": task.code, **task.extra}
        if detail:
            data["error"] = detail[:500]
        yield evidence(kind, url=task.url, method="GET", status=status, outcome=Outcome.FAILED,
                       reason=reason, procedure_code=task.code, data=data)
        if task.kind == "list":
            run.list_failure = run.list_failure or reason
            for item in self.list_done(run):
                yield item
