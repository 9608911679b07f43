"""Run a crawl in its own process (Twisted's reactor cannot restart inside one process).

    python -m crawler.runner --base URL --db results/audit.db --run-id 3 [--set KEY=VALUE ...]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from scrapy.crawler import CrawlerProcess
from scrapy.settings import Settings

from audits import __version__, store
from crawler import settings as default_settings
from crawler.profiles import profile_for

PROJECT_DIR = Path(__file__).resolve().parents[1]


def build_settings(base_url: str, db: Path | str, run_id: int, rubric_dir: str = "",
                   overrides: dict[str, Any] | None = None) -> Settings:
    settings = Settings()
    settings.setmodule(default_settings, priority="project")
    settings.update(profile_for(base_url), priority="project")
    settings.update({"DVC_BASE_URL": base_url, "DVC_DB": str(db), "DVC_RUN_ID": run_id,
                     "DVC_RUBRIC_DIR": rubric_dir}, priority="cmdline")
    settings.update(overrides or {}, priority="cmdline")
    contact = (overrides or {}).get("DVC_AUDIT_CONTACT") or os.environ.get(
        "DVC_AUDIT_CONTACT") or settings.get("DVC_AUDIT_CONTACT")
    agent = settings.get("USER_AGENT")
    if "{contact}" in agent:  # an explicit USER_AGENT override is used as given
        agent = agent.format(version=__version__, contact=contact)
        settings.set("USER_AGENT", agent, priority="cmdline")
    return settings


def crawl_here(spider: str, settings: Settings) -> dict[str, Any]:
    """Run one spider in this process; returns its stats. Call once per process."""
    process = CrawlerProcess(settings)
    crawler = process.create_crawler(spider)
    process.crawl(crawler)
    process.start()
    return crawler.stats.get_stats() if crawler.stats else {}


def crawl(spider: str, base_url: str, db: Path | str, run_id: int, *, rubric_dir: str = "",
          overrides: dict[str, Any] | None = None, quiet: bool = False) -> int:
    """Run a crawl in a child process; returns its exit code. Logs go to stderr."""
    cmd = [sys.executable, "-m", "crawler.runner", "--spider", spider, "--base", base_url,
           "--db", str(db), "--run-id", str(run_id)]
    if rubric_dir:
        cmd += ["--rubric", rubric_dir]
    for key, value in (overrides or {}).items():
        cmd += ["--set", f"{key}={json.dumps(value)}"]
    if quiet:
        cmd += ["--set", 'LOG_LEVEL="WARNING"']
    return subprocess.call(cmd, cwd=PROJECT_DIR)


def _parse_set(values: Sequence[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for item in values:
        key, _, raw = item.partition("=")
        try:
            out[key] = json.loads(raw)
        except ValueError:
            out[key] = raw
    return out


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m crawler.runner", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--spider", default="national", help="spider name (default: national)")
    parser.add_argument("--base", required=True, help="portal base URL")
    parser.add_argument("--db", required=True, help="results database (SQLite)")
    parser.add_argument("--run-id", type=int, required=True, help="run row to attach evidence to")
    parser.add_argument("--rubric", default="", help="rubric directory (default: rubrics/)")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=JSON",
                        help="override a Scrapy setting (value parsed as JSON when it can be)")
    args = parser.parse_args(argv)
    settings = build_settings(args.base, args.db, args.run_id, args.rubric, _parse_set(args.set))
    stats = crawl_here(args.spider, settings)
    db = store.open_db(args.db)
    store.save_stats(db, args.run_id, stats)
    return 0 if stats.get("finish_reason") == "finished" else 1


if __name__ == "__main__":
    sys.exit(main())
