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
TRANSIENT = frozenset({Reason.TIMEOUT, Reason.REFUSED, Reason.CONNECTION_LOST, Reason.HTTP_5XX,
                       Reason.RATE_LIMITED})
# Reasons of our own checks on answers that did arrive, beside the network's and the browser's:
# an office list holding rows of another procedure than the one asked (crawler/officelist.py).
API_FILTER_IGNORED = Reason.API_FILTER_IGNORED
CHECK_REASONS = frozenset({API_FILTER_IGNORED})

# Chromium's network errors (Playwright puts them in the message), most specific first.
BROWSER_ERRORS = (
    ("ERR_TOO_MANY_REDIRECTS", Reason.REDIRECT_LOOP),
    ("ERR_CONNECTION_REFUSED", Reason.REFUSED),
    ("ERR_TIMED_OUT", Reason.TIMEOUT),
    ("ERR_CONNECTION_TIMED_OUT", Reason.TIMEOUT),
    ("ERR_CONNECTION_RESET", Reason.CONNECTION_LOST),
    ("ERR_CONNECTION_CLOSED", Reason.CONNECTION_LOST),
    ("ERR_EMPTY_RESPONSE", Reason.CONNECTION_LOST),
    ("ERR_INCOMPLETE_CHUNKED_ENCODING", Reason.MALFORMED),
    ("ERR_CONTENT_LENGTH_MISMATCH", Reason.MALFORMED),
    ("ERR_INVALID_RESPONSE", Reason.MALFORMED),
    ("ERR_NAME_NOT_RESOLVED", Reason.DNS),
    ("ERR_BLOCKED_BY_CLIENT", Reason.OFFSITE),  # our own abort_request (platforms/browsing.py)
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
        return Reason.BLOCKED, None
    if isinstance(exc, PageFault):
        return exc.reason, exc.status
    if isinstance(exc, BlockedResponse):
        return Reason.BLOCKED, exc.response.status
    if isinstance(exc, HttpError):
        status = exc.response.status
        return http_reason(status), status
    return _network_reason(exc) or _browser_reason(exc) or (Reason.ERROR, None)


def _network_reason(exc: BaseException) -> tuple[str, int | None] | None:
    # Scrapy 2.13+ wraps Twisted's errors in its own download exceptions; know both.
    if isinstance(exc, (TimeoutError, TCPTimedOutError, exceptions.DownloadTimeoutError)):
        return Reason.TIMEOUT, None
    if isinstance(exc, (DNSLookupError, exceptions.CannotResolveHostError)):
        return Reason.DNS, None
    if isinstance(exc, (ConnectionRefusedError, exceptions.DownloadConnectionRefusedError)):
        return Reason.REFUSED, None
    if isinstance(exc, exceptions.ResponseDataLossError):
        return Reason.MALFORMED, None  # the body stopped short of its announced length
    if isinstance(exc, exceptions.DownloadCancelledError) and "max size" in str(exc):
        return Reason.TOO_LARGE, None  # DOWNLOAD_MAXSIZE
    if isinstance(exc, (ConnectionLost, ConnectionDone, ResponseFailed,
                        exceptions.DownloadFailedError, ConnectError)):
        return Reason.CONNECTION_LOST, None
    if isinstance(exc, exceptions.IgnoreRequest):
        text = str(exc).lower()
        if "robots" in text:
            return Reason.ROBOTS_DISALLOWED, None
        if "max redirections" in text:
            return Reason.REDIRECT_LOOP, None
    return None


def _browser_reason(exc: BaseException) -> tuple[str, int | None] | None:
    try:
        from playwright.async_api import Error as PlaywrightError
        from playwright.async_api import TimeoutError as PlaywrightTimeout
    except ImportError:  # pragma: no cover - plain-HTTP installs
        return None
    if isinstance(exc, PlaywrightTimeout):
        return Reason.TIMEOUT, None
    if not isinstance(exc, PlaywrightError):
        return None
    message = str(exc)
    reason = next((r for marker, r in BROWSER_ERRORS if marker in message),
                  Reason.BROWSER_ERROR)
    return reason, None


def http_reason(status: int) -> Reason:
    if status == 429:
        return Reason.RATE_LIMITED
    if status in (401, 403):
        return Reason.BLOCKED
    if status >= 500:
        return Reason.HTTP_5XX
    return Reason.HTTP_4XX


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
