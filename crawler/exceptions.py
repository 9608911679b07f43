"""Every exception the crawler defines, in one module (as Scrapy keeps its own in
scrapy.exceptions). Three kinds:

- download outcomes raised inside the middleware chain (`IgnoreRequest` subclasses, so Scrapy
  drops the request and calls its errback): `BlockedResponse`, `HostStopped`, `PageFault`;
  crawler/failures.py names their reasons;
- answers that cannot be read as what they should be: `ApiError`;
- bad set-up (a data file, a missing browser): `PortalListError`, `ShapesError`,
  `BrowserNotFound`, `BadDataFile`; str() names the file and field in one line.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from scrapy.exceptions import IgnoreRequest

from core.validate import MessageError

if TYPE_CHECKING:
    from scrapy.http import Response


class BlockedResponse(IgnoreRequest):
    """The portal answered with its "Request Rejected" page."""

    def __init__(self, response: Response) -> None:
        super().__init__(f"blocked: {response.url}")
        self.response = response


class HostStopped(IgnoreRequest):
    """Not sent: the host blocked us DVC_HOST_BLOCK_LIMIT times in a row. `first` is True on
    the first request refused, so the spider records the stop once."""

    def __init__(self, host: str, count: int, last_reason: str, first: bool) -> None:
        super().__init__(f"host {host} stopped after {count} blocks ({last_reason})")
        self.host, self.count, self.last_reason, self.first = host, count, last_reason, first


class PageFault(IgnoreRequest):
    """A page that arrived but cannot be read as what it should be (truncated, garbage, too
    large, a challenge that never cleared): a failed fetch with `reason`, not an empty page."""

    def __init__(self, reason: str, url: str = "", status: int | None = None) -> None:
        super().__init__(f"{reason}: {url}")
        self.reason, self.url, self.status = reason, url, status


class ApiError(ValueError):
    """The body is not a successful API envelope (crawler/parsers.py)."""


class PortalListError(ValueError):
    """A portal list file that cannot be used: str() names the file and the line or field."""


def known_mapping(entry: Any, where: str, keys: Sequence[str]) -> Mapping[str, Any]:
    """`entry` when it is a mapping with no key but `keys`; else PortalListError naming
    `where` (and the first unknown key)."""
    if not isinstance(entry, Mapping):
        raise PortalListError(f"{where}: must be a mapping {{{', '.join(keys)}}}, "
                              f"not {entry!r}")
    extra = sorted(str(k) for k in entry if k not in keys)
    if extra:
        raise PortalListError(f"{where}.{extra[0]}: unknown key (allowed: {', '.join(keys)})")
    return entry


class ShapesError(MessageError):
    """A bad shapes file: str() names the file and the field."""


class BrowserNotFound(RuntimeError):
    """No Chromium to start (crawler/browser.py says where it looked and how to get one)."""


class BadDataFile(Exception):
    """The spider could not start on a bad rubric or portal list file; str() names the file."""
