"""Downloader middlewares, one module per role (as in scrapy.downloadermiddlewares): retry with
backoff, the host guard, the conditional-request cache. Their order is crawler/settings.py's
DOWNLOADER_MIDDLEWARES."""
