"""Name why a request failed, so "could not test" always carries a reason.

One vocabulary for plain HTTP (Scrapy/Twisted errors), the browser (Playwright's `net::ERR_*`
messages and timeouts) and our own checks (block pages, host stops, truncated pages). The retry
middleware (crawler/downloadermiddlewares/retry.py) retries only the TRANSIENT reasons.
"""

from __future__ import annotations

from typing import Any

from scrapy import Request, exceptions
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.internet.error import (
    ConnectError,
    ConnectionDone,
    ConnectionLost,
    ConnectionRefusedError,
    DNSLookupError,
    TCPTimedOutError,
    TimeoutError,
)
from twisted.python.failure import Failure
from twisted.web._newclient import ResponseFailed

from core.vocab import EvidenceKind, Outcome, Reason
from crawler.exceptions import BlockedResponse, HostStopped, PageFault
from crawler.items import evidence

# Reasons worth asking again later; every other one is permanent (403, block page, challenge,
# robots, malformed, too_large, 404): asking again only hammers the portal.
TRANSIENT = frozenset({"timeout", "refused", "connection_lost", "http_5xx", "rate_limited"})
# Reasons of our own checks on answers that did arrive, beside the network's and the browser's:
# an office list holding rows of another procedure than the one asked (crawler/officelist.py).
API_FILTER_IGNORED = "api_filter_ignored"
CHECK_REASONS = frozenset({API_FILTER_IGNORED})

# Chromium's network errors (Playwright puts them in the message), most specific first.
BROWSER_ERRORS = (
    ("ERR_TOO_MANY_REDIRECTS", "redirect_loop"),
    ("ERR_CONNECTION_REFUSED", "refused"),
    ("ERR_TIMED_OUT", "timeout"),
    ("ERR_CONNECTION_TIMED_OUT", "timeout"),
    ("ERR_CONNECTION_RESET", "connection_lost"),
    ("ERR_CONNECTION_CLOSED", "connection_lost"),
    ("ERR_EMPTY_RESPONSE", "connection_lost"),
    ("ERR_INCOMPLETE_CHUNKED_ENCODING", "malformed"),
    ("ERR_CONTENT_LENGTH_MISMATCH", "malformed"),
    ("ERR_INVALID_RESPONSE", "malformed"),
    ("ERR_NAME_NOT_RESOLVED", "dns"),
    ("ERR_BLOCKED_BY_CLIENT", "offsite"),  # our own abort_request (crawler/platforms/browsing)
)


def failed_request(failure: Failure) -> Request:
    """The request an errback's failure is about (Scrapy sets it on the failure)."""
    request: Request = failure.request  # type: ignore[attr-defined]
    return request


def failure_reason(failure: Failure) -> tuple[str, int | None]:
    """(reason, HTTP status or None) for a Scrapy errback failure."""
    return exception_reason(failure.value)


def exception_reason(exc: BaseException) -> tuple[str, int | None]:
    """(reason, HTTP status or None) for an exception a download (or a check) raised."""
    if isinstance(exc, HostStopped):
        return "blocked", None
    if isinstance(exc, PageFault):
        return exc.reason, exc.status
    if isinstance(exc, BlockedResponse):
        return "blocked", exc.response.status
    if isinstance(exc, HttpError):
        status = exc.response.status
        return http_reason(status), status
    return _network_reason(exc) or _browser_reason(exc) or ("error", None)


def _network_reason(exc: BaseException) -> tuple[str, int | None] | None:
    # Scrapy 2.13+ wraps Twisted's errors in its own download exceptions; know both.
    if isinstance(exc, (TimeoutError, TCPTimedOutError, exceptions.DownloadTimeoutError)):
        return "timeout", None
    if isinstance(exc, (DNSLookupError, exceptions.CannotResolveHostError)):
        return "dns", None
    if isinstance(exc, (ConnectionRefusedError, exceptions.DownloadConnectionRefusedError)):
        return "refused", None
    if isinstance(exc, exceptions.ResponseDataLossError):
        return "malformed", None  # the body stopped short of its announced length
    if isinstance(exc, exceptions.DownloadCancelledError) and "max size" in str(exc):
        return "too_large", None  # DOWNLOAD_MAXSIZE
    if isinstance(exc, (ConnectionLost, ConnectionDone, ResponseFailed,
                        exceptions.DownloadFailedError, ConnectError)):
        return "connection_lost", None
    if isinstance(exc, exceptions.IgnoreRequest):
        text = str(exc).lower()
        if "robots" in text:
            return "robots_disallowed", None
        if "max redirections" in text:
            return "redirect_loop", None
    return None


def _browser_reason(exc: BaseException) -> tuple[str, int | None] | None:
    try:
        from playwright.async_api import Error as PlaywrightError
        from playwright.async_api import TimeoutError as PlaywrightTimeout
    except ImportError:  # pragma: no cover - plain-HTTP installs
        return None
    if isinstance(exc, PlaywrightTimeout):
        return "timeout", None
    if not isinstance(exc, PlaywrightError):
        return None
    message = str(exc)
    reason = next((r for marker, r in BROWSER_ERRORS if marker in message), "browser_error")
    return reason, None


def http_reason(status: int) -> str:
    if status == 429:
        return "rate_limited"
    if status in (401, 403):
        return "blocked"
    if status >= 500:
        return "http_5xx"
    return "http_4xx"


def is_transient(reason: str) -> bool:
    return reason in TRANSIENT


def stop_evidence(failure: Failure) -> list[dict[str, Any]]:
    """The one `host_stopped` item of a host the guard stopped (on its first refused request)."""
    exc = failure.value
    if not isinstance(exc, HostStopped) or not exc.first:
        return []
    return [evidence(EvidenceKind.HOST_STOPPED, url=failed_request(failure).url, method="GET",
                     outcome=Outcome.FAILED, reason=Reason.BLOCKED,
                     data={"host": exc.host, "blocks": exc.count,
                           "last_reason": exc.last_reason})]
