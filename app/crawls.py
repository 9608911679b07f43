"""The job's crawls side by side: each in its own process (crawler/runner.py), timed
(`Beside`), told the phases the others reach (`Board`), watched for its end (`watching`)."""

from __future__ import annotations

import subprocess
import threading
import time
from collections.abc import Callable
from typing import Any

from crawler import phases
from crawler.runner import Launched


class Board:
    """The phases the job's crawls have reached, told to every crawl it started (a crawl acts
    on those it waits for: crawler/phases.py). A phase is reached when a crawl announces it (its
    spider closed well) or when the job has seen the crawl's process end; a crawl joining late
    is told those reached before. Announcements arrive on their own threads: hence the lock."""

    def __init__(self) -> None:
        self.reached: list[str] = []
        self.crawls: list[Launched] = []
        self.lock = threading.Lock()
        self.changed = threading.Event()  # set at each phase reached

    def join(self, crawl_: Launched) -> None:
        with self.lock:
            self.crawls.append(crawl_)
            for phase in self.reached:
                crawl_.tell(phase)
        crawl_.on_phase(self.reach)

    def reach(self, phase: str) -> None:
        with self.lock:
            if phase in self.reached or phase not in phases.NAMES:
                return
            self.reached.append(phase)
            for crawl_ in self.crawls:
                crawl_.tell(phase)
            self.changed.set()

    def wait(self, phase: str, crawl_: Beside) -> None:
        """Until `phase` is reached (told by a crawl) or `crawl_`, the crawl whose end it
        means, has exited."""
        while True:
            self.changed.clear()
            if phase in self.reached or crawl_.done():
                return
            self.changed.wait(0.1)


class Beside:
    """A crawl running beside the job's others (`runner.go`), timed from its go to its exit
    (or to when the job first saw it had exited)."""

    def __init__(self, name: str, launched: Launched, timings: dict[str, Any]) -> None:
        self.name, self.launched, self.timings = name, launched, timings
        self.started, self.wall = time.monotonic(), time.time()
        self.ended = False

    def done(self) -> bool:
        """Has it exited? Without telling it that every phase is reached (as `wait` does)."""
        if self.launched.child.poll() is None:
            return False
        self._timed()
        return True

    def wait(self) -> int:
        code = self.launched.wait()
        self._timed()
        return code

    def _timed(self) -> None:
        if not self.ended:
            self.ended = True
            self.timings[self.name] = time.monotonic() - self.started
            self.timings[f"{self.name}_span"] = (self.wall, time.time())


def watching(crawl_: Launched, other: Beside, on_end: Callable[[], None]) -> int:
    """`crawl_`'s exit code, once it has exited; meanwhile, as soon as `other` has ended,
    `on_end()` (the site search starts when the provincial crawl ends, even before the
    national crawl's end)."""
    called = False
    try:
        while True:
            try:
                return crawl_.child.wait(timeout=0.1)
            except subprocess.TimeoutExpired:
                if not called and other.done():
                    called = True
                    on_end()
    except BaseException:  # an interrupted job does not leave its crawl running
        crawl_.stop()
        raise
