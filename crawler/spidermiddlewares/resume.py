"""Spider middleware of the resume add-on (crawler/resume.py): a resumed crawl of a resumable
spider does not run its start requests again (its persisted queue holds what was left)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from scrapy.crawler import Crawler

from crawler.resume import RESUMABLE, persisted_queue


class SkipStartOnResume:
    def __init__(self, resuming: bool) -> None:
        self.resuming = resuming

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> SkipStartOnResume:
        resuming = (crawler.spidercls.name in RESUMABLE
                    and persisted_queue(crawler.settings.get("JOBDIR")))
        if resuming:
            crawler.stats.set_value("dvc/resumed", True)
        return cls(resuming)

    async def process_start(self, start: AsyncIterator[Any]) -> AsyncIterator[Any]:
        if self.resuming:
            return
        async for item_or_request in start:
            yield item_or_request
