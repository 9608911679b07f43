"""HTTP answers shared by the replica's sites (national portal and provincial portals)."""

from __future__ import annotations

import html
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

JSON_TYPE = "application/json; charset=utf-8"
HTML_TYPE = "text/html; charset=utf-8"
JS_TYPE = "application/javascript; charset=utf-8"
CSS_TYPE = "text/css; charset=utf-8"
TEXT_TYPE = "text/plain; charset=utf-8"


@dataclass(frozen=True)
class Response:
    status: int
    content_type: str
    body: bytes
    outcome: str
    headers: tuple[tuple[str, str], ...] = ()


def esc(value: Any) -> str:
    return html.escape(str(value), quote=True)


def page(body: str, *, status: int = 200, outcome: str = "ok") -> Response:
    return Response(status, HTML_TYPE, body.encode(), outcome)


def json_response(data: Any, *, status: int = 200, outcome: str = "ok") -> Response:
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return Response(status, JSON_TYPE, text.encode(), outcome)


def text(body: str, content_type: str = TEXT_TYPE, *, status: int = 200) -> Response:
    return Response(status, content_type, body.encode(), "ok")


def redirect(location: str) -> Response:
    return Response(302, HTML_TYPE, b"", "redirect", (("Location", location),))


def not_found(body: str = "<h1>404 Not Found</h1>") -> Response:
    return Response(404, HTML_TYPE, body.encode(), "not_found")


def forbidden() -> Response:
    body = "<html><head><title>403 Forbidden</title></head><body><h1>403 Forbidden</h1>" \
           "<p>Truy cập bị từ chối.</p></body></html>"
    return Response(403, HTML_TYPE, body.encode(), "forbidden")


def site_answer(robots: str, method: str, path: str,
                page_of: Callable[[], Response]) -> Response:
    """A healthy provincial portal's or ministry system's answer: its robots.txt; a POST is a
    submission, refused (never accepted) and logged as one; only GET and HEAD read pages."""
    if path == "/robots.txt":
        return text(robots)
    if method == "POST":
        return Response(401, HTML_TYPE, "<p>Vui lòng đăng nhập để nộp hồ sơ.</p>".encode(),
                        "submission")
    if method not in ("GET", "HEAD"):
        return Response(405, HTML_TYPE, b"", "not_allowed")
    return page_of()
