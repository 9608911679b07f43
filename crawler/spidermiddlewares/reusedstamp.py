"""Spider middleware: evidence read from an answer reused without asking carries the time the
answer was received (crawler/httpcache.py `stamp`)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Iterator
from typing import Any

from scrapy.http import Response

from crawler.httpcache import stamp


class ReusedStampMiddleware:
    """Spider middleware: `stamp` every item a callback reads from a reused answer."""

    def process_spider_output(self, response: Response, result: Iterable[Any],
                              spider: Any = None) -> Iterator[Any]:
        for out in result:
            yield stamp(out, response)

    async def process_spider_output_async(self, response: Response, result: AsyncIterator[Any],
                                          spider: Any = None) -> AsyncIterator[Any]:
        async for out in result:
            yield stamp(out, response)
