"""HTML pages the replica's web application firewall answers with (both HTTP 200, like F5)."""

from __future__ import annotations

import random

from replica.web import HTML_TYPE, Response

_rng = random.SystemRandom()

REJECTED_MARKER = "The requested URL was rejected. Please consult with your administrator."
CHALLENGE_MARKER = "Please enable JavaScript to view the page content."


def support_id() -> str:
    return str(_rng.randint(10**18, 10**19 - 1))


def rejected_page() -> str:
    """F5 ASM's block page: HTTP 200, not JSON. A 200 is not success."""
    return (
        "<html><head><title>Request Rejected</title></head><body>"
        f"{REJECTED_MARKER}<br><br>Your support ID is: {support_id()}<br><br>"
        "<a href='javascript:history.back();'>[Go Back]</a></body></html>"
    )


def rejected() -> Response:
    """The block page as an answer (outcome "rejected")."""
    return Response(200, HTML_TYPE, rejected_page().encode(), "rejected")


def new_token() -> str:
    return "".join(_rng.choice("0123456789abcdef") for _ in range(64))


def challenge_page(token: str = "") -> str:
    """An F5-style JavaScript challenge: every GET answers it until a browser runs the script
    (``/TSPD/...``, served by ``replica.national_html``), which sets a cookie and reloads."""
    token = token or new_token()
    return (
        "<!DOCTYPE html><html><head><meta http-equiv=\"Content-Type\" "
        "content=\"text/html; charset=utf-8\"><meta http-equiv=\"Pragma\" content=\"no-cache\">"
        "<meta http-equiv=\"Expires\" content=\"-1\"><title></title>"
        "<script type=\"text/javascript\">"
        f"window[\"bobcmn\"]=\"{token}\";window.TSPD_101=\"{token[:32]}\";"
        "(function(){var t=document.createElement('script');"
        "t.src='/TSPD/08a4c1f5a9ab2000?type=7';document.head.appendChild(t);})();"
        "</script></head><body>"
        f"<noscript>{CHALLENGE_MARKER}<br/>Your support ID is: {support_id()}</noscript>"
        "</body></html>"
    )
