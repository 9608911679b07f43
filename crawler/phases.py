"""What a crawl waits for from the job that started it, told on the crawl's stdin.

The provincial crawl runs beside the national one (it is bound by the browser's CPU, the
national crawl by the national host's politeness limit). The job tells it, one line:

- ``national-done``: the national crawl has ended, so its seeds are all stored.

The national pages' crawl is started as the provincial crawl ends (its process, Scrapy and
Playwright's driver load while the 766 figures are asked), and asks the national host only after

- ``index766-done``: the 766 figures' crawl has ended, so the national host is free.

The site crawl (UN survey) runs beside the national host's last crawl, its HTML procedure pages:
it searches the provincial portals at once, and a site on the national host only after

- ``national-pages-done``: the national pages' crawl has ended, so the national host is free.

End of input (the job has gone) counts as every line.

The other way, a crawl the job started with a pipe for it (``DVC_ANNOUNCE_FD``, crawler/runner.py)
writes there the phase its own end means, one line, as soon as its spider has closed well (every
item stored, before its process has shut down): the national crawl ``national-done``, the 766
figures' ``index766-done``, the national pages' ``national-pages-done`` (`AnnounceDone`). The job
passes it on at once, so the next crawl of the national host starts without waiting for the last
one's process to exit.
"""

from __future__ import annotations

import asyncio
import os
import threading
import time
from typing import IO

from scrapy import Spider, signals
from scrapy.crawler import Crawler

NATIONAL_DONE = "national-done"
INDEX766_DONE = "index766-done"
NATIONAL_PAGES_DONE = "national-pages-done"
NAMES = (NATIONAL_DONE, INDEX766_DONE, NATIONAL_PAGES_DONE)
# the phase a crawl's own end means, by spider name
DONE_BY = {"national": NATIONAL_DONE, "index766": INDEX766_DONE,
           "national_pages": NATIONAL_PAGES_DONE}
ANNOUNCE_FD = "DVC_ANNOUNCE_FD"  # environment: the pipe a crawl announces its phases on

_events = {name: threading.Event() for name in NAMES}


def listen(stream: IO[bytes] | IO[str]) -> threading.Thread:
    """Read phase lines from `stream` in a daemon thread until its end."""

    def read() -> None:
        try:
            for line in stream:
                text = line.decode() if isinstance(line, bytes) else line
                if text.strip() in _events:
                    _events[text.strip()].set()
        finally:
            for event in _events.values():
                event.set()

    thread = threading.Thread(target=read, name="phases", daemon=True)
    thread.start()
    return thread


def reached(name: str) -> bool:
    return _events[name].is_set()


def reset() -> None:
    for event in _events.values():
        event.clear()


async def wait_for(name: str, poll: float = 0.05) -> float:
    """Wait (inside a crawl's event loop) until phase `name` is reached; the seconds waited."""
    start = time.monotonic()
    while not reached(name):
        await asyncio.sleep(poll)
    return time.monotonic() - start


def announce(name: str) -> None:
    """Tell the job that started this crawl that phase `name` is reached (nothing when it gave
    no pipe, e.g. a crawl run by hand or by Scrapyd)."""
    fd = os.environ.get(ANNOUNCE_FD, "")
    if fd.isdigit():
        try:
            os.write(int(fd), f"{name}\n".encode())
        except OSError:
            pass  # the job has gone: nobody waits for the phase


class AnnounceDone:
    """Scrapy extension: a crawl whose spider closed well announces the phase its end means
    (`DONE_BY`); the engine closes the spider only after its items are stored."""

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> AnnounceDone:
        ext = cls()
        crawler.signals.connect(ext.spider_closed, signal=signals.spider_closed)
        return ext

    def spider_closed(self, spider: Spider, reason: str) -> None:
        phase = DONE_BY.get(spider.name)
        if phase is not None and reason == "finished":
            announce(phase)
