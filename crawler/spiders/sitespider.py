"""What the provincial and national-pages spiders share: the browser's set-up, and reading a
site's sequence of tasks (crawler/sites.py `Run`, `Task`), each in a browser or plain, with
its lanes, its context and reused pages, render waits, retries and screenshots.

`SiteSpider` has no name (Scrapy does not list it): `ProvincialSpider` (crawler/spiders/
provincial.py) adds the portals' fingerprint, listing, login and apply flows, its seeding and its
browser slots across portals; `NationalPagesSpider` (crawler/spiders/national_pages.py) the
national procedure pages, their challenge and cookie sharing. A spider reads a task of kind K
in its `on_K` method.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import scrapy
from scrapy.http import Response
from scrapy.settings import BaseSettings
from twisted.python.failure import Failure

from core import store
from core.vocab import EvidenceKind, Outcome, Reason
from crawler import pages
from crawler.browser import use_browser
from crawler.downloadermiddlewares.hostguard import guard_of
from crawler.downloadermiddlewares.retry import backoff, parse_retry_after
from crawler.exceptions import PageFault
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
from crawler.platforms import browsing
from crawler.platforms.base import html_fault
from crawler.profiles import is_loopback
from crawler.sites import Run, Task

READY_TIMEOUT = 15_000  # ms a rendered page may take to settle (DVC_READY_TIMEOUT)


class SiteSpider(scrapy.Spider):
    """Reads `Run`s of tasks. A subclass sets `out_dir`, `shot_dir` and `runs`, names the
    evidence of a failed task by kind (`FAILED_KIND`), and reads each kind (`on_<kind>`)."""

    FAILED_KIND: dict[str, EvidenceKind] = {}
    SHOT_KINDS: tuple[str, ...] = ()  # task kinds whose rendered page is photographed
    # task kinds whose plain page may be a challenge or a rejection page and is read as such
    READS_CHALLENGE: tuple[str, ...] = ()
    READS_REJECTION: tuple[str, ...] = ()
    out_dir: Path
    shot_dir: Path
    runs: dict[str, Run]

    @classmethod
    def update_settings(cls, settings: BaseSettings) -> None:
        super().update_settings(settings)
        use_browser(settings)

    def lanes_for(self, base: str, browser: bool) -> int:
        """Requests in flight per site: one for a real host (politeness); on loopback (the
        replica) a few, so the browser part is bound by CPU rather than by latency."""
        return 3 if is_loopback(base) else 1

    def note_block(self, url: str, reason: str) -> None:
        guard = guard_of(self)
        if guard is not None:
            guard.note_block(url, reason)

    def dropped(self, base: str) -> bool:
        """A site nothing more is asked of (the provincial spider's seeding says)."""
        return False

    # -- scheduling: lanes per site ---------------------------------------------------------

    async def launch(self, run: Run) -> AsyncIterator[Any]:
        run.started = True
        async for r in self.pump(run):
            yield r

    async def pump(self, run: Run) -> AsyncIterator[Any]:
        if self.dropped(run.base):
            run.queue.clear()
        while run.queue and run.inflight < run.lanes:
            task = run.queue.popleft()
            page = run.idle_pages.pop() if task.browser and run.idle_pages else None
            run.inflight += 1
            yield self.request(run, task, page)
        if not run.queue and run.inflight == 0 and not run.finished:
            await self.finish(run)
            for other in self.admitted(run):
                async for r in self.launch(other):
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
        return scrapy.Request(task.url, callback=self.on_task, errback=self.on_task_error,
                              meta=meta, dont_filter=True, headers=headers)

    async def finish(self, run: Run) -> None:
        """The run's last task has ended: its pages and browser context are closed."""
        run.finished = True
        stats = self.crawler.stats
        for page in run.idle_pages:
            if await browsing.close_page(page):
                stats.inc_value(f"{self.name}/pages_closed")
        run.idle_pages.clear()
        if run.context is not None:
            await run.context.close()
            stats.inc_value(f"{self.name}/contexts_closed")
            run.context = None

    def admitted(self, finished: Run) -> Iterator[Run]:
        """The runs waiting for a browser turn that `finished` has freed, one at a time."""
        return iter(())

    # -- tasks ------------------------------------------------------------------------------

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
            steps = await self.walk(run, task, page)
            dom = (await page.content()).encode("utf-8")
            # settled as the rejection page
            if task.kind not in self.READS_REJECTION and is_block_page(dom):
                self.note_block(task.url, "rejected")
                raise PageFault(Reason.BLOCKED, task.url)
            doc = browsing.take_document(page)
            if doc is not None:
                raw, status = doc[2], doc[1]
                self.check_page(task, raw, "text/html", status)
            if task.kind in self.SHOT_KINDS:
                shot = await self.screenshot(run, task, page)
        handler = getattr(self, f"on_{task.kind}")
        for item in handler(run, task, response.url, status, raw, dom, shot, steps):
            yield item
        if page is not None:
            await self.rendered(run, task, page, dom)

    async def walk(self, run: Run, task: Task, page: Any) -> list[str]:
        """The steps walked on a rendered page before it is read (an apply wizard's)."""
        return []

    async def rendered(self, run: Run, task: Task, page: Any, dom: bytes) -> None:
        """After a rendered page has been read (the national pages share its cookie)."""

    def ready_condition(self, run: Run) -> str:
        """The JavaScript function true once a page of `run` has rendered."""
        raise NotImplementedError

    def ready_js(self, run: Run) -> str:
        return f"() => ({self.ready_condition(run)})() || {browsing.REJECTED_READY}"

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
        kinds that read it (READS_CHALLENGE), a challenge a plain request cannot pass."""
        self.check_page(task, response.body, content_type(response), response.status)
        dom = plain_dom(response)
        if task.kind not in self.READS_CHALLENGE and pages.is_challenge(dom):
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
        from now on (a lane fewer for every site read in a browser), as AutoThrottle slows
        down on latency."""
        self.crawler.stats.inc_value(f"{self.name}/render_retries")
        for other in (run, *self.runs.values()):
            if other.browser:
                other.lanes = max(1, other.lanes - 1)

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
        self.crawler.stats.inc_value(f"{self.name}/page_request_retries")
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

    # -- failures ---------------------------------------------------------------------------

    async def task_failed(self, run: Run, task: Task, reason: str, status: int | None,
                          detail: str = "") -> AsyncIterator[Any]:
        kind = self.FAILED_KIND[task.kind]
        data = {**run.common(), "code": task.code, **task.extra}
        if detail:
            data["error"] = detail[:500]
        yield evidence(kind, url=task.url, method="GET", status=status, outcome=Outcome.FAILED,
                       reason=reason, procedure_code=task.code, data=data)
