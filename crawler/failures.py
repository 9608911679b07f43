"""Name why a request failed, so "could not test" always carries a reason."""

from __future__ import annotations

from scrapy import exceptions
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.internet.error import (
    ConnectionRefusedError,
    DNSLookupError,
    TCPTimedOutError,
    TimeoutError,
)
from twisted.python.failure import Failure

from crawler.middlewares import BlockedResponse


def failure_reason(failure: Failure) -> tuple[str, int | None]:
    """(reason, HTTP status or None) for a Scrapy errback failure."""
    if failure.check(BlockedResponse):
        return "blocked", failure.value.response.status
    if failure.check(HttpError):
        status = failure.value.response.status
        return http_reason(status), status
    # Scrapy 2.13+ wraps Twisted's errors in its own download exceptions; know both.
    if failure.check(TimeoutError, TCPTimedOutError, exceptions.DownloadTimeoutError):
        return "timeout", None
    if failure.check(DNSLookupError, exceptions.CannotResolveHostError):
        return "dns", None
    if failure.check(ConnectionRefusedError, exceptions.DownloadConnectionRefusedError):
        return "refused", None
    if failure.check(exceptions.IgnoreRequest) and "robots" in str(failure.value).lower():
        return "robots_disallowed", None
    return "error", None


def http_reason(status: int) -> str:
    if status == 429:
        return "rate_limited"
    if status in (401, 403):
        return "blocked"
    if status >= 500:
        return "http_5xx"
    return "http_4xx"
