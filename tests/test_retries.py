"""Retries and fault rules hold (issue 15): retries count per URL, across redirects; the requests a
browser page makes are retried like plain ones and fail with their own reason; the truth follows
the documented fault rules (file order, `times` against the replica's retries, a short `slow`,
a small `huge`); the replica's portal list names the portals an audit cannot find otherwise.

The first tests are pure or use a tiny local server; the audit of replica/scenarios/retries.yaml
(national + provincial crawls, real Chromium) is shared by the tests marked slow."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from core import store
from core.rubric import load_rubric
from replica import scenario as sc
from replica.scenario import ScenarioError, load_scenario, parse_scenario
from replica.server import ReplicaServer
from replica.truth import expected_verdicts
from tests.test_crawler_middlewares import crawl

PROJECT = Path(__file__).resolve().parents[1]
RETRIES = PROJECT / "replica" / "scenarios" / "retries.yaml"
Key = tuple[str, str, str]


def small(faults: list[dict[str, Any]], **extra: Any) -> sc.Scenario:
    """small.yaml with other faults (and top-level keys replaced)."""
    from core.yamlio import read_yaml_file

    doc = read_yaml_file(PROJECT / "replica" / "scenarios" / "small.yaml")
    doc.update(faults=faults, **extra)
    return parse_scenario(doc, "variant.yaml")


@pytest.fixture(scope="module")
def rubric() -> Any:
    return load_rubric()


# -- the replica profile, the README and the truth agree -----------------------------------------


def test_truth_constants_are_the_replica_profiles() -> None:
    from crawler import settings
    from crawler.profiles import LOOPBACK

    assert sc.REPLICA_RETRIES == LOOPBACK["RETRY_TIMES"]
    assert sc.PAGE_TIMEOUT == LOOPBACK["DOWNLOAD_TIMEOUT"]
    assert sc.MAX_PAGE_MIB * 2**20 == settings.DOWNLOAD_MAXSIZE
    assert sc.SLOW_IN_TIME < sc.PAGE_TIMEOUT < sc.SLOW_TIMES_OUT
    readme = (PROJECT / "README.md").read_text(encoding="utf-8")
    assert f"on the replica (loopback profile) {LOOPBACK['RETRY_TIMES']}" in readme


def test_times_above_the_retries_is_a_failure(rubric: Any) -> None:
    heals = small([{"kind": "http_error", "unit": "01", "times": sc.REPLICA_RETRIES}])
    fails = small([{"kind": "http_error", "unit": "01", "times": sc.REPLICA_RETRIES + 1}])
    cell = ("01", "death_registration", "national_sso")
    assert expected_verdicts(heals, rubric)[cell] == ("met", "")
    assert expected_verdicts(fails, rubric)[cell] == ("cannot_test", "http_5xx")


def test_short_slow_and_small_huge_are_no_failures(rubric: Any) -> None:
    cell = ("01", "death_registration", "national_sso")
    for fault, reason in [({"kind": "slow", "seconds": 2}, ""),
                          ({"kind": "slow", "seconds": 60}, "timeout"),
                          ({"kind": "huge", "megabytes": 32}, ""),
                          ({"kind": "huge", "megabytes": 33}, "too_large")]:
        got = expected_verdicts(small([{**fault, "unit": "01"}]), rubric)[cell]
        assert got == (("cannot_test", reason) if reason else ("met", "")), fault


@pytest.mark.parametrize("seconds", [10, 15, 29.5])
def test_a_slow_wait_near_the_timeout_is_refused(seconds: float) -> None:
    with pytest.raises(ScenarioError) as err:
        small([{"kind": "slow", "unit": "01", "seconds": seconds}])
    assert "faults[0].seconds" in str(err.value) and "machine's speed" in str(err.value)


# -- the first fault in file order answers --------------------------------------------------------


def test_an_encoding_fault_listed_first_answers(rubric: Any) -> None:
    first = [{"kind": "legacy_encoding", "unit": "01", "service": "death_registration"},
             {"kind": "forbidden", "unit": "01", "service": "death_registration"}]
    cell = ("01", "death_registration", "national_sso")
    assert expected_verdicts(small(first), rubric)[cell] == ("met", "")
    assert expected_verdicts(small(first[::-1]), rubric)[cell] == ("cannot_test", "blocked")
    # a whole-portal fault listed first answers the service's pages too
    whole = [{"kind": "mislabelled_charset", "unit": "01"}, first[1]]
    assert expected_verdicts(small(whole), rubric)[cell] == ("met", "")
    srv = ReplicaServer(small(first)).start()
    try:
        assert srv.sites["01"].faults[0].kind == "legacy_encoding"
        from replica.provincial import fault_for

        listed = srv.sites["01"].by_service("death_registration")
        path, params = "/dich-vu-cong/tiep-nhan-online/chon-truong-hop-ho-so", {"ma": listed.code}
        assert fault_for(srv.sites["01"], path, params).kind == "legacy_encoding"
    finally:
        srv.stop()


def test_first_fault_of_a_procedure_and_of_a_portal_answers(rubric: Any) -> None:
    healing_first = small([{"kind": "http_error", "procedure": "1.000656", "times": 1},
                           {"kind": "blocked", "procedure": "1.000656"},
                           {"kind": "rate_limited", "unit": "01", "times": 1},
                           {"kind": "portal_blocked", "unit": "01"}])
    assert healing_first.failed_procedures() == {}
    assert healing_first.portal_faults() == {}
    t = expected_verdicts(healing_first, rubric)
    assert t[("01", "death_registration", "level3_partial")] == ("met", "")
    # robots.txt is read before any page: its fault decides whatever the order
    robots_last = small([{"kind": "forbidden", "unit": "01"}, {"kind": "robots", "unit": "01"}])
    assert robots_last.portal_faults() == {"01": "robots_disallowed"}


# -- the portal list: portals no office row an audit can read hands off to ------------------------


def test_portal_list_names_portals_handed_off_to_only_by_failed_rows() -> None:
    s = load_scenario(RETRIES)
    srv = ReplicaServer(s)
    assert "40" in srv.unlinked_portals()
    assert s.failed_procedures() == {"1.000656": "http_5xx"}
    linked = {"46", "79", "01", "24", "12", "22"}
    assert not linked & set(srv.unlinked_portals())


# -- retries count per URL (a tiny server) -------------------------------------------------------


class Redirecting:
    """/p/<i> fails once (503), then redirects to /q/<i>, which fails once, then answers."""

    def __init__(self) -> None:
        self.log: list[tuple[str, int]] = []
        self.lock = threading.Lock()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                status, headers = owner.answer(self.path)
                body = b"<html><body>ok</body></html>"
                self.send_response(status)
                for k, v in {**headers, "Content-Type": "text/html",
                             "Content-Length": str(len(body))}.items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def answer(self, path: str) -> tuple[int, dict[str, str]]:
        with self.lock:
            seen = sum(1 for p, _ in self.log if p == path)
            status, headers = 200, {}
            if path != "/robots.txt" and not seen:
                status = 503
            elif path.startswith("/p/"):
                status, headers = 302, {"Location": "/q/" + path[3:]}
            self.log.append((path, status))
            return status, headers


@pytest.fixture
def redirecting() -> Iterator[Redirecting]:
    srv = Redirecting()
    yield srv
    srv.httpd.shutdown()


@pytest.mark.slow
def test_retries_count_per_url_across_redirects(redirecting: Redirecting) -> None:
    out = crawl(redirecting, 2, RETRY_TIMES=1, DVC_RETRY_BACKOFF=0.05)
    assert sorted(x["url"].rsplit("/", 2)[1] for x in out if x["kind"] == "ok") == ["q", "q"]
    assert not [x for x in out if x["kind"] == "failed"]
    q0 = [s for p, s in redirecting.log if p == "/q/0"]
    assert q0 == [503, 200]  # the redirect target got its own retry


# -- the audit of retries.yaml -------------------------------------------------------------------

OVERRIDES = {"DOWNLOAD_TIMEOUT": 6, "DVC_RETRY_BACKOFF": 0.2, "RETRY_TIMES": 1}


@pytest.fixture(scope="module")
def audit(replica: Any, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    from app.jobs import run_audit

    srv = replica(str(RETRIES), fresh=True)
    out = tmp_path_factory.mktemp("retries")
    result = run_audit(srv.base_url, out, scenario=str(RETRIES), echo=lambda _: None,
                       quiet=True, portal_list=srv.portal_list(), overrides=OVERRIDES)
    db = store.open_db(result.db_path)
    got = {(v["unit_code"], v["service_id"], v["criterion_id"]): (v["verdict"], v["reason"])
           for v in store.load_verdicts(db, result.run_id)}
    evidence = list(db["evidence"].rows_where("run_id = ?", [result.run_id]))
    return {"got": got, "want": expected_verdicts(load_scenario(RETRIES), load_rubric()),
            "log": srv.requests, "evidence": evidence, "result": result}


def differences(audit: dict[str, Any], unit: str, service: str = "") -> dict[Key, tuple]:
    got, want = audit["got"], audit["want"]
    return {k: (got.get(k), v) for k, v in want.items()
            if k[0] == unit and (not service or k[1] == service) and got.get(k) != v}


@pytest.mark.slow
@pytest.mark.browser
@pytest.mark.parametrize("unit", ["46", "79"])
def test_a_redirected_home_page_heals(audit: dict[str, Any], unit: str) -> None:
    assert not differences(audit, unit)
    portal = [e for e in audit["evidence"] if e["kind"] == "portal" and f'"{unit}"' in e["data"]]
    assert [e["outcome"] for e in portal] == ["ok"]
    if unit == "79":  # (a slow answer is logged only when its wait ends: not 46's)
        home = [(r.path, r.status) for r in audit["log"] if r.site == unit
                and r.path in ("/", "/vi/")]
        assert home[:4] == [("/", 503), ("/", 302), ("/vi/", 503), ("/vi/", 200)]


@pytest.mark.slow
@pytest.mark.browser
def test_a_page_request_answered_429_is_asked_again(audit: dict[str, Any]) -> None:
    assert not differences(audit, "01")
    xhr: dict[str, list[int]] = {}
    for r in audit["log"]:
        if r.site == "01" and r.path == "/pa/procedure/--detail":
            xhr.setdefault(r.query, []).append(r.status)
    assert [429, 200] in [statuses[:2] for statuses in xhr.values()], xhr
    applies = [e for e in audit["evidence"] if e["kind"] == "portal_apply"
               and '"01"' in (e["data"] or "")]
    assert applies and not [e for e in applies if e["reason"] == "not_found"]


@pytest.mark.slow
@pytest.mark.browser
@pytest.mark.parametrize(("unit", "service", "reason"), [
    ("24", "birth_registration", "http_5xx"),  # times: 2 > one retry: given up
    ("12", "birth_registration", ""),  # a 2 s wait is read
    ("12", "marriage_registration", ""),  # a 1 MiB page is read
    ("22", "birth_registration", ""),  # the encoding fault listed first answers
    ("40", "", ""),  # found through the portal list
])
def test_fault_rules_agree(audit: dict[str, Any], unit: str, service: str, reason: str) -> None:
    assert not differences(audit, unit, service)
    sso = audit["want"][(unit, service or "birth_registration", "national_sso")]
    assert (sso[0] == "cannot_test") == bool(reason) and (not reason or sso[1] == reason)


@pytest.mark.slow
@pytest.mark.browser
def test_every_verdict_equals_the_truth(audit: dict[str, Any]) -> None:
    wrong = {k: (audit["got"].get(k), v) for k, v in audit["want"].items()
             if audit["got"].get(k) != v}
    assert not wrong, f"{len(wrong)} differ, e.g. {list(wrong.items())[:6]}"


# -- under load -----------------------------------------------------------------------------------


# Busy processes per core. Neither 1 nor 2 made the crawler before issue 15 differ from the truth
# on the small scenario here (its portals render fast): a guard; the full scenario under load is
# the benchmark's (bench/run.py, docs/PERFORMANCE.md "Under load").
LOAD_PER_CORE = 2


@pytest.mark.slow
@pytest.mark.browser
def test_small_scenario_under_cpu_load_equals_the_truth(replica: Any, tmp_path: Path) -> None:
    """Busy processes on every core (as the benchmark makes them): the verdicts are still the
    truth (render timeouts are retried, browser work backs off), not more "could not test"."""
    from app.jobs import run_audit
    from bench.run import CpuLoad

    small_yaml = PROJECT / "replica" / "scenarios" / "small.yaml"
    srv = replica(str(small_yaml), fresh=True)
    with CpuLoad(seconds=600, per_core=LOAD_PER_CORE):
        result = run_audit(srv.base_url, tmp_path, scenario=str(small_yaml), echo=lambda _: None,
                           quiet=True, portal_list=srv.portal_list())
    got = {(v["unit_code"], v["service_id"], v["criterion_id"]): (v["verdict"], v["reason"])
           for v in store.load_verdicts(store.open_db(result.db_path), result.run_id)}
    want = expected_verdicts(load_scenario(small_yaml), load_rubric())
    wrong = {k: (got.get(k), v) for k, v in want.items() if got.get(k) != v}
    assert result.status == "complete"
    assert not wrong, f"{len(wrong)} differ under load, e.g. {list(wrong.items())[:6]}"


# -- a render that times out ----------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.browser
def test_a_render_that_times_out_is_retried_with_more_time(replica: Any, tmp_path: Path,
                                                           rubric: Any) -> None:
    """The request an iGate app makes for a procedure answers late once (a busy machine or
    backend): the first render times out, the page is reloaded once with twice the time and is
    read, so the cells are what the truth says (a 4 s wait is no failure), never `timeout`. The
    page's own wait here is shortened so that one late answer outlasts it."""
    import json

    from app.jobs import run_audit

    scenario = small([{"kind": "slow", "unit": "79", "service": "birth_registration",
                       "seconds": 4, "times": 1}])
    srv = replica(scenario)
    result = run_audit(srv.base_url, tmp_path, scenario="render-retry", echo=lambda _: None,
                       quiet=True, portal_list=srv.portal_list(),
                       overrides={**OVERRIDES, "DVC_READY_TIMEOUT": 2500})
    db = store.open_db(result.db_path)
    got = {(v["unit_code"], v["service_id"], v["criterion_id"]): (v["verdict"], v["reason"])
           for v in store.load_verdicts(db, result.run_id)}
    want = expected_verdicts(scenario, rubric)
    wrong = {k: (got.get(k), v) for k, v in want.items() if k[0] == "79" and got.get(k) != v}
    assert not wrong, wrong
    stats = json.loads(db["runs"].get(result.run_id)["stats"])
    assert int(stats["provincial"].get("provincial/render_retries") or 0) >= 1
    late = [r for r in srv.requests if r.site == "79" and r.path == "/pa/procedure/--detail"]
    assert len(late) >= 2  # asked again by the reload
