"""The provincial spider on its own (one portal from the configured list, no national crawl):
the JavaScript-only family yields nothing without the browser, and the right facts with it;
browser hygiene (contexts and pages closed, images and fonts blocked, nothing posted)."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from audits.evaluate import evaluate
from core import store
from core.rubric import load_rubric
from crawler.runner import crawl

SMALL = "replica/scenarios/small.yaml"


def crawl_portals(srv: Any, out: Path, units: list[str], **settings: Any
                  ) -> tuple[list[dict], dict[str, Any]]:
    """Run the provincial spider alone against `units`' portals; (evidence, stats)."""
    db = store.open_db(out / "audit.db")
    run_id = store.start_run(db, target=srv.base_url, rubric_version="t", engine_version="t")
    portals = [{"unit": u, "url": srv.portal_urls[u] + "/"} for u in units]
    code = crawl("provincial", srv.base_url, out / "audit.db", run_id, quiet=True, overrides={
        "DVC_PORTAL_LIST": portals, "DVC_OUT_DIR": str(out), "DVC_NATIONAL_PAGES": False,
        **settings})
    assert code == 0
    run = store.get_run(db, run_id)
    return store.load_evidence(db, run_id), json.loads(run["stats"])["provincial"]


@pytest.fixture(scope="module")
def srv(replica) -> Any:
    return replica(SMALL, fresh=True)


@pytest.fixture(scope="module")
def with_browser(srv, tmp_path_factory) -> tuple[list[dict], dict[str, Any], Path, list]:
    out = tmp_path_factory.mktemp("browser")
    srv.clear_requests()
    evidence, stats = crawl_portals(srv, out, ["79", "01"])
    return evidence, stats, out, srv.requests


def facts(evidence: list[dict], kind: str) -> list[dict]:
    return [e for e in evidence if e["kind"] == kind]


@pytest.mark.slow
def test_js_only_family_without_a_browser_yields_nothing(srv, tmp_path: Path):
    evidence, stats = crawl_portals(srv, tmp_path, ["79"], DVC_BROWSER=False)
    (portal,) = facts(evidence, "portal")
    assert portal["outcome"] == "ok" and portal["data"]["family"] == "igate"
    assert portal["data"]["needs_js"] is True  # recognised by its page, not its host
    (listing,) = facts(evidence, "portal_list")
    assert (listing["outcome"], listing["reason"]) == ("failed", "needs_browser")
    assert not facts(evidence, "portal_apply") and not facts(evidence, "portal_login")
    assert not any(k.startswith("playwright/") for k in stats)  # no browser was started
    # and the audit says "could not test", never "not met"
    verdicts = {(v["service_id"], v["criterion_id"]): (v["verdict"], v["reason"])
                for v in evaluate(evidence, load_rubric()) if v["unit_code"] == "79"}
    for criterion in ("level3_partial", "level4_full", "online_payment", "national_sso"):
        assert verdicts[("building_permit", criterion)] == ("cannot_test", "needs_browser")


@pytest.mark.slow
def test_no_chromium_is_no_browser_never_not_met(srv, tmp_path: Path):
    evidence, _ = crawl_portals(srv, tmp_path, ["79", "46"],
                                DVC_AUDIT_CHROMIUM=str(tmp_path / "no-such-chromium"))
    lists = {e["data"]["units"][0]: e for e in facts(evidence, "portal_list")}
    assert (lists["79"]["outcome"], lists["79"]["reason"]) == ("failed", "no_browser")
    assert lists["46"]["outcome"] == "ok"  # server-rendered portals need no browser


@pytest.mark.slow
@pytest.mark.browser
def test_js_only_family_with_a_browser_yields_the_facts(with_browser):
    evidence, _, _, _ = with_browser
    igate = [e for e in evidence if e["data"].get("units") == ["79"]]
    (listing,) = facts(igate, "portal_list")
    assert listing["outcome"] == "ok" and listing["data"]["complete"]
    levels = {c: p["level"] for c, p in listing["data"]["procedures"].items()}
    assert {c: levels[c] for c in ("1.000894", "1.001193", "1.012783", "2.001610")} == {
        "1.000894": "full", "1.001193": "partial", "1.012783": "info", "2.001610": "full"}
    applies = {e["procedure_code"]: e["data"] for e in facts(igate, "portal_apply")}
    assert set(applies) == {c for c, lv in levels.items()
                            if lv in ("partial", "full") and "." not in c[2:]}  # rubric codes
    building = next(applies[c] for c in ("1.013225", "1.013236") if c in applies)
    assert building["final_button"] == "Thanh toán" and building["payment"]
    assert building["walked_steps"][-1] == "Xác nhận" and "Phí, lệ phí" in building["walked_steps"]
    assert applies["1.000894"]["final_button"] == "Nộp hồ sơ" and not applies["1.000894"]["payment"]
    assert not applies["2.001610"]["login"]["national"]  # this service: no national sign-on
    assert applies["1.000894"]["login"]["national"]
    (login,) = facts(igate, "portal_login")
    assert login["data"]["national"] and login["data"]["realm"] == "digo"


@pytest.mark.slow
@pytest.mark.browser
def test_evidence_keeps_hashes_excerpts_and_screenshots(with_browser):
    evidence, _, out, _ = with_browser
    db = store.open_db(out / "audit.db")
    stored = {r["sha256"] for r in db.query("SELECT sha256 FROM responses")}
    pages = [e for e in evidence if e["kind"] in ("portal_page", "portal_apply")
             and e["outcome"] == "ok"]
    assert pages
    for e in pages:
        assert e["url"] and e["observed_at"] and len(e["sha256"]) == 64
        assert e["html_sha256"] in stored and e["excerpt"]
        browser = e["data"]["browser"]
        if browser and e["kind"] == "portal_apply":
            assert e["sha256"] != e["html_sha256"]  # the shell the server sent vs the DOM
            assert (out / e["screenshot"]).stat().st_size > 2000
            assert e["screenshot"].startswith("screenshots/run-")
        if not browser:
            assert e["sha256"] == e["html_sha256"] and not e["screenshot"]


@pytest.mark.slow
@pytest.mark.browser
def test_browser_hygiene(with_browser):
    _, stats, _, log = with_browser
    assert stats["playwright/context_count"] == 1  # one context: the one JavaScript portal
    assert stats["playwright/context_count/max_concurrent"] == 1
    assert stats["provincial/contexts_closed"] == stats["playwright/context_count"]
    assert stats["provincial/pages_closed"] == stats["playwright/page_count"]  # reused, closed
    assert stats["playwright/request_count/aborted"] > 0  # favicon and font
    assert not stats.get("playwright/request_count/resource_type/image", 0) - \
        stats.get("playwright/request_count/aborted", 0) > 0
    assert not [r for r in log if r.method not in ("GET", "HEAD")]  # never a POST
    assert not [r for r in log if r.path.endswith((".ico", ".woff2", ".png"))]
    plain = Counter(r.site for r in log if "headlesschrome" not in r.headers.get(
        "user-agent", "").casefold())
    assert plain["01"] > 0  # the server-rendered portal was read without the browser
    assert all("dvc-audit" in r.headers.get("user-agent", "") for r in log)


def test_seeds_from_citizen_urls_and_the_list():
    from crawler.platforms.seeds import portal_seeds

    rubric = load_rubric()

    def row(url: str, office: str) -> dict:
        return {"kind": "office_row", "outcome": "ok",
                "data": {"citizen_url": url, "office_code": office}}

    evidence = [row("http://127.0.1.79:5/vi/nps/apply?ma=1", "000.37.26.H29"),
                row("http://127.0.1.79:5/vi/nps/apply?ma=2", "000.00.12.H29"),
                row("http://127.0.0.1:9/portals/01/x", "000.00.12.H26"),  # national host
                row("https://dichvucong.gov.vn.example/x", "000.00.12.H26"),  # off loopback
                row("http://127.0.1.200:5/shared", "000.00.12.H26"),  # a shared system
                row("http://127.0.1.200:5/shared", "000.00.12.H29"),
                row("", "000.00.12.H14")]
    evidence += [row("127.0.3.1:6/dvc/nop-ho-so/1.001193/buoc-1", "000.37.26.H29")]  # no scheme
    seeds = portal_seeds(evidence, rubric, "http://127.0.0.1:9",
                         [{"unit": "24", "url": "http://127.0.1.24:7/"}])
    # a host offices of several provinces hand off to is a shared system: visited, as a system
    assert [(s.base, sorted(s.units), sorted(s.sources), s.shared) for s in seeds] == [
        ("http://127.0.1.200:5", ["01", "79"], ["national"], True),
        ("http://127.0.1.24:7", ["24"], ["config"], False),
        ("http://127.0.1.79:5", ["79"], ["national"], False),
        ("http://127.0.3.1:6", ["79"], ["national"], False)]  # http on loopback
    assert seeds[2].entry_urls[0].endswith("ma=1")


def test_citizen_urls_without_a_scheme_are_https_off_loopback():
    from crawler.platforms.seeds import with_scheme

    assert with_scheme("dichvucongnganhtuphap.moj.gov.vn") == \
        "https://dichvucongnganhtuphap.moj.gov.vn"
    assert with_scheme("dvc.moc.gov.vn/x?y=1") == "https://dvc.moc.gov.vn/x?y=1"
    assert with_scheme("127.0.3.1:80/a") == "http://127.0.3.1:80/a"
    assert with_scheme("http://a.example/") == "http://a.example/"
    assert with_scheme("") == ""


def test_what_names_a_shared_system():
    from crawler.platforms.seeds import Seed, system_of

    portal = Seed("http://127.0.1.1:5", {"01"}, {"national"})
    assert system_of(portal, "eform") is None
    assert system_of(portal, "moj") == {"host": "127.0.1.1:5", "family": "moj",
                                        "ministry": "Bộ Tư pháp"}  # its pages say so
    shared = Seed("http://127.0.1.1:5", {"01", "04"}, {"national"})
    assert system_of(shared, "eform") == {"host": "127.0.1.1:5", "family": "eform",
                                          "ministry": ""}
    listed = Seed("http://127.0.1.1:5", {"01", "04"}, {"national", "config"})
    assert system_of(listed, "moj") is None  # the list names it a province's portal
    down = Seed("https://dvc.moc.gov.vn", {"01"}, {"national"})
    assert system_of(down, "")["ministry"] == "Bộ Xây dựng"  # known by its name
