"""Every injected fault (replica/scenarios/faults.yaml) becomes its named reason on a "could not
test" verdict, never "not met"; transient faults are retried (with backoff) and heal; permanent
ones are asked once; encodings are read right. One audit (national + provincial spiders, real
HTTP, real Chromium) shared by the module."""

from __future__ import annotations

import json
import unicodedata
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from app.jobs import AuditResult, run_audit
from core import store
from core.rubric import load_rubric
from replica.scenario import FAULT_KINDS, load_scenario
from replica.truth import expected_verdicts

pytestmark = [pytest.mark.slow, pytest.mark.browser]

PROJECT = Path(__file__).resolve().parents[1]
FAULTS = PROJECT / "replica" / "scenarios" / "faults.yaml"
RETRY_TIMES = 1  # the loopback profile's
OVERRIDES = {
    "DOWNLOAD_TIMEOUT": 3,  # the slow fault answers after 60 s
    "DVC_RETRY_BACKOFF": 0.2,
    "DVC_READY_TIMEOUT": 8000,  # a challenge that never clears is given up sooner
    "RETRY_TIMES": RETRY_TIMES,
}
ENCODING_KINDS = ("legacy_encoding", "mislabelled_charset")
Key = tuple[str, str, str]


@pytest.fixture(scope="module")
def run(replica: Any, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    srv = replica(str(FAULTS), fresh=True)
    out = tmp_path_factory.mktemp("faults")
    result = run_audit(srv.base_url, out, scenario=str(FAULTS), echo=lambda _: None, quiet=True,
                       portal_list=srv.portal_list(), overrides=OVERRIDES)
    log = srv.requests

    def debug(kind: str) -> list[tuple]:
        return [(r.site, r.method, r.path, r.query, r.status, r.headers.get("accept", "")[:20])
                for r in log if r.outcome == kind]

    return {"result": result, "log": log, "scenario": load_scenario(FAULTS),
            "retry_debug": debug, "offsite_url": srv.offsite_url}


def verdicts(result: AuditResult) -> dict[Key, tuple[str, str]]:
    rows = store.load_verdicts(store.open_db(result.db_path), result.run_id)
    return {(v["unit_code"], v["service_id"], v["criterion_id"]): (v["verdict"], v["reason"])
            for v in rows}


def truth(run: dict[str, Any]) -> dict[Key, tuple[str, str]]:
    return expected_verdicts(run["scenario"], load_rubric())


def affected(run: dict[str, Any], fault: Any) -> list[Key]:
    """The cells a fault decides: those of its unit (and service); for a national procedure,
    the cells of its service that the truth fails with its reason."""
    want = truth(run)
    if fault.unit:
        return [k for k in want if k[0] == fault.unit
                and (not fault.service or k[1] == fault.service)]
    services = {s.id for s in load_rubric().services
                if any(p.code == fault.procedure for p in s.procedures)}
    return [k for k, v in want.items() if k[1] in services and v == ("cannot_test", fault.fails)]


def untriggered(run: dict[str, Any]) -> list[Any]:
    """Portal faults the audit never met (none should be: each faults a page it needs)."""
    hit = {(r.site, r.outcome) for r in run["log"]}
    quiet = ("down", "portal_down", "slow", "robots")  # never logged, logged late, or robots.txt
    return [f for f in run["scenario"].faults
            if f.unit and f.kind not in quiet and (f.unit, f.kind) not in hit]


def test_every_portal_fault_was_met(run: dict[str, Any]) -> None:
    assert not untriggered(run)


def fault_ids() -> list[str]:
    from replica.scenario import load_scenario as load

    return [f"{f.kind}-{f.unit or f.procedure}" for f in load(FAULTS).faults]


@pytest.mark.parametrize("index", range(len(fault_ids())), ids=fault_ids())
def test_fault_gives_its_reason(run: dict[str, Any], index: int) -> None:
    fault = run["scenario"].faults[index]
    got, want = verdicts(run["result"]), truth(run)
    cells = affected(run, fault)
    assert cells
    wrong = {k: (got[k], want[k]) for k in cells if got[k] != want[k]}
    assert not wrong, f"{fault.kind}: {len(wrong)} cells differ, e.g. {list(wrong.items())[:4]}"
    if fault.fails:  # the fault shows as its reason somewhere, and only as cannot_test
        assert (("cannot_test", FAULT_KINDS[fault.kind].reason) in {got[k] for k in cells})


def test_no_not_met_where_the_truth_cannot_test(run: dict[str, Any]) -> None:
    got, want = verdicts(run["result"]), truth(run)
    assert got.keys() == want.keys()
    bad = [k for k, v in want.items() if v[0] == "cannot_test" and got[k][0] == "not_met"]
    assert not bad, bad[:5]
    wrong = {k: (got[k], want[k]) for k in want if got[k] != want[k]}
    assert not wrong, f"{len(wrong)} verdicts differ, e.g. {list(wrong.items())[:6]}"


def test_run_completed(run: dict[str, Any]) -> None:
    result: AuditResult = run["result"]
    db = store.open_db(result.db_path)
    row = store.get_run(db, result.run_id)
    assert row["status"] == "complete" == result.status
    stats = json.loads(row["stats"])
    assert stats["item_scraped_count"] > 0 and stats["provincial"]["item_scraped_count"] > 0


def per_url(run: dict[str, Any], kind: str) -> Counter:
    """Requests the fault `kind` answered, per URL (the national API: per body). Only the
    faulted sites: the national portal's own challenge is logged as "challenge" too."""
    sites = {f.unit or "national" for f in run["scenario"].faults if f.kind == kind}
    return Counter((r.site, r.method, r.path, r.query.replace("&loop=1", "").replace("loop=1", ""),
                    r.body) for r in run["log"] if r.outcome == kind and r.site in sites
                   and not r.path.startswith(NATIONAL_PAGE))


# The national HTML pages are read in a browser behind a challenge whose script reloads the page
# itself: that reload is not a crawler request, so it is not counted (nor retried).
NATIONAL_PAGE = "/thu-tuc-hanh-chinh/"


@pytest.mark.parametrize("kind", ["http_error", "rate_limited"])
def test_transient_faults_are_retried(run: dict[str, Any], kind: str) -> None:
    counts = per_url(run, kind)
    healing = {f.unit for f in run["scenario"].faults if f.kind == kind and f.times}
    lasting = {u: n for u, n in counts.items() if u[0] not in healing}
    assert lasting and set(lasting.values()) == {1 + RETRY_TIMES}, run["retry_debug"](kind)


@pytest.mark.parametrize("kind", ["forbidden", "rejected", "blocked", "portal_blocked",
                                  "challenge", "truncated", "malformed", "huge"])
def test_permanent_faults_are_asked_once(run: dict[str, Any], kind: str) -> None:
    counts = per_url(run, kind)
    # a challenge is asked once plainly and once in a browser (which may pass a challenge that
    # clears), never retried
    assert counts and set(counts.values()) == {2 if kind == "challenge" else 1}, counts


def test_the_healing_fault_healed(run: dict[str, Any]) -> None:
    got, want = verdicts(run["result"]), truth(run)
    for fault in (f for f in run["scenario"].faults if f.times):
        assert any(r.site == fault.unit and r.outcome == fault.kind for r in run["log"])
        cells = affected(run, fault)
        assert {got[k] for k in cells} == {want[k] for k in cells}
        assert ("met", "") in {got[k] for k in cells}


def test_encodings_are_read_right(run: dict[str, Any]) -> None:
    result: AuditResult = run["result"]
    evidence = store.load_evidence(store.open_db(result.db_path), result.run_id)
    for fault in (f for f in run["scenario"].faults if f.kind in ENCODING_KINDS):
        assert any(r.site == fault.unit and r.outcome == fault.kind for r in run["log"])
        (listing,) = [e for e in evidence if e["kind"] == "portal_list"
                      and e["data"].get("units") == [fault.unit]]
        names = [p["name"] for p in listing["data"]["procedures"].values()]
        assert listing["outcome"] == "ok" and names
        for name in names:
            assert name == unicodedata.normalize("NFC", name)
            assert "\ufffd" not in name and "Ã" not in name
        assert any("đăng ký" in n.casefold() for n in names)


def test_no_post_and_no_credentials_sent_to_portals(run: dict[str, Any]) -> None:
    portal = [r for r in run["log"] if r.site != "national"]
    assert portal and not [r for r in portal if r.method == "POST"]
    national_posts = {r.path for r in run["log"] if r.site == "national" and r.method == "POST"}
    assert all(p.startswith("/api/") for p in national_posts)
    for r in run["log"]:
        assert "authorization" not in r.headers and "proxy-authorization" not in r.headers
        assert "@" not in r.host


def test_the_crawl_stays_on_the_hosts_it_was_given(run: dict[str, Any]) -> None:
    """Portal pages link to, and the iGate shell loads a script from, a host the crawler was
    not given (replica/server.py `_start_offsite`); that host must never be asked."""
    pages = [r for r in run["log"] if r.site != "national" and r.status == 200
             and r.path in ("/vi/", "/", "/dich-vu-cong/tiep-nhan-online")]
    assert pages and run["offsite_url"].startswith("http://127.")
    assert not [(r.path, r.headers.get("referer")) for r in run["log"] if r.site == "offsite"]
