"""Provincial platform families and fingerprinting (one module per family).

``fingerprint(url, html)`` names the family of a portal from its home page (never from a host
list) and says whether the page needs JavaScript: an empty app shell, or a JavaScript challenge,
has almost no visible text without a browser. The spider uses a browser only for such portals.

Each family module satisfies ``PlatformFamily`` (crawler/platforms/family.py): ``NAME``;
``matches(soup, html)``; ``listing_urls(base, root_soup)``; ``LOGIN_FROM`` ("root", "listing" or a
path); ``CONFIG_PATH``; ``parse_listing``, ``parse_login``, ``parse_apply`` (pure: URL + HTML ->
facts); ``page_excerpt(kind, html)``. Browser families are also ``RenderedFamily`` (``READY_JS``,
``walk(page)``), families with a JSON config ``ConfiguredFamily`` (``parse_config``), ministry
systems ``SystemFamily`` (``SYSTEM``). The typed tables below are where mypy checks them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from crawler.platforms import eform, igate, legacy, moc, moj
from crawler.platforms.base import decode_html, soup_of, visible_text
from crawler.platforms.family import (
    ConfiguredFamily,
    PlatformFamily,
    RenderedFamily,
    SystemFamily,
)

PORTAL_FAMILIES: tuple[PlatformFamily, ...] = (igate, eform, legacy)
SYSTEMS: tuple[SystemFamily, ...] = (moj, moc)
RENDERED: dict[str, RenderedFamily] = {igate.NAME: igate}  # read in a browser
CONFIGURED: dict[str, ConfiguredFamily] = {igate.NAME: igate}  # CONFIG_PATH read over HTTP
FAMILIES: dict[str, PlatformFamily] = {m.NAME: m for m in (*PORTAL_FAMILIES, *SYSTEMS)}
# Families of ministry systems (module attribute SYSTEM: the ministry): what their hosts show
# is evidence of a shared system, never of a province's own portal (seeds.Seeding).
SYSTEM_FAMILIES: dict[str, str] = {m.NAME: m.SYSTEM for m in SYSTEMS}
SHELL_TEXT = 80  # fewer visible characters than this, with scripts: an app shell


@dataclass
class Fingerprint:
    family: str  # "" when no family matched
    needs_js: bool
    signals: list[str] = field(default_factory=list)

    @property
    def module(self) -> PlatformFamily | None:
        return FAMILIES.get(self.family)


def fingerprint(url: str, html: str | bytes) -> Fingerprint:
    from crawler.pages import is_challenge  # crawler.pages imports this package's helpers

    text = decode_html(html) if isinstance(html, bytes) else html
    soup = soup_of(text)
    signals: list[str] = []
    scripts = soup.find_all("script")
    visible = visible_text(soup)
    if is_challenge(text):
        signals.append("js_challenge")
    if scripts and len(visible) < SHELL_TEXT:
        signals.append("app_shell")
    noscript = soup.find("noscript")
    if noscript is not None and "javascript" in noscript.get_text(" ").casefold():
        signals.append("noscript_asks_for_javascript")
    family = next((name for name, mod in FAMILIES.items() if mod.matches(soup, text)), "")
    if family:
        signals.append(f"family:{family}")
    needs_js = "js_challenge" in signals or "app_shell" in signals
    return Fingerprint(family, needs_js, signals)
