"""How portal evidence and national evidence combine (audits/evaluate.py), on hand-built evidence:
the portal decides the levels when read completely; payment and national sign-on come only from
the portal; an unreachable portal is cannot_test, never not_met; findings name disagreements."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from audits.evaluate import evaluate, findings
from core.rubric import Rubric, load_rubric

_ids = itertools.count(1)
BIRTH = "1.001193"
MARRIAGE = "1.000894"


@pytest.fixture(scope="module")
def rubric() -> Rubric:
    return load_rubric()


def ev(kind: str, proc: str = "", outcome: str = "ok", reason: str = "", **data: Any) -> dict:
    return {"id": next(_ids), "kind": kind, "procedure_code": proc, "outcome": outcome,
            "reason": reason, "office_code": data.get("office_code", ""), "data": data}


def national(code: str, fee: int = 0, level: str | None = None,
             fee_text: str | None = None) -> list[dict]:
    """A complete national picture of one procedure (and Hà Nội's row at `level`, if any);
    with `fee_text`, its online fee row as the crawler now stores it (value and text)."""
    detail: dict[str, Any] = {"online": True, "online_fees": [fee]}
    if fee_text is not None:
        detail.update(methods=["ONLINE"], online_fee_rows=[
            {"type": "FEE", "value": fee, "description": fee_text}])
    rows = [ev("procedure", code), ev("procedure_detail", code, **detail),
            ev("office_list", code, complete=True)]
    if level:
        rows.append(ev("office_row", code, office_code="000.37.26.H26", implement_level=level,
                       citizen_url="http://127.0.1.1:1/x", procedure_code=code))
    return rows


def portal(levels: dict[str, str], *, sso: bool = False, reached: bool = True,
           reason: str = "", complete: bool = True) -> list[dict]:
    units = ["01"]
    if not reached:
        return [ev("portal", outcome="failed", reason=reason, units=units)]
    procs = {c: {"level": lv} for c, lv in levels.items()}
    return [ev("portal", units=units, family="eform"),
            ev("portal_list", outcome="ok" if complete else "failed", reason=reason,
               units=units, complete=complete, procedures=procs),
            ev("portal_login", units=units, national=sso)]


def apply(code: str, *, payment: bool = False, sso: bool = False) -> dict:
    return ev("portal_apply", code, units=["01"], code=code, payment=payment,
              login={"national": sso}, final=True)


def verdicts(rubric: Rubric, evidence: list[dict], service: str = "birth_registration",
             unit: str = "01") -> dict[str, tuple[str, str]]:
    return {v["criterion_id"]: (v["verdict"], v["reason"])
            for v in evaluate([ev("catalogue", complete=True)] + evidence, rubric)
            if v["unit_code"] == unit and v["service_id"] == service}


def test_portal_decides_the_level_when_read_completely(rubric):
    got = verdicts(rubric, national(BIRTH, level="FULL") + portal({BIRTH: "partial"})
                   + [apply(BIRTH)])
    assert got["level3_partial"] == ("met", "")
    assert got["level4_full"] == ("not_met", "portal_partial_only")
    assert got["offered_online"] == ("met", "")  # national questions stay national
    assert got["national_handoff"] == ("met", "")
    got = verdicts(rubric, national(BIRTH) + portal({BIRTH: "full"}) + [apply(BIRTH)])
    assert got["level4_full"] == ("met", "")  # the national portal lists nothing: still met
    got = verdicts(rubric, national(BIRTH, level="FULL") + portal({}))
    assert got["level3_partial"] == ("not_met", "portal_absent")
    got = verdicts(rubric, national(BIRTH, level="PARTIAL") + portal({BIRTH: "info"}))
    assert got["level3_partial"] == ("not_met", "portal_info_only")


@pytest.mark.parametrize("reason", ["refused", "timeout", "blocked", "needs_browser"])
def test_unreadable_portal_is_never_not_met(rubric, reason):
    evidence = national(BIRTH, fee=5000, level="PARTIAL")
    if reason == "needs_browser":  # reached, recognised, but its list needs JavaScript
        evidence += portal({}, reason=reason, complete=False)
    else:
        evidence += portal({}, reached=False, reason=reason)
    got = verdicts(rubric, evidence)
    assert got["level3_partial"] == ("met", "")  # a positive national observation still wins
    for criterion in ("level4_full", "online_payment", "national_sso"):
        assert got[criterion] == ("cannot_test", reason), criterion


def test_payment_needs_a_fee_and_a_payment_step(rubric):
    with_step = national(BIRTH, fee=8000) + portal({BIRTH: "full"}) + [apply(BIRTH, payment=True)]
    assert verdicts(rubric, with_step)["online_payment"] == ("met", "")
    without = national(BIRTH, fee=8000) + portal({BIRTH: "full"}) + [apply(BIRTH)]
    assert verdicts(rubric, without)["online_payment"] == ("not_met", "no_payment_step")
    not_online = national(BIRTH, fee=8000) + portal({BIRTH: "info"})
    assert verdicts(rubric, not_online)["online_payment"] == ("not_met", "not_offered_on_portal")
    free = national(BIRTH, fee_text="Miễn lệ phí") + portal({BIRTH: "full"}) + [apply(BIRTH)]
    assert verdicts(rubric, free)["online_payment"] == ("not_applicable", "no_fee")
    written = national(BIRTH, fee_text="Theo quy định của HĐND tỉnh") + portal({BIRTH: "full"})
    assert verdicts(rubric, written + [apply(BIRTH)])["online_payment"] == (
        "not_met", "no_payment_step")  # charged in words: the missing step is a failing
    unknown = national(BIRTH) + portal({BIRTH: "full"})  # 0 without text: cannot tell
    assert verdicts(rubric, unknown + [apply(BIRTH)])["online_payment"] == (
        "cannot_test", "fee_unknown")
    assert verdicts(rubric, unknown + [apply(BIRTH, payment=True)])["online_payment"] == (
        "met", "")  # the flow takes payment: whatever the fee, it is payable online
    no_portal = national(BIRTH, fee=8000)
    assert verdicts(rubric, no_portal)["online_payment"] == ("cannot_test", "no_portal_evidence")
    walk_failed = national(BIRTH, fee=8000) + portal({BIRTH: "full"}) + [
        ev("portal_apply", BIRTH, outcome="failed", reason="timeout", units=["01"], code=BIRTH)]
    assert verdicts(rubric, walk_failed)["online_payment"] == ("cannot_test", "timeout")


def test_fee_payment_capability_is_any_payment_step(rubric):
    evidence = national(BIRTH, fee=8000) + portal({BIRTH: "full"})
    got = verdicts(rubric, evidence + [apply(BIRTH, payment=True)], "online_fee_payment")
    assert got["online_payment"] == ("met", "")
    got = verdicts(rubric, evidence + [apply(BIRTH)], "online_fee_payment")
    assert got["online_payment"] == ("not_met", "no_payment_step")
    got = verdicts(rubric, national(BIRTH), "online_fee_payment", unit="04")
    assert got["online_payment"] == ("cannot_test", "no_portal_evidence")


def test_national_sign_on_on_the_apply_flow_else_at_login(rubric):
    base = national(BIRTH) + national(MARRIAGE)
    evidence = base + portal({BIRTH: "full", MARRIAGE: "info"}, sso=True) + [apply(BIRTH)]
    assert verdicts(rubric, evidence)["national_sso"] == ("not_met", "no_national_sso")
    assert verdicts(rubric, evidence, "marriage_registration")["national_sso"] == ("met", "")
    evidence = base + portal({BIRTH: "full"}) + [apply(BIRTH, sso=True)]
    assert verdicts(rubric, evidence)["national_sso"] == ("met", "")
    assert verdicts(rubric, evidence, "marriage_registration")["national_sso"] == (
        "not_met", "no_national_sso")
    assert verdicts(rubric, base)["national_sso"] == ("cannot_test", "no_portal_evidence")


def test_findings_name_disagreements(rubric):
    evidence = [ev("catalogue", complete=True)]
    evidence += national(BIRTH, level="FULL") + national(MARRIAGE)
    evidence += portal({BIRTH: "partial", MARRIAGE: "full"}) + [apply(BIRTH), apply(MARRIAGE)]
    found = {(f["unit_code"], f["service_id"]): f for f in findings(evidence, rubric)}
    assert set(found) == {("01", "birth_registration"), ("01", "marriage_registration")}
    birth = found[("01", "birth_registration")]
    assert (birth["kind"], birth["national"], birth["portal"]) == (
        "national_overstates", "FULL", "partial")
    assert birth["evidence_ids"]
    assert found[("01", "marriage_registration")]["kind"] == "not_listed_nationally"
    under = [ev("catalogue", complete=True)] + national(BIRTH, level="NONE") + portal(
        {BIRTH: "partial"})
    assert [f["kind"] for f in findings(under, rubric)] == ["national_understates"]
    # an incomplete side: no finding (the disagreement is not proven)
    blocked = [ev("catalogue", complete=True)] + national(BIRTH, level="FULL") + portal(
        {BIRTH: "partial"}, complete=False, reason="timeout")
    assert findings(blocked, rubric) == []
