"""What a platform family is, as a `typing.Protocol` each family module satisfies (mypy checks
every module against it where crawler/platforms/__init__.py lists them).

A family is a module: the provincial portal families (`igate`, `eform`, `legacy`) and the
ministry systems (`moj`, `moc`). The spider reads a portal only through these members.
Optional abilities are protocols of their own, so a family declares them by what it defines:
`RenderedFamily` (read in a browser: a readiness predicate and a wizard walk), `ConfiguredFamily`
(a JSON config read over plain HTTP) and `SystemFamily` (a ministry's shared system).
"""

from __future__ import annotations

from typing import Any, Protocol

from bs4 import BeautifulSoup

from crawler.platforms.base import ApplyPage, ListingPage, LoginFacts


class PlatformFamily(Protocol):
    NAME: str
    LOGIN_FROM: str  # "root", "listing" or a path
    CONFIG_PATH: str  # "" or a JSON config to read over plain HTTP (ConfiguredFamily)

    def matches(self, soup: BeautifulSoup, html: str) -> bool: ...

    def listing_urls(self, base_url: str, root: BeautifulSoup | None = None) -> list[str]: ...

    def parse_listing(self, url: str, html: str | bytes) -> ListingPage: ...

    def parse_login(self, url: str, html: str | bytes) -> LoginFacts | None: ...

    def parse_apply(self, url: str, html: str | bytes) -> ApplyPage: ...

    def page_excerpt(self, kind: str, html: str | bytes) -> str: ...


class RenderedFamily(PlatformFamily, Protocol):
    READY_JS: str  # a page predicate: the app has rendered

    async def walk(self, page: Any) -> list[str]: ...


class ConfiguredFamily(PlatformFamily, Protocol):
    def parse_config(self, body: bytes | str) -> dict[str, Any]: ...


class SystemFamily(PlatformFamily, Protocol):
    SYSTEM: str  # the ministry whose shared system this is
