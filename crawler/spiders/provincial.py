"""Provincial portals spider (scrapy-playwright), on the same run as the national spider.

Starts from the hosts of the `citizenUrl`s the national crawl stored, plus a configured portal
list (crawler/platforms/seeds.py). With DVC_AWAIT_NATIONAL it runs beside the national crawl:
it visits a portal as soon as the national crawl has stored an office row that hands off to it,
holding what it finds until all are stored (seeds.Seeding; crawler/phases.py). It never asks the
national host: its HTML pages are the `national_pages` spider's.

For each portal: plain GET of its home page, fingerprint (crawler/platforms), then its procedure
list, its login options and, for each rubric procedure it offers online, its apply flow up to,
never past, submission. A browser is used only for a portal whose home page needs JavaScript;
each such portal gets one browser context, closed when the portal is done, and pages are reused
along the portal's sequence and always closed (errbacks too); at most DVC_BROWSER_PORTALS
portals hold a browser context at once. Nothing is submitted, nobody logs in, and no POST is
ever sent. Evidence only; never scores. A site's tasks and their scheduling state:
crawler/sites.py; reading them (shared with the national pages): crawler/spiders/sitespider.py.

A page that cannot be read is a failed observation with a reason (crawler/failures.py), never an
empty one: truncated or garbage HTML is `malformed`, a rejection page `blocked`, a challenge that
never clears `js_challenge` (a home page behind a challenge is tried once in a browser first).
Plain pages are decoded once (`plain_dom`: UTF-8, else the declared charset, else windows-1258).
"""

from __future__ import annotations

import asyncio
import functools
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import scrapy
from scrapy.crawler import Crawler
from scrapy.http import Response
from twisted.python.failure import Failure

from core import store
from core.vocab import OFFER_RANK, EvidenceKind, Offer, Outcome, Reason
from crawler import httpcache, phases
from crawler.exceptions import PageFault
from crawler.failures import (
    failed_request,
    failure_reason,
    stop_evidence,
)
from crawler.items import evidence, page_evidence
from crawler.plainpages import content_type, plain_dom
from crawler.platforms import CONFIGURED, RENDERED, browsing, fingerprint, seeds
from crawler.platforms.base import decode_html, html_fault, soup_of
from crawler.sites import Run, Task, context_name
from crawler.spiders.national_pages import NATIONAL_READY
from crawler.spiders.sitespider import SiteSpider

SEED_POLL = 0.5  # seconds between looks at the national crawl's new office rows
MAX_FLOW_PAGES = 8  # apply steps followed per procedure (a loop guard)
# The evidence a task that could not be read leaves, by task kind.
FAILED_TASK_KIND = {"list": EvidenceKind.PORTAL_PAGE, "login": EvidenceKind.PORTAL_LOGIN,
                    "config": EvidenceKind.PORTAL_PAGE, "apply": EvidenceKind.PORTAL_APPLY}


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


class ProvincialSpider(SiteSpider):
    name = "provincial"
    FAILED_KIND = FAILED_TASK_KIND
    SHOT_KINDS = ("list", "apply")
    READS_CHALLENGE = ("config",)  # JSON: its own fault checks

    def __init__(self, *, base_url: str, seed_list: list[seeds.Seed], codes: set[str],
                 out_dir: Path, run_id: int,
                 browser: bool, browser_portals: int, browser_reason: str = Reason.NEEDS_BROWSER,
                 reuse: Callable[[str], list[dict[str, Any]]] | None = None,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.base_url = base_url.rstrip("/")
        self.seed_list = seed_list
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
        kwargs.setdefault("seed_list", [] if awaiting else sources.seed_list())
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
        return spider

    # -- start ------------------------------------------------------------------------------

    async def start(self) -> AsyncIterator[Any]:
        if self.sources is not None:  # beside the national crawl (crawler/phases.py)
            for item in await self.follow_seeds():
                yield item
            return
        self.logger.info("%d portals to visit", len(self.seed_list))
        for seed in self.seed_list:
            reused = self.reused(seed)
            for out in reused or (self.root_request(seed),):
                yield out

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

    # -- scheduling: browser slots across portals ------------------------------------------

    async def launch(self, run: Run) -> AsyncIterator[Any]:
        """A portal read in a browser waits for one of the slots (DVC_BROWSER_PORTALS)."""
        if run.browser:
            if self.active >= self.slots:
                self.waiting.append(run)
                return
            self.active += 1
        async for r in super().launch(run):
            yield r

    def admitted(self, finished: Run) -> Iterator[Run]:
        if finished.browser and finished.started:
            self.active -= 1
            while self.waiting and self.active < self.slots:
                yield self.waiting.popleft()  # launched (and counted) before the next is asked

    def back_off(self, run: Run) -> None:
        super().back_off(run)
        self.slots = max(1, self.slots - 1)  # and a browser portal fewer

    # -- tasks ------------------------------------------------------------------------------

    @holding
    async def on_task(self, response: Response) -> AsyncIterator[Any]:
        async for out in super().on_task(response):
            yield out

    @holding
    async def on_task_error(self, failure: Failure) -> AsyncIterator[Any]:
        async for out in super().on_task_error(failure):
            yield out

    async def walk(self, run: Run, task: Task, page: Any) -> list[str]:
        rendered = RENDERED.get(run.platform.NAME)
        return await rendered.walk(page) if task.kind == "apply" and rendered is not None else []

    def ready_condition(self, run: Run) -> str:
        family = RENDERED.get(run.platform.NAME)
        # a family without its own test, read in a browser because its home page was behind a
        # challenge, waits as the national pages do (a procedure code, "not found", rejected)
        return family.READY_JS if family is not None else NATIONAL_READY


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

    async def task_failed(self, run: Run, task: Task, reason: str, status: int | None,
                          detail: str = "") -> AsyncIterator[Any]:
        async for item in super().task_failed(run, task, reason, status, detail):
            yield item
        if task.kind == "list":
            run.list_failure = run.list_failure or reason
            for item in self.list_done(run):
                yield item
