"""Conditional requests for plain-HTTP pages: Scrapy's HTTP cache, made to always ask.

An unchanged re-run should not download again what the portal says has not changed, but the audit
must observe the portal's current state on every run. So a stored answer is never used without
asking the server: every request for a page we hold is sent, with `If-None-Match` /
`If-Modified-Since` from the stored validators, and only a `304 Not Modified` (the server's own
word that nothing changed, a real observation) lets the stored body stand in for a new one.

- ``RevalidatePolicy`` (HTTPCACHE_POLICY): RFC 2616 rules, except that nothing is ever fresh
  (max-age or heuristics never skip the request), only answers with a validator (ETag or
  Last-Modified) are stored, a server error is a server error (never hidden behind the stored
  page), and browser requests (scrapy-playwright) are left to the browser.
- ``RevalidatingCacheMiddleware``: Scrapy's middleware, except that a download that fails
  (refused, timed out, ...) stays a failure instead of being answered from the cache.

The cache lives beside the results database (crawler.runner sets HTTPCACHE_DIR).
"""

from __future__ import annotations

from typing import Any

from scrapy.downloadermiddlewares.httpcache import HttpCacheMiddleware
from scrapy.extensions.httpcache import RFC2616Policy
from scrapy.http import Request, Response


class RevalidatePolicy(RFC2616Policy):
    def should_cache_request(self, request: Request) -> bool:
        if request.meta.get("playwright"):
            return False  # the browser sends its own requests
        return super().should_cache_request(request)

    def should_cache_response(self, response: Response, request: Request) -> bool:
        if b"ETag" not in response.headers and b"Last-Modified" not in response.headers:
            return False  # nothing to revalidate it with
        return response.status == 200 and super().should_cache_response(response, request)

    def is_cached_response_fresh(self, cachedresponse: Response, request: Request) -> bool:
        self._set_conditional_validators(request, cachedresponse)
        return False  # always ask, with the stored validators

    def is_cached_response_valid(self, cachedresponse: Response, response: Response,
                                 request: Request) -> bool:
        return response.status == 304


class RevalidatingCacheMiddleware(HttpCacheMiddleware):
    def process_exception(self, request: Request, exception: Exception,
                          spider: Any = None) -> None:
        request.meta.pop("cached_response", None)
        return None
