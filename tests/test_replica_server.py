"""The replica's HTTP behaviour and response shapes (compared with real responses in ../shared)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from replica.server import API_CATALOGUE, API_DETAIL, API_OFFICES, API_PROVINCES, ReplicaServer

ROOT = Path(__file__).resolve().parents[1]
REAL = ROOT.parent / "shared" / "research" / "portals" / "dvcqg_new"
SMALL = "replica/scenarios/small.yaml"
FULL = "replica/scenarios/full.yaml"
UA = ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
      "Chrome/126.0 Safari/537.36")

OFFICE_ROW_KEYS = {
    "id", "departmentId", "departmentName", "departmentCode", "departmentLevel", "departmentType",
    "citizenUrl", "employeeUrl", "implementLevel", "formalityId", "formalityCaseId",
    "formalityCaseName", "formalityCaseCode", "formalityCode", "allowAuthorizationToSubmit",
    "isTesting", "isEssential", "formalityTargetType",
}


def real(name: str) -> Path:
    path = REAL / name
    if not path.exists():
        pytest.skip(f"real response {path} not available (../shared absent)")
    return path


def browser_headers(srv: ReplicaServer) -> dict[str, str]:
    return {"User-Agent": UA, "Origin": srv.base_url, "Referer": srv.base_url + "/",
            "Content-Type": "application/json", "Accept": "application/json"}


def call(srv: ReplicaServer, path: str, body=None, *, method: str = "POST", headers=None):
    """(status, content type, text) of one request; 4xx/5xx are returned, not raised."""
    data = None if body is None else json.dumps(body).encode()
    hdrs = browser_headers(srv) if headers is None else headers
    req = urllib.request.Request(srv.base_url + path, data=data, headers=hdrs, method=method)
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, resp.headers.get("Content-Type", ""), resp.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers.get("Content-Type", ""), exc.read().decode()


def api(srv: ReplicaServer, path: str, body: dict) -> dict:
    status, ctype, text = call(srv, path, body)
    assert status == 201, (status, text[:300])
    assert ctype.startswith("application/json")
    env = json.loads(text)
    assert env["code"] == "OK" and env["message"] == "OK"
    return env["data"]


def page_all(srv, path, body, key="items"):
    out, last, pages = [], "", 0
    while True:
        data = api(srv, path, {**body, "limit": 200, "lastId": last})
        pages += 1
        out += data[key]
        if len(data[key]) < 200 or not data["lastId"]:
            return out, data["total"], pages
        last = data["lastId"]


@pytest.fixture
def small(replica) -> ReplicaServer:
    return replica(SMALL)


# ----------------------------------------------------------------------------- provinces


def test_province_list_matches_the_real_shape(small):
    real_env = json.loads(real("province-vn_list-by-citizen.response.json").read_text())
    status, _, text = call(small, API_PROVINCES, {})
    env = json.loads(text)
    assert status == 201
    assert env.keys() == real_env.keys()
    assert env["data"].keys() == real_env["data"].keys()
    rows = env["data"]["rows"]
    assert len(rows) == 34 == env["data"]["count"]
    assert all(r.keys() == real_env["data"]["rows"][0].keys() for r in rows)
    assert {(r["code"], r["name"]) for r in rows} == {
        (r["code"], r["name"]) for r in real_env["data"]["rows"]}
    assert all(r["state"] == "ACTIVE" and re.match(r"^[0-9a-f-]{36}$", r["id"]) for r in rows)


# ----------------------------------------------------------------------------- catalogue


def test_catalogue_rows_have_the_real_keys(small):
    with real("catalog.list-all-public-formality-by-citizen.jsonl").open() as f:
        real_keys = set(json.loads(f.readline()))
    data = api(small, API_CATALOGUE, {"limit": 50})
    assert set(data) >= {"items", "lastId", "total"}
    assert len(data["items"]) == 50
    for item in data["items"]:
        assert set(item) == real_keys
        assert re.match(r"^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$",
                        item["id"])


@pytest.mark.slow  # pages the whole catalogue
def test_catalogue_pages_every_item_once_in_id_order(replica):
    srv = replica(FULL)
    items, total, pages = page_all(srv, API_CATALOGUE, {"q": ""})
    ids = [i["id"] for i in items]
    assert len(ids) == len(set(ids)) == total == 5670
    assert pages == 29
    assert ids == sorted(ids, reverse=True)
    rubric_codes = {p.code for s in srv.rubric.services for p in s.procedures}
    assert rubric_codes <= {i["code"] for i in items}


def test_catalogue_last_page_and_past_the_end(small):
    data = api(small, API_CATALOGUE, {"limit": 200})
    total = data["total"]
    assert total == 473  # 23 scenario procedures + 450 filler
    items, t, pages = page_all(small, API_CATALOGUE, {})
    assert t == total and len(items) == total and pages == 3
    after = api(small, API_CATALOGUE, {"limit": 200, "lastId": items[-1]["id"]})
    assert after["items"] == [] and after["lastId"] is None


def test_catalogue_search_by_name(small):
    data = api(small, API_CATALOGUE, {"limit": 200, "q": "khai sinh"})
    assert {i["code"] for i in data["items"]} == {"1.001193", "2.000986"}


@pytest.mark.parametrize("limit", [201, 0, "20"])
def test_catalogue_bad_limit_is_400(small, limit):
    status, ctype, text = call(small, API_CATALOGUE, {"limit": limit})
    assert status == 400 and ctype.startswith("application/json")
    env = json.loads(text)
    assert env["code"] == "BAD_REQUEST" and env["data"] is None


# ----------------------------------------------------------------------------- details


def _id(srv, code):
    return srv.portal.id_by_code[code]


def test_detail_has_every_real_top_level_key(small):
    real_detail = json.loads(real("details/1.001193.json").read_text())
    data = api(small, API_DETAIL, {"id": _id(small, "1.001193")})
    assert set(data) == set(real_detail["data"])
    real_method = real_detail["data"]["executionMethods"][0]
    for m in data["executionMethods"]:
        assert set(m) == set(real_method)
        assert all(set(f) == set(real_method["fees"][0]) for f in m["fees"])
    assert set(data["cases"][0]) == set(real_detail["data"]["cases"][0])
    assert set(data["procedureProposal"]) == set(real_detail["data"]["procedureProposal"])


def test_detail_values_follow_the_scenario(small):
    birth = api(small, API_DETAIL, {"id": _id(small, "1.001193")})
    assert birth["code"] == "1.001193" and birth["name"] == "Thủ tục đăng ký khai sinh"
    assert [m["submissionMethod"] for m in birth["executionMethods"]] == [
        "ONLINE", "POSTAL", "DIRECT"]
    assert birth["executionMethods"][0]["fees"] == [
        {"type": "SERVICE_FEE", "value": 0, "currencyId": "", "attachment": None,
         "description": ""}]
    assert (birth["isWard"], birth["isProvince"], birth["isMinistry"]) == (True, False, False)
    assert [c["code"] for c in birth["cases"]] == ["1.001193.01", "1.001193.02"]
    assert birth["procedureProposal"]["proposalNumber"] == "163/QĐ-BTP"
    assert birth["departmentPromulgateCode"] == "G15"
    assert birth["departmentPromulgateName"] == "Bộ Tư pháp"
    assert birth["isOfflineOnly"] is False

    residence = api(small, API_DETAIL, {"id": _id(small, "1.004194")})
    online = residence["executionMethods"][0]
    assert online["submissionMethod"] == "ONLINE"
    assert [f["value"] for f in online["fees"]] == [7000, 5000, 0]
    assert residence["isVertical"] is True and residence["isFullProcess"] is True


def test_filler_details_are_served_too(small):
    filler = next(i for i in small.portal.items if ".09" in i["code"])
    data = api(small, API_DETAIL, {"id": filler["id"]})
    assert data["code"] == filler["code"] and data["name"] == filler["name"]


def test_unknown_detail_is_an_error_envelope(small):
    status, _, text = call(small, API_DETAIL, {"id": "019d0000-0000-7000-8000-000000000000"})
    env = json.loads(text)
    assert 400 <= status < 500 and env["code"] != "OK" and env["data"] is None
    status, _, text = call(small, API_DETAIL, {})
    assert status == 400 and json.loads(text)["code"] == "BAD_REQUEST"


# ----------------------------------------------------------------------------- offices


def test_office_rows_for_a_procedure(small):
    data = api(small, API_OFFICES, {"formalityId": _id(small, "1.001193"), "limit": 200,
                                    "lastId": ""})
    rows = data["rows"]
    assert "items" not in data  # the office list answers `rows`, as the real one does
    # Hà Nội 3+2 wards and a ward's sub-unit, HCM 4, Huế 2
    assert data["total"] == len(rows) == 3 + 2 + 1 + 4 + 2
    for r in rows:
        assert set(r) == OFFICE_ROW_KEYS
        assert r["formalityCode"] == "1.001193" and r["formalityCaseCode"] == "1.001193.01"
        assert r["departmentLevel"] == "WARD"
        assert re.match(r"^H\d{2}\.1\d\d(\.1)?$", r["departmentCode"])  # real form: H26.101
        assert r["departmentName"].startswith(("UBND phường ", "UBND xã ", "Văn phòng HĐND"))
    hanoi = [r for r in rows if r["departmentCode"].startswith("H26.")]
    assert sorted(r["implementLevel"] for r in hanoi) == ["FULL"] * 4 + ["PARTIAL"] * 2
    assert "H26.105.1" in {r["departmentCode"] for r in hanoi}  # explicit: served verbatim
    apply = "/dich-vu-cong/tiep-nhan-online/chon-truong-hop-ho-so?ma=1.001193"  # Hà Nội: eform
    assert all(r["citizenUrl"] == small.portal_urls["01"] + apply for r in hanoi)
    hue = [r for r in rows if r["departmentCode"].startswith("H57.")]
    assert [r["citizenUrl"] for r in hue] == ["", ""]
    assert len({r["departmentCode"] for r in rows}) == len(rows)


def test_office_rows_filters_and_levels(small):
    fid = _id(small, "2.001610")
    rows = api(small, API_OFFICES, {"formalityId": fid, "limit": 50})["rows"]
    by_code = {r["departmentCode"]: r for r in rows}
    assert set(by_code) == {"H26.12", "H29.12"}  # department: Hxx.<sector>
    assert by_code["H26.12"]["departmentName"] == "Sở Tài chính thành phố Hà Nội"
    assert by_code["H26.12"]["departmentLevel"] == "PROVINCE"
    assert by_code["H29.12"]["isTesting"] is True
    only = api(small, API_OFFICES, {"formalityId": fid, "departmentCode": "H26"})["rows"]
    assert [r["departmentCode"] for r in only] == ["H26.12"]
    agency = api(small, API_OFFICES, {"formalityId": _id(small, "1.004194")})["rows"]
    assert [(r["departmentCode"], r["departmentLevel"], r["departmentName"]) for r in agency] == [
        ("G01.11", "MINISTRY", "Bộ Công an")]
    full = api(small, API_OFFICES, {"formalityId": _id(small, "1.001193"),
                                    "implementLevel": "FULL"})
    assert full["total"] == 4  # 3 FULL wards and the FULL sub-unit H26.105.1


def test_office_rows_page_when_many_wards(replica):
    srv = replica(FULL)
    counts = {fid: len(rows) for fid, rows in srv.portal.rows_by_formality.items()}
    fid = max(counts, key=counts.get)
    assert counts[fid] > 200
    rows, total, pages = page_all(srv, API_OFFICES, {"formalityId": fid}, key="rows")
    assert pages == 2 and total == counts[fid] == len(rows)
    assert len({r["id"] for r in rows}) == len(rows)


def test_unfiltered_office_listing_pages_everything_but_faulted(small):
    rows, total, _ = page_all(small, API_OFFICES, {}, key="rows")
    assert total == len(rows) == len(small.portal.office_rows)  # the blocked one has no rows


# ----------------------------------------------------------------------------- the firewall


@pytest.mark.parametrize("ua", ["Scrapy/2.13.3 (+https://scrapy.org)", "curl/8.5.0",
                                "python-requests/2.32.3", ""])
def test_non_browser_user_agent_gets_the_block_page(small, ua):
    headers = {**browser_headers(small), "User-Agent": ua}
    for path in (API_PROVINCES, API_CATALOGUE):
        status, ctype, text = call(small, path, {}, headers=headers)
        assert status == 200 and ctype.startswith("text/html")
        assert "Request Rejected" in text
        assert re.search(r"Your support ID is: \d+", text)


@pytest.mark.parametrize("missing", ["Origin", "Referer"])
def test_api_post_without_origin_or_referer_is_blocked(small, missing):
    headers = {k: v for k, v in browser_headers(small).items() if k != missing}
    status, _, text = call(small, API_CATALOGUE, {"limit": 5}, headers=headers)
    assert status == 200 and "The requested URL was rejected" in text


def test_get_answers_the_javascript_challenge(small):
    for path in ("/", "/thu-tuc-hanh-chinh/abc", API_CATALOGUE, "/nonexistent?x=1"):
        status, ctype, text = call(small, path, method="GET", headers={"User-Agent": UA})
        assert status == 200 and ctype.startswith("text/html")
        assert "Please enable JavaScript to view the page content." in text


def test_blocked_fault_rejects_detail_and_office_list(small):
    fid = _id(small, "2.000986")
    for path, body in ((API_DETAIL, {"id": fid}), (API_OFFICES, {"formalityId": fid})):
        status, _, text = call(small, path, body)
        assert status == 200 and "Request Rejected" in text
    # the catalogue still lists it
    data = api(small, API_CATALOGUE, {"limit": 200, "q": "2.000986"})
    assert [i["code"] for i in data["items"]] == ["2.000986"]


def test_unknown_api_route_is_404_envelope(small):
    status, _, text = call(small, "/api/v1/submitting/dossier/submit", {"x": 1})
    assert status == 404 and json.loads(text)["code"] == "NOT_FOUND"


# ----------------------------------------------------------------------------- server API


def test_request_log_records_method_path_and_body(replica):
    srv = replica(SMALL, fresh=True)
    api(srv, API_CATALOGUE, {"limit": 1, "q": "x"})
    call(srv, "/?x=1", method="GET", headers={"User-Agent": "curl/8"})
    call(srv, "/api/v1/submitting/dossier/submit", {"a": 1})
    log = srv.requests
    assert [(r.method, r.path, r.outcome) for r in log] == [
        ("POST", API_CATALOGUE, "ok"), ("GET", "/", "rejected"),
        ("POST", "/api/v1/submitting/dossier/submit", "not_found")]
    assert log[0].json() == {"limit": 1, "q": "x"} and log[0].status == 201
    assert log[1].query == "x=1"
    assert log[0].headers["user-agent"] == UA
    assert log[1]["method"] == "GET" and log[1]["path"] == "/"  # item access works too
    assert srv.request_log == log
    assert [r.path for r in srv.posts("/api/v1/submitting/dossier")] == [
        "/api/v1/submitting/dossier/submit"]
    srv.clear_requests()
    assert srv.requests == []


@pytest.mark.slow  # over ~2 s of CPU: out of the fast loop
def test_context_manager_starts_and_stops(replica):
    base = replica(SMALL)
    with ReplicaServer(base.scenario, rubric=base.rubric) as srv:
        assert srv.port != 0 and srv.base_url == f"http://127.0.0.1:{srv.port}"
        assert api(srv, API_PROVINCES, {})["count"] == 34
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(srv.base_url + "/", timeout=2)


def test_cli_serve_prints_the_base_url_and_stops(tmp_path):
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "replica", "serve", "--scenario", SMALL],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=env)
    try:
        line = proc.stdout.readline().strip()
        assert re.match(r"^http://127\.0\.0\.1:\d+$", line), line
        req = urllib.request.Request(line + API_PROVINCES, data=b"{}", method="POST", headers={
            "User-Agent": UA, "Origin": line, "Referer": line + "/"})
        with urllib.request.urlopen(req, timeout=10) as resp:
            assert resp.status == 201
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    assert proc.returncode == 0


def test_cli_help():
    out = subprocess.run([sys.executable, "-m", "replica", "serve", "--help"], cwd=ROOT,
                         capture_output=True, text=True, check=True).stdout
    assert "--scenario" in out and "--port" in out
