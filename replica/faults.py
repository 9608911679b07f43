"""What a faulted request gets on the wire (docs/SCENARIOS.md "faults[]").

Shared by the national portal (procedure-scoped faults) and the provincial portals (unit and
service faults). ``answer`` turns the healthy answer (computed lazily by ``normal``) into the
fault's answer, logged with outcome = the fault kind. ``portal_down``/``down`` never get here:
nothing listens on such a portal's address.
"""

from __future__ import annotations

import dataclasses
import re
import threading
import unicodedata
from collections import Counter
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from functools import lru_cache

from replica import pages, web
from replica.scenario import Fault
from replica.web import HTML_TYPE, Response

Normal = Callable[[], Response]
ROBOTS_DISALLOW = "User-agent: *\nDisallow: /\n"
TRUNCATE_AT = 0.4  # share of the healthy body a truncated answer sends
# bytes that are neither UTF-8 nor markup: what a garbled proxy or a broken template emits
NOISE = bytes(range(0x80, 0x100)) * 4 + b"\x00\x01\x02<\x1b>\xff\xfe" * 16
_META_CHARSET = re.compile(rb'<meta charset="utf-8">', re.IGNORECASE)
TONE_MARKS = frozenset("\u0300\u0301\u0303\u0309\u0323")  # the marks cp1258 carries combined


@dataclass(frozen=True)
class Hit:
    """The request a fault answers."""

    site: str  # "national" or a province code
    method: str
    path: str
    query: str = ""


class FaultState:
    """Per-server fault state: answers counted for `times`, and the stop signal for `slow`."""

    def __init__(self) -> None:
        self.stopped = threading.Event()  # set by ReplicaServer.stop(): slow answers end now
        self._counts: Counter[Hashable] = Counter()
        self._lock = threading.Lock()

    def due(self, fault: Fault, key: Hashable) -> bool:
        """Whether the fault still answers this request target (transient faults heal)."""
        if not fault.times:
            return True
        with self._lock:
            self._counts[key] += 1
            return self._counts[key] <= fault.times


def answer(fault: Fault, state: FaultState, hit: Hit, normal: Normal,
           key: Hashable = "") -> Response:
    """The faulted answer; the healthy one once a transient fault has healed for this target
    (counted per site, path and query, plus `key`: the national API's procedure id)."""
    if not state.due(fault, (id(fault), hit.site, hit.path, hit.query, key)):
        return normal()
    resp = BEHAVIOUR[fault.kind](fault, state, hit, normal)
    return dataclasses.replace(resp, outcome=fault.kind)


# --------------------------------------------------------------------------- kinds


def _rejected(*_: object) -> Response:
    return pages.rejected()


def _forbidden(*_: object) -> Response:
    return web.forbidden()


def _slow(fault: Fault, state: FaultState, _hit: Hit, normal: Normal) -> Response:
    state.stopped.wait(float(fault.param("seconds")))  # returns at once when the server stops
    return normal()


def _http_error(fault: Fault, *_: object) -> Response:
    status = int(fault.param("status"))
    body = (f"<html><head><title>{status} Error</title></head><body><h1>{status}</h1>"
            "<p>Hệ thống đang bận, vui lòng thử lại sau.</p></body></html>")
    return Response(status, HTML_TYPE, body.encode(), "http_error")


def _rate_limited(fault: Fault, *_: object) -> Response:
    seconds = str(int(fault.param("retry_after")))
    body = b"<html><body><h1>429 Too Many Requests</h1></body></html>"
    return Response(429, HTML_TYPE, body, "rate_limited", (("Retry-After", seconds),))


def stuck_challenge_page() -> str:
    """The F5 challenge's look (its markers), but no script that could ever earn the cookie."""
    token = pages.new_token()
    return (
        "<!DOCTYPE html><html><head><meta http-equiv=\"Content-Type\" "
        "content=\"text/html; charset=utf-8\"><title></title><script type=\"text/javascript\">"
        f"window[\"bobcmn\"]=\"{token}\";window.TSPD_101=\"{token[:32]}\";"
        "</script></head><body>"
        f"<noscript>{pages.CHALLENGE_MARKER}<br/>Your support ID is: {pages.support_id()}"
        "</noscript></body></html>"
    )


def _challenge(*_: object) -> Response:
    return Response(200, HTML_TYPE, stuck_challenge_page().encode(), "challenge")


def loop_location(path: str, query: str) -> str:
    """The other half of the two-URL loop: add `loop=1` to the query, or take it away."""
    parts = [p for p in query.split("&") if p]
    if "loop=1" in parts:
        rest = [p for p in parts if p != "loop=1"]
        return path + ("?" + "&".join(rest) if rest else "")
    return path + "?" + "&".join([*parts, "loop=1"])


def _redirect_loop(_fault: Fault, _state: FaultState, hit: Hit, _normal: Normal) -> Response:
    # 307 keeps a POST (the national API) a POST with its body, so the loop never ends there
    status = 302 if hit.method in ("GET", "HEAD") else 307
    return Response(status, HTML_TYPE, b"", "redirect_loop",
                    (("Location", loop_location(hit.path, hit.query)),))


def _truncated(_fault: Fault, _state: FaultState, _hit: Hit, normal: Normal) -> Response:
    resp = normal()
    return dataclasses.replace(resp, body=resp.body[:int(len(resp.body) * TRUNCATE_AT)])


def _malformed(_fault: Fault, _state: FaultState, _hit: Hit, normal: Normal) -> Response:
    resp = normal()
    head = b'{"code":"OK","data":{"id":"' if "json" in resp.content_type else \
        b'<html><body><<div class=">'
    return Response(200, resp.content_type, head + NOISE, "malformed")


@lru_cache(maxsize=4)
def _padding(size: int, json: bool) -> bytes:
    if json:  # whitespace after the document: still valid JSON, just enormous
        return b" " * size
    row = b"<!-- " + b"0123456789abcdef" * 62 + b" -->\n"  # 1,024 bytes a row
    return (row * (size // len(row) + 1))[:size]


def _huge(fault: Fault, _state: FaultState, _hit: Hit, normal: Normal) -> Response:
    resp = normal()
    size = int(float(fault.param("megabytes")) * 2**20)
    json = "json" in resp.content_type
    pad = _padding(max(0, size - len(resp.body)), json)
    if json:
        return dataclasses.replace(resp, body=resp.body + pad)
    cut = resp.body.rfind(b"</body>")
    cut = len(resp.body) if cut < 0 else cut
    return Response(200, HTML_TYPE, resp.body[:cut] + pad + resp.body[cut:], "huge")


def _robots(*_: object) -> Response:
    return web.text(ROBOTS_DISALLOW)


def cp1258_bytes(text: str) -> bytes:
    """Vietnamese in windows-1258: base letters precomposed (â, ơ, đ...), tone marks combining
    (the codec has no precomposed ộ). Decoding and NFC-normalising gives the text back."""
    out = []
    for ch in text:
        if ch.isascii():
            out.append(ch)
            continue
        d = unicodedata.normalize("NFD", ch)
        base = unicodedata.normalize("NFC", "".join(c for c in d if c not in TONE_MARKS))
        out.append(base + "".join(c for c in d if c in TONE_MARKS))
    return "".join(out).encode("cp1258")  # strict: a character it cannot carry is a bug


def _is_html(resp: Response) -> bool:
    return resp.content_type.startswith("text/html")


def _legacy_encoding(fault: Fault, _state: FaultState, _hit: Hit, normal: Normal) -> Response:
    resp = normal()
    if not _is_html(resp):
        return resp
    charset = str(fault.param("charset"))
    body = _META_CHARSET.sub(f'<meta charset="{charset}">'.encode(), resp.body)
    return dataclasses.replace(resp, content_type=f"text/html; charset={charset}",
                               body=cp1258_bytes(body.decode("utf-8")))


def _mislabelled_charset(_fault: Fault, _state: FaultState, _hit: Hit, normal: Normal
                         ) -> Response:
    resp = normal()
    if not _is_html(resp):
        return resp
    return dataclasses.replace(resp, content_type="text/html; charset=iso-8859-1",
                               body=_META_CHARSET.sub(b"", resp.body))


def _unreachable(fault: Fault, *_: object) -> Response:
    raise ValueError(f"a {fault.kind} portal has no server to answer")


BEHAVIOUR: dict[str, Callable[[Fault, FaultState, Hit, Normal], Response]] = {
    "blocked": _rejected, "rejected": _rejected,
    "portal_blocked": _forbidden, "forbidden": _forbidden,
    "portal_down": _unreachable, "down": _unreachable,
    "slow": _slow, "http_error": _http_error, "rate_limited": _rate_limited,
    "challenge": _challenge, "redirect_loop": _redirect_loop, "truncated": _truncated,
    "malformed": _malformed, "huge": _huge, "robots": _robots,
    "legacy_encoding": _legacy_encoding, "mislabelled_charset": _mislabelled_charset,
}
