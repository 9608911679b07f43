"""Browser plumbing for scrapy-playwright: what pages may load, and the raw documents they got.

- ``abort_request`` (PLAYWRIGHT_ABORT_REQUEST): no images, fonts or media; and nothing from
  another host than the page's own (a page must not pull the crawler off the hosts it was
  given; the first navigation of a fresh page was already vetted by Scrapy's offsite filter).
- ``init_page`` (``playwright_page_init_callback``): records the main-frame documents a page
  receives, so evidence keeps the hash of the raw HTML the server sent, not only of the DOM.
"""

from __future__ import annotations

import re
from typing import Any

from crawler.middlewares import host_of

BLOCKED_RESOURCES = frozenset({"image", "font", "media"})
_documents: dict[int, list[tuple[str, int, bytes]]] = {}  # id(page) -> [(url, status, body)]


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
            if response.request.resource_type != "document" or response.frame != page.main_frame:
                return
            body = await response.body()
        except Exception:  # noqa: BLE001 - a document replaced before it was read
            return
        _documents.setdefault(key, []).append((response.url, response.status, body))

    page.on("response", on_response)


def take_document(page: Any) -> tuple[str, int, bytes] | None:
    """The last main-frame document the page received since the previous call."""
    docs = _documents.get(id(page)) or []
    last = docs[-1] if docs else None
    docs.clear()
    return last


def forget(page: Any) -> None:
    _documents.pop(id(page), None)


def safe_name(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("_")[:80] or "page"
