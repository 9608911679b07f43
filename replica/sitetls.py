"""HTTPS and the plain-HTTP front door of every replica site (docs/SCENARIOS.md "Sites").

Each site (national portal "VN", each provincial portal) keeps its plain-HTTP address (the one
crawled); beside it, on the same loopback address:
- a TLS listener answering like the site, with a certificate of a test CA made at start
  (`trustme`): ``https: valid`` -> a certificate for the site's address; ``invalid_cert`` -> one
  for another host name (the name check fails); ``none`` -> no TLS listener: the https URL is the
  plain port, whose answer is no TLS handshake; ``hang`` -> a socket that accepts and never
  answers (the TLS check times out);
- a plain-HTTP front door: ``http_redirect: true`` -> 301 to the https URL, false -> the page.
A site that is down refuses all three. The CA's PEM file lives in a temp dir removed at close.
"""

from __future__ import annotations

import shutil
import socket
import ssl
import tempfile
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import trustme

from replica.site_model import SiteSpec
from replica.web import HTML_TYPE, Response

Dispatch = Callable[[str, str, Mapping[str, str], bytes], Response]
Serve = Callable[[str, int, Dispatch], Any]  # replica.server._serve
WRONG_HOST = "wrong-host.invalid"


@dataclass(frozen=True)
class SiteDoor:
    """One site as the crawler is told about it (an entry of DVC_SITES)."""

    units: tuple[str, ...]
    home: str
    https: str
    http: str
    domain: str = ""

    def entry(self) -> dict[str, Any]:
        out: dict[str, Any] = {"units": list(self.units), "home": self.home,
                               "https": self.https, "http": self.http}
        if self.domain:
            out["domain"] = self.domain
        return out


def _quiet(request: Any, client_address: Any) -> None:
    """A client that refuses our certificate or hangs up is what this listener is for."""


class SiteDoors:
    """The TLS listeners and front doors of a started ReplicaServer's sites."""

    def __init__(self, serve: Serve) -> None:
        self._serve = serve
        self._dir = Path(tempfile.mkdtemp(prefix="dvc-replica-tls-"))
        self.ca_file = str(self._dir / "ca.pem")
        self._ca = trustme.CA()
        self._ca.cert_pem.write_to_path(self.ca_file)
        self._contexts: dict[str, ssl.SSLContext] = {}
        self._servers: list[tuple[Any, threading.Thread]] = []
        self._sockets: list[socket.socket] = []
        self.doors: list[SiteDoor] = []

    def _context(self, kind: str, hosts: tuple[str, ...]) -> ssl.SSLContext:
        if kind not in self._contexts:
            cert = self._ca.issue_cert(*(hosts if kind == "valid" else (WRONG_HOST,)))
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            cert.configure_cert(ctx)
            self._contexts[kind] = ctx
        return self._contexts[kind]

    def _listen(self, address: str, dispatch: Dispatch, replica: Any,
                ctx: ssl.SSLContext | None = None) -> str:
        httpd = self._serve(address, 0, dispatch)
        httpd.replica = replica
        httpd.handle_error = _quiet
        if ctx is not None:  # handshake in the handler's thread: a stalled client blocks no one
            httpd.socket = ctx.wrap_socket(httpd.socket, server_side=True,
                                           do_handshake_on_connect=False)
        thread = threading.Thread(target=httpd.serve_forever, name=f"door-{address}",
                                  daemon=True)
        thread.start()
        self._servers.append((httpd, thread))
        host, port = httpd.server_address[:2]
        return f"{host}:{port}"

    def _reserve(self, address: str, listen: bool = False) -> str:
        """A bound socket: refusing connections, or (listen) accepting none of them."""
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind((address, 0))
        if listen:
            sock.listen(64)
        self._sockets.append(sock)
        host, port = sock.getsockname()[:2]
        return f"{host}:{port}"

    def add(self, unit: str, home_url: str, spec: SiteSpec, dispatch: Dispatch, replica: Any,
            *, down: bool, hosts: tuple[str, ...]) -> None:
        """Open the site's TLS listener and front door beside its plain address."""
        parts = urlsplit(home_url)
        address = parts.hostname or "127.0.0.1"
        if down:
            https, http = self._reserve(address), self._reserve(address)
            self.doors.append(SiteDoor((unit,), home_url, f"https://{https}/",
                                       f"http://{http}/", spec.domain))
            return
        if spec.https in ("valid", "invalid_cert"):
            ctx = self._context(spec.https, hosts)
            https_url = f"https://{self._listen(address, dispatch, replica, ctx)}/"
        elif spec.https == "hang":
            https_url = f"https://{self._reserve(address, listen=True)}/"
        else:  # none: TLS spoken to a plain-HTTP port gets no handshake
            https_url = f"https://{parts.netloc}/"
        front = dispatch if not spec.http_redirect else _redirect_to(https_url)
        http_url = f"http://{self._listen(address, front, replica)}/"
        self.doors.append(SiteDoor((unit,), home_url, https_url, http_url, spec.domain))

    def servers(self) -> list[tuple[Any, threading.Thread]]:
        """The listeners, for the replica to shut down with its own (all at once)."""
        return list(self._servers)

    def close(self) -> None:
        """After the listeners are shut down: close them, the reserved sockets, the CA dir."""
        for httpd, thread in self._servers:
            httpd.server_close()
            thread.join(timeout=10)
        for sock in self._sockets:
            sock.close()
        self._servers, self._sockets = [], []
        shutil.rmtree(self._dir, ignore_errors=True)


def _redirect_to(https_url: str) -> Dispatch:
    def front(method: str, path: str, headers: Mapping[str, str], body: bytes) -> Response:
        target = https_url.rstrip("/") + (path if path.startswith("/") else "/" + path)
        return Response(301, HTML_TYPE, b"", "redirect", (("Location", target),))
    return front
