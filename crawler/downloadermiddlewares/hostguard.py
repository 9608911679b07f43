"""Downloader middleware: block pages are blocks, and a host that keeps blocking us is left alone.

`HostGuardMiddleware` (replaces the former BlockPageMiddleware, same place in the chain):
- a 200 carrying the portal's "Request Rejected" page raises `BlockedResponse`;
- it counts consecutive blocks per host (403/401, rejection pages, and challenges that never
  cleared, which the spiders report with `note_block`); a success resets the count. At
  DVC_HOST_BLOCK_LIMIT the host is stopped for the rest of the run: later requests to it fail at
  once with `HostStopped` (reason `blocked`), nothing is sent, and a warning is logged;
- requests in flight to a host plus its current block streak never exceed the limit, so a host
  that blocks everything sees at most DVC_HOST_BLOCK_LIMIT requests.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from scrapy import Request, Spider, signals
from scrapy.crawler import Crawler
from scrapy.http import Response
from scrapy.utils.asyncio import sleep

from crawler.exceptions import BlockedResponse, HostStopped
from crawler.parsers import is_block_page

logger = logging.getLogger(__name__)
BLOCK_STATUSES = frozenset({401, 403})
WAIT_STEP = 0.05  # s between looks at a host's in-flight count (cheap; only while it blocks)


@dataclass
class HostState:
    streak: int = 0  # consecutive blocks
    inflight: int = 0
    last_reason: str = ""
    stopped: bool = False
    announced: bool = False


def host_of(url: str) -> str:
    return urlsplit(url).netloc.lower()


def _is_robots(request: Request) -> bool:
    return bool(request.meta.get("dont_obey_robotstxt")) and request.url.endswith("/robots.txt")


class HostGuardMiddleware:
    def __init__(self, limit: int) -> None:
        self.limit = max(1, limit)
        self.hosts: dict[str, HostState] = {}

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> HostGuardMiddleware:
        mw = cls(crawler.settings.getint("DVC_HOST_BLOCK_LIMIT", 5))
        quiet_robots_errors()
        crawler.signals.connect(mw.spider_opened, signal=signals.spider_opened)
        return mw

    def spider_opened(self, spider: Any) -> None:
        spider.host_guard = self  # the spiders report challenges that never cleared

    def state(self, url: str) -> HostState:
        return self.hosts.setdefault(host_of(url), HostState())

    async def process_request(self, request: Request, spider: Spider | None = None) -> None:
        host = self.state(request.url)
        while not host.stopped and host.streak + host.inflight >= self.limit:
            await sleep(WAIT_STEP)  # the answers in flight decide whether we go on
        if host.stopped:
            first, host.announced = not host.announced, True
            raise HostStopped(host_of(request.url), host.streak, host.last_reason, first)
        host.inflight += 1
        request.meta["_dvc_counted"] = True

    def process_response(self, request: Request, response: Response,
                         spider: Spider | None = None) -> Response:
        self._settle(request)
        if _is_robots(request):
            return response  # a refused robots.txt is not a refused page
        if response.status in BLOCK_STATUSES:
            self.note_block(request.url, f"http_{response.status}")
        elif response.status == 200 and is_block_page(response.body):
            self.note_block(request.url, "rejected")
            raise BlockedResponse(response)
        elif response.status < 400:
            self.note_success(request.url)
        return response

    def process_exception(self, request: Request, exception: Exception,
                          spider: Spider | None = None) -> None:
        self._settle(request)

    def _settle(self, request: Request) -> None:
        if request.meta.pop("_dvc_counted", False):
            self.state(request.url).inflight -= 1

    def note_success(self, url: str) -> None:
        host = self.state(url)
        if not host.stopped:
            host.streak = 0

    def note_block(self, url: str, reason: str) -> None:
        host = self.state(url)
        host.streak += 1
        host.last_reason = reason
        if host.streak >= self.limit and not host.stopped:
            host.stopped = True
            logger.warning("stopped asking %s for this run: %d blocks in a row (last: %s)",
                           host_of(url), host.streak, reason)


class QuietRobotsErrors(logging.Filter):
    """Scrapy logs a full traceback at ERROR when robots.txt itself cannot be fetched (portal
    down): the page requests that follow report the reason; one warning line is enough."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno >= logging.ERROR and record.exc_info:
            record.exc_info, record.exc_text = None, None
            record.levelno, record.levelname = logging.WARNING, "WARNING"
        return True


def quiet_robots_errors() -> None:
    robots_logger = logging.getLogger("scrapy.downloadermiddlewares.robotstxt")
    if not any(isinstance(f, QuietRobotsErrors) for f in robots_logger.filters):
        robots_logger.addFilter(QuietRobotsErrors())


def guard_of(spider: Any) -> HostGuardMiddleware | None:
    return getattr(spider, "host_guard", None)
