"""The crawler's record of answers: conditional requests on every run, and reuse within a window.

By default the audit observes the portals' current state on every run, so a stored answer is
never used without asking the server: every request for a page we hold is sent, with
`If-None-Match` / `If-Modified-Since` from the stored validators, and only a `304 Not Modified`
(the server's own word that nothing changed, a real observation) lets the stored body stand in
for a new one.

With a reuse window (DVC_REUSE_WITHIN seconds, `--reuse-within` on the command line; 0 = off)
an answer stored less than that long ago is used without asking, if it was a usable one (a 200
that is not a rejection page, a challenge, a truncated page or an API error): a re-run the same
night then asks only what it could not read before. The answer keeps the time it was received
(`stamp`: the evidence's `observed_at`, and `data.reused_at`), so a report never passes an
earlier observation off as a new one. The national API answers `Cache-Control: no-store`; the
audit keeps every answer it reads as evidence anyway (the results database), so this record is
the audit's own, never served to anyone else.

- ``RevalidatePolicy`` (HTTPCACHE_POLICY): RFC 2616 rules, except that nothing is fresh
  (max-age or heuristics never skip the request) but a usable answer inside the reuse window;
  usable answers are stored whatever their headers (a later run may set a window), others only
  with a validator; a server error is a server error (never hidden behind the stored page);
  browser requests are left to the browser.
- ``RevalidatingCacheMiddleware`` (crawler/downloadermiddlewares/httpcache.py): Scrapy's
  middleware, except that a download that fails (refused, timed out, ...) stays a failure
  instead of being answered from the cache, and an answer reused without asking is flagged
  ``reused``.
- ``ReusedStampMiddleware`` (crawler/spidermiddlewares/reusedstamp.py): evidence read from a
  reused answer carries the time the answer was received (`stamp`, here).

The record lives beside the results database (crawler.runner sets HTTPCACHE_DIR).
"""

from __future__ import annotations

import time
from typing import Any

from scrapy.extensions.httpcache import RFC2616Policy
from scrapy.http import Request, Response
from scrapy.settings import BaseSettings

from core.store import utc_at
from crawler.parsers import ApiError, is_block_page, is_challenge_body, parse_envelope
from crawler.platforms.base import html_fault

REUSED = "reused"  # flag of an answer used without asking (Response.flags)


def usable(response: Response) -> bool:
    """An answer worth reusing: one the spiders read as an observation, not as a failure (the
    national API answers its POSTs 201)."""
    body = response.body
    if response.status not in (200, 201) or not body:
        return False
    ctype = (response.headers.get("Content-Type") or b"").decode("latin-1").lower()
    if "json" in ctype or body[:64].lstrip()[:1] in (b"{", b"["):
        try:  # refuses rejection pages and challenges too
            parse_envelope(body)
        except ApiError:
            return False
        return True
    if is_block_page(body) or is_challenge_body(body):
        return False
    if "text/plain" in ctype:  # robots.txt
        return True
    return ("html" in ctype or not ctype) and not html_fault(body, ctype or "text/html")


class RevalidatePolicy(RFC2616Policy):
    def __init__(self, settings: BaseSettings) -> None:
        super().__init__(settings)
        self.reuse_within = settings.getfloat("DVC_REUSE_WITHIN", 0)

    def should_cache_request(self, request: Request) -> bool:
        if request.meta.get("playwright"):
            return False  # the browser sends its own requests
        return super().should_cache_request(request)

    def should_cache_response(self, response: Response, request: Request) -> bool:
        if usable(response):  # a later run may reuse it (inside its window)
            return True
        if b"ETag" not in response.headers and b"Last-Modified" not in response.headers:
            return False  # nothing to revalidate it with
        return response.status == 200 and super().should_cache_response(response, request)

    def is_cached_response_fresh(self, cachedresponse: Response, request: Request) -> bool:
        stored = request.meta.get("cache_timestamp")
        if self.reuse_within > 0 and stored is not None \
                and time.time() - stored <= self.reuse_within and usable(cachedresponse):
            return True
        self._set_conditional_validators(request, cachedresponse)
        return False  # ask, with the stored validators

    def is_cached_response_valid(self, cachedresponse: Response, response: Response,
                                 request: Request) -> bool:
        return response.status == 304


def stamp(item: Any, response: Any) -> Any:
    """An evidence item read from a reused answer: observed when the answer was received."""
    if not isinstance(item, dict) or "observed_at" not in item \
            or not isinstance(response, Response) or REUSED not in response.flags \
            or "reused_at" in (item.get("data") or {}):  # stamped by its own answer already
        return item
    stored = response.request.meta.get("cache_timestamp") if response.request else None
    if stored is not None:
        when = utc_at(stored)
        item["observed_at"] = when
        item["data"] = {**(item.get("data") or {}), "reused_at": when}
    return item
