"""The system met (audits/evaluate.py), on hand-built evidence: a ministry system the unit's
rows of a service hand off to decides that service's portal-side criteria, never as the
province's own portal; and the scenario keys of systems (replica/scenario.py) refuse bad input
with one line naming file and field."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from audits.evaluate import evaluate, findings
from core.rubric import Rubric, load_rubric
from replica.scenario import ScenarioError, check_systems, parse_scenario

_ids = itertools.count(1)
BIRTH, LAND = "1.001193", "1.012783"
MOJ = "http://127.0.3.1:9"


@pytest.fixture(scope="module")
def rubric() -> Rubric:
    return load_rubric()


def ev(kind: str, proc: str = "", outcome: str = "ok", reason: str = "", **data: Any) -> dict:
    return {"id": next(_ids), "kind": kind, "procedure_code": proc, "outcome": outcome,
            "reason": reason, "office_code": data.get("office_code", ""), "data": data}


def national(code: str, level: str, fee: int = 8000, url: str = MOJ + "/x") -> list[dict]:
    return [ev("procedure", code), ev("procedure_detail", code, online=True, online_fees=[fee]),
            ev("office_list", code, complete=True),
            ev("office_row", code, office_code="000.37.26.H26", implement_level=level,
               citizen_url=url, procedure_code=code)]


def own_portal(levels: dict[str, str], pay: set[str] = frozenset()) -> list[dict]:
    units = ["01"]
    return [ev("portal", units=units, family="eform", base="http://127.0.1.1:5"),
            ev("portal_list", units=units, complete=True,
               procedures={c: {"level": lv} for c, lv in levels.items()}),
            ev("portal_login", units=units, national=True)] + [
        ev("portal_apply", c, units=units, code=c, payment=c in pay, login={"national": True})
        for c in levels if levels[c] in ("partial", "full")]


def system(base: str, handoffs: dict[str, dict[str, int]], levels: dict[str, str] | None,
           *, payment: bool = False, sso: bool = True, reason: str = "") -> list[dict]:
    info = {"host": base.split("//")[1], "family": "moj" if levels is not None else "",
            "ministry": "Bộ Tư pháp"}
    common = {"units": [], "system": info, "base": base}
    home = ev("portal", outcome="failed" if reason else "ok", reason=reason, handoffs=handoffs,
              **common)
    if levels is None:
        return [home]
    return [home, ev("portal_list", complete=True, **common,
                     procedures={c: {"level": lv} for c, lv in levels.items()}),
            ev("portal_login", national=sso, **common)] + [
        ev("portal_apply", c, code=c, payment=payment, login={"national": sso}, **common)
        for c, lv in levels.items() if lv in ("partial", "full")]


def verdicts(rubric: Rubric, evidence: list[dict], service: str) -> dict[str, dict]:
    return {v["criterion_id"]: v for v in evaluate([ev("catalogue", complete=True)] + evidence,
                                                   rubric)
            if v["unit_code"] == "01" and v["service_id"] == service}


def test_the_system_met_decides_not_the_provinces_portal(rubric: Rubric) -> None:
    moj = system(MOJ, {BIRTH: {"01": 3}}, {BIRTH: "full"}, payment=True)
    evidence = national(BIRTH, "PARTIAL") + own_portal({BIRTH: "info"}) + moj
    got = verdicts(rubric, evidence, "birth_registration")
    assert (got["level4_full"]["verdict"], got["online_payment"]["verdict"],
            got["national_sso"]["verdict"]) == ("met", "met", "met")
    # the system's home page comes first: the report names the system from it
    for criterion in ("level4_full", "online_payment", "national_sso"):
        assert got[criterion]["evidence_ids"][0] == moj[0]["id"]
    assert moj[0]["id"] not in got["offered_online"]["evidence_ids"]
    (finding,) = [f for f in findings([ev("catalogue", complete=True)] + evidence, rubric)
                  if f["unit_code"] == "01"]
    assert finding["kind"] == "national_understates" and finding["portal"] == "full"
    assert "ministry system 127.0.3.1:9: full" in finding["detail"]


def test_a_system_that_cannot_be_read_is_never_the_portals_failure(rubric: Rubric) -> None:
    evidence = (national(BIRTH, "NONE") + national(LAND, "FULL", url="http://127.0.1.1:5/y")
                + own_portal({BIRTH: "full", LAND: "full"}, pay={LAND})
                + system(MOJ, {BIRTH: {"01": 1}}, None, reason="refused"))
    birth = verdicts(rubric, evidence, "birth_registration")
    assert {c: (v["verdict"], v["reason"]) for c, v in birth.items() if c in (
        "level4_full", "online_payment", "national_sso")} == {
        "level4_full": ("cannot_test", "refused"), "online_payment": ("cannot_test", "refused"),
        "national_sso": ("cannot_test", "refused")}
    land = verdicts(rubric, evidence, "land_title")  # rows to its own portal: read, decides
    assert (land["level4_full"]["verdict"], land["online_payment"]["verdict"]) == ("met", "met")


def test_a_system_no_row_of_the_unit_hands_off_to_plays_no_part(rubric: Rubric) -> None:
    evidence = (national(BIRTH, "FULL", url="http://127.0.1.1:5/y") + own_portal({BIRTH: "info"})
                + system(MOJ, {BIRTH: {"79": 4}}, {BIRTH: "full"}))
    got = verdicts(rubric, evidence, "birth_registration")
    assert (got["level4_full"]["verdict"], got["level4_full"]["reason"]) == (
        "not_met", "portal_info_only")


def test_the_system_with_most_rows_is_the_one_met(rubric: Rubric) -> None:
    other = "http://127.0.3.2:9"
    evidence = (national(BIRTH, "FULL") + system(MOJ, {BIRTH: {"01": 1}}, {BIRTH: "partial"})
                + system(other, {BIRTH: {"01": 5}}, {BIRTH: "full"}))
    assert verdicts(rubric, evidence, "birth_registration")["level4_full"]["verdict"] == "met"


SCENARIO = {
    "name": "s", "seed": 1,
    "procedures": [{"code": BIRTH, "name": "Khai sinh", "department": "Bộ Tư pháp",
                    "agency_code": "G15", "service": "birth_registration", "levels": ["ward"],
                    "methods": ["ONLINE"]}],
    "systems": {"moj": {"platform": "moj", "services": {"birth_registration": "full"}},
                "moj2": {"platform": "moj"}},
}


def scenario(**changes: Any) -> dict:
    return {**SCENARIO, **changes}


@pytest.mark.parametrize("doc, field", [
    (scenario(offers={"01": [{"procedure": BIRTH, "office": "ward", "level": "FULL",
                              "citizen_url": "system:moc"}]}), "offers.01[0].citizen_url"),
    (scenario(systems={"moj": {"platform": "btp"}}), "systems.moj.platform"),
    (scenario(systems={"moj": {"platform": "moj", "color": 1}}), "systems.moj.color"),
    (scenario(faults=[{"kind": "portal_down", "system": "moj", "unit": "01"}]),
     "faults[0].unit"),
    (scenario(faults=[{"kind": "blocked", "system": "moj"}]), "faults[0].kind"),
    (scenario(faults=[{"kind": "down", "system": "x"}]), "faults[0].system"),
])
def test_bad_system_keys_name_the_field(doc: dict, field: str) -> None:
    with pytest.raises(ScenarioError) as err:
        parse_scenario(doc, "bad.yaml")
    assert err.value.field == field and str(err.value).startswith("bad.yaml: field")


def test_a_service_handed_to_two_systems_is_an_error(rubric: Rubric) -> None:
    row = {"procedure": BIRTH, "office": "ward", "level": "FULL"}
    doc = scenario(offers={"01": [{**row, "citizen_url": "system:moj"},
                                  {**row, "citizen_url": "system:moj2"}]})
    (error,) = check_systems(parse_scenario(doc, "two.yaml"), rubric)
    assert error.field == "offers.01[1].citizen_url" and "moj and moj2" in error.message


@pytest.mark.parametrize("sid, family, listing, code", [
    ("moj", "moj", "/dvc/thu-tuc", "1.000656"),
    ("moc", "moc", "/DichVuCong/DanhSach", "1.013225"),
])
def test_each_system_family_parses_its_own_pages(rubric: Rubric, sid: str, family: str,
                                                 listing: str, code: str) -> None:
    """The replica's pages of each system (replica/systems/) read by its parser
    (crawler/platforms/): recognised, listed, walked to the submission control, never past."""
    from pathlib import Path
    from urllib.parse import parse_qsl, urlsplit

    from crawler.platforms import FAMILIES, SYSTEM_FAMILIES, fingerprint
    from replica import systems
    from replica.scenario import load_scenario

    path = Path(__file__).resolve().parents[1] / "replica" / "scenarios" / "systems.yaml"
    site = systems.build_systems(load_scenario(path), rubric)[sid]
    base = "http://127.0.3.1:80"

    def get(url: str) -> bytes:
        parts = urlsplit(url)
        resp = systems._healthy(site, "GET", parts.path, dict(parse_qsl(parts.query)))
        assert resp.status == 200, url
        return resp.body

    fp = fingerprint(base + "/", get(base + "/"))
    assert fp.family == family and not fp.needs_js and family in SYSTEM_FAMILIES
    module = FAMILIES[family]
    listed, url = {}, base + listing
    while url:
        page = module.parse_listing(url, get(url))
        listed.update({p.code: p for p in page.procedures})
        url = page.next_url
    assert len(listed) == len(site.procedures)
    assert listed[code].level == "full" and listed[code].apply_url
    steps, url = [], listed[code].apply_url
    while url:
        facts = module.parse_apply(url, get(url))
        assert facts.found and facts.code == code
        steps.append(facts)
        url = "" if facts.final else facts.next_url
    assert len(steps) == 3 and steps[-1].final and steps[-1].submit_action
    assert any(s.payment for s in steps) and any(s.login.national for s in steps)
    login = module.parse_login(base + module.LOGIN_FROM, get(base + module.LOGIN_FROM))
    assert login is not None and login.national == site.sso
