"""A site's sequence of tasks, as crawler/spiders/sitespider.py schedules them: a provincial portal
(or a ministry system; the provincial spider), or the national portal's HTML procedure pages
(the national_pages spider).

`Task` is one page to read (a listing page, the login options, a config, an apply step, a
national procedure page); `Run` a site's queue of tasks, how many of them may be in flight
(`lanes`), its browser context and pages, and what its listing has shown so far.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Any

from crawler.platforms.base import ListedProcedure
from crawler.platforms.family import PlatformFamily


@dataclass
class Task:
    kind: str  # list | login | config | apply | national
    url: str
    code: str = ""
    browser: bool = False
    step: int = 0  # apply flows whose steps are pages: 0, 1, ...
    extra: dict[str, Any] = field(default_factory=dict)


def context_name(key: str) -> str:
    """The browser context of one site (host[:port])."""
    return f"site:{key}"


@dataclass
class Run:
    """One site's sequence of tasks: a provincial portal, or the national HTML pages."""

    key: str  # host[:port]
    base: str
    units: tuple[str, ...]
    family: PlatformFamily | None
    browser: bool
    lanes: int
    queue: deque[Task] = field(default_factory=deque)
    inflight: int = 0
    idle_pages: list[Any] = field(default_factory=list)
    context: Any = None
    started: bool = False
    finished: bool = False
    list_pending: int = 0
    list_failure: str = ""
    list_pages: int = 0
    listed: dict[str, ListedProcedure] = field(default_factory=dict)
    login_done: bool = False
    shots: int = 0
    cookie: str = ""  # a challenge cookie the browser earned, reused for plain requests
    cookie_tried: bool = False

    @property
    def context_name(self) -> str:
        return context_name(self.key)

    @property
    def portal(self) -> bool:
        """A provincial portal's run (the national HTML pages' run has no family)."""
        return self.family is not None

    @property
    def platform(self) -> PlatformFamily:
        """The family of a portal's run; its tasks (list, login, config, apply) are only
        queued for a portal's run."""
        if self.family is None:
            raise TypeError(f"{self.key}: the national pages' run has no platform family")
        return self.family

    def common(self) -> dict[str, Any]:
        return {"units": list(self.units), "base": self.base,
                "family": self.family.NAME if self.family else "", "browser": self.browser}
