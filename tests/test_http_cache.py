"""Conditional requests: the replica's validators and 304s, the crawler's always-ask cache, and
the reuse window of re-runs (--reuse-within)."""

from __future__ import annotations

import time
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.error import HTTPError

import pytest
from scrapy.http import HtmlResponse, Request, Response, TextResponse
from scrapy.settings import Settings

from app.jobs import run_audit
from core import store
from core.rubric import load_rubric
from crawler.httpcache import REUSED, RevalidatePolicy, stamp, usable
from replica.scenario import load_scenario
from replica.server import ReplicaServer
from reports.report import write_reports
from reports.report_model import load_reused

SMALL = Path(__file__).resolve().parents[1] / "replica" / "scenarios" / "small.yaml"

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


# --- the reuse window (--reuse-within) ---------------------------------------------------------

WINDOW = 3600.0


def _policy(window: float = WINDOW) -> RevalidatePolicy:
    return RevalidatePolicy(Settings({"HTTPCACHE_IGNORE_SCHEMES": ["file"],
                                      "DVC_REUSE_WITHIN": window}))


def _json(body: bytes, status: int = 201) -> Response:
    return TextResponse(API_URL, body=body, status=status,
                        headers={"Content-Type": "application/json; charset=utf-8"})


API_URL = "http://127.0.0.1:8000/api/v1/configuring/province-vn/list-by-citizen"
PAGE = b"<html><body><p>M\xc3\xa3 th\xe1\xbb\xa7 t\xe1\xbb\xa5c 1.000001</p></body></html>"


@pytest.mark.parametrize(("answer", "reusable"), [
    (_json(b'{"code":"OK","data":{"rows":[]}}'), True),  # the API answers its POSTs 201
    (_json(b'{"code":"OK","data":[]}', status=200), True),
    (_json(b'{"code":"ERROR","message":"x"}'), False),  # an API error is no observation
    (_json(b'{"code":"OK","data":{"ro'), False),  # truncated JSON
    (_json(b'{"code":"OK","data":[]}', status=503), False),
    (HtmlResponse("http://127.0.1.1:8000/", body=PAGE), True),
    (HtmlResponse("http://127.0.1.1:8000/", body=PAGE[:40]), False),  # truncated page
    (HtmlResponse("http://127.0.1.1:8000/", body=b"<html><body>Request Rejected. The "
                  b"requested URL was rejected.</body></html>"), False),
    (HtmlResponse("http://127.0.1.1:8000/", body=b"<html><body><script src='/TSPD/x'>"
                  b"</script>Please enable JavaScript to view the page content</body></html>"),
     False),  # a challenge
    (TextResponse("http://127.0.1.1:8000/robots.txt", body=b"User-agent: *\nDisallow:\n",
                  headers={"Content-Type": "text/plain"}), True),
])
def test_only_answers_read_as_observations_are_reusable(answer: Response, reusable: bool):
    assert usable(answer) is reusable
    request = Request(answer.url, method="POST", meta={"cache_timestamp": time.time() - 60})
    assert _policy().should_cache_response(answer, request) is reusable
    assert _policy().is_cached_response_fresh(answer, request) is reusable


def test_an_answer_is_fresh_only_inside_the_window():
    answer = _json(b'{"code":"OK","data":[]}')
    young = Request(API_URL, method="POST", meta={"cache_timestamp": time.time() - 60})
    old = Request(API_URL, method="POST", meta={"cache_timestamp": time.time() - WINDOW - 60})
    assert _policy().is_cached_response_fresh(answer, young)
    assert not _policy().is_cached_response_fresh(answer, old)
    assert not _policy(0).is_cached_response_fresh(answer, young)  # default: always ask


def test_evidence_from_a_reused_answer_keeps_the_time_it_was_received():
    stored = time.time() - 600
    request = Request(API_URL, method="POST", meta={"cache_timestamp": stored})
    answer = _json(b'{"code":"OK","data":[]}').replace(request=request)
    item = {"kind": "catalogue", "observed_at": store.utcnow(), "data": {"complete": True}}
    assert stamp(dict(item), answer) == item  # asked tonight: unchanged
    answer.flags.append(REUSED)
    stamped = stamp(dict(item), answer)
    when = datetime.fromtimestamp(stored, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert stamped["observed_at"] == when < item["observed_at"]
    assert stamped["data"] == {"complete": True, "reused_at": when}


def test_the_run_a_rerun_reuses_is_recent_complete_and_of_the_same_target(tmp_path):
    db = store.open_db(tmp_path / "audit.db")
    runs = {name: store.start_run(db, target=target, rubric_version=rubric, engine_version="e")
            for name, target, rubric in (("done", "http://a", "r"), ("other", "http://b", "r"),
                                         ("old_rubric", "http://a", "q"),
                                         ("broken", "http://a", "r"), ("now", "http://a", "r"))}
    for name in ("done", "other", "old_rubric"):
        store.finish_run(db, runs[name], "complete")
    store.finish_run(db, runs["broken"], "incomplete")
    assert store.reusable_run(db, "http://a", WINDOW, runs["now"]) == runs["done"]
    assert store.reusable_run(db, "http://c", WINDOW, runs["now"]) is None
    db["runs"].update(runs["done"], {"finished_at": "2026-01-01T00:00:00Z"})  # too old
    assert store.reusable_run(db, "http://a", WINDOW, runs["now"]) is None


@pytest.fixture(scope="module")
def reruns(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The small scenario (a blocked procedure, a portal down, a portal blocked) audited three
    times by one replica: first, again reusing what is younger than an hour, then with no window.
    """
    out = tmp_path_factory.mktemp("reuse")
    runs: dict[str, Any] = {}
    with ReplicaServer(load_scenario(SMALL)) as server:
        for name, hours in (("first", 1), ("reusing", 1), ("asking", 0)):
            server.clear_requests()
            result = run_audit(server.base_url, out, scenario=str(SMALL), echo=lambda _: None,
                               quiet=True, portal_list=server.portal_list(),
                               reuse_within=timedelta(hours=hours))
            runs[name] = (result, list(server.requests))
    return runs


def _verdicts(result: Any) -> dict[tuple[str, str, str], tuple[str, str]]:
    rows = store.load_verdicts(store.open_db(result.db_path), result.run_id)
    return {(v["unit_code"], v["service_id"], v["criterion_id"]): (v["verdict"], v["reason"])
            for v in rows}


def _evidence(result: Any, kinds: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    return store.load_evidence(store.open_db(result.db_path), result.run_id, kinds)


@pytest.mark.slow
@pytest.mark.browser
def test_a_rerun_inside_the_window_gives_the_same_verdicts(reruns):
    first, reusing = reruns["first"][0], reruns["reusing"][0]
    assert first.status == reusing.status == "complete"
    assert _verdicts(reusing) == _verdicts(first)
    assert ("cannot_test", "refused") in set(_verdicts(first).values())  # faults are in it


@pytest.mark.slow
@pytest.mark.browser
def test_a_rerun_inside_the_window_asks_only_what_could_not_be_read(reruns):
    asked_first, asked_again = reruns["first"][1], reruns["reusing"][1]
    api = [r for r in asked_first if r.path.startswith("/api/")]
    assert len(api) > 20
    api_again = [r for r in asked_again if r.path.startswith("/api/")]
    # the blocked procedure's requests, asked again and blocked again; nothing else
    assert api_again and all(r.outcome != "ok" for r in api_again)
    failed_before = {(r.path, r.body) for r in api if r.outcome != "ok"}
    assert {(r.path, r.body) for r in api_again} <= failed_before
    portals_first = {r.site for r in asked_first if r.site != "national"}
    portals_again = {r.site for r in asked_again if r.site != "national"}
    assert len(portals_first) > 3 and portals_again == {"48"}  # only the blocked one
    # the portal that was down is tried again (refused: the replica never sees it)
    down = [e for e in _evidence(reruns["reusing"][0], ("portal",)) if e["reason"] == "refused"]
    assert down and "reused_from" not in down[0]["data"]


@pytest.mark.slow
@pytest.mark.browser
def test_reused_observations_keep_their_time_and_say_where_they_come_from(reruns, tmp_path):
    first, reusing = reruns["first"][0], reruns["reusing"][0]
    db = store.open_db(first.db_path)
    finished = store.get_run(db, first.run_id)["finished_at"]
    seen = {(e["kind"], e["url"]): e["observed_at"] for e in _evidence(first)}
    portal = [e for e in _evidence(reusing, ("portal_list", "portal_apply"))]
    assert portal and all(e["data"]["reused_from"] == first.run_id for e in portal)
    assert all(e["observed_at"] == seen[(e["kind"], e["url"])] for e in portal)
    details = _evidence(reusing, ("procedure_detail",))
    assert details and all(e["data"]["reused_at"] <= finished for e in details)
    assert all(e["observed_at"] == e["data"]["reused_at"] for e in details)
    reused = load_reused(db, reusing.run_id)
    assert reused["count"] > len(portal) and reused["total"] > reused["count"]
    assert load_reused(db, first.run_id) is None
    reports = write_reports(db, load_rubric(), tmp_path, reusing.run_id)
    shown = f"{reused['count']} trên {reused['total']} quan sát lấy lại từ các lượt trước"
    assert shown in reports["html"].read_text(encoding="utf-8")


@pytest.mark.slow
@pytest.mark.browser
def test_with_no_window_every_page_is_asked_again(reruns):
    asked_first, (result, asked) = reruns["first"][1], reruns["asking"]
    api = [r for r in asked if r.path.startswith("/api/")]
    assert len(api) == len([r for r in asked_first if r.path.startswith("/api/")])
    assert {r.site for r in asked} == {r.site for r in asked_first}
    assert not any("reused_at" in e["data"] or "reused_from" in e["data"]
                   for e in _evidence(result))
