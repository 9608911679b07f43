"""Judging the UN survey's automatic features (rubrics/indicators/detectors.yaml) from stored
pages and measurements: pure functions, no fetch.

The crawler stores, per portal, the pages it searched (address, depth, HTML) and, for the
browser- and network-level features, what it measured (HTTPS, width at 390 px, axe-core,
the W3C checker). Findability as the UN counts it: a feature not found on the pages searched is
`not_met` (`not_found`), and the pages searched are the evidence; a portal with no readable
page is `cannot_test`, never `not_met`. A search is only as good as the pages it read: a feature
not found while a page within the budget failed to load may be on that page, so it is
`cannot_test` (`search_incomplete`), with the failed pages as the evidence.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

import lxml.html
from lxml import etree

from core.indicators import Detector
from core.vocab import Reason, Verdict

_DATE = re.compile(r"\b(\d{1,2})[/.-](\d{1,2})[/.-](20\d{2})\b")


@dataclass(frozen=True)
class Page:
    """One page the crawler searched: where, how deep from the home page, and its HTML."""

    url: str
    depth: int
    html: str


@dataclass(frozen=True)
class Finding:
    verdict: Verdict
    reason: str = ""
    detail: str = ""  # what was found, or how far the search went
    urls: tuple[str, ...] = ()  # where it was found, or the pages searched

    @property
    def met(self) -> bool:
        return self.verdict is Verdict.MET


@dataclass(frozen=True)
class Measures:
    """Browser- and network-level measurements of one portal (None: not measured)."""

    https_ok: bool | None = None  # answered over HTTPS with a certificate the browser accepts
    http_redirects: bool | None = None  # plain HTTP sends the reader to HTTPS
    scroll_width: int | None = None  # document width rendered at the detector's width
    viewport_meta: bool | None = None
    axe_violations: Mapping[str, int] | None = None  # impact -> number of violations
    w3c_errors: Mapping[str, int] | None = None  # "markup" / "css" -> number of errors
    failures: Mapping[str, str] = field(default_factory=dict)  # measure -> reason it failed


@lru_cache(maxsize=1)
def _marks() -> re.Pattern[str]:
    """The combining marks (every script's accents, of the BMP) as one character class."""
    marks = [cp for cp in range(0x10000) if unicodedata.combining(chr(cp))]
    ranges, start = [], marks[0]
    for prev, cp in zip(marks, marks[1:] + [-1], strict=True):
        if cp != prev + 1:
            ranges.append(f"{re.escape(chr(start))}-{re.escape(chr(prev))}")
            start = cp
    return re.compile(f"[{''.join(ranges)}]+")


def fold(text: str) -> str:
    """Case- and accent-insensitive form (đ -> d) so "Sơ đồ" matches "so do" and "SƠ ĐỒ"."""
    text = unicodedata.normalize("NFD", text.casefold()).replace("đ", "d")
    return unicodedata.normalize("NFC", _marks().sub("", text))


@lru_cache(maxsize=512)
def _pattern(p: str) -> re.Pattern[str]:
    return re.compile(fold(p))


def _matches_folded(patterns: Iterable[str], folded: str) -> bool:
    return any(_pattern(p).search(folded) for p in patterns)


_PARSER = lxml.html.HTMLParser(encoding="utf-8")  # the bodies are decoded as UTF-8


# One parse per page for every detector: a unit's search is at most `search.max_pages` pages
# (40 shipped); callers judging many units call `clear_page_caches` between units, so the
# parsed pages of one unit are held at a time (a real run: 35 sites x 40 pages).
@lru_cache(maxsize=256)
def _soup(html: str) -> Any:
    """The page's tree (lxml: built in C; a run judges 40 pages x 35 sites)."""
    try:
        # bytes: lxml refuses a str that carries an XML encoding declaration
        return lxml.html.document_fromstring(html.encode("utf-8"),
                                             parser=_PARSER)
    except etree.ParserError:  # empty, or only a comment: no element at all
        return lxml.html.document_fromstring("<html></html>")


def clear_page_caches() -> None:
    """Drop the parsed pages (call between units)."""
    _soup.cache_clear()
    _visible_text.cache_clear()
    _page_links.cache_clear()


@lru_cache(maxsize=256)
def _page_links(html: str) -> tuple[tuple[str, str, str], ...]:
    """Each link of a page once for every link detector: (label, folded label, href)."""
    found = []
    for a in _soup(html).iter("a"):
        extra = [str(a.get("title") or ""), str(a.get("aria-label") or "")]
        label = " ".join([_strings(a), *extra]).strip()
        found.append((label, fold(" ".join(label.split())), str(a.get("href") or "")))
    return tuple(found)


_HIDDEN = frozenset({"script", "style", "noscript", "template"})


@lru_cache(maxsize=256)
def _visible_text(html: str) -> str:
    """What a reader sees: text outside scripts, styles and comments, folded, one space apart."""
    return fold(" ".join(_strings(_soup(html), _HIDDEN).split()))


def _strings(root: Any, hidden: frozenset[str] = frozenset()) -> str:
    """The text of an element and its descendants, pieces one space apart; comments and the
    elements in `hidden` (with what they hold) left out, their tails kept."""
    parts: list[str] = []

    def walk(el: Any) -> None:
        if isinstance(el.tag, str) and el.tag not in hidden:
            parts.append(el.text or "")
            for child in el:
                walk(child)
                parts.append(child.tail or "")

    walk(root)
    return " ".join(p for p in parts if p)


def _text(page: Page) -> str:
    return _visible_text(page.html)


def _searched(pages: Sequence[Page]) -> Finding:
    depth = max(p.depth for p in pages)
    return Finding(Verdict.NOT_MET, Reason.NOT_FOUND,
                   f"{len(pages)} pages searched to depth {depth}", tuple(p.url for p in pages))


def _first(pages: Sequence[Page], found: Any) -> Finding:
    for page in sorted(pages, key=lambda p: p.depth):
        what = found(page)
        if what:
            return Finding(Verdict.MET, "", str(what)[:200], (page.url,))
    return _searched(pages)


def _link(params: Mapping[str, Any], page: Page) -> str:
    for label, folded, href in _page_links(page.html):
        if _matches_folded(params.get("text", ()), folded) or (
                href and any(re.search(p, href, re.I) for p in params.get("href", ()))):
            return label or href
    return ""


def _page_text(params: Mapping[str, Any], page: Page) -> str:
    text = _text(page)
    for p in params["text"]:
        m = _pattern(p).search(text)
        if m:
            return m.group(0)
    return ""


def _form(params: Mapping[str, Any], page: Page) -> str:
    names = {fold(n) for n in params["inputs"]}
    for inp in _soup(page.html).iter("input"):
        kind = str(inp.get("type") or "text").lower()
        if kind == "search" or (kind == "text" and fold(str(inp.get("name") or "")) in names):
            return f"input {inp.get('name') or kind}"
    return ""


def _fresh(params: Mapping[str, Any], page: Page, run_day: date) -> str:
    oldest = run_day - timedelta(days=int(params["max_age_days"]))
    for d, m, y in _DATE.findall(_text(page)):
        try:
            seen = date(int(y), int(m), int(d))
        except ValueError:
            continue
        if oldest <= seen <= run_day:
            return seen.isoformat()
    return ""


def _incomplete(found: Finding, failed: Sequence[Page]) -> Finding:
    """Not found, but a page within the budget failed to load: the feature may be there."""
    if found.verdict is not Verdict.NOT_MET or not failed:
        return found
    return Finding(Verdict.CANNOT_TEST, Reason.SEARCH_INCOMPLETE,
                   f"not found on {found.detail}; {len(failed)} failed to load",
                   tuple(p.url for p in failed))


def _domain(params: Mapping[str, Any], pages: Sequence[Page], unit_name: str,
            declared_host: str, failed: Sequence[Page]) -> Finding:
    home = min(pages, key=lambda p: p.depth)
    if home.depth > 0 and any(p.depth == 0 for p in failed):
        lost = next(p for p in failed if p.depth == 0)
        return Finding(Verdict.CANNOT_TEST, Reason.UNREADABLE, "the home page failed to load",
                       (lost.url,))
    host = declared_host or urlsplit(home.url).hostname or ""
    if not any(host.endswith(s) for s in params["suffixes"]):
        return Finding(Verdict.NOT_MET, Reason.NOT_FOUND, f"host {host}", (home.url,))
    if unit_name and fold(unit_name) not in _text(home):
        return Finding(Verdict.NOT_MET, Reason.NOT_FOUND, f"{host}: the page does not name "
                       f"{unit_name}", (home.url,))
    return Finding(Verdict.MET, "", host, (home.url,))


def judge_pages(detector: Detector, pages: Sequence[Page], *, run_at: datetime | date,
                unit_name: str = "", failed: Sequence[Page] = (),
                declared_host: str = "") -> Finding:
    """A page-level feature (link, text, form, fresh, domain) over the pages searched.
    `failed`: pages within the budget that did not load (their html is not read);
    `declared_host`: the site's official host when it is served elsewhere (the replica on
    loopback declares the domain it stands for)."""
    if not pages:
        return Finding(Verdict.CANNOT_TEST, Reason.UNREADABLE, "no page of the portal was read"
                       + (f" ({len(failed)} failed to load)" if failed else ""),
                       tuple(p.url for p in failed))
    p = detector.params
    if detector.kind == "domain":
        return _domain(p, pages, unit_name, declared_host, failed)
    if detector.kind == "link":
        found = _first(pages, lambda page: _link(p, page))
    elif detector.kind == "text":
        found = _first(pages, lambda page: _page_text(p, page))
    elif detector.kind == "form":
        found = _first(pages, lambda page: _form(p, page))
    elif detector.kind == "fresh":
        day = run_at.date() if isinstance(run_at, datetime) else run_at
        found = _first(pages, lambda page: _fresh(p, page, day))
    else:
        raise ValueError(f"{detector.id}: kind {detector.kind!r} is judged from measures")
    return _incomplete(found, failed)


def _untested(measure: str, m: Measures) -> Finding:
    return Finding(Verdict.CANNOT_TEST, m.failures.get(measure) or Reason.INCOMPLETE,
                   f"{measure} not measured")


def judge_measures(detector: Detector, m: Measures) -> Finding:
    """A browser- or network-level feature (https, responsive, axe, w3c) from its measures."""
    p = detector.params
    if detector.kind == "https":
        if m.https_ok is None:
            return _untested("https", m)
        ok = m.https_ok and m.http_redirects is not False
        why = "" if ok else ("no valid HTTPS" if not m.https_ok else "HTTP does not redirect")
        return Finding(Verdict.MET if ok else Verdict.NOT_MET, "" if ok else Reason.NOT_FOUND, why)
    if detector.kind == "responsive":
        if m.scroll_width is None or m.viewport_meta is None:
            return _untested("responsive", m)
        ok = m.scroll_width <= int(p["width"]) and m.viewport_meta
        detail = f"{m.scroll_width} px wide at {p['width']} px; viewport meta: {m.viewport_meta}"
        return Finding(Verdict.MET if ok else Verdict.NOT_MET, "" if ok else Reason.NOT_FOUND,
                       detail)
    if detector.kind == "axe":
        if m.axe_violations is None:
            return _untested("axe", m)
        bad = {k: v for k, v in m.axe_violations.items() if k in p["fail_impacts"] and v}
        detail = ", ".join(f"{k}: {v}" for k, v in sorted(m.axe_violations.items()) if v)
        return Finding(Verdict.NOT_MET if bad else Verdict.MET,
                       Reason.NOT_FOUND if bad else "", detail or "no violations")
    if detector.kind == "w3c":
        errors = (m.w3c_errors or {}).get(p["check"])
        if errors is None:
            return _untested(f"w3c_{p['check']}", m)
        return Finding(Verdict.MET if errors == 0 else Verdict.NOT_MET,
                       "" if errors == 0 else Reason.NOT_FOUND, f"{errors} errors")
    raise ValueError(f"{detector.id}: kind {detector.kind!r} is judged from pages")


MEASURED_KINDS = frozenset({"https", "responsive", "axe", "w3c"})


def judge(detector: Detector, pages: Sequence[Page], measures: Measures, *,
          run_at: datetime | date, unit_name: str = "", failed: Sequence[Page] = (),
          declared_host: str = "") -> Finding:
    if detector.kind in MEASURED_KINDS:
        return judge_measures(detector, measures)
    return judge_pages(detector, pages, run_at=run_at, unit_name=unit_name, failed=failed,
                       declared_host=declared_host)
