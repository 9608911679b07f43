"""Progress of an audit for the person or the timer running it (issue 15).

The crawls run in child processes and store evidence as they go, so progress is read from the
results database (read-only, once a second): catalogue pages, office lists of the rubric's
procedures, provincial portals visited of those known, the phase, elapsed and remaining time.

* On a terminal: bars drawn by `rich` on stderr (the job's own lines still print above them).
* Not a terminal (CI, a systemd timer, a pipe): a plain line when the phase changes and every
  `PLAIN_EVERY` seconds; no bars, no escape codes.
* `quiet`: nothing.
"""

from __future__ import annotations

import sqlite3
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

POLL = 1.0  # seconds between reads of the database
PLAIN_EVERY = 15.0  # seconds between plain progress lines
PHASES = {"national": "national portal", "index766": "Decision 766 figures",
          "national_pages": "national procedure pages", "provincial": "provincial portals",
          "sites": "portal sites (UN survey)",
          "scoring": "scoring and reports"}


@dataclass
class Counts:
    catalogue_pages: int = 0
    office_lists: int = 0
    portals: int = 0
    site_pages: int = 0  # pages the site crawl searched (UN survey)


def read_counts(db_path: Path, run_id: int) -> Counts:
    """What the run's crawls have stored so far ({} while the database is being set up)."""
    try:
        with sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=1) as conn:
            pages = conn.execute(
                "SELECT COUNT(DISTINCT sha256) FROM evidence WHERE run_id = ? AND kind IN "
                "('catalogue', 'procedure') AND sha256 != ''", [run_id]).fetchone()[0]
            lists = conn.execute(
                "SELECT COUNT(DISTINCT procedure_code) FROM evidence WHERE run_id = ? "
                "AND kind = 'office_list'", [run_id]).fetchone()[0]
            urls = conn.execute("SELECT DISTINCT url FROM evidence WHERE run_id = ? AND kind "
                                "LIKE 'portal%'", [run_id]).fetchall()
            site_pages = conn.execute("SELECT COUNT(*) FROM evidence WHERE run_id = ? AND kind "
                                      "= 'site_page'", [run_id]).fetchone()[0]
    except sqlite3.Error:
        return Counts()
    hosts = {urlparse(u).netloc for (u,) in urls if u}
    return Counts(pages, lists, len(hosts), site_pages)


def _clock(seconds: float | None) -> str:
    if seconds is None:
        return "?"
    seconds = int(seconds)
    return f"{seconds // 60}:{seconds % 60:02d}"


class Tracker:
    """The job says which phase it is in (`phase`); a thread reads the counts and shows them."""

    def __init__(self, db_path: Path, run_id: int, *, procedures: int, portals: int | None,
                 mode: str, echo: Callable[[str], None]) -> None:
        self.db_path, self.run_id = db_path, run_id
        self.procedures, self.portals = procedures, portals
        self.mode, self.echo = mode, echo
        self.started = time.monotonic()
        self.current = "national"
        self.counts = Counts()
        self._done = threading.Event()
        self._last_plain = 0.0
        self._shown_phase = ""
        self._lock = threading.Lock()  # the job's thread and the reader both print lines

    def phase(self, name: str) -> None:
        self.current = name
        if self.mode == "plain":  # said at once: a phase may end before the next poll
            self.counts = read_counts(self.db_path, self.run_id)
            self._plain()

    def remaining(self) -> float | None:
        """From the share of office lists stored (the national crawl's main work)."""
        done = self.counts.office_lists / self.procedures if self.procedures else 0
        if self.current == "scoring" or done >= 1:
            return 0.0 if self.current == "scoring" else None
        elapsed = time.monotonic() - self.started
        return elapsed * (1 - done) / done if done > 0.05 else None

    def line(self) -> str:
        c, elapsed = self.counts, time.monotonic() - self.started
        portals = f"{c.portals}/{self.portals}" if self.portals is not None else str(c.portals)
        return (f"progress: {PHASES.get(self.current, self.current)}; catalogue pages "
                f"{c.catalogue_pages}, office lists {c.office_lists}/{self.procedures}, "
                f"portals visited {portals}"
                + (f", site pages searched {c.site_pages}" if c.site_pages else "")
                + f"; elapsed {_clock(elapsed)}, remaining "
                f"{_clock(self.remaining())}")

    def _plain(self) -> None:
        with self._lock:
            now = time.monotonic()
            if self.current != self._shown_phase or now - self._last_plain >= PLAIN_EVERY:
                self._shown_phase, self._last_plain = self.current, now
                self.echo(self.line())

    def _bars(self) -> None:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
        )

        console = Console(stderr=True)
        columns = (TextColumn("{task.description:<22}"), BarColumn(), MofNCompleteColumn(),
                   TextColumn("{task.fields[note]}"), TimeElapsedColumn())
        with Progress(*columns, console=console, transient=False,
                      redirect_stdout=True, redirect_stderr=False) as bars:
            phase = bars.add_task("phase", total=None, note="")
            pages = bars.add_task("catalogue pages", total=None, note="")
            lists = bars.add_task("office lists", total=self.procedures or None, note="")
            portals = bars.add_task("portals visited", total=self.portals, note="")
            sites = bars.add_task("site pages searched", total=None, note="")
            while True:
                stop = self._done.wait(POLL / 4)
                self.counts = read_counts(self.db_path, self.run_id)
                left = self.remaining()
                bars.update(phase, description=PHASES.get(self.current, self.current),
                            note=f"remaining {_clock(left)}")
                bars.update(pages, completed=self.counts.catalogue_pages)
                bars.update(lists, completed=self.counts.office_lists)
                bars.update(portals, completed=self.counts.portals)
                bars.update(sites, completed=self.counts.site_pages)
                if stop:
                    return

    def _run(self) -> None:
        if self.mode == "bars":
            self._bars()
            return
        while not self._done.wait(POLL):
            self.counts = read_counts(self.db_path, self.run_id)
            self._plain()

    @contextmanager
    def running(self) -> Iterator[Tracker]:
        thread = threading.Thread(target=self._run, name="progress", daemon=True)
        thread.start()
        try:
            yield self
        finally:
            self._done.set()
            thread.join(timeout=5)


class _Off:
    def phase(self, name: str) -> None:
        pass


OFF: Any = _Off()


def mode_for(progress: str) -> str:
    """"bars" on a terminal, "plain" otherwise, "off" when quiet; `progress` is "auto",
    "bars", "plain" or "off"."""
    if progress != "auto":
        return progress
    return "bars" if sys.stderr.isatty() else "plain"


@contextmanager
def track(db_path: Path, run_id: int, *, procedures: int, portals: int | None, progress: str,
          echo: Callable[[str], None]) -> Iterator[Any]:
    mode = mode_for(progress)
    if mode == "off":
        yield OFF
        return
    tracker = Tracker(db_path, run_id, procedures=procedures, portals=portals, mode=mode,
                      echo=echo)
    with tracker.running():
        yield tracker
