"""Click options shared by the command modules (app/cli.py, app/cli_nightly.py, app/review.py),
defined once here because those modules import each other one way only.

Light on purpose: app/cli.py imports it for every command, so it imports neither Scrapy nor
sqlite-utils (which imports pandas); `dvc-audit rubric check` starts in a fraction of a second.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import click

from core.rubric import RUBRIC_DIR

DB_NAME = "audit.db"  # the results database in OUT
DEFAULT_OUT = Path(__file__).resolve().parents[1] / "results"  # the project's results/
ENGINES = ("local", "scrapyd")  # where a run's crawls go (app/engines.py)
DEFAULT_SCRAPYD_URL = "http://127.0.0.1:6800"

F = TypeVar("F", bound=Callable[..., Any])

rubric_option = click.option("--rubric", "rubric_dir", type=click.Path(
    exists=True, file_okay=False, path_type=Path), default=RUBRIC_DIR, show_default=True,
    help="Rubric directory (YAML).")

# demo, run and nightly: how the crawls are shown and where they run
quiet_option = click.option("--quiet", is_flag=True,
                            help="No progress; the crawler logs warnings only.")
verbose_option = click.option("--verbose", is_flag=True,
                              help="Scrapy's log on the terminal too (default: only in "
                                   "OUT/logs/run-N.log).")
reuse_option = click.option(
    "--reuse-within", "reuse_within", type=click.FloatRange(min=0), default=0.0,
    show_default=True, metavar="HOURS",
    help="Reuse good observations younger than this (answers, and portals read whole without a "
         "fault) instead of asking again; they keep their own time. 0: ask everything.")
min_tested_option = click.option(
    "--min-tested", "min_tested", type=click.FloatRange(0, 1), default=None, metavar="SHARE",
    help="Least share of cells that must be tested (met or not met) for the run to be complete; "
         "below it the run is incomplete (no_coverage). Default: coverage.min_tested in "
         "RUBRIC/scoring.yaml (0.5).")


def check_url(url: str) -> str:
    """`url` if it can name a Scrapyd server (http(s)://host[:port][/path]), else ValueError."""
    parts = urllib.parse.urlsplit(url)
    try:
        parts.port  # noqa: B018 - raises on a bad port
    except ValueError as exc:
        raise ValueError(f"not a Scrapyd URL: {url!r} ({exc})") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"not a Scrapyd URL: {url!r} (want http://host:port)")
    return url.rstrip("/")


def _scrapyd_urls(ctx: click.Context, param: click.Parameter,
                  value: Sequence[str]) -> tuple[str, ...]:
    try:
        return tuple(check_url(url) for url in value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


def engine_options(command: F) -> F:
    """--engine local|scrapyd and --scrapyd-url (app/engines.py), for demo, run and nightly."""
    command = click.option(
        "--scrapyd-url", "scrapyd_url", envvar="DVC_SCRAPYD_URL", multiple=True,
        default=(DEFAULT_SCRAPYD_URL,), show_default=True, callback=_scrapyd_urls,
        metavar="URL", help="With --engine scrapyd: a Scrapyd server; repeat it to spread the "
        "provincial portals over several (the first also runs the national host's crawls). "
        "Env DVC_SCRAPYD_URL (several: separated by spaces).")(command)
    return click.option(
        "--engine", type=click.Choice(ENGINES), default="local", show_default=True,
        help="Where the crawls run: child processes of this job, or a Scrapyd server "
             "(docs/OPERATIONS.md \"Scrapyd engine\").")(command)


def engine_of(engine: str, scrapyd_url: Sequence[str]) -> dict[str, Any]:
    """run_audit's `engine` keyword for the options ({} for the local engine)."""
    # app.engines imports the crawler (Scrapy): only a command that crawls gets here
    from app.engines import engine_for

    chosen = engine_for(engine, scrapyd_url)
    return {"engine": chosen} if chosen is not None else {}


def display(quiet: bool, verbose: bool) -> dict[str, Any]:
    """run_audit's display options: progress bars on a terminal, plain lines otherwise
    (app/progress.py); Scrapy's log in OUT/logs unless --verbose."""
    return {"progress": "off" if quiet else "auto", "crawl_log": not verbose}
