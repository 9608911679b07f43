"""Decision 766 figures: the replica's reporting API, the index766 spider's parsing, and a
blocked reporting API ending as "could not fetch" without touching the run's status."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from core import store
from core.rubric import load_rubric
from crawler.runner import crawl
from crawler.spiders.index766 import department, group_record
from replica import index766
from replica.catalogue import BadRequest
from replica.scenario import ScenarioError, load_scenario, parse_scenario
from replica.server import ReplicaServer
from reports.compare766 import compare
from reports.report import build_model
from tests.test_report import make_run

PROJECT = Path(__file__).resolve().parents[1]
SMALL = PROJECT / "replica" / "scenarios" / "small.yaml"
YEAR = {"timeType": "year", "year": 2026}


def scenario_with(index: Any) -> Any:
    import yaml

    data = yaml.load(SMALL.read_text(encoding="utf-8"), Loader=yaml.CSafeLoader)
    data["index766"] = index
    return parse_scenario(data, "small766.yaml")


def test_replica_answers_like_the_portal() -> None:
    scenario = scenario_with({"scores": {"01": {"CLGQ": 6, "TTTT": 2.5}}})
    idx = index766.build_index(scenario, load_rubric())
    data = index766.answer(idx, index766.RESULTS, {**YEAR, "departmentType":
                                                   "ADMINISTRATIVE_UNIT"})
    rows = {r["departmentCode"]: r for r in data["evaluation"]}
    assert len(rows) == 34 and rows["H26"]["departmentName"] == "UBND Thành phố Hà Nội"
    hanoi = rows["H26"]
    assert hanoi["groupScores"]["CLGQ"] == 6 and hanoi["groupScores"]["TTTT"] == 2.5
    assert hanoi["totalScore"] == pytest.approx(sum(hanoi["groupScores"].values()), abs=0.01)
    tree = index766.answer(idx, index766.PREFIX + "provide-online-tree",
                           {**YEAR, "rootDepartmentId": hanoi["departmentId"]})
    assert tree["parent"]["totalScore"] == 6 and tree["parent"]["totalMaxScore"] == 12
    metric = index766.answer(idx, index766.PREFIX + "transparency",
                             {**YEAR, "rootDepartmentId": hanoi["departmentId"]})
    assert metric["overview"]["maxScore"] == 18
    # the same seed gives the same generated figures
    again = index766.build_index(scenario, load_rubric())
    assert again == idx
    assert sum(index766.MAXIMA.values()) == 100


@pytest.mark.parametrize("body, message", [
    ({"year": 2026}, "timeType"),
    ({"timeType": "month", "year": 2026, "month": 13}, "month must be 1..12"),
    ({"timeType": "quarter", "year": 2026}, "quarter must be 1..4"),
    ({"timeType": "year"}, "year is required"),
])
def test_replica_rejects_bad_periods(body: dict, message: str) -> None:
    idx = index766.build_index(load_scenario(SMALL), load_rubric())
    with pytest.raises(BadRequest, match=message):
        index766.answer(idx, index766.RESULTS, body)


def test_unknown_department_is_a_bad_request() -> None:
    idx = index766.build_index(load_scenario(SMALL), load_rubric())
    with pytest.raises(BadRequest, match="rootDepartmentId"):
        index766.answer(idx, index766.PREFIX + "provide-online-tree", {**YEAR,
                                                                        "rootDepartmentId": "x"})


@pytest.mark.parametrize("index, field", [
    ({"scores": {"01": {"CLGQ": 13}}}, "index766.scores.01.CLGQ"),
    ({"scores": {"01": {"XYZ": 1}}}, "index766.scores.01.XYZ"),
    ({"blocked": "yes"}, "index766.blocked"),
    ({"other": 1}, "index766.other"),
])
def test_scenario_key_errors_name_the_field(index: Any, field: str) -> None:
    with pytest.raises(ScenarioError) as err:
        scenario_with(index)
    assert field in str(err.value)


def test_spider_parsers_on_the_portal_shapes() -> None:
    dep = department({"departmentId": "019d", "departmentCode": "H26",
                      "departmentName": "UBND Thành phố Hà Nội", "totalScore": 81.5,
                      "groupScores": {"CLGQ": 10.25, "TTTT": "7", "ZZZ": 1}})
    assert dep["group_scores"] == {"CLGQ": 10.25, "TTTT": 7.0}
    assert dep["total_score"] == 81.5 and dep["department_code"] == "H26"
    tree = group_record({"parent": {"departmentCode": "H26", "totalScore": 9,
                                    "totalMaxScore": 12, "ratio": 75}, "children": []})
    assert tree == {"score": 9.0, "max_score": 12.0, "ratio": 75.0, "department_code": "H26"}
    metric = group_record({"overview": {"score": 4, "maxScore": 18}, "evaluation": []})
    assert metric["score"] == 4.0 and metric["max_score"] == 18.0


@pytest.mark.slow
def test_blocked_reporting_api_is_recorded_as_could_not_fetch(tmp_path: Path) -> None:
    db, run_id = make_run(tmp_path / "audit.db")
    with ReplicaServer(scenario_with({"blocked": True})) as server:
        code = crawl("index766", server.base_url, tmp_path / "audit.db", run_id, quiet=True)
        log = server.requests
    assert code == 0
    assert all(r.method in ("POST", "GET") for r in log)
    assert [r.path for r in log if r.method == "POST"] == [index766.RESULTS]
    rows = list(db.query("SELECT kind, outcome, reason FROM evidence WHERE run_id = ? "
                         "AND kind LIKE 'index766%'", [run_id]))
    assert rows == [{"kind": "index766_fetch", "outcome": "failed", "reason": "blocked"}]
    run = store.get_run(db, run_id)
    assert run["status"] == "complete"
    assert "index766" in json.loads(run["stats"])
    model = build_model(db, load_rubric(), run, store.load_verdicts(db, run_id), tmp_path)
    cmp = compare(db, run_id, model)
    assert cmp is not None and not cmp.rows and cmp.failures[0][1] == "blocked"


def test_no_766_evidence_means_no_comparison(tmp_path: Path) -> None:
    db, run_id = make_run(tmp_path / "audit.db")
    run = store.get_run(db, run_id)
    model = build_model(db, load_rubric(), run, store.load_verdicts(db, run_id), tmp_path)
    assert compare(db, run_id, model) is None
