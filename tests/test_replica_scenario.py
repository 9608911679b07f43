"""Scenario files: loading, validation errors that name the file and field, rubric checks."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from core.rubric import load_rubric
from replica.scenario import ScenarioError, check_against_rubric, load_scenario
from replica.server import ReplicaServer

ROOT = Path(__file__).resolve().parents[1]

GOOD = {
    "name": "t",
    "seed": 3,
    "catalogue": {"filler": 5},
    "procedures": [{
        "code": "1.001193", "name": "Thủ tục đăng ký khai sinh", "department": "Bộ Tư pháp",
        "agency_code": "G15", "service": "birth_registration", "levels": ["ward"],
        "methods": ["ONLINE", "DIRECT"], "fees": {"ONLINE": [0]},
    }],
    "offers": {"01": [{"procedure": "1.001193", "office": "ward", "level": "FULL"}]},
    "faults": [{"kind": "blocked", "procedure": "1.001193"}],
}


def write(tmp_path: Path, doc) -> Path:
    path = tmp_path / "scenario.yaml"
    path.write_text(doc if isinstance(doc, str) else yaml.safe_dump(doc, allow_unicode=True),
                    encoding="utf-8")
    return path


def variant(**changes):
    import copy

    doc = copy.deepcopy(GOOD)
    for dotted, value in changes.items():
        target = doc
        parts = dotted.split("__")
        for p in parts[:-1]:
            target = target[int(p)] if isinstance(target, list) else target[p]
        last = parts[-1]
        if value is KeyError:
            del target[last]
        elif isinstance(target, list):
            target[int(last)] = value
        else:
            target[last] = value
    return doc


def test_good_file_loads(tmp_path):
    s = load_scenario(write(tmp_path, GOOD))
    assert s.name == "t" and s.seed == 3 and s.filler == 5
    (p,) = s.procedures
    assert p.service == "birth_registration" and p.online_fees() == (0,)
    (o,) = s.offers
    assert (o.unit, o.office, o.level, o.citizen_url, o.testing, o.count) == (
        "01", "ward", "FULL", "default", False, 1)
    assert s.blocked_codes() == {"1.001193"}
    assert s.failed_procedures() == {"1.001193": "blocked"}


@pytest.mark.parametrize(("doc", "field"), [
    (variant(name=KeyError), "name"),
    (variant(seed="x"), "seed"),
    (variant(colour="red"), "colour"),
    (variant(catalogue__filler=-1), "catalogue.filler"),
    (variant(procedures__0__code="1.1193"), "procedures[0].code"),
    (variant(procedures__0__levels=["city"]), "procedures[0].levels[0]"),
    (variant(procedures__0__methods=["ONLINE", "FAX"]), "procedures[0].methods[1]"),
    (variant(procedures__0__service=KeyError), "procedures[0].service"),
    (variant(procedures__0__fees={"POSTAL": [1]}), "procedures[0].fees.POSTAL"),
    (variant(procedures__0__fees={"ONLINE": [-5]}), "procedures[0].fees.ONLINE[0]"),
    (variant(procedures__0__full_process="yes please"), "procedures[0].full_process"),
    (variant(offers={"01": [{"procedure": "9.999999", "office": "ward", "level": "FULL"}]}),
     "offers.01[0].procedure"),
    (variant(offers={"01": [{"procedure": "1.001193", "office": "ward", "level": "HALF"}]}),
     "offers.01[0].level"),
    (variant(offers={"01": [{"procedure": "1.001193", "office": "agency", "level": "FULL"}]}),
     "offers.01[0].office"),
    (variant(offers={"G01": [{"procedure": "1.001193", "office": "ward", "level": "FULL"}]}),
     "offers.G01[0].office"),
    (variant(offers={"01": [{"procedure": "1.001193", "office": "ward", "level": "FULL",
                             "citizen_url": "ftp://x"}]}), "offers.01[0].citizen_url"),
    (variant(offers={"01": [{"procedure": "1.001193", "office": "province", "level": "FULL",
                             "count": 3}]}), "offers.01[0].count"),
    (variant(offers={1: [{"procedure": "1.001193", "office": "ward", "level": "FULL"}]}),
     "offers.1"),
    (variant(faults=[{"kind": "meteor", "procedure": "1.001193"}]), "faults[0].kind"),
    (variant(faults=[{"kind": "blocked"}]), "faults[0].procedure"),
    (variant(procedures=[GOOD["procedures"][0], GOOD["procedures"][0]]), "procedures[1].code"),
])
def test_bad_file_names_the_field(tmp_path, doc, field):
    path = write(tmp_path, doc)
    with pytest.raises(ScenarioError) as err:
        load_scenario(path)
    assert err.value.field == field
    assert str(err.value).startswith(f"{path}: field '{field}': ")


def test_bad_yaml_and_missing_file(tmp_path):
    with pytest.raises(ScenarioError, match="not valid YAML"):
        load_scenario(write(tmp_path, "name: [unclosed\n"))
    with pytest.raises(ScenarioError, match="cannot read"):
        load_scenario(tmp_path / "nope.yaml")
    with pytest.raises(ScenarioError, match="must be a mapping"):
        load_scenario(write(tmp_path, "- just\n- a list\n"))


def test_rubric_checks(tmp_path):
    rubric = load_rubric()
    doc = variant(procedures__0__service="teleportation",
                  offers={"G77": [{"procedure": "1.001193", "office": "agency", "level": "FULL"}]})
    errors = check_against_rubric(load_scenario(write(tmp_path, doc)), rubric)
    assert [e.field for e in errors] == ["procedures[0].service", "offers.G77[0]"]
    doc = variant(procedures__0__service="death_registration")
    (err,) = check_against_rubric(load_scenario(write(tmp_path, doc)), rubric)
    assert err.field == "procedures[0].code" and "death_registration" in err.message
    with pytest.raises(ScenarioError, match="unknown rubric unit 'G77'"):
        ReplicaServer(write(tmp_path, variant(offers={"G77": [
            {"procedure": "1.001193", "office": "agency", "level": "FULL"}]})), rubric=rubric)


@pytest.mark.parametrize("name", ["small", "full"])
def test_shipped_scenarios_fit_the_rubric(name):
    s = load_scenario(ROOT / f"replica/scenarios/{name}.yaml")
    assert check_against_rubric(s, load_rubric()) == []


def test_small_scenario_covers_what_it_promises():
    s = load_scenario(ROOT / "replica/scenarios/small.yaml")
    rubric = load_rubric()
    assert {u for u in s.units() if u.isdigit()} == {"01", "79", "46", "12", "31"}
    assert {u for u in s.units() if not u.isdigit()} == {"G01", "G10", "EVN"}
    # real office shapes: a sub-unit, the People's Committee, generic and tax-code offices
    assert {o.office_code for o in s.offers} >= {"H26.105.1", "H26", "BCA_CAX", "0100100079"}
    assert s.office_codes == "real"
    assert {o.level for o in s.offers} == {"FULL", "PARTIAL", "NONE"}
    assert any(o.citizen_url == "" for o in s.offers)
    assert any(o.testing for o in s.offers)
    assert [f.kind for f in s.faults] == ["blocked", "portal_down", "portal_blocked"]
    assert 400 <= s.filler <= 500
    # provincial portals: all three families, every offer state, payment and sign-on both ways
    assert {p.platform for p in s.portals} == {"igate", "eform", "legacy"}
    offers = [ps for p in s.portals for ps in p.services]
    assert {ps.offer for ps in offers} == {"info", "partial", "full"}
    assert {ps.payment for ps in offers} == {True, False}
    assert {p.sso for p in s.portals} == {True, False}
    assert any(ps.sso is False for ps in offers)
    assert {p.unit for p in s.portals} - set(s.units()) == {"24", "48"}  # nothing national
    # every service with procedures has one or two of them here, all rubric codes
    for service in rubric.services:
        codes = {p.code for p in service.procedures}
        mine = [p.code for p in s.procedures if p.code in codes]
        assert (1 <= len(mine) <= 2) if codes else not mine, service.id
    # a ward-only offer: a unit with ward rows of a procedure that also has a province level
    assert any(o.office == "ward" and "province" in s.procedure(o.procedure).levels
               and not any(x.office == "province" and x.unit == o.unit
                           and x.procedure == o.procedure for x in s.offers)
               for o in s.offers)
