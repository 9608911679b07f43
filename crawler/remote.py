"""What a crawl run by a Scrapyd server needs (app/engines.py deploys and schedules it).

A Scrapyd job shares no file with the job that scheduled it, so:

- ``FeedPipeline`` (in place of crawler.pipelines.StorePipeline, set by the scheduling job
  through ``ITEM_PIPELINES``) turns each evidence item into a JSON-ready row for Scrapy's feed
  (Scrapyd's ``items_dir``: ``/items/<project>/<spider>/<job>.jl``): the raw body and the
  screenshot, if any, go base64-encoded (``raw_b64``, ``screenshot_b64``). `from_feed` reads a
  row back; crawler.pipelines.store_item stores it as the local pipeline would.
- ``StatsLine`` (extension, on with ``DVC_STATS_LOG``) writes the crawl's Scrapy stats as one
  line of its log (Scrapyd's ``/logs/...``) once the engine has stopped: `stats_from_log`.
- `egg_rubric_dir`: the rubric travels inside the egg (app/engines.py puts the run's rubric
  files under ``rubrics/``); a zipped egg is no directory, so they are unpacked once per crawl.
"""

from __future__ import annotations

import atexit
import base64
import json
import logging
import shutil
import tempfile
import zipfile
from pathlib import Path
from typing import Any

from scrapy import Spider, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured

logger = logging.getLogger(__name__)

STATS_MARK = "dvc-stats "  # the log line's prefix before the JSON
RAW_KEY, SHOT_KEY = "raw_b64", "screenshot_b64"


def to_feed(item: dict[str, Any], out_dir: Path | None) -> dict[str, Any]:
    """`item` as a JSON-ready feed row: bytes as base64; its screenshot file (relative to
    `out_dir`) embedded, then removed from the node."""
    row = dict(item)
    raw = row.pop("raw", None)
    if raw is not None:
        row[RAW_KEY] = base64.b64encode(raw).decode("ascii")
    shot = row.get("screenshot") or ""
    if shot and out_dir is not None:
        path = out_dir / shot
        try:
            row[SHOT_KEY] = base64.b64encode(path.read_bytes()).decode("ascii")
            path.unlink()
        except OSError:  # evidence without its picture is still evidence
            row["screenshot"] = ""
    return row


def from_feed(row: dict[str, Any]) -> tuple[dict[str, Any], bytes | None]:
    """A feed row as (evidence item with its `raw` bytes, screenshot bytes or None)."""
    item = dict(row)
    raw = item.pop(RAW_KEY, None)
    if raw is not None:
        item["raw"] = base64.b64decode(raw)
    shot = item.pop(SHOT_KEY, None)
    return item, base64.b64decode(shot) if shot is not None else None


class FeedPipeline:
    """Evidence items as feed rows. Screenshots are taken into a directory of the crawl's own
    (the spider's `out_dir`, replaced at open) and travel in the rows."""

    def __init__(self, crawler: Crawler | None = None) -> None:
        self.crawler = crawler
        self.shots: Path | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> FeedPipeline:
        return cls(crawler)

    def open_spider(self, spider: Spider | None = None) -> None:
        # Scrapy 2.13 calls this without the spider: the crawler has it
        spider = spider or (self.crawler.spider if self.crawler is not None else None)
        self.shots = Path(tempfile.mkdtemp(prefix="dvc-shots-"))
        if spider is not None and hasattr(spider, "out_dir"):
            spider.out_dir = self.shots

    def process_item(self, item: Any, spider: Spider | None = None) -> Any:
        return to_feed(item, self.shots) if isinstance(item, dict) else item

    def close_spider(self, spider: Spider | None = None) -> None:
        if self.shots is not None:
            shutil.rmtree(self.shots, ignore_errors=True)


class StatsLine:
    """Log the crawl's stats as one line (`STATS_MARK` + JSON) when the engine stops."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> StatsLine:
        if not crawler.settings.getbool("DVC_STATS_LOG"):
            raise NotConfigured
        ext = cls(crawler)
        crawler.signals.connect(ext.engine_stopped, signal=signals.engine_stopped)
        return ext

    def engine_stopped(self) -> None:
        stats = self.crawler.stats.get_stats() if self.crawler.stats else {}
        # WARNING: a quiet LOG_LEVEL must not drop the only copy of the stats
        logger.warning("%s%s", STATS_MARK, json.dumps(stats, default=str, sort_keys=True))


def stats_from_log(text: str) -> dict[str, Any] | None:
    """The stats `StatsLine` logged (the last such line), or None when there is none (the
    crawl died before its end)."""
    for line in reversed(text.splitlines()):
        at = line.find(STATS_MARK + "{")
        if at >= 0:
            try:
                return dict(json.loads(line[at + len(STATS_MARK):]))
            except ValueError:
                return None
    return None


def egg_rubric_dir(rubric_dir: Path) -> str:
    """"" when `rubric_dir` (core.rubric.RUBRIC_DIR) is a directory (a checkout); inside a
    zipped egg, the egg's ``rubrics/`` unpacked to a temporary directory (removed at exit)."""
    if rubric_dir.is_dir():
        return ""
    egg = rubric_dir.parent
    if not zipfile.is_zipfile(egg):
        return ""
    target = Path(tempfile.mkdtemp(prefix="dvc-rubric-"))
    atexit.register(shutil.rmtree, target, ignore_errors=True)
    with zipfile.ZipFile(egg) as archive:
        for name in archive.namelist():
            if name.startswith("rubrics/") and not name.endswith("/"):
                dest = target / name[len("rubrics/"):]
                dest.parent.mkdir(parents=True, exist_ok=True)
                dest.write_bytes(archive.read(name))
    return str(target)
