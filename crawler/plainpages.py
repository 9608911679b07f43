"""Pages read without a browser: their bytes as UTF-8 text, and their declared type."""

from __future__ import annotations

from scrapy.http import Response

from crawler.platforms.base import charset_of, decode_html


def plain_dom(response: Response) -> bytes:
    """A plain page's bytes as UTF-8 NFC (legacy encodings transcoded once, here), so every
    parser reads the same text; valid UTF-8 is kept byte for byte."""
    raw = response.body
    try:
        raw.decode("utf-8")
        return raw
    except UnicodeDecodeError:
        return decode_html(raw, charset_of(response.headers.get("Content-Type"))).encode()


def content_type(response: Response) -> str:
    return (response.headers.get("Content-Type") or b"text/html").decode("latin-1")
