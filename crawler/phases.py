"""What a crawl waits for from the job that started it, told on the crawl's stdin.

The provincial crawl runs beside the national one (it is bound by the browser's CPU, the
national crawl by the national host's politeness limit). The job tells it, one line:

- ``national-done``: the national crawl has ended, so its seeds are all stored.

The site crawl (UN survey) runs beside the national host's last crawl, its HTML procedure pages:
it searches the provincial portals at once, and a site on the national host only after

- ``national-pages-done``: the national pages' crawl has ended, so the national host is free.

End of input (the job has gone) counts as every line.
"""

from __future__ import annotations

import threading
from typing import IO

NATIONAL_DONE = "national-done"
NATIONAL_PAGES_DONE = "national-pages-done"
NAMES = (NATIONAL_DONE, NATIONAL_PAGES_DONE)

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

