"""Downloader middlewares. A 200 that carries the portal's rejection page is a block."""

from __future__ import annotations

from scrapy import Request, Spider
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Response

from crawler.parsers import is_block_page


class BlockedResponse(IgnoreRequest):
    """The portal answered with its "Request Rejected" page."""

    def __init__(self, response: Response) -> None:
        super().__init__(f"blocked: {response.url}")
        self.response = response


class BlockPageMiddleware:
    def process_response(self, request: Request, response: Response,
                         spider: Spider | None = None) -> Response:
        if response.status == 200 and is_block_page(response.body):
            raise BlockedResponse(response)
        return response
