"""Store every evidence item in the results database as it arrives."""

from __future__ import annotations

from typing import Any, cast

from scrapy import Spider
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured

from core import store
from core.rows import EvidenceItem


class StorePipeline:
    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.db_path = crawler.settings.get("DVC_DB")
        self.run_id = crawler.settings.getint("DVC_RUN_ID")
        if not self.db_path or not self.run_id:
            raise NotConfigured("DVC_DB and DVC_RUN_ID must be set")

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> StorePipeline:
        return cls(crawler)

    def open_spider(self, spider: Spider | None = None) -> None:
        self.db = store.open_db(self.db_path)

    def process_item(self, item: dict[str, Any], spider: Spider | None = None) -> dict[str, Any]:
        store_item(self.db, self.run_id, item)
        return item

    def close_spider(self, spider: Spider | None = None) -> None:
        # Stats are saved by crawler.runner once the crawl has finished (finish_reason included).
        self.db.close()


def store_item(db: Any, run_id: int, item: dict[str, Any]) -> int:
    """One evidence item into the run: its raw body once by hash, then its row (the local
    pipeline, and the app for items a Scrapyd job fed back: crawler/remote.py)."""
    row = dict(item)
    raw = row.pop("raw", None)
    if raw is not None:
        store.add_response(db, row["url"], raw)
    return store.add_evidence(db, run_id, cast(EvidenceItem, row))
