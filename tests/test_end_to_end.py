"""Replica + national and provincial spiders + store + audit + report, over real HTTP: the
small scenario in detail, and the full one (all three portal families).

Every verdict and every disagreement finding must equal the scenario's ground truth
(replica/truth.py)."""

from __future__ import annotations

import csv
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from app.jobs import AuditResult, run_audit, site_overrides
from core import store
from core.rubric import load_rubric
from crawler.measures import find_java, find_vnu
from crawler.spiders.national import API as NATIONAL_API
from crawler.spiders.national_pages import NATIONAL_PAGE
from replica import index766
from replica.scenario import load_scenario
from replica.server import ReplicaServer
from replica.truth import expected_details, expected_findings, expected_verdicts, site_truth
from tests.browser import render

pytestmark = [pytest.mark.slow, pytest.mark.browser]

PROJECT = Path(__file__).resolve().parents[1]
SMALL = PROJECT / "replica" / "scenarios" / "small.yaml"
FULL = PROJECT / "replica" / "scenarios" / "full.yaml"
API_PATHS = {
    "/api/v1/configuring/province-vn/list-by-citizen",
    "/api/v1/submitting/formality/list-all-public-formality-by-citizen",
    "/api/v1/configuring/formality/get-formality-by-citizen",
    "/api/v1/submitting/formality/list-department-url-by-citizen",
    *index766.PATHS,  # the portal's Decision 766 reporting API, read for the comparison
}


def audit(out: Path, scenario: Path = SMALL, **kwargs: Any) -> tuple[AuditResult, list]:
    with ReplicaServer(load_scenario(scenario)) as server:
        kwargs["overrides"] = {**site_overrides(server), **(kwargs.get("overrides") or {})}
        result = run_audit(server.base_url, out, scenario=str(scenario), echo=lambda _: None,
                           quiet=True, portal_list=server.portal_list(), **kwargs)
        return result, list(server.request_log)


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> tuple[AuditResult, list]:
    return audit(tmp_path_factory.mktemp("small"))


def stored_verdicts(result: AuditResult) -> dict[tuple[str, str, str], tuple[str, str]]:
    rows = store.load_verdicts(store.open_db(result.db_path), result.run_id)
    return {(v["unit_code"], v["service_id"], v["criterion_id"]): (v["verdict"], v["reason"])
            for v in rows}


def test_every_verdict_equals_the_scenario_truth(small: tuple[AuditResult, list]) -> None:
    result, _ = small
    truth = expected_verdicts(load_scenario(SMALL), load_rubric())
    got = stored_verdicts(result)
    assert got.keys() == truth.keys()
    wrong = {k: (got[k], truth[k]) for k in truth if got[k] != truth[k]}
    assert not wrong, f"{len(wrong)} verdicts differ from the truth, e.g. {list(wrong.items())[:5]}"
    # The small scenario exercises every verdict, so equality above is not vacuous.
    assert {v for v, _ in got.values()} == {"met", "not_met", "not_applicable", "cannot_test"}
    assert ("cannot_test", "blocked") in set(got.values())


def test_run_is_complete_and_the_crawl_scraped_evidence(small: tuple[AuditResult, list]) -> None:
    result, _ = small
    db = store.open_db(result.db_path)
    run = store.get_run(db, result.run_id)
    assert run["status"] == "complete"
    assert run["rubric_version"] == load_rubric().version
    stats = __import__("json").loads(run["stats"])
    assert stats["finish_reason"] == "finished"
    assert stats["item_scraped_count"] > 100
    kinds = Counter(e["kind"] for e in store.load_evidence(db, result.run_id))
    assert kinds["catalogue"] >= 1 and kinds["procedure_detail"] > 0 and kinds["office_row"] > 0
    complete = [e for e in store.load_evidence(db, result.run_id)
                if e["kind"] == "catalogue" and e["data"].get("complete")]
    assert complete and complete[0]["data"]["pages"] >= 3  # paging was real


# the HTML side and its challenge script; Chromium fetches /favicon.ico itself (Playwright
# cannot intercept that one)
NATIONAL_PAGES = ("/robots.txt", "/thu-tuc-hanh-chinh/", "/TSPD/", "/favicon.ico")


def searched_paths(result: AuditResult) -> set[str]:
    """The paths the site crawl (UN survey) searched on the national portal, its sitemap and
    the home page's style sheets (read for the W3C checker)."""
    rows = store.load_evidence(store.open_db(result.db_path), result.run_id, ("site_page",))
    paths = {urlsplit(e["url"]).path for e in rows if e["data"]["units"] == ["VN"]}
    return paths | {"/sitemap.xml"}


def test_crawler_only_reads(small: tuple[AuditResult, list]) -> None:
    result, log = small
    assert log, "the replica saw no request"
    searched = searched_paths(result)
    assert "/" in searched  # the national portal's home page, searched by the site crawl
    for entry in log:
        method, path = entry["method"], entry["path"]
        if entry["site"] != "national":  # provincial portals: read, never submit
            assert method in ("GET", "HEAD"), entry
            continue
        assert (method == "POST" and path in API_PATHS) or (method == "GET" and (
            path.startswith(NATIONAL_PAGES) or path in searched or path.endswith(".css"))), entry
    portals = {e["site"] for e in log} - {"national"}
    assert portals == {"01", "79", "46", "24", "48"}  # "12" is down: nothing reached it


def stored_findings(result: AuditResult) -> dict[tuple[str, str], tuple[str, str, str]]:
    rows = store.load_findings(store.open_db(result.db_path), result.run_id)
    return {(f["unit_code"], f["service_id"]): (f["kind"], f["national"], f["portal"])
            for f in rows}


def test_disagreement_findings_equal_the_truth(small: tuple[AuditResult, list]) -> None:
    result, _ = small
    truth = expected_findings(load_scenario(SMALL), load_rubric())
    assert stored_findings(result) == truth
    assert truth[("01", "business_registration")] == ("national_overstates", "FULL", "partial")
    assert truth[("01", "death_registration")] == ("national_understates", "PARTIAL", "full")
    assert truth[("24", "marriage_registration")] == ("not_listed_nationally", "", "partial")
    assert ("24", "birth_registration") not in truth  # birth: 2.000986 blocked nationally


def test_portal_evidence_explains_the_verdicts(small: tuple[AuditResult, list]) -> None:
    result, _ = small
    db = store.open_db(result.db_path)
    evidence = {e["id"]: e for e in store.load_evidence(db, result.run_id)}
    verdicts = {(v["unit_code"], v["service_id"], v["criterion_id"]): v
                for v in store.load_verdicts(db, result.run_id)}
    paid = verdicts[("79", "civil_service_recruitment", "online_payment")]
    assert paid["verdict"] == "met"
    (page,) = [evidence[i] for i in paid["evidence_ids"]]
    assert page["kind"] == "portal_apply" and page["data"]["final_button"] == "Thanh toán"
    assert (result.db_path.parent / page["screenshot"]).exists() and page["excerpt"]
    down = verdicts[("12", "marriage_registration", "national_sso")]
    assert (down["verdict"], down["reason"]) == ("cannot_test", "refused")  # never not_met
    shown = verdicts[("01", "birth_registration", "offered_online")]["evidence_ids"]
    assert any(evidence[i]["kind"] == "national_page" for i in shown)  # how the page shows it


def test_full_scenario_all_families_verdicts_and_findings(tmp_path: Path) -> None:
    result, log = audit(tmp_path, FULL)
    scenario, rubric = load_scenario(FULL), load_rubric()
    assert result.status == "complete"
    truth = expected_verdicts(scenario, rubric)
    got = stored_verdicts(result)
    wrong = {k: (got[k], truth[k]) for k in truth if got[k] != truth[k]}
    assert not wrong, f"{len(wrong)} verdicts differ, e.g. {list(wrong.items())[:5]}"
    findings = expected_findings(scenario, rubric)
    assert stored_findings(result) == findings
    assert {kind for kind, _, _ in findings.values()} == {
        "national_overstates", "national_understates", "not_listed_nationally"}
    db = store.open_db(result.db_path)
    homes = [e for e in store.load_evidence(db, result.run_id)
             if e["kind"] == "portal" and e["outcome"] == "ok"]
    families = Counter(e["data"]["family"] for e in homes if not e["data"].get("system"))
    assert set(families) == {"igate", "eform", "legacy"}
    # civil status and building permits hand off to the ministries' systems, as in real rows
    systems = Counter(e["data"]["family"] for e in homes if e["data"].get("system"))
    assert systems == {"moj": 1, "moc": 1}
    assert not [e for e in log if e["site"] != "national" and e["method"] not in ("GET",
                                                                                 "HEAD")]
    # the UN survey (issue 18): every automatic feature of every site as the truth says, a
    # LOSI score and page for each of the 34 provinces, and the national OSQ panel
    site = site_truth(scenario, java_available=find_java() is not None and find_vnu() is not None)
    answers = store.load_indicator_answers(db, result.run_id)
    auto = {(a["unit_code"], a["detector"]): (a["verdict"], a["reason"])
            for a in answers if a["judged"] == "auto"}
    wrong_site = {k: (v, site[k]) for k, v in auto.items() if v != site[k]}
    assert not wrong_site, f"{len(wrong_site)} differ, e.g. {list(wrong_site.items())[:5]}"
    losi = {a["unit_code"] for a in answers if a["indicator_set"] == "losi"
            and a["verdict"] in ("met", "not_met")}
    assert losi == {u.code for u in rubric.provinces}
    out = result.reports["html"].parent
    assert len(list((out / "units").glob("*-losi.html"))) == len(rubric.provinces)
    dashboard = result.reports["html"].read_text(encoding="utf-8")
    assert 'id="osq-panel"' in dashboard and 'id="osq-share"' in dashboard
    assert 'id="losi-panel"' in dashboard


def test_verdicts_csv(small: tuple[AuditResult, list]) -> None:
    result, _ = small
    rubric = load_rubric()
    with result.reports["csv"].open(encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert {"unit_code", "unit_name", "service_id", "criterion_id", "verdict",
            "reason"} <= set(rows[0])
    assert len(rows) == len(rubric.units) * len(rubric.services) * len(rubric.criteria)
    assert {r["verdict"] for r in rows} <= {"met", "not_met", "not_applicable", "cannot_test"}
    assert "Thành phố Hà Nội" in {r["unit_name"] for r in rows}


def test_office_codes_coverage_and_unattributed_rows(small: tuple[AuditResult, list]) -> None:
    """Real office code forms are attributed, every level verdict carries the share of the
    unit's offices the truth gives, and rows no unit claims (BCA_CAX) are shown."""
    result, _ = small
    db = store.open_db(result.db_path)
    rows = store.load_verdicts(db, result.run_id)
    got = {(v["unit_code"], v["service_id"], v["criterion_id"]): v["detail"]
           for v in rows if v["detail"]}
    truth = expected_details(load_scenario(SMALL), load_rubric())
    assert got == truth
    assert truth[("31", "marriage_registration", "level4_full")] == "9/12"  # below 0.9
    verdicts = stored_verdicts(result)
    assert verdicts[("31", "marriage_registration", "level4_full")] == ("not_met",
                                                                        "below_coverage")
    assert verdicts[("04", "building_permit", "offered_online")] == ("cannot_test",
                                                                     "unattributed_rows")
    assert verdicts[("EVN", "utility_bill_payment", "offered_online")] == ("met", "")
    assert verdicts[("G08", "foreigner_visa_extension", "offered_online")] == (
        "cannot_test", "unit_code_unverified")
    html = result.reports["html"].read_text(encoding="utf-8")
    assert 'id="unattributed"' in html and 'data-office="BCA_CAX"' in html
    unit = (result.reports["html"].parent / "units" / "31.html").read_text(encoding="utf-8")
    assert 'data-share="9/12"' in unit and "toàn trình: 9/12" in unit
    with result.reports["csv"].open(encoding="utf-8-sig", newline="") as fh:
        shares = {(r["unit_code"], r["service_id"], r["criterion_id"]): r["detail"]
                  for r in csv.DictReader(fh) if r["detail"]}
    assert shares == truth


def test_report_opens_in_chromium(small: tuple[AuditResult, list], tmp_path: Path) -> None:
    result, _ = small
    html = result.reports["html"].read_text(encoding="utf-8")
    facts = render(result.reports["html"].as_uri(), tmp_path / "report.png")
    assert facts["matrixRows"] >= 34
    assert facts["matrixCells"] == facts["matrixRows"] * len(load_rubric().services)
    assert facts["hatched"] > 0          # the blocked service shows as "could not test"
    assert facts["unitSections"] == facts["matrixRows"]
    assert facts["scripts"] == 0 and facts["external"] == []
    assert "Đăng ký khai sinh" in facts["text"] and "Đăng ký khai sinh" in html
    assert (tmp_path / "report.png").stat().st_size > 10_000


def test_non_browser_user_agent_is_blocked_and_never_not_met(tmp_path: Path) -> None:
    result, _ = audit(tmp_path, overrides={"USER_AGENT": "Scrapy/2 (+https://scrapy.org)"})
    got = stored_verdicts(result)
    national = {"offered_online", "level3_partial", "level4_full", "national_handoff"}
    # the national portal told nothing; the portals of the replica's list (24, 48) were still
    # visited (provincial portals do not refuse that User-Agent): 24's portal, read completely,
    # decides its levels; every other unit's national criteria could not be tested
    read = {"24"}
    row_verdicts = {v for (u, _, c), v in got.items()
                    if c in national and v[0] != "not_applicable" and u not in read}
    assert row_verdicts == {("cannot_test", "blocked")}
    assert got[("24", "marriage_registration", "level4_full")] == ("not_met",
                                                                   "portal_partial_only")
    assert got[("24", "marriage_registration", "offered_online")] == ("cannot_test", "blocked")


def test_the_crawls_take_the_national_host_in_turn(small: tuple[AuditResult, list]) -> None:
    """National API, then the 766 figures, then the national pages, then the UN survey's site
    search: never two crawls on the host at once. The portals, visited meanwhile, carry their
    final units (seeds.Seeding). The site search starts with the national pages' crawl (the
    provincial crawl has left the portals by then) and asks the national host after it."""
    result, log = small
    national = sorted((r for r in log if r.site == "national" and r.path != "/robots.txt"),
                      key=lambda r: r.at)

    def crawl_of(r: Any) -> int:
        return 1 if r.path in index766.PATHS else 0 if r.path in NATIONAL_API.values() else 2

    order = [crawl_of(r) for r in national]
    assert order == sorted(order) and set(order) == {0, 1, 2}
    evidence = store.load_evidence(store.open_db(result.db_path), result.run_id)
    stats = __import__("json").loads(store.get_run(store.open_db(result.db_path),
                                                   result.run_id)["stats"])

    def at(phase: str, key: str) -> float:
        return datetime.fromisoformat(stats[phase][key]).timestamp()

    # the national pages are their own crawl, after the provincial one
    pages = [r.at for r in national if r.path.startswith(NATIONAL_PAGE)]
    portals = [r.at for r in log if r.site not in ("national", "offsite")]
    assert portals and min(portals) < min(pages)
    assert at("provincial", "finish_time") <= at("national_pages", "start_time")
    assert stats["national_pages"]["item_scraped_count"] == sum(
        e["kind"] == "national_page" for e in evidence) > 0
    # the UN survey's site search: beside the national pages, on the national host after them
    assert at("site", "start_time") >= at("provincial", "finish_time")
    searched = [r.at for r in national if crawl_of(r) == 2 and not r.path.startswith(
        (NATIONAL_PAGE, "/TSPD"))]
    assert searched and min(searched) >= at("national_pages", "finish_time")
    assert stats["site"]["item_scraped_count"] == sum(
        e["kind"] in ("site_page", "site_measure") for e in evidence) > 0
    units: dict[str, set[tuple[str, ...]]] = {}
    for e in evidence:
        if e["kind"].startswith("portal"):
            units.setdefault(e["data"]["base"], set()).add(tuple(e["data"]["units"]))
    assert units and all(len(u) == 1 for u in units.values())
