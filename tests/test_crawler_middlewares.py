"""The crawler's downloader middlewares against a tiny local HTTP server (not the replica):
a host that keeps blocking is stopped, backoff honours Retry-After, permanent failures are not
retried. Each crawl runs in a child process (Twisted's reactor cannot restart)."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parents[1]

# A spider asking `n` URLs of one host; prints [items..., failures...] as JSON at the end.
SCRIPT = """
import json, sys
import scrapy
from scrapy.crawler import CrawlerProcess
from scrapy.settings import Settings
from crawler import settings as defaults
from crawler.failures import failure_reason, stop_evidence
from crawler.profiles import profile_for

base, n, overrides = sys.argv[1], int(sys.argv[2]), json.loads(sys.argv[3])
out = []

class Probe(scrapy.Spider):
    name = "probe"
    async def start(self):
        for i in range(n):
            yield scrapy.Request(f"{base}/p/{i}", errback=self.failed, dont_filter=True)
    def parse(self, response):
        out.append({"kind": "ok", "url": response.url, "status": response.status})
    def failed(self, failure):
        for item in stop_evidence(failure):
            out.append(item)
        reason, status = failure_reason(failure)
        out.append({"kind": "failed", "url": failure.request.url, "reason": reason})

s = Settings()
s.setmodule(defaults, priority="project")
s.update(profile_for(base), priority="project")
s.update({"ITEM_PIPELINES": {}, "LOG_LEVEL": "WARNING", "USER_AGENT": "Mozilla/5.0 test",
          **overrides}, priority="cmdline")
process = CrawlerProcess(s)
process.crawl(Probe)
process.start()
print("RESULT " + json.dumps(out, default=str))
"""


class Server:
    """Answers by `mode`: "403" to everything; "429" once per path (Retry-After: 1), then 200."""

    def __init__(self, mode: str) -> None:
        self.mode = mode
        self.log: list[tuple[str, float, int]] = []  # (path, time, status)
        self.lock = threading.Lock()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                status, headers = owner.answer(self.path)
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                body = b"<html><body>ok</body></html>"
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def answer(self, path: str) -> tuple[int, dict[str, str]]:
        with self.lock:
            seen = sum(1 for p, _, _ in self.log if p == path)
            status, headers = 200, {}
            if self.mode == "403":
                status = 403
            elif self.mode == "429" and path != "/robots.txt" and not seen:
                status, headers = 429, {"Retry-After": "1"}
            self.log.append((path, time.monotonic(), status))
            return status, headers

    def pages(self) -> list[tuple[str, float, int]]:
        return [e for e in self.log if e[0] != "/robots.txt"]


@pytest.fixture
def server(request: pytest.FixtureRequest) -> Iterator[Server]:
    srv = Server(request.param)
    yield srv
    srv.httpd.shutdown()


def crawl(srv: Server, n: int, **overrides: object) -> list[dict]:
    proc = subprocess.run([sys.executable, "-c", SCRIPT, srv.base, str(n), json.dumps(overrides)],
                          cwd=PROJECT, capture_output=True, text=True, timeout=120)
    line = next((x for x in proc.stdout.splitlines() if x.startswith("RESULT ")), None)
    assert line, proc.stderr[-3000:]
    return json.loads(line[len("RESULT "):])


@pytest.mark.slow
@pytest.mark.parametrize("server", ["403"], indirect=True)
def test_host_stopped_after_consecutive_blocks(server: Server) -> None:
    out = crawl(server, 20, DVC_HOST_BLOCK_LIMIT=5)
    assert len(server.pages()) <= 5  # the host is not asked again once it has blocked 5 times
    failed = [x for x in out if x["kind"] == "failed"]
    assert len(failed) == 20 and {x["reason"] for x in failed} == {"blocked"}
    (stop,) = [x for x in out if x["kind"] == "host_stopped"]
    assert stop["reason"] == "blocked" and stop["data"]["blocks"] == 5
    assert stop["data"]["host"] == server.base.split("//")[1]
    assert stop["data"]["last_reason"] == "http_403"


@pytest.mark.slow
@pytest.mark.parametrize("server", ["403"], indirect=True)
def test_no_retry_for_403(server: Server) -> None:
    out = crawl(server, 3, DVC_HOST_BLOCK_LIMIT=100, RETRY_TIMES=3)
    assert sorted(p for p, _, _ in server.pages()) == ["/p/0", "/p/1", "/p/2"]  # once each
    assert {x["reason"] for x in out if x["kind"] == "failed"} == {"blocked"}


@pytest.mark.slow
@pytest.mark.parametrize("server", ["429"], indirect=True)
def test_backoff_honours_retry_after(server: Server) -> None:
    out = crawl(server, 2, RETRY_TIMES=2, DVC_RETRY_BACKOFF=0.1, DVC_RETRY_BACKOFF_MAX=5)
    assert sorted(x["url"].rsplit("/", 1)[1] for x in out if x["kind"] == "ok") == ["0", "1"]
    for path in ("/p/0", "/p/1"):
        times = [(t, s) for p, t, s in server.pages() if p == path]
        assert [s for _, s in times] == [429, 200]  # retried once, then healthy
        assert times[1][0] - times[0][0] >= 1.0  # not before Retry-After, though backoff is 0.1


# -- the failure vocabulary (pure) ---------------------------------------------------------------


@pytest.mark.parametrize(("exc", "reason"), [
    ("playwright:net::ERR_TOO_MANY_REDIRECTS at http://x/", "redirect_loop"),
    ("playwright:net::ERR_CONNECTION_REFUSED at http://x/", "refused"),
    ("playwright-timeout:Timeout 3000ms exceeded.", "timeout"),
    ("ignore:max redirections reached", "redirect_loop"),
    ("ignore:Forbidden by robots.txt", "robots_disallowed"),
    ("cancelled:Expected to receive 41943040 bytes which is larger than download max size (1)",
     "too_large"),
    ("dataloss:", "malformed"),
    ("timeout:", "timeout"),
])
def test_failure_reasons(exc: str, reason: str) -> None:
    from playwright.async_api import Error
    from playwright.async_api import TimeoutError as PlaywrightTimeout
    from scrapy import exceptions

    from crawler.failures import exception_reason, is_transient

    kind, _, message = exc.partition(":")
    error = {"playwright": Error, "playwright-timeout": PlaywrightTimeout,
             "ignore": exceptions.IgnoreRequest, "cancelled": exceptions.DownloadCancelledError,
             "dataloss": exceptions.ResponseDataLossError,
             "timeout": exceptions.DownloadTimeoutError}[kind](message)
    assert exception_reason(error)[0] == reason
    assert is_transient(reason) == (reason in ("timeout", "refused"))


def test_pages_are_decoded_and_checked() -> None:
    from crawler.platforms.base import decode_html, html_fault

    text = "<html><body>Thủ tục đăng ký khai sinh</body></html>"
    legacy = "<html><body>Thu\u0309 tu\u0323c đăng ky\u0301 khai sinh</body></html>"
    assert decode_html(legacy.encode("cp1258"), "windows-1258") == text  # NFC
    assert decode_html(legacy.encode("cp1258")) == text  # no label: the legacy codec
    assert decode_html(text.encode(), "iso-8859-1") == text  # valid UTF-8 wins over the label
    assert html_fault(text.encode()) == ""
    assert html_fault(text.encode()[:20]) == "malformed"
    assert html_fault(b"<html><body><<div class=\">\x80\x81\xff") == "malformed"
    assert html_fault(b"{}", "application/json") == ""
    assert html_fault(text.encode(), maxsize=10) == "too_large"


def test_robots_errors_lose_their_traceback() -> None:
    import logging

    from crawler.downloadermiddlewares.hostguard import QuietRobotsErrors

    try:
        raise ConnectionRefusedError("refused")
    except ConnectionRefusedError:
        record = logging.LogRecord("scrapy.downloadermiddlewares.robotstxt", logging.ERROR, "",
                                   0, "Error downloading %s", ("x",), sys.exc_info())
    assert QuietRobotsErrors().filter(record)
    assert record.levelno == logging.WARNING and record.exc_info is None
