"""The replica's provincial portals: scenario `portals` validation, one loopback host per portal,
faults, the submission log, and what the national portal hands off to."""

from __future__ import annotations

import copy
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

from core.rubric import load_rubric
from replica.provincial.hosts import aliases_work
from replica.scenario import ScenarioError, check_against_rubric, load_scenario, parse_scenario

ROOT = Path(__file__).resolve().parents[1]
SMALL = "replica/scenarios/small.yaml"
UA = "Mozilla/5.0 (compatible; dvc-audit-test)"

BASE = {
    "name": "p", "seed": 1,
    "procedures": [{"code": "1.001193", "name": "Khai sinh", "department": "Bộ Tư pháp",
                    "agency_code": "G15", "service": "birth_registration", "levels": ["ward"],
                    "methods": ["ONLINE"]}],
    "portals": {"79": {"platform": "igate", "sso": True, "services": {
        "birth_registration": {"offer": "full", "payment": True}}}},
    "faults": [{"kind": "portal_down", "unit": "79"}],
}


def parsed(**changes) -> object:
    doc = copy.deepcopy(BASE)
    doc.update(changes)
    return parse_scenario(yaml.safe_load(yaml.safe_dump(doc, allow_unicode=True)), "p.yaml")


def test_portals_parse_with_defaults():
    s = parsed()
    (portal,) = s.portals
    assert (portal.unit, portal.platform, portal.sso) == ("79", "igate", True)
    birth = portal.service("birth_registration")
    assert (birth.offer, birth.payment, birth.sso, birth.online) == ("full", True, None, True)
    assert portal.service("land_title").offer == "absent"
    assert portal.service_sso("birth_registration") is True
    assert s.portal_faults() == {"79": "refused"}
    short = parsed(portals={"01": {"platform": "legacy", "services": {"land_title": "info"}}},
                   faults=[])
    assert short.portal("01").service("land_title").offer == "info"
    assert short.portal("79") is None


@pytest.mark.parametrize(("portals", "faults", "field"), [
    ({"79": {"platform": "wordpress"}}, [], "portals.79.platform"),
    ({"79": {"platform": "igate", "colour": "x"}}, [], "portals.79.colour"),
    ({"G01": {"platform": "igate"}}, [], "portals.G01"),
    ({"79": {"platform": "igate", "services": {"land_title": {"offer": "info",
                                                              "payment": True}}}},
     [], "portals.79.services.land_title.payment"),
    ({"79": {"platform": "igate", "services": {"land_title": "maybe"}}}, [],
     "portals.79.services.land_title.offer"),
    ({"79": {"platform": "igate"}}, [{"kind": "portal_down", "unit": "01"}], "faults[0].unit"),
    ({"79": {"platform": "igate"}}, [{"kind": "portal_blocked"}], "faults[0].unit"),
])
def test_portal_errors_name_the_field(portals, faults, field):
    with pytest.raises(ScenarioError) as err:
        parsed(portals=portals, faults=faults)
    assert err.value.field == field, str(err.value)


def test_portals_are_checked_against_the_rubric():
    rubric = load_rubric()
    bad = parsed(portals={"79": {"platform": "igate", "services": {
        "temporary_residence": "full", "online_fee_payment": "full", "nonsense": "info",
        "birth_registration": {"offer": "full", "procedure": "1.000894"}}}}, faults=[])
    fields = {e.field for e in check_against_rubric(bad, rubric)}
    assert fields == {"portals.79.services.temporary_residence",
                      "portals.79.services.online_fee_payment", "portals.79.services.nonsense",
                      "portals.79.services.birth_registration.procedure"}


# ----------------------------------------------------------------------------- the server


def fetch(url: str, method: str = "GET", body: bytes | None = None) -> tuple[int, str]:
    req = urllib.request.Request(url, data=body, method=method, headers={"User-Agent": UA})
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def test_each_portal_has_its_own_loopback_host(replica):
    srv = replica(SMALL)
    hosts = {unit: urlsplit(url).hostname for unit, url in srv.portal_urls.items()}
    assert set(hosts) == {"01", "79", "46", "12", "24", "48"}
    assert all(h.startswith("127.") for h in hosts.values())
    if aliases_work():  # Linux: 127.0.1.<code>, all different from the national 127.0.0.1
        assert hosts["79"] == "127.0.1.79" and hosts["01"] == "127.0.1.1"
        assert len(set(hosts.values())) == len(hosts)
    else:
        assert len(set(srv.portal_urls.values())) == len(hosts)


def test_citizen_urls_point_at_the_provinces_portals(replica):
    srv = replica(SMALL)
    scenario = load_scenario(ROOT / SMALL)
    from replica.catalogue import _render

    rendered = [_render(r, srv.base_url, srv.portal_urls) for r in srv.portal.office_rows]
    by_unit = {}
    for row in rendered:
        unit = {"H26": "01", "H29": "79", "H57": "46", "H35": "12"}.get(
            row["departmentCode"].split(".", 1)[0])  # real form: the province prefix
        if unit and row["citizenUrl"]:
            by_unit.setdefault(unit, set()).add(urlsplit(row["citizenUrl"]).netloc)
    assert set(by_unit) == {"01", "79", "46", "12"}  # real codes are attributed by prefix
    for unit, netlocs in by_unit.items():
        assert netlocs == {urlsplit(srv.portal_urls[unit]).netloc}, unit
    assert scenario.portal("24") and "24" not in by_unit  # listed nowhere nationally
    assert {p["unit"] for p in srv.portal_list()} == {"24", "48"}


def test_faults_refuse_and_forbid(replica):
    srv = replica(SMALL)
    with pytest.raises(urllib.error.URLError) as err:
        urllib.request.urlopen(srv.portal_urls["12"] + "/", timeout=5)
    assert "refused" in str(err.value).lower()
    assert fetch(srv.portal_urls["48"] + "/")[0] == 403
    assert fetch(srv.portal_urls["48"] + "/vi/procedure")[0] == 403


def test_submissions_are_answered_and_logged(replica):
    srv = replica(SMALL, fresh=True)
    status, _ = fetch(srv.portal_urls["01"] + "/dich-vu-cong/tiep-nhan-online/nop-ho-so",
                      "POST", b"sid=1")
    assert status == 401
    status, _ = fetch(srv.portal_urls["79"] + "/pa/dossier/--apply", "POST", b"{}")
    assert status == 401
    posted = srv.posts()
    assert [(p.site, p.outcome) for p in posted] == [("01", "submission"), ("79", "submission")]
    assert srv.posts(site="79")[0].path == "/pa/dossier/--apply"
    assert [r.site for r in srv.portal_requests("01")] == ["01"]


def test_igate_routes_all_answer_the_same_empty_shell(replica):
    srv = replica(SMALL)
    base = srv.portal_urls["79"]
    bodies = {fetch(base + p)[1] for p in ("/vi/", "/vi/procedure", "/vi/nps/apply?ma=1.000894",
                                           "/vi/padsvc/apply-online/0123456789abcdef01234567")}
    assert len(bodies) == 1 and "<app-root></app-root>" in bodies.pop()
    status, robots = fetch(base + "/robots.txt")
    assert status == 200 and robots.startswith("User-agent: *")
