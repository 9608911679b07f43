"""Scrapy's HTTP cache middleware for conditional requests (policy and rules: crawler/httpcache.py):
a download that fails stays a failure instead of being answered from the cache, and an answer
used without asking (inside a reuse window) is flagged `reused`."""

from __future__ import annotations

from typing import Any

from scrapy.downloadermiddlewares.httpcache import HttpCacheMiddleware
from scrapy.http import Request, Response

from crawler.httpcache import REUSED


class RevalidatingCacheMiddleware(HttpCacheMiddleware):
    def process_request(self, request: Request, spider: Any = None) -> Any:
        answer = super().process_request(request)
        if isinstance(answer, Response):
            answer.flags.append(REUSED)
        return answer

    def process_exception(self, request: Request, exception: Exception,
                          spider: Any = None) -> None:
        request.meta.pop("cached_response", None)
        return None
