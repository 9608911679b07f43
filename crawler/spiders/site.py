"""The `site` spider: each unit's whole site as the UN survey searches it (issue 18).

For the national portal (unit VN) and each province's portal it stores the pages searched
(`site_page`: home page at depth 0, its links and its sitemap's pages at depth 1, their links at
depth 2, breadth-first within rubrics/indicators/detectors.yaml `search`; crawler/sitewalk.py)
and one `site_measure` (HTTPS and the redirect, width at 390 px and viewport meta, axe-core's
WCAG 2.1 AA violations, W3C errors; crawler/measures.py). Evidence only; never scores
(audits/ judges it).

Chromium renders each site's home page once, at 390 px wide (its DOM is the stored depth-0 page,
so the links of a JavaScript-only portal are searched too), and any deeper page whose plain
answer is an app shell (crawler/platforms `fingerprint`), within the budget. Without a browser
the walk goes on over plain HTTP and the browser's measures are None (`no_browser`). Read-only:
GET only, robots.txt obeyed, politeness per host as crawler/profiles.py sets it; login,
registration, submission and payment links are never followed.

Run by the job as soon as the provincial crawl ends, beside the national host's last crawls
(the 766 figures, then its HTML procedure pages; DVC_AWAIT_NATIONAL_PAGES, crawler/phases.py), it
searches the provincial portals at once and a site on the national host only once the national
pages' crawl has ended: one crawl at a time per host.

The walk is plain async code over the engine's downloads (downloader middlewares: robots,
retries, host guard, cache, offsite), run from `start()`; the items go out through `start()` as
they come, then the W3C checker runs once for every site and the measures follow.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin, urlsplit

import scrapy
from scrapy.crawler import Crawler
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Response
from scrapy.settings import BaseSettings
from scrapy.utils.defer import maybe_deferred_to_future

from core import store
from core.indicators import load_indicators
from core.rows import EvidenceRow
from core.rubric import RUBRIC_DIR
from core.vocab import GONE_STATUSES, EvidenceKind, Outcome, Reason
from crawler import measures, phases, sitewalk
from crawler.browser import use_browser
from crawler.failures import exception_reason, http_reason
from crawler.items import evidence, page_evidence
from crawler.parsers import is_block_page
from crawler.plainpages import content_type, plain_dom
from crawler.platforms import browsing, fingerprint, seeds
from crawler.platforms.base import html_fault, soup_of
from crawler.profiles import is_loopback
from crawler.sitewalk import Site, Target, Walk

DEFAULT_SEARCH = {"depth": 2, "max_pages": 40, "sitemap": True}
MAX_STYLESHEETS = 5  # style sheets of the home page sent to the W3C checker
MAX_CHILD_SITEMAPS = 3  # sitemaps of a sitemap index read
DONE = object()  # the end of the items queue


@dataclass
class Page:
    """A page read: its row, and (when read) its DOM and links."""

    item: dict[str, Any] | None
    dom: bytes = b""
    raw: bytes = b""
    links: list[sitewalk.Link] = field(default_factory=list)
    ok: bool = False


@dataclass
class SiteState:
    site: Site
    walk: Walk
    context: Any = None  # the site's browser context, closed when its walk ends
    layout: dict[str, Any] = field(default_factory=dict)  # scroll_width, viewport_meta
    axe: list[dict[str, Any]] | None = None
    failures: dict[str, str] = field(default_factory=dict)
    w3c: measures.W3cInput = field(default_factory=lambda: measures.W3cInput(""))
    css_failed: str = ""  # why a style sheet could not be read
    https: measures.HttpsMeasure | None = None
    # set once the home page's documents for the W3C checker are in (or known missing)
    w3c_ready: asyncio.Event = field(default_factory=asyncio.Event)
    reused: bool = False  # an earlier run's evidence stands for this visit
    # the cookies the browser earned on the home page (a JavaScript challenge passed, as on the
    # national portal), sent with the site's plain requests so they are not challenged again
    cookie: str = ""


class SurveySiteSpider(scrapy.Spider):
    name = "site"

    @classmethod
    def update_settings(cls, settings: BaseSettings) -> None:
        super().update_settings(settings)
        use_browser(settings)

    def __init__(self, *, sites: list[Site], search: dict[str, Any], browser: bool,
                 browser_reason: str = Reason.NO_BROWSER, width: int = 390,
                 sitemap_patterns: dict[str, Any] | None = None,
                 unread: dict[str, tuple[str, int | None]] | None = None,
                 reusable: dict[str, list[dict[str, Any]]] | None = None,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        # host -> (reason, status): portals whose home page the run's provincial crawl could
        # not read; not asked again (a block or a broken page is asked once per run)
        self.unread = unread or {}
        # home URL -> an earlier run's evidence of the site that may stand for tonight's
        # (a re-run inside the reuse window: the renders and TLS checks have no HTTP cache)
        self.reusable = reusable or {}
        self.width = width  # px: the `responsive` detector's
        self.sitemap_patterns = sitemap_patterns or {"text": ["sitemap"], "href": ["sitemap"]}
        self.sites = sites
        self.search = {**DEFAULT_SEARCH, **search}
        self.browser = browser
        self.browser_reason = browser_reason
        self.allowed_domains = sorted({urlsplit(s.home).hostname or ""
                                       for s in sites})
        self.states: list[SiteState] = []
        self.queue: asyncio.Queue[Any] = asyncio.Queue()

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> SurveySiteSpider:
        s = crawler.settings
        rubric_dir = s.get("DVC_RUBRIC_DIR") or RUBRIC_DIR
        indicators = load_indicators(rubric_dir)
        kwargs.setdefault("search", dict(indicators.search) if indicators else {})
        detectors = indicators.detectors if indicators else {}
        if "responsive" in detectors:
            kwargs.setdefault("width", int(detectors["responsive"].params["width"]))
        if "sitemap" in detectors:
            kwargs.setdefault("sitemap_patterns", dict(detectors["sitemap"].params))
        portals = portal_rows(s)  # read once: the sites and the unread portals come from it
        kwargs.setdefault("sites", sites_from_settings(s, portals))
        kwargs.setdefault("unread", unread_portals(portals))
        kwargs.setdefault("reusable", reusable_sites(s))
        kwargs.setdefault("browser", s.getbool("DVC_BROWSER"))
        kwargs.setdefault("browser_reason", Reason.NO_BROWSER)
        spider: SurveySiteSpider = super().from_crawler(crawler, *args, **kwargs)
        return spider

    # -- settings -------------------------------------------------------------------------

    @property
    def timeout(self) -> float:
        return self.crawler.settings.getfloat("DOWNLOAD_TIMEOUT", 30)

    @property
    def ready_timeout(self) -> int:
        return self.crawler.settings.getint("DVC_READY_TIMEOUT", 15_000)

    def lanes(self, site: Site) -> int:
        """Pages in flight per site: one on a real host (politeness), a few on loopback."""
        return 4 if is_loopback(site.home) else 1

    # -- start: every site walked, the items handed on as they come -------------------------

    async def start(self) -> AsyncIterator[Any]:
        self.logger.info("%d sites to search (depth %s, %s pages each)", len(self.sites),
                         self.search["depth"], self.search["max_pages"])
        self.renders = asyncio.Semaphore(max(1, self.crawler.settings.getint(
            "DVC_SITE_RENDERS", 2)))
        self.walking = asyncio.Semaphore(max(1, self.crawler.settings.getint(
            "DVC_SITE_PARALLEL", 8)))
        runner = asyncio.ensure_future(self.run_all())
        while True:
            item = await self.queue.get()
            if item is DONE:
                break
            yield item
        await runner  # its exception, if any, ends the crawl as a failure

    async def run_all(self) -> None:
        try:
            self.states = [SiteState(s, Walk(s.home, int(self.search["depth"]),
                                             int(self.search["max_pages"])))
                           for s in self.sites]
            for state in self.states:
                state.w3c = measures.W3cInput(state.site.key)
            # the checker runs once every home page is in, while the deeper pages are read
            checked = asyncio.ensure_future(self.validate())
            await asyncio.gather(*(self.visit(state) for state in self.states))
            w3c = await checked
            for state in self.states:
                if not state.reused:
                    self.emit(self.measure_item(state, w3c.get(state.site.key)))
        finally:
            self.queue.put_nowait(DONE)

    def emit(self, item: dict[str, Any] | None) -> None:
        if item is not None:
            self.queue.put_nowait(item)

    async def visit(self, state: SiteState) -> None:
        if state.site.home in self.reusable:
            for item in self.reusable[state.site.home]:
                self.emit(item)
            self.crawler.stats.inc_value("site/sites_reused")
            state.reused = True
            state.w3c.failure = Reason.INCOMPLETE  # not checked again: the measure is reused
            state.w3c_ready.set()
            return
        if state.site.key in self.unread:
            self.left_alone(state, *self.unread[state.site.key])
            return
        await self.national_host_free(state.site)
        async with self.walking:
            try:
                await self.walk(state)
            except Exception:  # noqa: BLE001 - one site's surprise must not end the others'
                self.logger.exception("site %s: walk stopped", state.site.home)
                state.failures.setdefault("responsive", Reason.UNREADABLE)
            finally:
                state.w3c_ready.set()
                if state.context is not None:
                    await state.context.close()
                    state.context = None
            await self.check_https(state)

    async def national_host_free(self, site: Site) -> None:
        """A site on the national host waits while the job's national-pages crawl asks that
        host (DVC_AWAIT_NATIONAL_PAGES; the job says when it has ended)."""
        s = self.crawler.settings
        if not s.getbool("DVC_AWAIT_NATIONAL_PAGES"):
            return
        national = urlsplit(s.get("DVC_BASE_URL") or "").hostname
        hosts = {urlsplit(url).hostname for url in (site.home, site.https, site.http) if url}
        if national not in hosts:
            return
        waited = await phases.wait_for(phases.NATIONAL_PAGES_DONE)
        self.crawler.stats.set_value("site/national_host_waited", round(waited, 1))

    def left_alone(self, state: SiteState, reason: str, status: int | None) -> None:
        """A portal the provincial crawl could not read: its home page and every measure are
        stored as failed for that reason, without asking the host again."""
        self.emit(self.failed(state, state.walk.start(), reason, status).item)
        self.crawler.stats.inc_value("site/left_alone")
        state.failures.update({m: reason for m in ("responsive", "axe")})
        state.https = measures.HttpsMeasure(failures={"https": reason})
        state.w3c.failure = reason
        state.w3c_ready.set()

    # -- the walk ---------------------------------------------------------------------------

    async def walk(self, state: SiteState) -> None:
        walk = state.walk
        try:
            home = await self.read_home(state, walk.start())
        finally:
            state.w3c_ready.set()
        self.emit(home.item)
        self.crawler.stats.inc_value("site/sites")
        if not home.ok:
            return
        links = home.links
        candidates: list[tuple[str, str]] = []
        if self.search.get("sitemap", True):
            entries = await self.sitemap_entries(state)
            pages = await self.read_all(state, walk.frontier(
                ((link.url, sitewalk.LINK) for link in self.sitemap_pages(links)), 1))
            candidates += [(link.url, sitewalk.SITEMAP) for p in pages for link in p.links]
            candidates += [(url, sitewalk.SITEMAP) for url in entries]
        level = await self.read_all(state, walk.frontier(
            [(link.url, sitewalk.LINK) for link in links] + candidates, 1))
        for depth in range(2, walk.max_depth + 1):
            if walk.full:
                break
            level = await self.read_all(state, walk.frontier(
                ((link.url, sitewalk.LINK) for p in level for link in p.links), depth))

    def sitemap_pages(self, links: list[sitewalk.Link]) -> list[sitewalk.Link]:
        """The home page's links to a sitemap page (the `sitemap` detector's patterns)."""
        return sitewalk.sitemap_links(links, self.sitemap_patterns.get("text", ()),
                                      self.sitemap_patterns.get("href", ()))

    async def read_all(self, state: SiteState, targets: list[Target]) -> list[Page]:
        lanes = asyncio.Semaphore(self.lanes(state.site))

        async def one(target: Target) -> Page:
            async with lanes:
                page = await self.read(state, target)
            self.emit(page.item)
            return page

        return list(await asyncio.gather(*(one(t) for t in targets)))

    async def download(self, request: scrapy.Request) -> Response:
        engine = self.crawler.engine
        if hasattr(engine, "download_async"):  # Scrapy 2.14+
            return await engine.download_async(request)
        return await maybe_deferred_to_future(engine.download(request))

    def row(self, state: SiteState, target: Target, *, status: int | None, raw: bytes,
            dom: bytes, rendered: bool, reason: str = "") -> dict[str, Any]:
        data = {"units": list(state.site.units), "depth": target.depth,
                "home": target.depth == 0, "via": target.via, "rendered": rendered,
                "site": state.site.home}
        self.crawler.stats.inc_value("site/pages")
        if reason:
            self.crawler.stats.inc_value(f"site/failed/{reason}")
        return page_evidence(EvidenceKind.SITE_PAGE, url=target.url, status=status,
                             raw_sha256=store.sha256(raw), dom=dom,
                             outcome=Outcome.FAILED if reason else Outcome.OK, reason=reason,
                             data=data)

    def failed(self, state: SiteState, target: Target, reason: str,
               status: int | None = None) -> Page:
        data = {"units": list(state.site.units), "depth": target.depth,
                "home": target.depth == 0, "via": target.via, "rendered": False,
                "site": state.site.home}
        self.crawler.stats.inc_value("site/pages")
        self.crawler.stats.inc_value(f"site/failed/{reason}")
        return Page(evidence(EvidenceKind.SITE_PAGE, url=target.url, method="GET",
                             status=status, outcome=Outcome.FAILED, reason=reason, data=data))

    async def fetch(self, url: str, state: SiteState | None = None
                    ) -> tuple[Response | None, str]:
        """A plain GET (robots, retries, guard and cache as every plain request), with the
        cookie the browser earned on the site's home page; (response, "") or (None, reason)."""
        headers = {"Cookie": state.cookie} if state is not None and state.cookie else None
        try:
            return await self.download(scrapy.Request(url, dont_filter=True, headers=headers)), ""
        except IgnoreRequest as exc:
            text = str(exc).lower()
            if "offsite" in text:
                return None, Reason.OFFSITE
            return None, exception_reason(exc)[0]
        except Exception as exc:  # noqa: BLE001 - a download error is a reason
            return None, exception_reason(exc)[0]

    def plain_fault(self, response: Response) -> str:
        if response.status >= 400:
            return http_reason(response.status)
        fault = html_fault(response.body, content_type(response),
                           self.crawler.settings.getint("DOWNLOAD_MAXSIZE"))
        if fault:
            return fault
        return Reason.BLOCKED if is_block_page(response.body) else ""

    async def read(self, state: SiteState, target: Target) -> Page:
        response, reason = await self.fetch(target.url, state)
        if response is None:
            return self.failed(state, target, reason)
        reason = self.plain_fault(response)
        if reason:
            return self.failed(state, target, reason, response.status)
        if "html" not in content_type(response).lower():
            state.walk.forget(target)  # a file under a page's address: not a page searched
            self.crawler.stats.inc_value("site/not_html")
            return Page(None)
        dom = plain_dom(response)
        rendered = False
        if fingerprint(response.url, dom).needs_js:
            if not self.browser:
                return self.failed(state, target, self.browser_reason, response.status)
            try:
                _, _, dom = await self.render(state, target.url, measure=False)
                rendered = True
            except Exception as exc:  # noqa: BLE001 - a render that failed is a reason
                return self.failed(state, target, self.render_reason(exc), response.status)
        page = Page(self.row(state, target, status=response.status, raw=response.body, dom=dom,
                             rendered=rendered), dom, response.body, ok=True)
        page.links = sitewalk.search_links(response.url, dom, state.walk.host)
        return page

    # -- the home page: one render, the measures ---------------------------------------------

    async def read_home(self, state: SiteState, target: Target) -> Page:
        if not self.browser:
            state.failures.update(responsive=self.browser_reason, axe=self.browser_reason)
            return await self.plain_home(state, target)
        try:
            raw, status, dom = await self.render(state, target.url, measure=True)
        except Exception as exc:  # noqa: BLE001 - not rendered: measures say why, walk goes on
            reason = self.render_reason(exc)
            self.logger.warning("site %s: home page not rendered (%s)", target.url, reason)
            state.failures.update(responsive=reason, axe=reason)
            return await self.plain_home(state, target)
        fault = http_reason(status) if status and status >= 400 else \
            html_fault(raw) or (Reason.BLOCKED if is_block_page(dom) else "")
        if fault:
            state.failures.update(responsive=fault, axe=fault)
            state.layout, state.axe = {}, None
            state.w3c.failure = fault
            return self.failed(state, target, fault, status)
        state.w3c.html = raw
        await self.stylesheets(state, target.url, raw, dom)
        page = Page(self.row(state, target, status=status, raw=raw, dom=dom, rendered=True),
                    dom, raw, ok=True)
        page.links = sitewalk.search_links(target.url, dom, state.walk.host)
        return page

    async def plain_home(self, state: SiteState, target: Target) -> Page:
        """The home page over plain HTTP (no browser, or its render failed)."""
        page = await self.read(state, target)
        if page.ok:
            state.w3c.html = page.raw
            await self.stylesheets(state, target.url, page.dom)
        else:
            state.w3c.failure = (page.item or {}).get("reason") or Reason.UNREADABLE
        return page

    def render_reason(self, exc: BaseException) -> str:
        reason = exception_reason(exc)[0]
        return Reason.BROWSER_ERROR if reason == Reason.ERROR else reason

    async def render(self, state: SiteState, url: str, *, measure: bool
                     ) -> tuple[bytes, int, bytes]:
        """(raw HTML as sent, status, rendered DOM) of `url` in the site's browser context (390
        px wide); with `measure`, the layout and axe-core's violations too."""
        request = scrapy.Request(url, dont_filter=True, meta={
            "playwright": True, "playwright_include_page": True,
            "playwright_context": f"site:{state.site.key}",
            "playwright_context_kwargs": {"viewport": {"width": self.width, "height": 844}},
            "playwright_page_init_callback": browsing.init_page,
            "playwright_page_goto_kwargs": {"wait_until": "load",
                                            "timeout": self.timeout * 1000}})
        async with self.renders:
            response = await self.download(request)
            page = response.meta["playwright_page"]
            try:
                state.context = state.context or page.context
                doc = browsing.take_document(page)
                raw, status = (doc[2], doc[1]) if doc else (response.body, response.status)
                if fingerprint(url, raw).needs_js:  # a server-rendered page is ready at "load"
                    await self.settle(page)
                    doc = browsing.take_document(page)  # a challenge may have moved on
                    raw, status = (doc[2], doc[1]) if doc else (raw, status)
                dom = (await page.content()).encode("utf-8")
                if measure:
                    await self.measure_page(state, page)
                    state.cookie = "; ".join(f"{c['name']}={c['value']}"
                                             for c in await page.context.cookies(url))
            finally:
                await browsing.close_page(page)
        self.crawler.stats.inc_value("site/renders")
        return raw, status, dom

    async def settle(self, page: Any) -> None:
        """Let an app render: no network for half a second, at most DVC_READY_TIMEOUT."""
        from playwright.async_api import TimeoutError as PlaywrightTimeout

        try:
            await page.wait_for_load_state("networkidle", timeout=self.ready_timeout)
        except PlaywrightTimeout:
            self.crawler.stats.inc_value("site/settle_timeouts")

    async def measure_page(self, state: SiteState, page: Any) -> None:
        try:
            state.layout = await page.evaluate(measures.LAYOUT_JS)
        except Exception as exc:  # noqa: BLE001 - not measured, with its reason
            state.failures["responsive"] = self.render_reason(exc)
        try:
            await page.evaluate(self.axe_js)
            rules = await page.evaluate(measures.AXE_RUN_JS, list(measures.WCAG21AA_TAGS))
            state.axe = [{"id": str(r["id"]), "impact": str(r["impact"]), "nodes": int(r["nodes"])}
                         for r in rules]
        except Exception as exc:  # noqa: BLE001
            self.logger.warning("axe-core on %s: %s", page.url, exc)
            state.failures["axe"] = self.render_reason(exc)

    @property
    def axe_js(self) -> str:
        source = getattr(self, "_axe", None)
        if source is None:
            source = self._axe = measures.axe_source()
        return source

    async def stylesheets(self, state: SiteState, url: str, *pages: bytes) -> None:
        """The home page's style sheets on its own host, for the W3C checker (plain GETs)."""
        hrefs: list[str] = []
        for html in pages:
            soup = soup_of(html)
            base = sitewalk.base_of(url, soup)  # an app shell's `<base href="/vi/">`
            for link in soup.find_all("link", href=True):
                rel = " ".join(link.get("rel") or []).lower() if isinstance(
                    link.get("rel"), list) else str(link.get("rel") or "").lower()
                href = sitewalk.normalize(urljoin(base, str(link["href"])))
                if "stylesheet" in rel and sitewalk.host_key(href) == state.walk.host \
                        and href not in hrefs:
                    hrefs.append(href)
        for href in hrefs[:MAX_STYLESHEETS]:
            response, reason = await self.fetch(href, state)
            if response is None or response.status >= 400:
                state.css_failed = reason or http_reason(response.status if response else 0)
                continue
            state.w3c.css.append(response.body)

    # -- sitemap.xml ------------------------------------------------------------------------

    async def sitemap_entries(self, state: SiteState) -> list[str]:
        """The pages /sitemap.xml lists (a sitemap index: its first few sitemaps); [] when there
        is none. Not a page searched itself: its pages are, at depth 1."""
        root = urljoin(state.site.home, "/sitemap.xml")
        todo, pages = [root], []
        for n, url in enumerate(todo):
            if n > MAX_CHILD_SITEMAPS or sitewalk.host_key(url) != state.walk.host:
                continue
            response, _ = await self.fetch(url, state)
            if response is None or response.status != 200:
                continue
            found, children = sitewalk.parse_sitemap(response.body)
            pages += found
            todo += children
        self.crawler.stats.inc_value("site/sitemap_entries", len(pages))
        return pages

    # -- HTTPS, W3C, the measure row --------------------------------------------------------

    async def check_https(self, state: SiteState) -> None:
        agent = self.crawler.settings.get("USER_AGENT")
        ca = self.crawler.settings.get("DVC_CA_BUNDLE") or ""
        state.https = await asyncio.to_thread(
            measures.measure_https, state.site.https, state.site.http,
            timeout=self.timeout, agent=agent, ca_bundle=ca)

    async def validate(self) -> dict[str, measures.W3cResult]:
        """Every site's documents in one run of the checker, once they are all in."""
        s = self.crawler.settings
        for state in self.states:
            await state.w3c_ready.wait()
        self.logger.info("W3C checker: %d sites", len(self.states))
        return await asyncio.to_thread(
            measures.run_vnu, [state.w3c for state in self.states],
            timeout=s.getfloat("DVC_VNU_TIMEOUT", 600), jar_setting=s.get("DVC_VNU_JAR") or "",
            class_cache=s.get("DVC_VNU_CLASS_CACHE") or "")

    def measure_item(self, state: SiteState, w3c: measures.W3cResult | None) -> dict[str, Any]:
        https = state.https or measures.HttpsMeasure(failures={"https": Reason.UNREADABLE})
        failures = {**state.failures, **https.failures}
        w3c = w3c or measures.W3cResult(failures={"w3c_markup": Reason.UNREADABLE,
                                                  "w3c_css": Reason.UNREADABLE})
        errors = dict(w3c.errors) if w3c.errors is not None else None
        failures.update(w3c.failures)
        if errors is not None and state.css_failed:
            errors.pop("css", None)  # a style sheet not read: CSS not measured
            failures["w3c_css"] = state.css_failed
        layout = state.layout or {}
        if "scroll_width" not in layout:
            failures.setdefault("responsive", Reason.UNREADABLE)
        if state.axe is None:
            failures.setdefault("axe", Reason.UNREADABLE)
        data = {
            "units": list(state.site.units), "home": state.site.home,
            **({"domain": state.site.domain} if state.site.domain else {}),
            "https_ok": https.https_ok, "http_redirects": https.http_redirects,
            "https_detail": https.detail,
            "scroll_width": layout.get("scroll_width"),
            "viewport_meta": layout.get("viewport_meta"),
            "axe_violations": measures.axe_counts(state.axe) if state.axe is not None else None,
            "axe_rules": state.axe or [],
            "w3c_errors": errors,
            "failures": {k: str(v) for k, v in sorted(failures.items())
                         if not self.measured(k, https, layout, state, errors)},
            "pages": state.walk.taken,
        }
        return evidence(EvidenceKind.SITE_MEASURE, url=state.site.home, method="GET", data=data)

    @staticmethod
    def measured(key: str, https: measures.HttpsMeasure, layout: dict[str, Any],
                 state: SiteState, errors: dict[str, int] | None) -> bool:
        """A failure kept for a measure that was taken after all is noise: dropped."""
        return {"https": https.https_ok is not None,
                "http_redirect": https.http_redirects is not None,
                "responsive": "scroll_width" in layout,
                "axe": state.axe is not None,
                "w3c_markup": errors is not None and "markup" in errors,
                "w3c_css": errors is not None and "css" in errors}.get(key, False)


# a portal home the provincial crawl marked for these reasons was read, or can be plainly:
# the survey searches it all the same
READABLE_ANYWAY = frozenset({Reason.UNKNOWN_PLATFORM, Reason.NEEDS_BROWSER, Reason.NO_BROWSER})


def portal_rows(s: BaseSettings) -> list[EvidenceRow]:
    """The run's provincial-crawl evidence the site crawl starts from: its `portal` and
    `host_stopped` rows ([] without a results database)."""
    if not (s.get("DVC_DB") and s.getint("DVC_RUN_ID")):
        return []
    return store.load_evidence(store.open_db(s.get("DVC_DB")), s.getint("DVC_RUN_ID"),
                               (EvidenceKind.PORTAL, EvidenceKind.HOST_STOPPED))


def unread_portals(rows: list[EvidenceRow]) -> dict[str, tuple[str, int | None]]:
    """Host -> (reason, status) of each provincial portal whose home page the run's provincial
    crawl could not read, or whose host it stopped asking (`portal_rows`)."""
    out: dict[str, tuple[str, int | None]] = {}
    for row in rows:
        if row["outcome"] != Outcome.OK and row["reason"] not in READABLE_ANYWAY \
                and not (row["data"] or {}).get("system"):
            out.setdefault(urlsplit(row["url"]).netloc, (row["reason"] or Reason.UNREADABLE,
                                                          row["status"]))
    return out


def reusable_sites(s: BaseSettings) -> dict[str, list[dict[str, Any]]]:
    """Home URL -> the evidence of the reuse run (DVC_REUSE_RUN, set by a re-run inside the
    reuse window) for each site it read well: home page read, every page read or definitely
    absent, and measured. Items of this run, marked `reused_from` (seeds.reused_item)."""
    ref = s.getint("DVC_REUSE_RUN")
    if not (ref and s.get("DVC_DB")):
        return {}
    rows = store.load_evidence(store.open_db(s.get("DVC_DB")), ref,
                               (EvidenceKind.SITE_PAGE, EvidenceKind.SITE_MEASURE))
    by_home: dict[str, list[Any]] = {}
    for row in rows:
        by_home.setdefault(row["data"].get("site") or row["data"].get("home") or "",
                           []).append(row)
    out: dict[str, list[dict[str, Any]]] = {}
    for home, site_rows in by_home.items():
        pages = [r for r in site_rows if r["kind"] == EvidenceKind.SITE_PAGE]
        good = any(r["data"].get("home") and r["outcome"] == Outcome.OK for r in pages) and all(
            r["outcome"] == Outcome.OK or r["status"] in GONE_STATUSES for r in pages)
        if good and any(r["kind"] == EvidenceKind.SITE_MEASURE for r in site_rows):
            out[home] = [seeds.reused_item(r, ref) for r in site_rows]
    return out


def sites_from_settings(s: BaseSettings, rows: list[EvidenceRow]) -> list[Site]:
    """DVC_SITES when set; else derived from the run's base URL, the provincial crawl's portal
    evidence (`portal_rows`) and the portal list."""
    raw = s.get("DVC_SITES")
    if raw:
        return sitewalk.parse_sites(raw)
    portal_list = s.get("DVC_PORTAL_LIST")
    if isinstance(portal_list, str) and portal_list:  # a Scrapyd job's settings are text
        portal_list = json.loads(portal_list)
    if portal_list is None or portal_list == "":
        portal_list = seeds.configured_portal_list(s.get("DVC_PORTAL_FILE") or "")
    portals = [r for r in rows if r["kind"] == EvidenceKind.PORTAL]
    return sitewalk.derive_sites(s.get("DVC_BASE_URL"), list(portal_list), portals)
