"""Retries with exponential backoff, for transient failures only (crawler/failures.TRANSIENT).

Replaces Scrapy's RetryMiddleware, which asks again at once: a portal that is overloaded (5xx),
rate-limits us (429) or times out is asked again after DVC_RETRY_BACKOFF * 2**attempt seconds
(at most DVC_RETRY_BACKOFF_MAX), or after its `Retry-After` (429/503; capped the same way). The
wait is an awaitable sleep in the middleware, so the reactor keeps serving other requests.
Browser (scrapy-playwright) requests pass through the same chain and are retried the same way.
"""

from __future__ import annotations

import email.utils
import logging
import time

from scrapy import Request, Spider
from scrapy.crawler import Crawler
from scrapy.downloadermiddlewares.retry import get_retry_request
from scrapy.exceptions import NotConfigured
from scrapy.http import Response
from scrapy.utils.asyncio import sleep

from crawler.failures import exception_reason, http_reason, is_transient

logger = logging.getLogger(__name__)


RETRIES_BY_URL = "dvc_retries"  # meta: {url: retries used}; a new dict per retry (meta is copied)


def backoff(attempt: int, base: float, cap: float, status: int | None = None,
            asked: float | None = None) -> float:
    """Seconds to wait before retry `attempt` (0-based): base * 2**attempt, at most `cap`, or
    longer when a 429/503 asked for it with `Retry-After` (`asked`, capped the same way). Plain
    requests and the requests a browser page makes wait the same."""
    wait = min(base * 2 ** attempt, cap)
    if status in (429, 503) and asked is not None:
        wait = max(wait, min(asked, cap))
    return wait


def retry_after(response: Response) -> float | None:
    """Seconds a `Retry-After` header asks for (delta-seconds or an HTTP date)."""
    raw = response.headers.get(b"Retry-After")
    return parse_retry_after(raw.decode("latin-1")) if raw else None


def parse_retry_after(text: str | None) -> float | None:
    """Seconds a `Retry-After` value asks for (None when absent or unreadable)."""
    text = (text or "").strip()
    if not text:
        return None
    if text.isdigit():
        return float(text)
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


class BackoffRetryMiddleware:
    def __init__(self, crawler: Crawler) -> None:
        s = crawler.settings
        if not s.getbool("RETRY_ENABLED"):
            raise NotConfigured
        self.crawler = crawler
        self.base = s.getfloat("DVC_RETRY_BACKOFF", 5.0)
        self.cap = s.getfloat("DVC_RETRY_BACKOFF_MAX", 120.0)
        self.statuses = {int(x) for x in s.getlist("RETRY_HTTP_CODES")}

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> BackoffRetryMiddleware:
        return cls(crawler)

    def delay(self, request: Request, response: Response | None = None) -> float:
        asked = retry_after(response) if response is not None else None
        return backoff(request.meta.get("retry_times", 0), self.base, self.cap,
                       response.status if response is not None else None, asked)

    async def process_response(self, request: Request, response: Response,
                               spider: Spider | None = None) -> Request | Response:
        if request.meta.get("dont_retry") or response.status not in self.statuses:
            return response
        retry = await self._retry(request, http_reason(response.status), response)
        return retry or response

    async def process_exception(self, request: Request, exception: Exception,
                                spider: Spider | None = None) -> Request | None:
        reason = exception_reason(exception)[0]
        if request.meta.get("dont_retry") or not is_transient(reason):
            return None
        return await self._retry(request, reason)

    async def _retry(self, request: Request, reason: str,
                     response: Response | None = None) -> Request | None:
        # Retries count per URL: Scrapy's `retry_times` follows a request across redirects, so
        # a redirect target would inherit the retries its source used (and be asked once).
        done: dict[str, int] = request.meta.get(RETRIES_BY_URL) or {}
        request.meta["retry_times"] = done.get(request.url, 0)
        spider = self.crawler.spider
        if spider is None:  # not crawling (the engine has closed the spider): nothing to retry
            return None
        retry = get_retry_request(request, spider=spider, reason=reason)
        if retry is None:
            return None
        retry.meta[RETRIES_BY_URL] = {**done, request.url: retry.meta["retry_times"]}
        wait = self.delay(request, response)
        logger.debug("retrying %s in %.1fs (%s)", request.url, wait, reason)
        await sleep(wait)
        return retry
