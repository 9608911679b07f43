"""Injected faults (replica/faults.py, docs/SCENARIOS.md "faults[]"): the wire behaviour of every
kind over real HTTP, `times` healing, path scoping, validation and the ground truth."""

from __future__ import annotations

import copy
import http.client
import json
import threading
import time
import unicodedata
from dataclasses import replace
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import pytest
import yaml

from replica import pages, provincial
from replica.faults import NOISE, TRUNCATE_AT
from replica.scenario import FAULT_KINDS, ScenarioError, load_scenario, parse_scenario
from replica.server import API_DETAIL, API_OFFICES, ReplicaServer
from replica.truth import expected_findings, expected_verdicts

ROOT = Path(__file__).resolve().parents[1]
FAULTS = "replica/scenarios/faults.yaml"
UA = "Mozilla/5.0 (X11; Linux x86_64) Chrome/126.0 Safari/537.36"


@pytest.fixture(scope="module")
def srv(replica):
    return replica(FAULTS)


@pytest.fixture(scope="module")
def rubric():
    from core.rubric import load_rubric

    return load_rubric()


def doc(name: str = FAULTS) -> dict:
    # libyaml (as core.yamlio): the same data as yaml.safe_load, in a tenth of the time
    return yaml.load((ROOT / name).read_text(encoding="utf-8"), Loader=yaml.CSafeLoader)


def variant(faults: list[dict], name: str = FAULTS):
    d = copy.deepcopy(doc(name))
    d["faults"] = faults
    return parse_scenario(d, "v.yaml")


def fetch(base: str, target: str, method: str = "GET", body: bytes | None = None,
          headers: dict | None = None, timeout: float = 10):
    """(status, headers with lower-case names, body bytes); redirects are not followed."""
    parts = urlsplit(base)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    try:
        conn.request(method, target, body=body, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    finally:
        conn.close()


def national(server: ReplicaServer, path: str, body: dict):
    headers = {"User-Agent": UA, "Origin": server.base_url, "Referer": server.base_url + "/",
               "Content-Type": "application/json"}
    return fetch(server.base_url, path, "POST", json.dumps(body).encode(), headers)


def apply_url(server: ReplicaServer, unit: str, service: str) -> tuple[str, object]:
    site = server.sites[unit]
    listed = site.by_service(service)
    return provincial.apply_path(site.platform, listed.code), listed


def healthy_body(server: ReplicaServer, unit: str, target: str) -> bytes:
    site = replace(server.sites[unit], faults=())
    parts = urlsplit(target)
    return provincial.respond(site, "GET", parts.path, dict(parse_qsl(parts.query))).body


def outcomes(server: ReplicaServer, unit: str, path: str) -> list[str]:
    return [r.outcome for r in server.portal_requests(unit) if r.path == path]


# ----------------------------------------------------------------------------- the scenario


def test_faults_yaml_has_every_kind_once_per_portal_or_procedure(srv):
    s = srv.scenario
    assert {f.kind for f in s.faults} == set(FAULT_KINDS)
    scopes = [f.unit or f.procedure for f in s.faults]
    assert len(scopes) == len(set(scopes))
    assert {p.unit for p in load_scenario(ROOT / "replica/scenarios/small.yaml").portals} <= {
        p.unit for p in s.portals}


# ----------------------------------------------------------------------------- wire behaviour


def test_down_is_an_alias_of_portal_down(srv):
    with pytest.raises(ConnectionRefusedError):
        fetch(srv.portal_urls["42"], "/")


@pytest.mark.slow  # over ~2 s of CPU: out of the fast loop
def test_slow_answers_after_the_delay(replica):
    server = replica(variant([{"kind": "slow", "unit": "04", "seconds": 1.5}]))
    t0 = time.monotonic()
    status, _, body = fetch(server.portal_urls["04"], "/")
    assert status == 200 and b"<html" in body and time.monotonic() - t0 >= 1.4
    assert outcomes(server, "04", "/") == ["slow"]


@pytest.mark.slow  # over ~2 s of CPU: out of the fast loop
def test_stop_ends_slow_answers_at_once():
    server = ReplicaServer(variant([{"kind": "slow", "unit": "04", "seconds": 60}])).start()
    done: list[float] = []
    url = server.portal_urls["04"]

    def request() -> None:
        try:
            fetch(url, "/", timeout=30)
        except OSError:
            pass
        done.append(time.monotonic())

    thread = threading.Thread(target=request)
    thread.start()
    time.sleep(0.5)
    t0 = time.monotonic()
    server.stop()
    thread.join(timeout=10)
    assert done and done[0] - t0 < 3 and time.monotonic() - t0 < 3


def test_http_error_only_on_the_faulted_service(srv):
    target, listed = apply_url(srv, "08", "birth_registration")
    base = srv.portal_urls["08"]
    status, headers, body = fetch(base, target)
    assert status == 503 and headers["content-type"].startswith("text/html") and b"503" in body
    assert fetch(base, f"/dich-vu-cong/tiep-nhan-online/nhap-thong-tin-ho-so?sid={listed.sid}"
                 )[0] == 503  # every page of its apply flow
    other, _ = apply_url(srv, "08", "marriage_registration")
    assert fetch(base, other)[0] == 200
    assert fetch(base, "/")[0] == 200
    assert fetch(base, "/dich-vu-cong/danh-sach-dich-vu-cong")[0] == 200
    assert "http_error" in outcomes(srv, "08", urlsplit(target).path)


def test_rate_limited_with_retry_after_on_igate_routes_and_xhr(srv):
    target, listed = apply_url(srv, "11", "marriage_registration")
    base = srv.portal_urls["11"]
    for t in (target, f"/vi/padsvc/apply-online/{listed.oid}",
              f"/pa/procedure/--detail?code={listed.code}",
              f"/pa/procedure/--detail?id={listed.oid}"):
        status, headers, _ = fetch(base, t)
        assert (status, headers.get("retry-after")) == (429, "1"), t
    birth = srv.sites["11"].by_service("birth_registration")
    assert fetch(base, f"/pa/procedure/--detail?code={birth.code}")[0] == 200
    assert fetch(base, "/vi/")[0] == 200
    assert fetch(base, "/pa/procedure/--search?page=0&size=20")[0] == 200


def test_forbidden_on_one_service(srv):
    target, _ = apply_url(srv, "14", "birth_registration")
    base = srv.portal_urls["14"]
    assert fetch(base, target)[0] == 403
    assert fetch(base, "/web/guest/trang-chu")[0] == 200
    assert fetch(base, apply_url(srv, "14", "marriage_registration")[0])[0] == 200


def test_rejected_portal_answers_200_with_the_block_page(srv):
    base = srv.portal_urls["15"]
    for target in ("/vi/", "/pa/procedure/--search?page=0"):
        status, _, body = fetch(base, target)
        assert status == 200 and pages.REJECTED_MARKER.encode() in body
    status, _, body = fetch(base, "/robots.txt")  # robots.txt is never faulted but by `robots`
    assert status == 200 and body.startswith(b"User-agent: *\nDisallow: /admin/")


def test_challenge_looks_like_the_f5_challenge_but_never_passes(srv):
    from crawler.pages import is_challenge  # the crawler's detector must recognise it

    status, _, body = fetch(srv.portal_urls["19"], "/")
    assert status == 200 and is_challenge(body)
    assert b".src=" not in body and b"cookie" not in body  # nothing that could earn the cookie


def test_redirect_loop_is_a_pair(srv):
    target, _ = apply_url(srv, "20", "birth_registration")
    base = srv.portal_urls["20"]
    status, headers, _ = fetch(base, target)
    assert status == 302 and headers["location"] == target + "&loop=1"
    status, headers, _ = fetch(base, headers["location"])
    assert status == 302 and headers["location"] == target
    assert fetch(base, "/")[0] == 200
    assert outcomes(srv, "20", urlsplit(target).path)[-2:] == ["redirect_loop"] * 2


def test_truncated_body_is_cut_with_a_correct_length(srv):
    target, _ = apply_url(srv, "22", "birth_registration")
    status, headers, body = fetch(srv.portal_urls["22"], target)
    whole = healthy_body(srv, "22", target)
    assert status == 200 and body == whole[:int(len(whole) * TRUNCATE_AT)]
    assert int(headers["content-length"]) == len(body) and b"</html>" not in body


def test_malformed_is_garbage_with_the_right_type(srv):
    status, headers, body = fetch(srv.portal_urls["25"], "/web/guest/trang-chu")
    assert status == 200 and headers["content-type"].startswith("text/html")
    assert body.startswith(b'<html><body><<div class=">') and NOISE in body
    with pytest.raises(UnicodeDecodeError):
        body.decode("utf-8")


def test_huge_page_has_the_size_asked(srv):
    target, listed = apply_url(srv, "31", "birth_registration")
    status, headers, body = fetch(srv.portal_urls["31"], target, timeout=60)
    assert status == 200 and len(body) == int(headers["content-length"])
    assert 0 <= len(body) - 40 * 2**20 < 1024  # plus the offsite link's real address
    assert body.startswith(b"<!DOCTYPE html>") and body.rstrip().endswith(b"</html>")
    assert listed.name.encode() in body[:20000]


def test_robots_disallows_everything_and_nothing_else(srv):
    base = srv.portal_urls["33"]
    assert fetch(base, "/robots.txt")[2] == b"User-agent: *\nDisallow: /\n"
    assert fetch(base, "/vi/")[0] == 200
    assert outcomes(srv, "33", "/robots.txt")[-1] == "robots"


def nfc(data: bytes, charset: str) -> str:
    return unicodedata.normalize("NFC", data.decode(charset))


def test_legacy_encoding_is_windows_1258_and_labelled(srv):
    base, site = srv.portal_urls["37"], srv.sites["37"]
    target, listed = apply_url(srv, "37", "birth_registration")
    for t in ("/web/guest/trang-chu", target):
        status, headers, body = fetch(base, t)
        assert status == 200
        assert headers["content-type"] == "text/html; charset=windows-1258"
        assert b'<meta charset="windows-1258">' in body and site.title.encode() not in body
        assert site.title in nfc(body, "windows-1258")
    assert listed.name in nfc(body, "windows-1258")
    assert "legacy_encoding" in outcomes(srv, "37", "/web/guest/eform")


def test_mislabelled_charset_keeps_utf8_under_a_latin1_label(srv):
    status, headers, body = fetch(srv.portal_urls["38"], "/")
    assert status == 200 and headers["content-type"] == "text/html; charset=iso-8859-1"
    assert b"<meta charset" not in body
    assert srv.sites["38"].title in body.decode("utf-8")


def test_times_heals_per_url(replica):
    server = replica(FAULTS, fresh=True)
    target, listed = apply_url(server, "40", "birth_registration")
    base = server.portal_urls["40"]
    assert [fetch(base, target)[0] for _ in range(3)] == [503, 200, 200]
    other = target + "&x=1"  # another URL: its own first answer fails
    assert [fetch(base, other)[0] for _ in range(2)] == [503, 200]
    assert outcomes(server, "40", "/web/guest/eform") == ["http_error", "ok", "ok",
                                                         "http_error", "ok"]


# ----------------------------------------------------------------------------- national side


def _fid(server: ReplicaServer, code: str) -> str:
    return server.portal.id_by_code[code]


def test_procedure_http_error_on_detail_offices_and_page(srv):
    fid = _fid(srv, "1.000656")
    assert national(srv, API_DETAIL, {"id": fid})[0] == 502
    assert national(srv, API_OFFICES, {"formalityId": fid})[0] == 502
    assert national(srv, API_DETAIL, {"id": _fid(srv, "1.001193")})[0] == 201
    assert fid in srv.portal.faulted_ids  # left out of the unfiltered office listing
    logged = [r for r in srv.requests if r.site == "national" and r.outcome == "http_error"]
    assert len(logged) >= 2 and {r.path for r in logged} == {API_DETAIL, API_OFFICES}


@pytest.mark.slow  # over ~2 s of CPU: out of the fast loop
def test_procedure_faults_on_the_json_api(replica):
    server = replica(variant([{"kind": "truncated", "procedure": "1.001193"},
                              {"kind": "redirect_loop", "procedure": "1.000656"},
                              {"kind": "malformed", "procedure": "1.013225"},
                              {"kind": "http_error", "procedure": "1.004194", "times": 1}]))
    status, _, body = national(server, API_DETAIL, {"id": _fid(server, "1.001193")})
    assert status == 201
    with pytest.raises(json.JSONDecodeError):
        json.loads(body)
    status, headers, _ = national(server, API_DETAIL, {"id": _fid(server, "1.000656")})
    assert status == 307 and headers["location"] == API_DETAIL + "?loop=1"  # POST stays POST
    status, headers, _ = fetch(server.base_url, API_DETAIL + "?loop=1", "POST",
                               json.dumps({"id": _fid(server, "1.000656")}).encode(),
                               {"User-Agent": UA, "Origin": "x", "Referer": "x"})
    assert status == 307 and headers["location"] == API_DETAIL
    status, headers, body = national(server, API_DETAIL, {"id": _fid(server, "1.013225")})
    assert status == 200 and headers["content-type"].startswith("application/json")
    with pytest.raises(ValueError):
        json.loads(body)
    healing = {"id": _fid(server, "1.004194")}
    assert [national(server, API_DETAIL, healing)[0] for _ in range(2)] == [503, 201]
    assert _fid(server, "1.004194") not in server.portal.faulted_ids  # heals: rows listed


# ----------------------------------------------------------------------------- validation


@pytest.mark.parametrize(("fault", "field"), [
    ({"kind": "meteor", "unit": "08"}, "faults[0].kind"),
    ({"kind": "blocked", "unit": "08"}, "faults[0].unit"),
    ({"kind": "robots", "procedure": "1.001193"}, "faults[0].procedure"),
    ({"kind": "legacy_encoding", "procedure": "1.001193"}, "faults[0].procedure"),
    ({"kind": "slow"}, "faults[0]"),
    ({"kind": "slow", "unit": "08", "procedure": "1.001193"}, "faults[0]"),
    ({"kind": "http_error", "unit": "08", "service": "school_enrolment"}, "faults[0].service"),
    ({"kind": "http_error", "unit": "08", "service": "nonsense"}, "faults[0].service"),
    ({"kind": "robots", "unit": "08", "service": "birth_registration"}, "faults[0].service"),
    ({"kind": "http_error", "procedure": "1.001193", "service": "x"}, "faults[0].service"),
    ({"kind": "forbidden", "unit": "08", "times": 2}, "faults[0].times"),
    ({"kind": "http_error", "unit": "08", "times": 0}, "faults[0].times"),
    ({"kind": "http_error", "unit": "08", "status": 404}, "faults[0].status"),
    ({"kind": "slow", "unit": "08", "seconds": -1}, "faults[0].seconds"),
    ({"kind": "huge", "unit": "08", "megabytes": "big"}, "faults[0].megabytes"),
    ({"kind": "rate_limited", "unit": "08", "retry_after": 1.5}, "faults[0].retry_after"),
    ({"kind": "legacy_encoding", "unit": "37", "charset": "utf-16"}, "faults[0].charset"),
    ({"kind": "legacy_encoding", "unit": "79"}, "faults[0].kind"),
    ({"kind": "mislabelled_charset", "unit": "11"}, "faults[0].kind"),
    ({"kind": "forbidden", "unit": "08", "status": 403}, "faults[0].status"),
    ({"kind": "forbidden", "unit": "03"}, "faults[0].unit"),
    ({"kind": "forbidden", "unit": 8}, "faults[0].unit"),
])
def test_validation_names_file_and_field(fault, field):
    with pytest.raises(ScenarioError) as err:
        variant([fault])
    assert err.value.field == field and str(err.value).startswith(f"v.yaml: field '{field}'")


def test_params_default():
    s = variant([{"kind": "slow", "unit": "04"}, {"kind": "http_error", "unit": "08"},
                 {"kind": "rate_limited", "unit": "11"}, {"kind": "huge", "unit": "31"},
                 {"kind": "legacy_encoding", "unit": "37"}])
    assert [f.param(next(iter(FAULT_KINDS[f.kind].params))) for f in s.faults] == [
        60, 503, 1, 40, "windows-1258"]


# ----------------------------------------------------------------------------- truth


def test_service_fault_fails_only_that_services_portal_observation(rubric):
    base = variant([], "replica/scenarios/small.yaml")
    faulted = variant([{"kind": "http_error", "unit": "01", "service": "building_permit"}],
                      "replica/scenarios/small.yaml")
    before, after = expected_verdicts(base, rubric), expected_verdicts(faulted, rubric)
    changed = {k for k in before if before[k] != after[k]}
    # school_enrolment's flow still takes payment: the capability stays met
    assert changed == {("01", "building_permit", "national_sso"),
                       ("01", "building_permit", "online_payment")}
    assert {after[k] for k in changed} == {("cannot_test", "http_5xx")}
    both = variant([{"kind": "http_error", "unit": "01", "service": s}
                    for s in ("building_permit", "school_enrolment")],
                   "replica/scenarios/small.yaml")
    # with both paying flows unreadable, the capability cannot tell
    assert expected_verdicts(both, rubric)[("01", "online_fee_payment", "online_payment")] == (
        "cannot_test", "http_5xx")
    assert after[("01", "building_permit", "level4_full")] == ("met", "")  # national FULL
    assert after[("01", "building_permit", "offered_online")] == before[
        ("01", "building_permit", "offered_online")]  # national criteria untouched
    findings = expected_findings(faulted, rubric)
    assert ("01", "building_permit") not in findings
    assert {k: v for k, v in expected_findings(base, rubric).items()
            if k != ("01", "building_permit")} == findings


def test_fault_on_an_information_only_service_changes_nothing(rubric):
    small = "replica/scenarios/small.yaml"  # 01 lists social_protection as information only
    faulted = variant([{"kind": "forbidden", "unit": "01", "service": "social_protection"}], small)
    assert expected_verdicts(faulted, rubric) == expected_verdicts(variant([], small), rubric)


def test_service_fault_without_a_national_met_is_cannot_test(rubric):
    small = "replica/scenarios/small.yaml"
    base = variant([], small)
    faulted = variant([{"kind": "forbidden", "unit": "01", "service": "land_title"}], small)
    before, after = expected_verdicts(base, rubric), expected_verdicts(faulted, rubric)
    assert before[("01", "land_title", "level4_full")] == ("met", "")  # the portal's `full`
    assert after[("01", "land_title", "level4_full")] == ("cannot_test", "blocked")
    assert ("01", "land_title") in expected_findings(base, rubric)
    assert ("01", "land_title") not in expected_findings(faulted, rubric)


def test_whole_unit_fault_fails_every_service_of_the_unit(rubric):
    t = expected_verdicts(variant([{"kind": "robots", "unit": "01"}],
                                  "replica/scenarios/small.yaml"), rubric)
    assert t[("01", "death_registration", "national_sso")] == ("cannot_test", "robots_disallowed")
    assert t[("01", "land_title", "level4_full")] == ("cannot_test", "robots_disallowed")


def test_procedure_faults_fail_like_blocked_with_their_reason(rubric):
    t = expected_verdicts(variant([{"kind": "slow", "procedure": "2.000986"}],
                                  "replica/scenarios/small.yaml"), rubric)
    assert t[("04", "birth_registration", "offered_online")] == ("cannot_test", "timeout")


def test_encoding_and_healing_faults_leave_the_truth_alone(rubric):
    kept = [f for f in doc()["faults"] if f["kind"] in ("legacy_encoding", "mislabelled_charset")
            or "times" in f]
    assert len(kept) == 3
    others = [f for f in doc()["faults"] if f not in kept]
    with_them = variant(others + kept + [{"kind": "slow", "procedure": "1.001193", "times": 1},
                                         {"kind": "rate_limited", "unit": "37", "times": 1}])
    without = variant(others)
    assert expected_verdicts(with_them, rubric) == expected_verdicts(without, rubric)
    assert expected_findings(with_them, rubric) == expected_findings(without, rubric)
