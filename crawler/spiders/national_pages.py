"""The national portal's HTML procedure pages (`national_page` evidence): a spider of its own,
the third crawl of the national host (after the national API and the 766 figures; app/jobs.py),
so the host is asked by one crawl at a time. The job starts it as the provincial crawl ends; with
DVC_AWAIT_INDEX766 it loads meanwhile and asks nothing until the 766 figures' crawl has ended
(crawler/phases.py).

A page behind the portal's JavaScript challenge is read in a browser; once one has passed, the
cookie the browser earned is tried with plain requests (`rendered`), and the first page that
does not come back real sends the rest back to the browser (`on_national`). The pages are one
`Run` of tasks (crawler/sites.py) with no platform family, read as crawler/spiders/sitespider.py
reads a site. Chromium is launched only when the probe (the first page, plain) shows that the
pages need JavaScript: Playwright starts its browser on the first browser request.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

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
from crawler.profiles import is_loopback
from crawler.sites import Run, Task
from crawler.spiders.sitespider import SiteSpider

NATIONAL_PAGE = "/thu-tuc-hanh-chinh/"
# A national procedure page has rendered (past the challenge, the React app has drawn it) when it
# shows a procedure code label, says "not found", or is the rejection page.
NATIONAL_READY = """() => { const t = document.body ? document.body.innerText : '';
  return /Mã thủ tục|Không tìm thấy|requested URL was rejected/i.test(t); }"""


class NationalPagesSpider(SiteSpider):
    name = "national_pages"
    FAILED_KIND = {"national": EvidenceKind.NATIONAL_PAGE}
    SHOT_KINDS = ("national",)
    # a challenge or the rejection page is what a national page may show: read, with its reason
    READS_CHALLENGE = READS_REJECTION = ("national",)

    def __init__(self, *, base_url: str, national: list[tuple[str, str]], out_dir: Path,
                 run_id: int, browser: bool, browser_reason: str = Reason.NEEDS_BROWSER,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.base_url = base_url.rstrip("/")
        self.national = national  # (procedure code, procedure id) of the pages to read
        self.out_dir = Path(out_dir)
        self.shot_dir = Path("screenshots") / f"run-{run_id}"
        self.browser = browser
        self.browser_reason = browser_reason
        self.runs: dict[str, Run] = {}
        self.allowed_domains = [self.base_url.split("//", 1)[-1].split(":")[0]]

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> NationalPagesSpider:
        s = crawler.settings
        given = seeds.given_seeds(s)  # a Scrapyd job: its pages come with it (app/engines.py)
        if given is not None:
            kwargs.setdefault("national", given[1])
        else:  # the national crawl has stored the run's procedures
            kwargs.setdefault("national", seeds.Sources.from_settings(s).national())
        kwargs.setdefault("base_url", s.get("DVC_BASE_URL"))
        kwargs.setdefault("out_dir", Path(s.get("DVC_OUT_DIR")
                                          or Path(s.get("DVC_DB") or ".").parent))
        kwargs.setdefault("run_id", s.getint("DVC_RUN_ID"))
        kwargs.setdefault("browser", s.getbool("DVC_BROWSER"))
        kwargs.setdefault("browser_reason", Reason.NO_BROWSER if s.getbool("DVC_BROWSER_MISSING")
                          else Reason.NEEDS_BROWSER)
        spider: NationalPagesSpider = super().from_crawler(crawler, *args, **kwargs)
        return spider

    async def start(self) -> AsyncIterator[Any]:
        self.logger.info("%d national procedure pages", len(self.national))
        if not self.national:
            return
        if self.crawler.settings.getbool("DVC_AWAIT_INDEX766"):  # started beside that crawl
            waited = await phases.wait_for(phases.INDEX766_DONE)
            self.crawler.stats.set_value("national_pages/index766_waited", round(waited, 1))
        yield self.probe_request()

    def lanes_for(self, base: str, browser: bool) -> int:
        """One request at a time on the real host (politeness); on loopback two pages at once
        in a browser (the provincial crawl's browser runs beside it), else three."""
        if not is_loopback(base):
            return 1
        return 2 if browser else 3

    def ready_condition(self, run: Run) -> str:
        return NATIONAL_READY

    # -- the probe: does the portal need a browser? -----------------------------------------

    def probe_request(self) -> scrapy.Request:
        code, fid = self.national[0]
        return scrapy.Request(self.base_url + NATIONAL_PAGE + fid, callback=self.on_probe,
                              errback=self.on_probe_error, dont_filter=True,
                              meta={"code": code})

    async def on_probe(self, response: Response) -> AsyncIterator[Any]:
        fp = fingerprint(response.url, plain_dom(response))
        run = Run(response.url.split("/")[2], self.base_url, (), None, fp.needs_js,
                  self.lanes_for(self.base_url, fp.needs_js))
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

    def on_probe_error(self, failure: Failure) -> Any:
        yield from stop_evidence(failure)
        reason, status = failure_reason(failure)
        for code, fid in self.national:
            yield evidence(EvidenceKind.NATIONAL_PAGE, url=self.base_url + NATIONAL_PAGE + fid,
                           method="GET", status=status, outcome=Outcome.FAILED, reason=reason,
                           procedure_code=code, data={"procedure_id": fid})

    # -- the pages --------------------------------------------------------------------------

    async def rendered(self, run: Run, task: Task, page: Any, dom: bytes) -> None:
        """Once the browser has passed a challenge, try the cookie it earned with plain
        requests: if they then get real pages the browser is spared; the first one that does
        not (a challenge again, or an app shell) sends the rest back to the browser."""
        if run.cookie_tried or not pages.parse_procedure_page(dom).found:
            return
        run.cookie_tried = True
        cookies = await page.context.cookies(run.base)
        run.cookie = "; ".join(f"{c['name']}={c['value']}" for c in cookies)
        if run.cookie:
            for queued in run.queue:
                queued.browser = False

    def on_national(self, run: Run, task: Task, url: str, status: int | None,
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
