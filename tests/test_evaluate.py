"""Rules on hand-built evidence: met needs a positive observation, not_met needs complete
evidence of absence, and a failure is `cannot_test` with its reason, never `not_met`."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from audits.evaluate import evaluate
from core.rubric import Rubric, load_rubric

_ids = itertools.count(1)


@pytest.fixture(scope="module")
def rubric() -> Rubric:
    return load_rubric()


def ev(kind: str, code: str = "", outcome: str = "ok", reason: str = "", **data: Any) -> dict:
    return {"id": next(_ids), "kind": kind, "procedure_code": code, "outcome": outcome,
            "reason": reason, "office_code": data.get("office_code", ""), "data": data}


def listed(code: str, online: bool = True, fee: float = 0) -> list[dict]:
    return [ev("procedure", code), ev("procedure_detail", code, online=online,
                                      online_fees=[fee] if online else [])]


def row(code: str, office: str, level: str, url: str = "http://x/apply",
        testing: bool = False) -> dict:
    return ev("office_row", code, office_code=office, implement_level=level, citizen_url=url,
              testing=testing, procedure_code=code)


def verdicts(rubric: Rubric, evidence: list[dict], unit: str, service: str) -> dict[str, tuple]:
    return {v["criterion_id"]: (v["verdict"], v["reason"])
            for v in evaluate(evidence, rubric)
            if v["unit_code"] == unit and v["service_id"] == service}


def birth(rubric: Rubric) -> tuple[str, list[str]]:
    service = next(s for s in rubric.services if s.annex_no == 2)
    return service.id, [p.code for p in service.procedures]


def complete_lists(codes: list[str]) -> list[dict]:
    return [ev("catalogue", complete=True)] + [ev("office_list", c, complete=True) for c in codes]


def base(codes: list[str]) -> list[dict]:
    return complete_lists(codes) + [e for c in codes for e in listed(c)]


def test_full_level_row_meets_every_national_criterion(rubric: Rubric) -> None:
    sid, codes = birth(rubric)
    got = verdicts(rubric, base(codes) + [row(codes[0], "000.00.12.H26", "FULL")], "01", sid)
    assert got["offered_online"] == ("met", "")
    assert got["level3_partial"] == ("met", "")
    assert got["level4_full"] == ("met", "")
    assert got["national_handoff"] == ("met", "")
    # fee 0 with no text (values only, as stored before online_fee_rows): it cannot tell
    assert got["online_payment"] == ("cannot_test", "fee_unknown")
    assert got["national_sso"] == ("cannot_test", "no_portal_evidence")


def test_partial_testing_row_without_url(rubric: Rubric) -> None:
    sid, codes = birth(rubric)
    evidence = base(codes) + [row(codes[0], "000.31.05.H26", "PARTIAL", url="", testing=True)]
    got = verdicts(rubric, evidence, "01", sid)
    # a row in testing is not offered to citizens: no office offers the level (coverage 0/1)
    assert got["level3_partial"] == ("not_met", "below_coverage")
    assert got["level4_full"] == ("not_met", "below_coverage")
    assert got["national_handoff"][0] == "not_met"


def test_unlisted_is_not_met_only_with_complete_evidence(rubric: Rubric) -> None:
    sid, codes = birth(rubric)
    got = verdicts(rubric, base(codes), "01", sid)
    assert got["level3_partial"] == ("not_met", "not_listed")
    assert got["offered_online"][0] == "not_met"


def test_blocked_office_list_is_cannot_test_not_not_met(rubric: Rubric) -> None:
    sid, codes = birth(rubric)
    evidence = [ev("catalogue", complete=True)] + [e for c in codes for e in listed(c)]
    evidence += [ev("fetch", codes[0], outcome="failed", reason="blocked", endpoint="offices")]
    evidence += [ev("office_list", c, complete=True) for c in codes[1:]]
    got = verdicts(rubric, evidence, "01", sid)
    assert got["level3_partial"] == ("cannot_test", "blocked")
    assert got["national_handoff"] == ("cannot_test", "blocked")


def test_positive_observation_wins_over_a_failure_elsewhere(rubric: Rubric) -> None:
    sid, codes = birth(rubric)
    evidence = [ev("catalogue", complete=True)] + [e for c in codes for e in listed(c)]
    evidence += [ev("fetch", codes[0], outcome="failed", reason="timeout", endpoint="offices")]
    evidence += [ev("office_list", c, complete=True) for c in codes[1:]]
    evidence += [row(codes[1], "000.00.12.H26", "FULL")]
    assert verdicts(rubric, evidence, "01", sid)["level4_full"] == ("met", "")


def test_incomplete_catalogue_makes_unseen_codes_untestable(rubric: Rubric) -> None:
    sid, codes = birth(rubric)
    evidence = [ev("fetch", outcome="failed", reason="http_5xx", endpoint="catalogue")]
    got = verdicts(rubric, evidence, "01", sid)
    assert got["level3_partial"] == ("cannot_test", "http_5xx")
    assert got["online_payment"] == ("cannot_test", "http_5xx")


def test_fee_makes_payment_untestable_from_national_evidence(rubric: Rubric) -> None:
    sid, codes = birth(rubric)
    evidence = complete_lists(codes) + [e for c in codes for e in listed(c, fee=8000)]
    assert verdicts(rubric, evidence, "01", sid)["online_payment"] == (
        "cannot_test", "no_portal_evidence")


def test_offline_only_procedure_is_not_offered_online(rubric: Rubric) -> None:
    sid, codes = birth(rubric)
    evidence = complete_lists(codes) + [e for c in codes for e in listed(c, online=False)]
    evidence += [row(codes[0], "000.00.12.H26", "NONE", url="")]
    assert verdicts(rubric, evidence, "01", sid)["offered_online"] == (
        "not_met", "no_online_method")


def test_rows_count_only_for_their_own_unit(rubric: Rubric) -> None:
    sid, codes = birth(rubric)
    evidence = base(codes) + [row(codes[0], "000.00.12.H26", "FULL")]
    other = next(u for u in rubric.units if u.kind == "province" and u.code != "01")
    assert verdicts(rubric, evidence, other.code, sid)["level4_full"][0] == "not_met"


def test_units_not_delivering_a_service_are_not_applicable(rubric: Rubric) -> None:
    agency_only = next(s for s in rubric.services if "province" not in s.delivery)
    got = verdicts(rubric, [], "01", agency_only.id)
    assert set(got.values()) == {("not_applicable", "not_delivered_by_unit")}


def test_one_verdict_per_unit_service_criterion(rubric: Rubric) -> None:
    rows = evaluate([], rubric)
    keys = {(v["unit_code"], v["service_id"], v["criterion_id"]) for v in rows}
    assert len(rows) == len(keys) == (len(rubric.units) * len(rubric.services)
                                      * len(rubric.criteria))
    assert {v["verdict"] for v in rows} <= {"not_applicable", "cannot_test"}
