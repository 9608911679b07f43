"""The portal replica: real HTTP servers on loopback serving one scenario.

    with ReplicaServer("replica/scenarios/small.yaml") as srv:
        srv.base_url          # "http://127.0.0.1:<port>"  (the national portal)
        srv.portal_urls       # {"79": "http://127.0.1.79:<port>", ...}  (provincial portals)
        srv.requests          # request log (alias request_log): host, method, path, body, ...

The national portal mirrors the real 2026 one (docs/SCENARIOS.md, "Server"): JSON API by POST
with HTTP 201 envelopes; a non-browser User-Agent, or an API POST without Origin and Referer, gets
F5's HTTP-200 "Request Rejected" page; any GET gets a JavaScript challenge page until a browser
has run it (then procedure pages answer). Each province with a `portals` entry gets its own
server on its own loopback address (127.0.1.<code>; 127.0.0.1 with its own port where the
system has no 127/8 aliases), serving its platform family (replica/provincial/).
"""

from __future__ import annotations

import hashlib
import json
import socket
import socketserver
import sys
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from email.utils import parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from core.indicators import NATIONAL_UNIT
from replica import faults, index766, national_html, pages, provincial, sitepages, systems
from replica.catalogue import BadRequest, Portal, build_portal
from replica.provincial.hosts import aliases_work, bind_address, system_address
from replica.scenario import Fault, Scenario, load_scenario
from replica.site_model import SiteSpec
from replica.sitetls import SiteDoors
from replica.web import Response

OFFSITE_ADDRESS = "127.0.2.1"
OFFSITE_MARK = b"__OFFSITE__"  # in portal pages: replaced by the offsite host's URL
API_PROVINCES = "/api/v1/configuring/province-vn/list-by-citizen"
API_CATALOGUE = "/api/v1/submitting/formality/list-all-public-formality-by-citizen"
API_DETAIL = "/api/v1/configuring/formality/get-formality-by-citizen"
API_OFFICES = "/api/v1/submitting/formality/list-department-url-by-citizen"
API_PATHS = (API_PROVINCES, API_CATALOGUE, API_DETAIL, API_OFFICES, *index766.PATHS)

JSON_TYPE = "application/json; charset=utf-8"
HTML_TYPE = "text/html; charset=utf-8"
JS_TYPE = "application/javascript; charset=utf-8"


@dataclass(frozen=True)
class LoggedRequest:
    """One request as the replica saw it; fields readable as attributes or ``entry["path"]``."""

    method: str
    path: str  # without the query string
    query: str
    body: str
    headers: dict[str, str]  # lower-case names
    status: int
    outcome: str  # ok | rejected | challenge | bad_request | not_found | submission | ...
    at: float = field(default=0.0, compare=False)
    host: str = ""  # "127.0.0.1:<port>" of the site that answered
    site: str = "national"  # "national" or the province code of a provincial portal

    def __getitem__(self, key: str) -> Any:
        return getattr(self, key)

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


def _envelope(status: int, code: str, data: Any, message: str, outcome: str) -> Response:
    payload = {"code": code, "data": data, "message": message}
    text = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
    return Response(status, JSON_TYPE, text.encode(), outcome)


def _ok(data: Any) -> Response:
    return _envelope(201, "OK", data, "OK", "ok")


def _bad_request(message: str) -> Response:
    return _envelope(400, "BAD_REQUEST", None, message, "bad_request")


def _challenge() -> Response:
    return Response(200, HTML_TYPE, pages.challenge_page().encode(), "challenge")


class ReplicaServer:
    """Serve a scenario on ``host:port`` (port 0 = a free port) in a background thread."""

    def __init__(self, scenario: Scenario | str | Path, host: str = "127.0.0.1", port: int = 0,
                 rubric: Any = None):
        if not isinstance(scenario, Scenario):
            scenario = load_scenario(scenario)
        if rubric is None:
            from core.rubric import RUBRIC_DIR, load_rubric

            rubric = load_rubric(scenario.rubric_dir() or RUBRIC_DIR)
        self.scenario = scenario
        self.rubric = rubric
        self.portal: Portal = build_portal(scenario, rubric)
        self.index766 = index766.build_index(scenario, rubric)  # Decision 766 reporting API
        self.host = host
        self.port = port
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._log: list[LoggedRequest] = []
        self._lock = threading.Lock()
        self.challenge = national_html.Challenge()
        self.sites = provincial.build_sites(scenario, rubric)
        self.portal_urls: dict[str, str] = {}  # province code -> portal base URL
        self.system_sites = systems.build_systems(scenario, rubric)  # ministry systems
        self.system_urls: dict[str, str] = {}  # system id -> base URL (http://127.0.3.<n>:port)
        self.offsite_url = ""  # a host no crawler is given (see _start_offsite)
        self._portal_httpds: list[tuple[ThreadingHTTPServer, threading.Thread]] = []
        self._reserved: list[socket.socket] = []  # addresses of portals that are "down"
        self.fault_state = faults.FaultState()
        self.national_view = sitepages.SiteView(
            scenario.sites.get(NATIONAL_UNIT) or SiteSpec(), "Cổng Dịch vụ công Quốc gia",
            "Văn phòng Chính phủ nước Cộng hòa xã hội chủ nghĩa Việt Nam")
        self._doors: SiteDoors | None = None  # HTTPS and front doors (replica/sitetls.py)
        # formality id -> its procedure-scoped fault (national side; the first one per procedure)
        self.procedure_faults: dict[str, Fault] = {}
        for f in scenario.faults:
            if f.procedure:
                self.procedure_faults.setdefault(self.portal.id_by_code[f.procedure], f)

    # ------------------------------------------------------------------ lifecycle
    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> ReplicaServer:
        if self._httpd is not None:
            return self
        self.fault_state = faults.FaultState()  # fresh counts, and slow answers may wait again
        httpd = _serve(self.host, self.port, self.respond)
        httpd.replica = self
        self.port = httpd.server_address[1]
        self._httpd = httpd
        self._thread = threading.Thread(target=httpd.serve_forever, name="replica", daemon=True)
        self._thread.start()
        for unit, site in self.sites.items():
            self._start_portal(unit, site)
        for n, system in enumerate(self.system_sites.values(), 1):
            self._start_system(n, system)
        self._start_offsite()
        self._start_doors()
        return self

    def _start_doors(self) -> None:
        """Each site's TLS listener and plain-HTTP front door (replica/sitetls.py)."""
        doors = self._doors = SiteDoors(_serve)
        hosts = tuple(dict.fromkeys(["127.0.0.1", "localhost", *(
            urlsplit(u).hostname or "" for u in self.portal_urls.values())]))
        doors.add(NATIONAL_UNIT, self.base_url + "/", self.national_view.spec, self.respond,
                  self, down=False, hosts=hosts)
        for unit, site in self.sites.items():
            def respond(method: str, path: str, headers: Mapping[str, str], body: bytes,
                        _unit: str = unit) -> Response:
                return self.respond_portal(_unit, method, path, headers, body)
            doors.add(unit, self.portal_urls[unit] + "/", site.survey, respond, self,
                      down=site.down, hosts=hosts)

    @property
    def ca_file(self) -> str:
        """The test CA's PEM file (DVC_CA_BUNDLE); needs the server started."""
        if self._doors is None:
            raise RuntimeError("the replica is not started")
        return self._doors.ca_file

    def site_list(self) -> list[dict[str, Any]]:
        """DVC_SITES: {"units", "home", "https", "http"[, "domain"]} per site, national first."""
        return [d.entry() for d in self._doors.doors] if self._doors is not None else []

    def _start_offsite(self) -> None:
        """A host no crawler was given (portal pages link and load from it): any request it
        gets is logged with site "offsite", so tests can show the crawl stayed on its hosts."""
        address = OFFSITE_ADDRESS if aliases_work() else "127.0.0.1"

        def respond(method: str, path: str, headers: Mapping[str, str], body: bytes) -> Response:
            h = {k.lower(): v for k, v in headers.items()}
            parts = urlsplit(path)
            self._record(LoggedRequest(method.upper(), parts.path, parts.query, "", h, 200,
                                       "offsite", time.time(), h.get("host", ""), "offsite"))
            return Response(200, JS_TYPE, b"/* elsewhere */", "offsite")

        httpd = _serve(address, 0, respond)
        httpd.replica = self
        thread = threading.Thread(target=httpd.serve_forever, name="offsite", daemon=True)
        thread.start()
        self._portal_httpds.append((httpd, thread))
        host, port = httpd.socket.getsockname()[:2]  # (str, int): an AF_INET server
        self.offsite_url = f"http://{host}:{port}"

    def _start_portal(self, unit: str, site: provincial.Site) -> None:
        address = bind_address(unit)
        if site.down:  # bound but not listening: connections are refused
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.bind((address, 0))
            self._reserved.append(sock)
            host, port = sock.getsockname()[:2]
            self.portal_urls[unit] = f"http://{host}:{port}"
            return

        def respond(method: str, path: str, headers: Mapping[str, str], body: bytes,
                    _unit: str = unit) -> Response:
            return self.respond_portal(_unit, method, path, headers, body)

        httpd = _serve(address, 0, respond)
        httpd.replica = self
        thread = threading.Thread(target=httpd.serve_forever, name=f"portal-{unit}", daemon=True)
        thread.start()
        self._portal_httpds.append((httpd, thread))
        host, port = httpd.socket.getsockname()[:2]  # (str, int): an AF_INET server
        self.portal_urls[unit] = f"http://{host}:{port}"

    def _start_system(self, n: int, site: systems.SystemSite) -> None:
        """A ministry system on its own loopback address (127.0.3.<n>), like a portal."""
        address = system_address(n)
        if site.down:  # bound but not listening: connections are refused
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.bind((address, 0))
            self._reserved.append(sock)
            host, port = sock.getsockname()[:2]
            self.system_urls[site.id] = f"http://{host}:{port}"
            return

        def respond(method: str, path: str, headers: Mapping[str, str], body: bytes,
                    _site: systems.SystemSite = site) -> Response:
            h = {k.lower(): v for k, v in headers.items()}
            parts = urlsplit(path)
            params = dict(parse_qsl(parts.query, keep_blank_values=True))
            resp = systems.respond(_site, method.upper(), parts.path, params, query=parts.query,
                                   state=self.fault_state)
            self._record(LoggedRequest(method.upper(), parts.path, parts.query,
                                       body.decode("utf-8", "replace"), h, resp.status,
                                       resp.outcome, time.time(), h.get("host", ""),
                                       f"system:{_site.id}"))
            return resp

        httpd = _serve(address, 0, respond)
        httpd.replica = self
        thread = threading.Thread(target=httpd.serve_forever, name=f"system-{site.id}",
                                  daemon=True)
        thread.start()
        self._portal_httpds.append((httpd, thread))
        host, port = httpd.socket.getsockname()[:2]  # (str, int): an AF_INET server
        self.system_urls[site.id] = f"http://{host}:{port}"

    def rendered_urls(self) -> dict[str, str]:
        """What office rows' URL tokens become: portals by province code, systems by
        "system:<id>" (without the scheme unless the system's `scheme` says so)."""
        out = dict(self.portal_urls)
        for sid, url in self.system_urls.items():
            spec = self.scenario.system(sid)
            out[f"system:{sid}"] = url if spec is not None and spec.scheme else \
                url.removeprefix("http://")
        return out

    def stop(self) -> None:
        if self._httpd is None:
            return
        servers = [(self._httpd, self._thread)] + self._portal_httpds
        doors = self._doors.servers() if self._doors is not None else []
        self.fault_state.stopped.set()  # `slow` answers stop waiting
        self._httpd = None  # handlers close kept-alive connections from now on
        # shut all down at once: each shutdown() waits up to serve_forever's 0.5 s poll
        stoppers = [threading.Thread(target=httpd.shutdown) for httpd, _ in servers + doors]
        for stopper in stoppers:
            stopper.start()
        for stopper in stoppers:
            stopper.join(timeout=10)
        for httpd, thread in servers:
            httpd.server_close()
            if thread is not None:
                thread.join(timeout=10)
        for sock in self._reserved:
            sock.close()
        if self._doors is not None:
            self._doors.close()
            self._doors = None
        self._thread = None
        self._portal_httpds = []
        self._reserved = []
        self.portal_urls = {}
        self.system_urls = {}

    def unlinked_portals(self) -> list[str]:
        """Provinces with a portal that none of their office rows an audit can see hands off to
        (rows of a failed procedure are never read: its portal must be listed). All of them
        when the office lists ignore their filter: the crawl can then trust no row's link."""
        if self.scenario.national.office_filter == "ignored":
            return sorted(self.sites)
        unseen = self.portal.faulted_ids
        linked = {row["citizenUrl"][len("{portal:"):].partition("}")[0]
                  for row in self.portal.office_rows if row["citizenUrl"].startswith("{portal:")
                  and row["formalityId"] not in unseen}
        return sorted(unit for unit in self.sites if unit not in linked)

    def portal_list(self) -> list[dict[str, str]]:
        """The configured portal list a crawler needs besides the national portal: the portals
        of `unlinked_portals()` (docs/SCENARIOS.md). Needs the server started."""
        return [{"unit": unit, "url": self.portal_urls[unit] + "/"}
                for unit in self.unlinked_portals() if unit in self.portal_urls]

    def __enter__(self) -> ReplicaServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ------------------------------------------------------------------ request log
    @property
    def requests(self) -> list[LoggedRequest]:
        """A copy of the request log, oldest first."""
        with self._lock:
            return list(self._log)

    request_log = requests  # alias

    def clear_requests(self) -> None:
        with self._lock:
            self._log.clear()

    def posts(self, route_prefix: str = "", site: str | None = None) -> list[LoggedRequest]:
        """POSTs whose path starts with route_prefix (e.g. "/api/v1/submitting/dossier"), on any
        site, or only on `site` ("national" or a province code)."""
        return [r for r in self.requests if r.method == "POST" and r.path.startswith(route_prefix)
                and (site is None or r.site == site)]

    def portal_requests(self, unit: str | None = None) -> list[LoggedRequest]:
        """Requests the provincial portals answered (all, or one province's)."""
        return [r for r in self.requests if r.site != "national"
                and (unit is None or r.site == unit)]

    def _record(self, entry: LoggedRequest) -> None:
        with self._lock:
            self._log.append(entry)

    # ------------------------------------------------------------------ behaviour
    def respond(self, method: str, path: str, headers: Mapping[str, str], body: bytes
                ) -> Response:
        """The answer to one request (pure apart from the log; used by the HTTP handler)."""
        h = {k.lower(): v for k, v in headers.items()}
        parts = urlsplit(path)
        resp = _own_host(self._respond(method.upper(), parts.path, h, body, parts.query), h)
        self._record(LoggedRequest(method.upper(), parts.path, parts.query,
                                   body.decode("utf-8", "replace"), h, resp.status, resp.outcome,
                                   time.time(), h.get("host", ""), "national"))
        return resp

    def respond_portal(self, unit: str, method: str, path: str, headers: Mapping[str, str],
                       body: bytes) -> Response:
        """The answer of province `unit`'s portal to one request (logged like the national's)."""
        h = {k.lower(): v for k, v in headers.items()}
        parts = urlsplit(path)
        params = dict(parse_qsl(parts.query, keep_blank_values=True))
        resp = provincial.respond(self.sites[unit], method.upper(), parts.path, params,
                                  query=parts.query, state=self.fault_state)
        if OFFSITE_MARK in resp.body:  # links and scripts of another host, as real portals have
            resp = replace(resp, body=resp.body.replace(OFFSITE_MARK, self.offsite_url.encode()))
        resp = _own_host(resp, h)
        self._record(LoggedRequest(method.upper(), parts.path, parts.query,
                                   body.decode("utf-8", "replace"), h, resp.status, resp.outcome,
                                   time.time(), h.get("host", ""), unit))
        return resp

    def _respond(self, method: str, route: str, h: dict[str, str], body: bytes,
                 query: str = "") -> Response:
        if "Mozilla/" not in h.get("user-agent", ""):
            return pages.rejected()
        hit = faults.Hit("national", method, route, query)
        if method != "POST":
            return self._html(route, h, hit)
        if route not in API_PATHS:
            if route.startswith("/api/"):
                return _envelope(404, "NOT_FOUND", None, f"No route {route}", "not_found")
            return _challenge()
        if not h.get("origin") or not h.get("referer"):
            return pages.rejected()
        try:
            data = json.loads(body.decode("utf-8")) if body.strip() else {}
        except (UnicodeDecodeError, json.JSONDecodeError):
            return _bad_request("Request body must be JSON")
        if not isinstance(data, dict):
            return _bad_request("Request body must be a JSON object")
        try:
            if route in index766.PATHS:
                if self.index766.blocked:
                    return pages.rejected()
                return _ok(index766.answer(self.index766, route, data))
            if route == API_PROVINCES:
                rows = self.portal.provinces
                return _ok({"rows": rows, "count": len(rows),
                            "lastId": rows[-1]["code"] if rows else None})
            if route == API_CATALOGUE:
                return _ok(self.portal.page_catalogue(data))
            if route == API_DETAIL:
                return self._detail(data, hit)
            return self._offices(data, hit)
        except BadRequest as exc:
            return _bad_request(str(exc))

    def _html(self, route: str, h: dict[str, str], hit: faults.Hit) -> Response:
        """The HTML side: the JavaScript challenge until its cookie is presented."""
        if route.startswith(national_html.SCRIPT_PREFIX):
            return Response(200, JS_TYPE, national_html.CHALLENGE_SCRIPT.encode(),
                            "challenge_script")
        if not self.challenge.passed(h.get("cookie", "")):
            token = self.challenge.issue()
            return Response(200, HTML_TYPE, pages.challenge_page(token).encode(), "challenge")
        if not route.startswith(national_html.PAGE_PREFIX):
            return self._survey_page(route)
        fid = route[len(national_html.PAGE_PREFIX):].strip("/")
        return self._faulted(fid, hit, lambda: self._page(fid))

    def _survey_page(self, route: str) -> Response:
        """A survey page (replica/sitepages.py); any other route is the home page, as before."""
        view = self.national_view
        found = sitepages.respond(view, route)
        if found is not None:
            return found
        html = sitepages.decorate_home(national_html.home_page(), view.spec,
                                       sitepages.home_fragment(view))
        return Response(200, HTML_TYPE, html.encode(), "ok")

    def _page(self, fid: str) -> Response:
        detail = self.portal.detail(fid)
        if detail is None:
            return Response(200, HTML_TYPE, national_html.not_found_page().encode(), "not_found")
        offices = [(r["departmentCode"], r["departmentName"])
                   for r in self.portal.rows_by_formality.get(fid, []) if r["citizenUrl"]]
        html = national_html.procedure_page(detail, offices[:300])
        return Response(200, HTML_TYPE, html.encode(), "ok")

    def _faulted(self, fid: str, hit: faults.Hit, normal: Callable[[], Response]) -> Response:
        """The procedure's fault's answer, if it has one (transient ones counted per id)."""
        fault = self.procedure_faults.get(fid)
        if fault is None:
            return normal()
        return faults.answer(fault, self.fault_state, hit, normal, key=fid)

    def _detail(self, data: dict[str, Any], hit: faults.Hit) -> Response:
        fid = data.get("id")
        if not isinstance(fid, str) or not fid:
            raise BadRequest("id is required")
        return self._faulted(fid, hit, lambda: self._detail_ok(fid))

    def _detail_ok(self, fid: str) -> Response:
        recorded = self.portal.recorded.get(fid)
        if recorded is not None:  # the recorded answer, byte for byte
            return Response(201, JSON_TYPE, recorded.raw, "ok")
        detail = self.portal.detail(fid)
        if detail is None:
            return _envelope(404, "NOT_FOUND", None, "Không tìm thấy thủ tục hành chính",
                             "not_found")
        change = self.scenario.national.shape_change
        if change is not None and change.place == "detail":
            detail = change.apply(detail)
        return _ok(detail)

    def _offices(self, data: dict[str, Any], hit: faults.Hit) -> Response:
        fid = data.get("formalityId") or ""
        if not isinstance(fid, str):
            raise BadRequest("formalityId must be a string")
        return self._faulted(fid, hit, lambda: _ok(
            self.portal.page_offices(data, self.base_url, self.rendered_urls())))


Dispatch = Callable[[str, str, Mapping[str, str], bytes], Response]


def _own_host(resp: Response, headers: Mapping[str, str]) -> Response:
    """Absolute addresses of the site itself (a sitemap's <loc>): the host the client asked."""
    if sitepages.SELF_MARK not in resp.body:
        return resp
    own = f"http://{headers.get('host', '')}".encode()
    return replace(resp, body=resp.body.replace(sitepages.SELF_MARK, own))


class _Server(ThreadingHTTPServer):
    dispatch: Dispatch  # what answers a request (set by _serve)
    replica: ReplicaServer  # the replica it serves for (set by the replica that starts it)

    def server_bind(self) -> None:
        """HTTPServer's, without its reverse DNS lookup of the address (slow for 127.0.1.x,
        and ~100 listeners with the sites' TLS and front doors; the name is never used)."""
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name, self.server_port = str(host), int(port)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hangs up mid-answer (a crawler giving up on a slow or huge page) is
        normal here, not an error worth a traceback."""
        if isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
            return
        super().handle_error(request, client_address)


def _serve(host: str, port: int, dispatch: Dispatch) -> _Server:
    httpd = _Server((host, port), _Handler)
    httpd.daemon_threads = True
    httpd.dispatch = dispatch
    return httpd


class _Handler(BaseHTTPRequestHandler):
    server: _Server  # only _serve makes servers with this handler
    protocol_version = "HTTP/1.1"
    server_version = "BigIP"
    sys_version = ""

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        pass

    def _handle(self, method: str) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length > 0 else b""
        replica = self.server.replica
        dispatch = self.server.dispatch
        resp = dispatch(method, self.path, dict(self.headers.items()), body)
        validators = self._validators(method, resp)
        if validators and self._not_modified(*validators):
            self.send_response(304)  # same validators, no body: nothing changed
            self.send_header("ETag", validators[0])
            self.send_header("Last-Modified", validators[1])
            self.send_header("Cache-Control", "no-cache")
            self.end_headers()
        else:
            self.send_response(resp.status)
            self.send_header("Content-Type", resp.content_type)
            self.send_header("Content-Length", str(len(resp.body)))
            if validators:  # may be stored, but must be revalidated before each use
                self.send_header("ETag", validators[0])
                self.send_header("Last-Modified", validators[1])
                self.send_header("Cache-Control", "no-cache")
            else:
                self.send_header("Cache-Control", "no-store")
            for name, value in resp.headers:
                self.send_header(name, value)
            self.end_headers()
            if method != "HEAD":
                self.wfile.write(resp.body)
        if replica._httpd is None:  # stopped: do not keep serving on a kept-alive connection
            self.close_connection = True

    # Validators (ETag, Last-Modified) for GET/HEAD 200 answers, as a portal's web server gives
    # them for its pages, scripts and styles: the ETag is a hash of the body; Last-Modified is
    # when this server process first sent that body. The national JSON API (POST) has none, like
    # the real one; nor have the F5 rejection and challenge pages (a new token each time).
    _first_sent: dict[str, str] = {}
    _first_lock = threading.Lock()
    UNVALIDATED = frozenset({"rejected", "challenge"})

    def _validators(self, method: str, resp: Response) -> tuple[str, str] | None:
        if method not in ("GET", "HEAD") or resp.status != 200 or \
                resp.outcome in self.UNVALIDATED or \
                any(name.lower() in ("etag", "cache-control", "set-cookie")
                    for name, _ in resp.headers):
            return None
        etag = '"' + hashlib.sha256(resp.body).hexdigest()[:32] + '"'
        with self._first_lock:
            stamp = self._first_sent.setdefault(etag, self.date_time_string())
        return etag, stamp

    def _not_modified(self, etag: str, stamp: str) -> bool:
        match = self.headers.get("If-None-Match")
        if match is not None:  # takes precedence over If-Modified-Since (RFC 9110 13.2.2)
            tags = {t.strip().removeprefix("W/") for t in match.split(",")}
            return etag in tags or "*" in tags
        since = self.headers.get("If-Modified-Since")
        if since is None:
            return False
        try:
            return parsedate_to_datetime(since) >= parsedate_to_datetime(stamp)
        except (TypeError, ValueError):
            return False

    def do_GET(self) -> None:  # noqa: N802 - stdlib naming
        self._handle("GET")

    def do_POST(self) -> None:  # noqa: N802
        self._handle("POST")

    def do_HEAD(self) -> None:  # noqa: N802
        self._handle("HEAD")

    def do_PUT(self) -> None:  # noqa: N802
        self._handle("PUT")

    def do_DELETE(self) -> None:  # noqa: N802
        self._handle("DELETE")
