"""Browser plumbing for scrapy-playwright: what pages may load, and the raw documents they got.

- ``abort_request`` (PLAYWRIGHT_ABORT_REQUEST): no images, fonts or media; and nothing from
  another host than the page's own (a page must not pull the crawler off the hosts it was
  given; the first navigation of a fresh page was already vetted by Scrapy's offsite filter).
- ``init_page`` (``playwright_page_init_callback``): records the main-frame documents a page
  receives, so evidence keeps the hash of the raw HTML the server sent, not only of the DOM;
  and the requests the page itself makes on its own host (an app's XHR, its scripts) that fail
  as a plain request would (429, 5xx, 403...): the spider retries them as plain requests are
  retried (backoff, `Retry-After`, RETRY_TIMES per URL) and names the failure, instead of
  reading the app's error state as "not found" (``take_failed``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from crawler.downloadermiddlewares.hostguard import host_of

BLOCKED_RESOURCES = frozenset({"image", "font", "media"})
# Statuses of a page's own requests that are failures to retry or report (the retry middleware,
# crawler/downloadermiddlewares/retry.py, retries the same ones, plus blocks); a 404 of an
# asset is the app's business.
FAILING_STATUSES = frozenset({401, 403, 408, 429, 500, 502, 503, 504, 522, 524})
_documents: dict[int, list[tuple[str, int, bytes]]] = {}  # id(page) -> [(url, status, body)]
_failed: dict[int, list[FailedRequest]] = {}  # id(page) -> its own requests that failed


@dataclass(frozen=True)
class FailedRequest:
    """A request a page made (not its document) that the server answered with a failure."""

    url: str
    status: int
    retry_after: str = ""  # the `Retry-After` header, as sent


def abort_request(request: Any) -> bool:
    if request.resource_type in BLOCKED_RESOURCES:
        return True
    try:
        page_url = request.frame.page.url
    except Exception:  # noqa: BLE001 - service workers and detached frames: refuse
        return True
    if not page_url.startswith(("http://", "https://")):
        return False  # the first navigation of a fresh page (about:blank)
    return host_of(request.url) != host_of(page_url)


async def init_page(page: Any, request: Any) -> None:
    """Once per page: keep the bodies of its main-frame documents (challenge, then page)."""
    key = id(page)
    if key in _documents:
        return
    _documents[key] = []

    async def on_response(response: Any) -> None:
        try:
            if response.request.resource_type != "document":
                note_failed(page, response)
                return
            if response.frame != page.main_frame:
                return
            body = await response.body()
        except Exception:  # noqa: BLE001 - a document replaced before it was read
            return
        _documents.setdefault(key, []).append((response.url, response.status, body))

    page.on("response", on_response)


def note_failed(page: Any, response: Any) -> None:
    """Keep a failed answer to one of the page's own requests on its own host."""
    if response.status not in FAILING_STATUSES or host_of(response.url) != host_of(page.url):
        return
    after = (response.headers or {}).get("retry-after", "")
    _failed.setdefault(id(page), []).append(FailedRequest(response.url, response.status, after))


def note_failed_document(page: Any, response: Any) -> None:
    """The page's own document failed (on a reload): counted like its other requests."""
    after = (response.headers or {}).get("retry-after", "")
    _failed.setdefault(id(page), []).append(FailedRequest(response.url, response.status, after))


def has_failed(page: Any) -> bool:
    return bool(_failed.get(id(page)))


def take_failed(page: Any) -> list[FailedRequest]:
    """The page's own requests that failed since the previous call (oldest first)."""
    return _failed.pop(id(page), [])


def take_document(page: Any) -> tuple[str, int, bytes] | None:
    """The last main-frame document the page received since the previous call."""
    docs = _documents.get(id(page)) or []
    last = docs[-1] if docs else None
    docs.clear()
    return last


def forget(page: Any) -> None:
    _documents.pop(id(page), None)
    _failed.pop(id(page), None)


def safe_name(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("_")[:80] or "page"


# A challenge has cleared when the page no longer carries its markers and shows some text.
CHALLENGE_CLEARED = """() => { const h = document.documentElement.outerHTML;
  return !/bobcmn|\\/TSPD\\/|Please enable JavaScript to view the page content/.test(h)
    && !!document.body && document.body.innerText.trim().length > 0; }"""
# Any page is also "settled" when it is the rejection page (a block, read as such at once).
REJECTED_READY = "/requested URL was rejected/i.test(document.body ? document.body.innerText : '')"


async def close_page(page: Any) -> bool:
    """Close a page (forgetting what was noted of it); False if it was closed already."""
    forget(page)
    if page.is_closed():
        return False
    await page.close()
    return True
