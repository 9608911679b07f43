"""Chromium's and Playwright's driver's memory options (crawler/browser.py; docs/PERFORMANCE.md
"Memory at real scale")."""

from __future__ import annotations

import os
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from bench.run import _kind, _tree
from crawler.browser import DRIVER_NODE_OPTIONS, MEMORY_ARGS, driver_environment, launch_options


def test_launch_options_carry_the_memory_flags():
    args = launch_options(sys.executable)["args"]  # an existing file stands for Chromium
    assert "--renderer-process-limit=3" in MEMORY_ARGS and set(MEMORY_ARGS) <= set(args)


def test_driver_environment_adds_its_node_options_once_and_keeps_others(monkeypatch):
    monkeypatch.setenv("NODE_OPTIONS", "--trace-warnings")
    driver_environment()
    driver_environment()
    assert os.environ["NODE_OPTIONS"] == f"--trace-warnings {DRIVER_NODE_OPTIONS}"
    monkeypatch.delenv("NODE_OPTIONS")
    driver_environment()
    assert os.environ["NODE_OPTIONS"] == DRIVER_NODE_OPTIONS


class _Page(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - the http.server API
        body = b"<!doctype html><title>p</title><p>page</p>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.mark.slow
@pytest.mark.browser
def test_pages_of_one_site_share_renderers_past_the_limit():
    from playwright.sync_api import sync_playwright

    server = ThreadingHTTPServer(("127.0.0.1", 0), _Page)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(**launch_options())
            context = browser.new_context()
            pages = [context.new_page() for _ in range(6)]
            for n, page in enumerate(pages):
                page.goto(f"http://127.0.0.1:{server.server_port}/{n}")
            root = os.getpid()
            renderers = [p for p in _tree(root) if _kind(p, root) == "chromium renderer"]
            browser.close()
    finally:
        server.shutdown()
    # six pages of one site in one context: without the limit, six renderers
    assert 1 <= len(renderers) <= 3
