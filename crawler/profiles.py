"""Politeness profiles: the real portals get one request at a time with delays; the replica on
loopback is ours, so it may be crawled fast."""

from __future__ import annotations

from urllib.parse import urlparse

LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}

POLITE: dict[str, object] = {}  # crawler/settings.py defaults
LOOPBACK: dict[str, object] = {
    "DOWNLOAD_DELAY": 0,
    "CONCURRENT_REQUESTS_PER_DOMAIN": 8,
    "AUTOTHROTTLE_ENABLED": False,
    "DOWNLOAD_TIMEOUT": 15,
    "RETRY_TIMES": 1,
    "DVC_RETRY_BACKOFF": 0.2,  # the replica heals at once: keep the tests quick
    "DVC_RETRY_BACKOFF_MAX": 5.0,
}


def is_loopback(url: str) -> bool:
    host = urlparse(url).hostname or ""
    return host in LOCAL_HOSTS or host.startswith("127.")


def profile_for(url: str) -> dict[str, object]:
    return dict(LOOPBACK if is_loopback(url) else POLITE)
