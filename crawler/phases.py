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
"""

from __future__ import annotations

import asyncio
import threading
import time
from typing import IO

NATIONAL_DONE = "national-done"
INDEX766_DONE = "index766-done"
NATIONAL_PAGES_DONE = "national-pages-done"
NAMES = (NATIONAL_DONE, INDEX766_DONE, NATIONAL_PAGES_DONE)

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
