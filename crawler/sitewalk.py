"""The site crawl's pure parts (crawler/spiders/site.py): where each unit's site is, which links
a search follows, what a sitemap lists, and the breadth-first frontier within the budget.

Findability as the UN counts it (rubrics/indicators/detectors.yaml `search`): the home page
(depth 0), the pages it links to on the same host, menus and footer included, and the pages its
sitemap lists (depth 1), then their links (depth 2), to `max_pages` pages per site. The walk is
level by level, links in document order, so the pages searched do not depend on which answer
came first. Read-only: login, registration, submission and payment links are never followed,
nor files (PDF, office documents, images) or other hosts.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin, urlsplit, urlunsplit
from xml.etree import ElementTree

from core.indicators import NATIONAL_UNIT
from crawler.exceptions import PortalListError, known_mapping
from crawler.platforms.base import soup_of

HOME, LINK, SITEMAP = "home", "link", "sitemap"  # data.via of a site_page
SITE_KEYS = ("units", "home", "https", "http", "domain")
DEFAULT_PORTS = {"http": 80, "https": 443}
# Files, not pages: never fetched as a page of the search.
FILE_EXTENSIONS = frozenset(
    "pdf doc docx xls xlsx ppt pptx odt ods zip rar 7z gz tar jpg jpeg png gif svg webp ico bmp "
    "tif tiff mp3 mp4 avi mov wmv flv webm css js json xml rss apk ipa exe msi".split())
# Read-only: a link that logs in, registers, submits or pays is never followed (its page may
# carry a form; the audit never sends one). Matched in the address (path and query) ...
NEVER_HREF = re.compile(
    r"(log-?in|log-?out|sign-?in|sign-?out|sign-?up|dang-?nhap|dang-?xuat|/auth(/|$)|sso(\b|_)|"
    r"oauth|openid|/(dang-?ky|register|registration)(/|$|\?|\.)|nop-?ho-?so|submit|"
    r"/apply\b|tiep-?nhan-?online|/eform\b|thanh-?toan|payment|checkout|/cart\b)", re.I)
# ... and in the link's text (folded: no accents, lower case).
NEVER_TEXT = ("dang nhap", "dang xuat", "dang ky tai khoan", "nop ho so", "thanh toan",
              "log in", "login", "sign in", "sign up", "logout", "register")


@dataclass(frozen=True)
class Site:
    """One unit's site: `home` is walked; `https` is where TLS is checked; `http` the plain
    front door whose redirect to HTTPS is checked."""

    units: tuple[str, ...]
    home: str
    https: str
    http: str
    # the official host name when the site is served elsewhere (the replica on loopback
    # declares it); "" on real runs, where the home's own host is the one judged
    domain: str = ""

    @property
    def key(self) -> str:
        return urlsplit(self.home).netloc

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"units": list(self.units), "home": self.home,
                               "https": self.https, "http": self.http}
        if self.domain:
            out["domain"] = self.domain
        return out


def _http_url(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    try:
        parts = urlsplit(value)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def with_scheme(url: str, scheme: str) -> str:
    """`url`'s host with `scheme`, at the root: its own port when it has that scheme already,
    else the scheme's default port."""
    parts = urlsplit(url)
    host = parts.netloc if parts.scheme == scheme else parts.hostname or ""
    return f"{scheme}://{host}/"


def site_of(units: Sequence[str], home: str) -> Site:
    """A site derived from its home page: TLS checked on the same host over https, the redirect
    on the same host over http."""
    return Site(tuple(units), home, with_scheme(home, "https"), with_scheme(home, "http"))


def parse_sites(raw: Any, where: str = "DVC_SITES") -> list[Site]:
    """The DVC_SITES setting (a list, or its JSON text as Scrapyd passes it) as sites; a bad
    entry is one PortalListError naming the entry and field."""
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except ValueError as e:
            raise PortalListError(f"{where}: not JSON: {e}") from None
    if not isinstance(raw, list):
        raise PortalListError(f"{where}: must be a list of {{units, home, https, http}}")
    sites = []
    for i, entry in enumerate(raw):
        here = f"{where}[{i}]"
        entry = known_mapping(entry, here, SITE_KEYS)
        units = entry.get("units")
        if not isinstance(units, list) or not units or \
                not all(isinstance(u, str) and u for u in units):
            raise PortalListError(f"{here}.units: must be a list of unit codes, like [\"79\"]")
        if not _http_url(entry.get("home")):
            raise PortalListError(f"{here}.home: not an http(s) URL: {entry.get('home')!r}")
        derived = site_of(units, entry["home"])
        for key in ("https", "http"):
            if key in entry and not _http_url(entry[key]):
                raise PortalListError(f"{here}.{key}: not an http(s) URL: {entry[key]!r}")
        domain = entry.get("domain") or ""
        if not isinstance(domain, str):
            raise PortalListError(f"{here}.domain: must be a host name, like \"hanoi.gov.vn\"")
        sites.append(Site(tuple(units), entry["home"], entry.get("https") or derived.https,
                          entry.get("http") or derived.http, domain))
    return sites


def derive_sites(base_url: str, portal_list: Iterable[Mapping[str, str]],
                 portals: Iterable[Mapping[str, Any]] = ()) -> list[Site]:
    """The sites of a run without DVC_SITES: the national portal (the run's base URL, unit VN),
    then each province's portal: the home page the provincial crawl read for it (`portals`:
    the run's `portal` evidence; shared ministry systems are no province's site), else the
    portal list's. One site per host, serving every unit that names it."""
    by_unit: dict[str, str] = {}
    for entry in portal_list:  # the list names a province's portal: its address wins
        by_unit.setdefault(entry["unit"], entry["url"])
    for row in portals:
        data = row.get("data") or {}
        url = data["base"] + "/" if data.get("base") else row.get("url", "")
        if data.get("system") or not _http_url(url):
            continue
        for unit in data.get("units") or ():
            by_unit.setdefault(unit, url)
    hosts: dict[str, tuple[str, list[str]]] = {}
    for unit, url in sorted(by_unit.items()):
        home, units = hosts.setdefault(urlsplit(url).netloc, (url, []))
        units.append(unit)
    national = base_url.rstrip("/") + "/"
    sites = [site_of([NATIONAL_UNIT], national)]
    sites += [site_of(units, home) for host, (home, units) in sorted(hosts.items())
              if host != urlsplit(national).netloc]
    return sites


# -- links ------------------------------------------------------------------------------------


def fold(text: str) -> str:
    """Lower case without accents (đ -> d), one space apart: link texts compared loosely."""
    text = unicodedata.normalize("NFD", text.casefold()).replace("đ", "d")
    text = "".join(c for c in text if not unicodedata.combining(c))
    return " ".join(text.split())


def host_key(url: str) -> str:
    """Host and port (the scheme's default port left out): "same host" for the walk."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    try:
        port = parts.port
    except ValueError:
        return ""
    if port is None or port == DEFAULT_PORTS.get(parts.scheme):
        return host
    return f"{host}:{port}"


def normalize(url: str) -> str:
    """One address per page: no fragment, scheme and host lower case, no default port, "/" for
    an empty path."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme.lower(), host_key(url), parts.path or "/", parts.query, ""))


def followable(url: str, text: str, host: str) -> bool:
    """A link the search may follow: http(s), on `host`, a page (not a file), and not one that
    logs in, registers, submits or pays."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or host_key(url) != host:
        return False
    ext = parts.path.rsplit("/", 1)[-1].rpartition(".")[2].lower() \
        if "." in parts.path.rsplit("/", 1)[-1] else ""
    if ext in FILE_EXTENSIONS:
        return False
    if NEVER_HREF.search(parts.path + ("?" + parts.query if parts.query else "")):
        return False
    folded = fold(text)
    return not any(word in folded for word in NEVER_TEXT)


@dataclass(frozen=True)
class Link:
    url: str
    text: str


def base_of(page_url: str, soup: Any) -> str:
    """What a page's relative addresses resolve against: its `<base href>`, else itself."""
    tag = soup.find("base", href=True)
    return urljoin(page_url, str(tag["href"])) if tag is not None else page_url


def page_links(page_url: str, html: str | bytes) -> list[Link]:
    """Every link of a page in document order (`<a href>`, `<area href>`, `<base>` honoured),
    absolute, once each."""
    soup = soup_of(html)
    base = base_of(page_url, soup)
    seen: set[str] = set()
    out = []
    for a in soup.find_all(["a", "area"], href=True):
        href = str(a["href"]).strip()
        if not href or href.startswith(("#", "javascript:", "mailto:", "tel:", "data:")):
            continue
        try:
            url = normalize(urljoin(base, href))
        except ValueError:
            continue
        if url in seen:
            continue
        seen.add(url)
        label = " ".join([a.get_text(" "), str(a.get("title") or ""),
                          str(a.get("aria-label") or "")])
        out.append(Link(url, " ".join(label.split())))
    return out


def search_links(page_url: str, html: str | bytes, host: str) -> list[Link]:
    """The links of a page the search follows (same host, pages, read-only)."""
    return [link for link in page_links(page_url, html) if followable(link.url, link.text, host)]


def sitemap_links(links: Iterable[Link], text_patterns: Sequence[str],
                  href_patterns: Sequence[str]) -> list[Link]:
    """The links to a sitemap page (the `sitemap` detector's patterns of detectors.yaml)."""
    texts = [re.compile(fold(p)) for p in text_patterns]
    hrefs = [re.compile(p, re.I) for p in href_patterns]
    return [link for link in links
            if any(p.search(fold(link.text)) for p in texts)
            or any(p.search(link.url) for p in hrefs)]


def parse_sitemap(body: bytes) -> tuple[list[str], list[str]]:
    """(page URLs, child sitemap URLs) of an XML sitemap or sitemap index; ([], []) for anything
    else (an HTML 404 page, garbage)."""
    head = body.lstrip()[:200].lower()
    if not head.startswith(b"<?xml") and not head.startswith(b"<urlset") \
            and not head.startswith(b"<sitemapindex"):
        return [], []
    try:
        root = ElementTree.fromstring(body)  # noqa: S314 - no entities resolved by ElementTree
    except ElementTree.ParseError:
        return [], []
    tag = root.tag.rsplit("}", 1)[-1]
    locs = [(el.text or "").strip() for el in root.iter() if el.tag.rsplit("}", 1)[-1] == "loc"]
    locs = [loc for loc in locs if loc]
    if tag == "sitemapindex":
        return [], locs
    if tag == "urlset":
        return locs, []
    return [], []


# -- the frontier -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    url: str
    depth: int
    via: str  # home | link | sitemap


@dataclass
class Walk:
    """The pages one site's search takes, level by level, within the budget: `frontier` admits
    candidates in the order given, each address once, until `max_pages` are taken."""

    home: str
    max_depth: int
    max_pages: int
    seen: set[str] = field(default_factory=set)
    taken: int = 0

    @property
    def host(self) -> str:
        return host_key(self.home)

    @property
    def full(self) -> bool:
        return self.taken >= self.max_pages

    def start(self) -> Target:
        self.seen.add(normalize(self.home))
        self.taken += 1
        return Target(self.home, 0, HOME)

    def frontier(self, candidates: Iterable[tuple[str, str]], depth: int) -> list[Target]:
        """Targets at `depth` from (url, via) candidates: new addresses, up to the budget;
        nothing beyond `max_depth`."""
        if depth > self.max_depth:
            return []
        out = []
        for url, via in candidates:
            key = normalize(url)
            if key in self.seen or host_key(key) != self.host:
                continue
            if self.full:
                break
            self.seen.add(key)
            self.taken += 1
            out.append(Target(key, depth, via))
        return out

    def forget(self, target: Target) -> None:
        """A target that turned out not to be a page (a file served under a page's address):
        it does not count against the budget."""
        self.taken -= 1
