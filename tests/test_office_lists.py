"""Office lists (`list-department-url-by-citizen`) asked per target type, checked row by row,
and paged down when a page fails (crawler/officelist.py), against the replica's two server
behaviours (docs/SCENARIOS.md "National API behaviour"); every verdict equals the truth."""

from __future__ import annotations

import dataclasses
import json
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from app.jobs import AuditResult, run_audit
from core import store
from core.rubric import load_rubric
from crawler import officelist
from crawler.officelist import OfficeList, check_rows, request_targets, step_down
from crawler.spiders.national import API
from replica.scenario import ScenarioError, load_scenario, parse_scenario
from replica.server import ReplicaServer
from replica.truth import expected_verdicts, office_list_failures
from tests.shared_data import PORTALS as SHARED_PORTALS

PROJECT = Path(__file__).resolve().parents[1]
SCENARIO = PROJECT / "replica" / "scenarios" / "office_lists.yaml"
HEADERS = {"User-Agent": "Mozilla/5.0 (test)", "Origin": "x", "Referer": "x/"}


# ----------------------------------------------------------------------------- pure logic


def test_target_names_map_to_request_types() -> None:
    assert request_targets(["Công dân Việt Nam"]) == ("VIETNAMESE_CITIZEN",)
    assert request_targets(["Doanh nghiệp", "Công dân Việt Nam", "Hợp tác xã"]) == (
        "VIETNAMESE_CITIZEN", "ENTERPRISE")
    assert request_targets(["Người nước ngoài cư trú tại Việt Nam"]) == ("FOREIGNER",)
    assert request_targets(["Người Việt Nam định cư ở nước ngoài"]) == ("VIETNAMESE_CITIZEN",)
    assert request_targets([]) == (officelist.NO_TARGET,)  # asked once, without a type
    assert request_targets(["nhóm 1"]) == (officelist.NO_TARGET,)


def test_every_real_catalogue_target_name_is_known() -> None:
    """The real catalogue's target names (read in place) all map, but the one junk value."""
    path = SHARED_PORTALS / "dvcqg_new" / "catalog.list-all-public-formality-by-citizen.jsonl"
    if not path.exists():
        pytest.skip(f"real catalogue not found at {path}")
    names = {t for line in path.open(encoding="utf-8")
             for t in json.loads(line).get("formalityTargetType") or ()}
    unknown = {n for n in names if request_targets([n]) == (officelist.NO_TARGET,)}
    assert len(names) > 10 and unknown == {"nhóm 1"}


def test_page_size_steps_down_then_gives_up() -> None:
    assert [step_down(200, "malformed"), step_down(100, "http_5xx"), step_down(50, "timeout")] \
        == [100, 50, None]
    assert step_down(200, "too_large") == 100
    for reason in ("blocked", "js_challenge", "http_4xx", "rate_limited", "api_filter_ignored"):
        assert step_down(200, reason) is None


def test_rows_of_another_procedure_mean_the_filter_was_ignored() -> None:
    assert check_rows([{"formalityId": "a"}, {"formalityId": "a"}], "a") == ""
    assert check_rows([{"formalityId": "a"}, {"formalityId": "b"}], "a") == "api_filter_ignored"
    assert check_rows([{"formalityId": "a"}, {}], "a") == "malformed"
    assert check_rows([], "a") == ""


def test_rows_merge_by_id_across_target_types() -> None:
    state = OfficeList("p", ("VIETNAMESE_CITIZEN", "ENTERPRISE"))
    first = state.new_rows([{"id": "r1"}, {"id": "r2"}])
    second = state.new_rows([{"id": "r2"}, {"id": "r3"}])
    assert [r["id"] for r in first + second] == ["r1", "r2", "r3"]
    assert not state.finish("VIETNAMESE_CITIZEN", 2) and not state.complete
    assert state.finish("ENTERPRISE", 2)
    assert state.summary()["rows"] == 3 and state.summary()["complete"]


def test_a_list_whose_filter_was_ignored_keeps_nothing() -> None:
    state = OfficeList("p", ("VIETNAMESE_CITIZEN",))
    state.held = ["row item"]
    assert state.fail("api_filter_ignored") == [] and not state.complete
    other = OfficeList("p", ("VIETNAMESE_CITIZEN",))
    other.held = ["row item"]
    assert other.fail("timeout") == ["row item"]  # pages read well stay evidence


# ----------------------------------------------------------------------------- the replica


def _offices(server: ReplicaServer, body: dict[str, Any]) -> list[dict[str, Any]]:
    data = json.dumps({"limit": 200, **body}).encode()
    req = urllib.request.Request(server.base_url + API["offices"], data=data, method="POST",
                                 headers={**HEADERS, "Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as resp:
        assert resp.status == 201
        return json.loads(resp.read())["data"]["rows"]


def _ids(server: ReplicaServer) -> dict[str, str]:
    return server.portal.id_by_code


def test_replica_target_type_default_and_filter(replica) -> None:
    scenario = load_scenario(SCENARIO)
    server = replica(scenario)
    ids = _ids(server)
    env, business = ids["1.010733"], ids["2.001610"]
    # no target type: the server answers citizens' procedures only
    assert _offices(server, {"formalityId": env}) == []
    enterprise = _offices(server, {"formalityId": env, "formalityTargetType": "ENTERPRISE"})
    assert len(enterprise) == 2 and {r["formalityId"] for r in enterprise} == {env}
    assert {t["type"] for r in enterprise for t in r["formalityTargetType"]} == {"ENTERPRISE"}
    both = [_offices(server, {"formalityId": business, "formalityTargetType": t})
            for t in ("VIETNAMESE_CITIZEN", "ENTERPRISE")]
    assert [r["id"] for r in both[0]] == [r["id"] for r in both[1]] and len(both[0]) == 2

    ignored = replica(dataclasses.replace(scenario, national=dataclasses.replace(
        scenario.national, office_filter="ignored")))
    rows = _offices(ignored, {"formalityId": env, "formalityTargetType": "ENTERPRISE"})
    assert {r["formalityCode"] for r in rows} == {"1.010733", "2.001610"}


@pytest.mark.parametrize("national, field", [
    ({"office_filter": "sometimes"}, "national.office_filter"),
    ({"target_type_default": "ENTERPRISE"}, "national.target_type_default"),
    ({"filter": "ignored"}, "national.filter"),
    ({"shape_change": {"in": "detail", "key": "code"}}, "national.shape_change"),
    ({"shape_change": {"in": "catalogue", "key": "code", "rename": "c"}},
     "national.shape_change.in"),
])
def test_bad_national_options_name_file_and_field(national: dict, field: str) -> None:
    doc = {"name": "x", "seed": 1, "procedures": [], "national": national}
    with pytest.raises(ScenarioError) as err:
        parse_scenario(doc, "bad.yaml")
    assert str(err.value).startswith(f"bad.yaml: field '{field}'")


def test_truth_of_an_ignored_filter() -> None:
    scenario = load_scenario(SCENARIO)
    assert office_list_failures(scenario) == {}
    ignored = dataclasses.replace(scenario, national=dataclasses.replace(
        scenario.national, office_filter="ignored"))
    failed = office_list_failures(ignored)
    # the foreigner-only procedure is the only one with rows for FOREIGNER: its list reads
    # right; marriage is truncated for good (its own failure, and out of the listing)
    assert set(failed) == {"1.001193", "1.010733", "2.001610", "1.013236"}
    assert set(failed.values()) == {"api_filter_ignored"}


# ----------------------------------------------------------------------------- end to end


def audit(out: Path, scenario: Any) -> tuple[AuditResult, list]:
    with ReplicaServer(scenario) as server:
        result = run_audit(server.base_url, out, scenario=str(SCENARIO), echo=lambda _: None,
                           quiet=True, portal_list=server.portal_list(),
                           overrides={"DVC_NATIONAL_PAGES": False})
        return result, list(server.request_log)


def verdicts_of(result: AuditResult) -> dict[tuple[str, str, str], tuple[str, str]]:
    rows = store.load_verdicts(store.open_db(result.db_path), result.run_id)
    return {(v["unit_code"], v["service_id"], v["criterion_id"]): (v["verdict"], v["reason"])
            for v in rows}


def assert_truth(result: AuditResult, scenario: Any) -> dict:
    truth = expected_verdicts(scenario, load_rubric())
    got = verdicts_of(result)
    assert got.keys() == truth.keys()
    wrong = {k: (got[k], truth[k]) for k in truth if got[k] != truth[k]}
    assert not wrong, f"{len(wrong)} verdicts differ from the truth: {list(wrong.items())[:5]}"
    return truth


def office_bodies(log: list, fid: str) -> list[dict[str, Any]]:
    return [r.json() for r in log if r.path == API["offices"] and r.json()["formalityId"] == fid]


@pytest.mark.slow
def test_lists_per_target_type_merged_and_paged_down(tmp_path: Path) -> None:
    scenario = load_scenario(SCENARIO)
    result, log = audit(tmp_path, scenario)
    truth = assert_truth(result, scenario)
    assert truth[("01", "environmental_permit", "level3_partial")] == ("met", "")
    assert truth[("79", "environmental_permit", "level4_full")] == ("met", "")
    ids = ReplicaServer(scenario).portal.id_by_code
    asked = {code: sorted(b.get("formalityTargetType", "") for b in office_bodies(log, ids[code]))
             for code in ("1.010733", "2.001610", "1.003326")}
    assert asked == {"1.010733": ["ENTERPRISE"], "2.001610": ["ENTERPRISE", "VIETNAMESE_CITIZEN"],
                     "1.003326": ["FOREIGNER"]}
    # marriage: truncated at every size, asked at 200, 100 and 50 rows a page, then given up
    assert [b["limit"] for b in office_bodies(log, ids["1.000894"])] == [200, 100, 50]
    db = store.open_db(result.db_path)
    evidence = store.load_evidence(db, result.run_id)
    lists = {e["procedure_code"]: e for e in evidence if e["kind"] == "office_list"}
    business = lists["2.001610"]["data"]
    assert business["rows"] == 2 and business["complete"]  # two asks, rows counted once
    assert business["target_types"] == ["VIETNAMESE_CITIZEN", "ENTERPRISE"]
    rows = [e for e in evidence if e["kind"] == "office_row" and e["procedure_code"] == "2.001610"]
    assert len(rows) == 2
    marriage = lists["1.000894"]
    assert marriage["outcome"] == "failed" and marriage["reason"] == "malformed"
    assert [s["to"] for s in marriage["data"]["stepped_down"]] == [100, 50]
    assert result.status == "complete"


@pytest.mark.slow
def test_an_ignored_filter_is_never_evidence(tmp_path: Path) -> None:
    base = load_scenario(SCENARIO)
    scenario = dataclasses.replace(base, national=dataclasses.replace(
        base.national, office_filter="ignored"))
    result, log = audit(tmp_path, scenario)
    truth = assert_truth(result, scenario)
    assert truth[("01", "birth_registration", "level4_full")] == ("cannot_test",
                                                                   "api_filter_ignored")
    assert truth[("G01", "foreigner_visa_extension", "level4_full")] == ("met", "")
    evidence = store.load_evidence(store.open_db(result.db_path), result.run_id)
    failed = {e["procedure_code"] for e in evidence
              if e["kind"] == "fetch" and e["reason"] == "api_filter_ignored"}
    assert failed == set(office_list_failures(scenario))
    stored = {e["procedure_code"] for e in evidence if e["kind"] == "office_row"}
    assert stored == {"1.003326"} and not stored & failed
    # an ignored filter is not stepped down: one page each, no smaller size asked
    ids = ReplicaServer(scenario).portal.id_by_code
    assert all(b["limit"] == 200 for code in failed for b in office_bodies(log, ids[code]))
