"""What the platform parsers share: the facts they return and the Vietnamese vocabulary.

Parsers are pure (HTML text in, facts out) and never judge a service. Matching is by words a
citizen reads ("Toàn trình", "Thanh toán", "VNeID"), scoped to the form or login block, so the
national menu's "Thanh toán trực tuyến" link is not taken for a payment step.
"""

from __future__ import annotations

import codecs
import copy
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any
from urllib.parse import urljoin

from bs4 import BeautifulSoup, NavigableString, Tag
from bs4.dammit import EntitySubstitution
from bs4.formatter import HTMLFormatter

from core.vocab import Reason

CODE_RE = re.compile(r"\b\d\.\d{6}(?:\.[A-Z]\d{2})?\b")  # 1.001193, local 1.115446.H36
EXCERPT_CHARS = 2000


def norm(text: Any) -> str:
    """NFC, collapsed whitespace, casefolded: for matching words, not for display."""
    return " ".join(unicodedata.normalize("NFC", str(text or "")).split()).casefold()


def clean(text: Any) -> str:
    return " ".join(unicodedata.normalize("NFC", str(text or "")).split())


LEGACY_CHARSET = "windows-1258"  # older Vietnamese portals; tone marks as combining characters
META_CHARSET = re.compile(rb"""<meta[^>]+charset=["']?\s*([A-Za-z0-9._:-]+)""", re.I)
CLOSING = re.compile(rb"</(?:html|body)\s*>", re.I)


def charset_of(content_type: str | bytes | None) -> str:
    """The charset a Content-Type header declares ("" when none)."""
    if isinstance(content_type, bytes):
        content_type = content_type.decode("latin-1")
    m = re.search(r"charset=[\"']?([A-Za-z0-9._:-]+)", content_type or "", re.I)
    return m.group(1) if m else ""


def _codec(label: str) -> str:
    try:
        return codecs.lookup(label).name if label else ""
    except LookupError:
        return ""


def decode_html(body: bytes, declared: str = "") -> str:
    """Bytes -> NFC text, whatever the portal sent. Valid UTF-8 is UTF-8 whatever the label says
    (legacy single-byte Vietnamese is practically never valid multi-byte UTF-8, and portals do
    mislabel UTF-8 as iso-8859-1); else the declared charset (header, then <meta>); else
    windows-1258."""
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError:
        meta = META_CHARSET.search(body[:4096])
        codec = (_codec(declared) or _codec(meta.group(1).decode("ascii") if meta else "")
                 or LEGACY_CHARSET)
        if codec == "utf-8":  # declared UTF-8 but is not: the legacy codec is the best guess
            codec = LEGACY_CHARSET
        text = body.decode(codec, "replace")
    return unicodedata.normalize("NFC", text)


def html_fault(body: bytes, content_type: str = "text/html", maxsize: int = 0) -> str:
    """'' for a whole HTML page; 'too_large' past `maxsize`; 'malformed' when it stops before
    its closing tags (truncated) or is not a page at all (garbage). Non-HTML answers: ''."""
    if maxsize and len(body) > maxsize:
        return Reason.TOO_LARGE
    if "html" not in (content_type or "text/html").lower():
        return ""
    return "" if CLOSING.search(body[-65536:]) else Reason.MALFORMED


PARSER = "lxml"  # every page of crawler/ is parsed here, by lxml's HTML parser
_last: tuple[str, BeautifulSoup] | None = None  # the page parsed last, and its tree


def soup_of(html: str | bytes) -> BeautifulSoup:
    """The page's tree (lxml: a fragment comes wrapped in <html><body>; NUL characters are
    dropped, as a browser drops them from text). The spider reads one page several times (its
    facts, then its excerpt), so the last page's tree is kept and handed out again for the same
    text: callers read the tree, never change it."""
    global _last
    text = decode_html(html) if isinstance(html, bytes) else html
    last = _last
    if last is not None and (text is last[0] or text == last[0]):
        return last[1]
    soup = BeautifulSoup(text.replace("\x00", ""), PARSER)
    _last = (text, soup)
    return soup


def level_of(text: Any) -> str:
    """'Toàn trình' / 'Mức độ 4' -> full; 'Một phần' / 'Mức độ 3' -> partial; information -> info;
    anything else -> ''."""
    t = norm(text)
    if "toàn trình" in t or "mức độ 4" in t:
        return "full"
    if "một phần" in t or "mức độ 3" in t:
        return "partial"
    if "cung cấp thông tin" in t or "mức độ 2" in t or "mức độ 1" in t:
        return "info"
    return ""


def attr(tag: Tag, name: str) -> str:
    """A tag's attribute as text: "" when absent, a multi-valued one (class) joined by spaces."""
    value = tag.get(name)
    if value is None:
        return ""
    return value if isinstance(value, str) else " ".join(value)


def code_in(text: Any) -> str:
    m = CODE_RE.search(str(text or ""))
    return m.group(0) if m else ""


@dataclass
class LoginFacts:
    """The sign-in options a page offers (never followed)."""

    national: bool  # VNeID / national portal account offered
    links: list[dict[str, Any]] = field(default_factory=list)  # [{label, href, national}]
    realm: str = ""  # Keycloak realm seen in a login URL

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


# Words that make a sign-in link the national one. A link counts only when it is a sign-in link
# (its text says "Đăng nhập" or its address is an SSO / auth / login one).
NATIONAL_WORDS = ("vneid", "định danh điện tử", "dịch vụ công quốc gia", "dvcqg",
                  "kc_idp_hint=vneid", "vneidsso")
LOGIN_WORDS = ("đăng nhập", "login", "/auth/", "sso", "dang-nhap", "openid-connect")


def login_in(html: str | bytes, url: str, selector: str,
             whole_page: bool = False) -> LoginFacts | None:
    """Sign-on facts from the part of a page a family keeps its login links in; None when
    that part is absent (e.g. a JavaScript page not yet rendered), unless `whole_page`."""
    soup = soup_of(html)
    scope = soup.select_one(selector) or (soup if whole_page else None)
    return login_facts(scope, url) if scope is not None else None


def login_facts(scope: Tag | BeautifulSoup, base_url: str) -> LoginFacts:
    links: list[dict[str, Any]] = []
    realm = ""
    for a in scope.find_all(["a", "button"]):
        label = clean(a.get_text(" "))
        href = attr(a, "href")
        both = norm(label + " " + href)
        if not any(w in both for w in LOGIN_WORDS):
            continue
        national = any(w in both for w in NATIONAL_WORDS)
        m = re.search(r"/realms/([^/?#]+)/", href)
        realm = realm or (m.group(1) if m else "")
        links.append({"label": label, "href": urljoin(base_url, href) if href else "",
                      "national": national})
    return LoginFacts(national=any(x["national"] for x in links), links=links, realm=realm)


PAYMENT_WORDS = ("thanh toán trực tuyến", "thanh toán qua", "thanh toán")


def says_online_payment(text: Any) -> bool:
    t = norm(text)
    return "thanh toán" in t and "khi nhận kết quả" not in t and "trực tiếp" not in t


@dataclass
class ListedProcedure:
    code: str
    name: str
    level: str  # info | partial | full | ""
    apply_url: str = ""


@dataclass
class ListingPage:
    procedures: list[ListedProcedure]
    next_url: str = ""
    total: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"procedures": [asdict(p) for p in self.procedures], "next_url": self.next_url,
                "total": self.total}


@dataclass
class ApplyPage:
    """One page of an apply flow, read up to (never past) submission."""

    found: bool  # the procedure exists on this route
    code: str = ""
    name: str = ""
    level: str = ""
    online: bool = False  # online filing is offered (a form / wizard is shown)
    steps: list[str] = field(default_factory=list)  # step titles as shown
    step: str = ""  # the current step
    fee_step: bool = False  # this page is (or the walk reached) the fee step
    payment: bool = False  # an online payment option / "Thanh toán" button is offered
    final: bool = False  # the submission control is on this page (not pressed)
    final_button: str = ""  # its label ("Thanh toán", "Nộp hồ sơ", "Gửi hồ sơ")
    submit_action: str = ""  # where the form would go (never requested)
    next_url: str = ""  # the next step's GET link, when steps are pages
    login: LoginFacts = field(default_factory=lambda: LoginFacts(False))

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["login"] = self.login.as_dict()
        return d


KEEP_ATTRS = {"href", "action", "method", "name", "value", "type", "role", "id", "checked",
              "data-code", "data-state"}


NOISE_TAGS = ("svg", "style", "script")


class _Compact(HTMLFormatter):
    """BeautifulSoup's "minimal" output, less the attributes an excerpt does not keep."""

    def attributes(self, tag: Tag) -> Iterable[tuple[str, Any]]:
        return [(k, v) for k, v in super().attributes(tag) if k in KEEP_ATTRS]


COMPACT = _Compact(entity_substitution=EntitySubstitution.substitute_xml)


def compact(el: Tag) -> str:
    """An element's HTML without styling noise (class soup, inline SVG), for excerpts. The
    page's tree is left as it is (noise is dropped from a copy, when there is any)."""
    if el.name in NOISE_TAGS:
        return ""
    if el.find(NOISE_TAGS) is not None:
        el = copy.copy(el)
        for tag in el.find_all(NOISE_TAGS):
            tag.decompose()
    return " ".join(el.decode(formatter=COMPACT).split())


def excerpt(soup: BeautifulSoup, *selectors: str) -> str:
    """The compacted HTML of the first element matching a selector (truncated), else the
    page's text."""
    for sel in selectors:
        el = soup.select_one(sel)
        if el is not None:
            return compact(el)[:EXCERPT_CHARS]
    body = soup.body or soup
    return clean(body.get_text(" "))[:EXCERPT_CHARS]


HIDDEN_TAGS = ("script", "style", "noscript", "template")


def visible_text(soup: BeautifulSoup) -> str:
    """The body's text less that of scripts, styles, <noscript> and <template> (the tree is
    read, not changed)."""
    root = soup.body or soup
    hidden = {id(s) for tag in root.find_all(HIDDEN_TAGS) for s in tag.descendants
              if isinstance(s, NavigableString)}
    return clean(" ".join(s for s in root.strings if id(s) not in hidden))


def table_procedures(soup: Tag, base_url: str, level_hint: str = ""
                     ) -> list[ListedProcedure]:
    """Procedures of every table row that carries a procedure code: name, level (from the row's
    words, else `level_hint`) and the apply link ("Nộp hồ sơ"), if any."""
    out: list[ListedProcedure] = []
    for tr in soup.find_all("tr"):
        cells = tr.find_all("td")
        if not cells:
            continue
        code = next((code_in(td.get_text(" ")) for td in cells if code_in(td.get_text(" "))), "")
        if not code:
            continue
        texts = [clean(td.get_text(" ")) for td in cells]
        name = max((t for t in texts if t and code_in(t) != t), key=len, default="")
        link = next((a for a in tr.find_all("a", href=True) if "nộp" in norm(a.get_text())), None)
        out.append(ListedProcedure(code=code, name=name,
                                   level=level_of(" ".join(texts)) or level_hint,
                                   apply_url=urljoin(base_url, attr(link, "href")) if link else ""))
    return out


def next_link(soup: Tag, base_url: str) -> str:
    """The pager's "next page" link, if any."""
    for a in soup.find_all("a", href=True):
        if "next" in (a.get("class") or []) or norm(a.get_text()) in ("trang sau", "sau", "›",
                                                                     "»", "next"):
            return urljoin(base_url, attr(a, "href"))
    return ""


def total_in(text: str) -> int | None:
    m = re.search(r"(?:tổng số|có)\s*:?\s*(\d+)\s*thủ tục", norm(text))
    return int(m.group(1)) if m else None
