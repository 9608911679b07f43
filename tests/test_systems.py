"""Ministry systems (the justice ministry's civil-status system, the construction ministry's):
offices hand citizens off to them, so their evidence decides the portal-side criteria of every
province whose rows of a service hand off to them (docs/ARCHITECTURE.md "Ministry systems").

End to end over real HTTP against replica/scenarios/systems.yaml: every verdict and finding
equals the truth; each system is visited once, politely, never posted to; the construction
system is down, so its cells are cannot_test (refused), never not_met, and no province's own
portal is made unreadable by it."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from app.jobs import AuditResult, run_audit
from core import store
from core.rubric import load_rubric
from replica.scenario import load_scenario
from replica.server import ReplicaServer
from replica.truth import expected_findings, expected_verdicts

pytestmark = pytest.mark.slow

PROJECT = Path(__file__).resolve().parents[1]
SYSTEMS = PROJECT / "replica" / "scenarios" / "systems.yaml"
Key = tuple[str, str, str]


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    out = tmp_path_factory.mktemp("systems")
    with ReplicaServer(load_scenario(SYSTEMS)) as server:
        result = run_audit(server.base_url, out, scenario=str(SYSTEMS), echo=lambda _: None,
                           quiet=True, portal_list=server.portal_list())
        return {"result": result, "log": list(server.request_log),
                "systems": dict(server.system_urls), "out": out}


def stored(result: AuditResult) -> dict[Key, tuple[str, str]]:
    rows = store.load_verdicts(store.open_db(result.db_path), result.run_id)
    return {(v["unit_code"], v["service_id"], v["criterion_id"]): (v["verdict"], v["reason"])
            for v in rows}


def test_every_verdict_and_finding_equals_the_truth(run: dict[str, Any]) -> None:
    result: AuditResult = run["result"]
    scenario, rubric = load_scenario(SYSTEMS), load_rubric()
    truth, got = expected_verdicts(scenario, rubric), stored(result)
    wrong = {k: (got.get(k), truth[k]) for k in truth if got.get(k) != truth[k]}
    assert not wrong, f"{len(wrong)} verdicts differ from the truth: {list(wrong.items())[:6]}"
    db = store.open_db(result.db_path)
    found = {(f["unit_code"], f["service_id"]): (f["kind"], f["national"], f["portal"])
             for f in store.load_findings(db, result.run_id)}
    assert found == expected_findings(scenario, rubric)
    assert found[("46", "death_registration")] == ("national_understates", "PARTIAL", "full")


def test_the_system_met_decides_for_the_provinces_handing_off(run: dict[str, Any]) -> None:
    got = stored(run["result"])
    # Hà Nội's own portal shows birth registration as information only; the justice system
    # (which its rows hand off to) offers it fully: the system decides
    assert got[("01", "birth_registration", "level4_full")] == ("met", "")
    assert got[("01", "birth_registration", "online_payment")] == ("not_met", "no_payment_step")
    # TP HCM has no portal of its own: the system is all its citizens meet
    assert got[("79", "death_registration", "online_payment")][0] == "cannot_test"
    assert got[("79", "marriage_registration", "level4_full")] == ("not_met",
                                                                   "portal_partial_only")
    assert got[("79", "marriage_registration", "online_payment")] == ("met", "")
    # and the mix: Hà Nội's land title stays with its own portal
    assert got[("01", "land_title", "online_payment")] == ("met", "")


def test_a_system_fault_is_cannot_test_and_never_the_portals(run: dict[str, Any]) -> None:
    got = stored(run["result"])
    for unit in ("01", "79"):
        for criterion in ("online_payment", "national_sso"):
            assert got[(unit, "building_permit", criterion)] == ("cannot_test", "refused")
    assert got[("01", "building_permit", "level4_full")] == ("cannot_test", "refused")
    assert got[("79", "building_permit", "level4_full")] == ("met", "")  # national FULL counts
    assert not [k for k, v in got.items() if v == ("not_met", "refused")]
    # Hà Nội's own portal was read: its land title is judged from it, not made unreadable
    assert got[("01", "land_title", "level4_full")] == ("met", "")


def test_each_system_is_crawled_once_and_its_evidence_names_it(run: dict[str, Any]) -> None:
    result: AuditResult = run["result"]
    evidence = store.load_evidence(store.open_db(result.db_path), result.run_id)
    homes = [e for e in evidence if e["kind"] == "portal" and e["data"].get("system")]
    by_host = Counter(e["data"]["system"]["host"] for e in homes)
    hosts = {url.split("//")[1]: sid for sid, url in run["systems"].items()}
    assert set(by_host) == set(hosts) and set(by_host.values()) == {1}
    moj = next(e for e in homes if hosts[e["data"]["system"]["host"]] == "moj")
    assert moj["outcome"] == "ok" and moj["data"]["family"] == "moj"
    assert moj["data"]["system"]["ministry"] == "Bộ Tư pháp"
    assert moj["data"]["units"] == []  # no province's own portal
    assert moj["data"]["handoffs"]["1.001193"] == {"01": 3, "79": 1}
    assert moj["data"]["handoffs"]["1.000656"] == {"01": 2, "46": 2}
    moc = next(e for e in homes if hosts[e["data"]["system"]["host"]] == "moc")
    assert (moc["outcome"], moc["reason"]) == ("failed", "refused")
    walked = [e for e in evidence if e["kind"] == "portal_apply" and e["data"].get("system")]
    assert {e["procedure_code"] for e in walked} == {"1.001193", "1.000656", "1.000894"}
    paid = {e["procedure_code"] for e in walked if e["data"].get("payment")}
    assert paid == {"1.000656", "1.000894"}
    # a province's own portal's evidence never carries a system
    assert all(not e["data"].get("system") for e in evidence
               if e["kind"] == "portal" and e["data"].get("units"))


def test_systems_are_read_without_posts_and_without_a_browser(run: dict[str, Any]) -> None:
    asked = [r for r in run["log"] if r.site.startswith("system:")]
    assert asked and not [r for r in asked if r.method != "GET"]
    assert all("headlesschrome" not in r.headers.get("user-agent", "").casefold()
               for r in asked)
    pages = Counter((r.path, r.query) for r in asked if r.path != "/robots.txt")
    assert max(pages.values()) == 1  # each page asked once


def test_the_unit_page_names_the_system_met(run: dict[str, Any]) -> None:
    page = (run["out"] / "units" / "01.html").read_text(encoding="utf-8")
    assert "Hệ thống: Bộ Tư pháp" in page
    moj_host = run["systems"]["moj"].split("//")[1]
    assert moj_host in page
