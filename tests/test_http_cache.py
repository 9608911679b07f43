"""Conditional requests: the replica's validators and 304s, and the crawler's always-ask cache."""

from __future__ import annotations

import urllib.request
from urllib.error import HTTPError

from scrapy.http import HtmlResponse, Request, Response
from scrapy.settings import Settings

from crawler.httpcache import RevalidatePolicy

UA = {"User-Agent": "Mozilla/5.0 (compatible; dvc-audit-test)"}


def _get(url: str, **headers: str) -> tuple[int, dict[str, str], bytes]:
    req = urllib.request.Request(url, headers={**UA, **headers})
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, dict(resp.headers.items()), resp.read()
    except HTTPError as err:  # urllib raises on 304
        return err.code, dict(err.headers.items()), err.read()


def test_portal_pages_revalidate_with_304(replica):
    srv = replica("replica/scenarios/small.yaml")
    url = next(iter(srv.portal_urls.values())) + "/"
    status, headers, body = _get(url)
    assert status == 200 and body
    etag, stamp = headers["ETag"], headers["Last-Modified"]
    assert headers["Cache-Control"] == "no-cache"  # may be kept, must be asked again
    status, headers, body = _get(url, **{"If-None-Match": etag})
    assert status == 304 and body == b"" and headers["ETag"] == etag
    status, _, _ = _get(url, **{"If-Modified-Since": stamp})
    assert status == 304
    status, _, body = _get(url, **{"If-None-Match": '"something-else"'})
    assert status == 200 and body


def test_national_api_and_challenges_offer_no_validators(replica):
    srv = replica("replica/scenarios/small.yaml")
    status, headers, _ = _get(srv.base_url + "/thu-tuc-hanh-chinh/x")  # JS challenge page
    assert status == 200 and "ETag" not in headers
    assert headers["Cache-Control"] == "no-store"
    req = urllib.request.Request(
        srv.base_url + "/api/v1/configuring/province-vn/list-by-citizen", data=b"{}",
        headers={**UA, "Origin": srv.base_url, "Referer": srv.base_url + "/",
                 "Content-Type": "application/json"}, method="POST")
    with urllib.request.urlopen(req, timeout=10) as resp:
        assert "ETag" not in resp.headers and resp.headers["Cache-Control"] == "no-store"


def test_policy_always_asks_and_never_hides_errors():
    policy = RevalidatePolicy(Settings({"HTTPCACHE_IGNORE_SCHEMES": ["file"]}))
    request = Request("http://127.0.1.1:8000/")
    stored = HtmlResponse("http://127.0.1.1:8000/", body=b"<html></html>", headers={
        "ETag": '"abc"', "Cache-Control": "max-age=3600", "Date": "Tue, 24 Nov 2026 00:00:00 GMT"})
    assert policy.should_cache_response(stored, request)
    assert not policy.is_cached_response_fresh(stored, request)  # even with max-age
    assert request.headers[b"If-None-Match"] == b'"abc"'  # asked with the stored validator
    assert policy.is_cached_response_valid(stored, Response(request.url, status=304), request)
    assert not policy.is_cached_response_valid(stored, Response(request.url, status=503), request)
    assert not policy.should_cache_request(Request(request.url, meta={"playwright": True}))
    bare = HtmlResponse(request.url, body=b"x")  # no validator: nothing to revalidate with
    assert not policy.should_cache_response(bare, request)
