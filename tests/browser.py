"""Open a page in headless Chromium (found the way the crawler finds it) for tests."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest


@contextmanager
def chromium_page() -> Iterator[Any]:
    """A fresh page in headless Chromium; the test fails (not skips) without a browser."""
    from playwright.sync_api import sync_playwright

    from crawler.browser import BrowserNotFound, launch_options

    try:
        options = launch_options()
    except BrowserNotFound as exc:
        pytest.fail(f"Chromium is required for this test: {exc}")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(**options)
        try:
            yield browser.new_page()
        finally:
            browser.close()


def render(url: str, screenshot: Path) -> dict:
    """Load `url`, save a full-page screenshot, return facts read from the live DOM."""
    with chromium_page() as page:
        page.goto(url)
        page.screenshot(path=str(screenshot), full_page=True)
        return page.evaluate("""() => ({
            title: document.title,
            text: document.body.innerText,
            matrixRows: document.querySelectorAll('#matrix tbody tr').length,
            matrixCells: document.querySelectorAll('#matrix tbody td').length,
            hatched: document.querySelectorAll('#matrix td.cannot').length,
            unitSections: document.querySelectorAll('section.unit-gaps').length,
            scripts: document.scripts.length,
            external: [...document.querySelectorAll('[src],link[href]')]
                .map(e => e.src || e.href),
        })""")
