"""Resuming a stopped crawl from its Scrapy JOBDIR (used by the nightly job).

Scrapy persists the pending requests of a gracefully stopped crawl in JOBDIR and loads them on
the next start, but it also runs the spider's start requests again; the national spider's
requests are `dont_filter`, so that would crawl everything twice. This add-on drops the start
requests when the JOBDIR holds a persisted queue, so a resumed crawl only does what was left.

Only spiders whose whole state is their request queue (and the `spider.state` Scrapy keeps
beside it: the national spider's office lists being read) can resume this way (`RESUMABLE`:
the national spider, whose start requests are fixed). A spider whose start depends on what an
earlier spider stored (the provincial one starts from the national citizen URLs) is restarted
from scratch by the nightly job instead.

Enabled with the Scrapy setting ``ADDONS = {"crawler.resume.ResumeAddon": 0}``.
"""

from __future__ import annotations

from pathlib import Path

from scrapy.settings import Settings
from scrapy.utils.misc import load_object

from core.vocab import EvidenceKind

ADDON = "crawler.resume.ResumeAddon"
# its spider middleware, named by path (Scrapy's way to name a component): that module imports
# this one
SKIP_START = "crawler.spidermiddlewares.resume.SkipStartOnResume"
# Resumable spiders and the evidence kinds they write; any other spider's evidence is dropped
# when a run resumes, because that spider starts again from scratch.
RESUMABLE: dict[str, tuple[EvidenceKind, ...]] = {
    "national": (EvidenceKind.PROVINCE_LIST, EvidenceKind.CATALOGUE, EvidenceKind.PROCEDURE,
                 EvidenceKind.PROCEDURE_DETAIL, EvidenceKind.OFFICE_ROW,
                 EvidenceKind.OFFICE_LIST, EvidenceKind.FETCH),
}


def persisted_queue(jobdir: str | Path | None) -> bool:
    """A crawl stopped gracefully in `jobdir` (Scrapy wrote its queue state on close)."""
    if not jobdir:
        return False
    return (Path(jobdir) / "requests.queue" / "active.json").exists()


class ResumeAddon:
    def update_settings(self, settings: Settings) -> None:
        settings.set_in_component_priority_dict("SPIDER_MIDDLEWARES", load_object(SKIP_START), 0)
