"""A mock of units' sites on loopback for the site crawl's tests (tests/test_site_crawl.py):
plain HTTP sites with pages at depths 0..3, a sitemap, a failing page, a JavaScript-only home
page, a non-responsive page; and TLS servers (trustme) with a trusted, an untrusted and no
certificate, plus one that never finishes its handshake.

`MockSites` starts them all; `sites()` is the DVC_SITES list, `ca_file` the trusted CA.
"""

from __future__ import annotations

import socket
import ssl
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import trustme

GOOD_HEAD = ('<!DOCTYPE html><html lang="vi"><head><meta charset="utf-8">'
             '<meta name="viewport" content="width=device-width, initial-scale=1">'
             '<title>{title}</title><link rel="stylesheet" href="/style.css"></head><body>')
FIXED_HEAD = ('<!DOCTYPE html><html lang="vi"><head><meta charset="utf-8"><title>{title}</title>'
              '<style>body{{width:1200px;margin:0}}</style></head><body>')
END = "</body></html>"


def page(title: str, body: str, head: str = GOOD_HEAD) -> bytes:
    return (head.format(title=title) + f"<main><h1>{title}</h1>{body}</main>" + END).encode()


def links(*paths: str | tuple[str, str]) -> str:
    """A menu of links: a path (its text is the path) or (path, text)."""
    items = [p if isinstance(p, tuple) else (p, p.strip("/") or "home") for p in paths]
    return "<nav><ul>" + "".join(f'<li><a href="{href}">{text}</a></li>'
                                 for href, text in items) + "</ul></nav>"


# Site "01": a responsive site with a sitemap, a failing page, files and read-only links, an
# image without alt text (axe: critical) and a markup error; depth 3 is out of the search.
RESPONSIVE = {
    "/": page("Trang chủ", links("/gioi-thieu", "/tin-tuc", "/hong", "/van-ban.pdf",
                                 "/dang-nhap", "/nop-ho-so/1", "http://example.invalid/x",
                                 ("/so-do-trang", "Sơ đồ trang"))
              + '<img src="/logo.png"><p><div>lỗi</p>'),
    "/gioi-thieu": page("Giới thiệu", links("/", "/gioi-thieu/co-cau-to-chuc")),
    "/gioi-thieu/co-cau-to-chuc": page("Cơ cấu tổ chức", links("/gioi-thieu/sau")),
    "/gioi-thieu/sau": page("Sâu", "<p>depth 3: outside the search</p>"),
    "/tin-tuc": page("Tin tức", "<p>01/12/2026</p>"),
    "/so-do-trang": page("Sơ đồ trang", links("/tu-so-do-trang")),
    "/tu-so-do-trang": page("Từ sơ đồ trang", links("/tu-so-do-trang/con")),
    "/tu-so-do-trang/con": page("Con", "<p>depth 2 through the sitemap page</p>"),
    "/tu-sitemap": page("Từ sitemap", links("/tu-sitemap/con")),
    "/tu-sitemap/con": page("Con của sitemap", "<p>depth 2 through sitemap.xml</p>"),
    "/style.css": b"body { colr: red; margin: 0 }",
    "/van-ban.pdf": b"%PDF-1.4",
}
# Site "02": valid HTML, fixed 1200 px wide, no viewport meta.
FIXED = {
    "/": page("Cổng cố định", links("/a", "/b"), FIXED_HEAD),
    "/a": page("A", "<p>a</p>", FIXED_HEAD),
    "/b": page("B", "<p>b</p>", FIXED_HEAD),
}
# Site "03": a JavaScript-only home page: its links exist only once rendered.
APP_JS = (b"document.getElementById('app').innerHTML = '<nav><a href=\"/trang-js\">Trang JS</a>"
          b"<a href=\"/lien-he\">Li\\u00ean h\\u1ec7</a></nav>"
          b"<p>' + 'ch\\u1eef '.repeat(60) + '</p>';")
JS_ONLY = {
    "/": (b'<!DOCTYPE html><html lang="vi"><head><meta charset="utf-8">'
          b'<meta name="viewport" content="width=device-width, initial-scale=1"><title>App</title>'
          b'</head><body><div id="app"></div><script src="/app.js"></script></body></html>'
          ),
    "/app.js": APP_JS,
    "/trang-js": page("Trang JS", "<p>plain page</p>"),
    "/lien-he": page("Liên hệ", "<p>Điện thoại: 0123 456 789</p>"),
}
# Site "04": more links than the budget holds.
MANY = 60
WIDE = {"/": page("Nhiều liên kết", links(*(f"/p{i}" for i in range(MANY)))),
        **{f"/p{i}": page(f"P{i}", links(f"/p{i}/con")) for i in range(MANY)}}
SITEMAP_XML = (b'<?xml version="1.0" encoding="UTF-8"?>'
               b'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
               b"<url><loc>{base}/tu-sitemap</loc></url></urlset>")
ROBOTS = b"User-agent: *\nDisallow:\n"


@dataclass
class Served:
    pages: dict[str, bytes]
    base: str = ""
    hits: list[str] = field(default_factory=list)


def _handler(site: Served, secure_url: str) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def send(self, status: int, body: bytes, ctype: str = "text/html; charset=utf-8",
                 location: str = "") -> None:
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            if location:
                self.send_header("Location", location)
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:  # noqa: N802 - stdlib naming
            path = self.path.split("?", 1)[0]
            site.hits.append(path)
            if path == "/robots.txt":
                return self.send(200, ROBOTS, "text/plain")
            if path == "/sitemap.xml":
                if "/tu-sitemap" not in site.pages:
                    return self.send(404, b"<html><body>404</body></html>")
                return self.send(200, SITEMAP_XML.replace(b"{base}", site.base.encode()),
                                 "application/xml")
            if path == "/front-redirect":
                return self.send(301, b"", location=secure_url)
            if path == "/front-plain":
                return self.send(200, b"<html><body>plain</body></html>")
            if path == "/hong":
                return self.send(500, b"<html><body>500</body></html>")
            body = site.pages.get(path)
            if body is None:
                return self.send(404, b"<html><body>404</body></html>")
            ctype = ("text/css" if path.endswith(".css") else "application/javascript"
                     if path.endswith(".js") else "application/pdf" if path.endswith(".pdf")
                     else "text/html; charset=utf-8")
            self.send(200, body, ctype)

        def do_POST(self) -> None:  # noqa: N802
            site.hits.append("POST " + self.path)
            self.send(405, b"")

    return Handler


class _TLSServer(ThreadingHTTPServer):
    def __init__(self, addr: tuple[str, int], handler: Any, context: ssl.SSLContext) -> None:
        super().__init__(addr, handler)
        self.socket = context.wrap_socket(self.socket, server_side=True,
                                          do_handshake_on_connect=False)

    def finish_request(self, request: Any, client_address: Any) -> None:
        try:
            request.do_handshake()
        except (ssl.SSLError, OSError):
            return
        super().finish_request(request, client_address)


class _Ok(BaseHTTPRequestHandler):
    def log_message(self, *args: Any) -> None:
        pass

    def do_GET(self) -> None:  # noqa: N802
        body = b"<html><body>secure</body></html>"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class MockSites:
    """Every mock server, started on 127.0.0.1 (free ports); `stop()` ends them."""

    def __init__(self, tmp: Path) -> None:
        self.servers: list[Any] = []
        ca, stranger = trustme.CA(), trustme.CA()
        self.ca_file = str(tmp / "ca.pem")
        ca.cert_pem.write_to_path(self.ca_file)
        self.trusted = self._tls(ca)
        self.untrusted = self._tls(stranger)
        self.refused = f"https://127.0.0.1:{_free_port()}/"  # nothing listens
        self.silent_socket = socket.socket()
        self.silent_socket.bind(("127.0.0.1", 0))
        self.silent_socket.listen(8)  # accepts, never answers the handshake
        self.silent = f"https://127.0.0.1:{self.silent_socket.getsockname()[1]}/"
        self.sites = {code: self._plain(pages) for code, pages in
                      (("01", RESPONSIVE), ("02", FIXED), ("03", JS_ONLY), ("04", WIDE))}

    def _start(self, server: Any) -> str:
        threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
        self.servers.append(server)
        return f"127.0.0.1:{server.server_address[1]}"

    def _tls(self, ca: trustme.CA) -> str:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ca.issue_cert("127.0.0.1", "localhost").configure_cert(context)
        return f"https://{self._start(_TLSServer(('127.0.0.1', 0), _Ok, context))}/"

    def _plain(self, pages: dict[str, bytes]) -> Served:
        site = Served(dict(pages))
        server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(site, self.trusted))
        site.base = f"http://{self._start(server)}"
        return site

    def sites_list(self) -> list[dict[str, Any]]:
        """DVC_SITES: 01 valid HTTPS and a redirect; 02 an untrusted certificate, no
        redirect; 03 nothing listening for TLS; 04 a TLS handshake that never comes."""
        s = self.sites
        return [
            {"units": ["01"], "home": s["01"].base + "/", "https": self.trusted,
             "http": s["01"].base + "/front-redirect"},
            {"units": ["02"], "home": s["02"].base + "/", "https": self.untrusted,
             "http": s["02"].base + "/front-plain"},
            {"units": ["03"], "home": s["03"].base + "/", "https": self.refused,
             "http": s["03"].base + "/front-plain"},
            {"units": ["04"], "home": s["04"].base + "/", "https": self.silent,
             "http": s["04"].base + "/front-redirect"},
        ]

    def stop(self) -> None:
        for server in self.servers:
            server.shutdown()
            server.server_close()
        self.silent_socket.close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
