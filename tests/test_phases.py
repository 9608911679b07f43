"""The provincial crawl beside the national one (crawler/phases.py): it waits for its seeds and
never asks the national host (its HTML pages are the national_pages spider's); stats of crawls
that end together are all kept. (The order on the national host in a whole audit:
test_end_to_end.)"""

from __future__ import annotations

import io
import json
import time
from pathlib import Path
from typing import Any

import pytest

from core import store
from crawler import phases
from crawler.platforms import seeds
from crawler.runner import crawl, launch
from crawler.spiders.national import API
from tests.test_end_to_end import SMALL

pytestmark = pytest.mark.usefixtures("reset_phases")


@pytest.fixture
def reset_phases() -> Any:
    phases.reset()
    yield
    phases.reset()


def wait_until(check: Any, timeout: float = 60.0) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if check():
            return True
        time.sleep(0.1)
    return False


def row(kind: str, code: str = "", outcome: str = "ok", **data: Any) -> dict[str, Any]:
    return {"kind": kind, "procedure_code": code, "outcome": outcome, "data": data}


def test_seeded_once_the_catalogue_and_every_office_list_are_stored() -> None:
    listed = [row("procedure", "1.1"), row("procedure", "2.2")]
    partial = row("catalogue", page=1, partial=True)
    complete = row("catalogue", complete=True)
    assert not seeds.national_seeded([])
    assert not seeds.national_seeded([*listed, partial, row("office_list", "1.1"),
                                      row("office_list", "2.2")])  # more catalogue to come
    assert not seeds.national_seeded([*listed, complete, row("office_list", "1.1")])
    assert seeds.national_seeded([*listed, complete, row("office_list", "1.1"),
                                  row("office_list", "2.2", outcome="failed")])
    # a catalogue that failed seeds nothing more: the crawl may start with what there is
    assert seeds.national_seeded([row("catalogue", outcome="failed", complete=False)])


def test_phase_lines_and_end_of_input() -> None:
    phases.listen(io.StringIO("noise\nnational-done\n")).join(5)
    assert phases.reached(phases.NATIONAL_DONE)
    phases.reset()
    assert not phases.reached(phases.NATIONAL_DONE)


def test_stats_of_crawls_ending_together_are_all_kept(tmp_path: Path) -> None:
    db = store.open_db(tmp_path / "audit.db")
    run_id = store.start_run(db, target="t", rubric_version="t", engine_version="t")
    store.merge_stats(db, run_id, "provincial", {"item_scraped_count": 5})
    store.merge_stats(db, run_id, "national", {"item_scraped_count": 9})
    store.merge_stats(db, run_id, "index766", {"item_scraped_count": 2})
    stats = json.loads(store.get_run(db, run_id)["stats"])
    assert stats == {"item_scraped_count": 9, "provincial": {"item_scraped_count": 5},
                     "index766": {"item_scraped_count": 2}}


@pytest.mark.slow
def test_provincial_crawl_holds_its_evidence_until_seeded_and_leaves_the_national_host_alone(
        replica, tmp_path: Path) -> None:
    srv = replica(SMALL, fresh=True)
    db = store.open_db(tmp_path / "audit.db")
    run_id = store.start_run(db, target=srv.base_url, rubric_version="t", engine_version="t")
    crawl = launch("provincial", srv.base_url, tmp_path / "audit.db", run_id, quiet=True,
                   overrides={"DVC_AWAIT_NATIONAL": True, "DVC_BROWSER": False,
                              "DVC_OUT_DIR": str(tmp_path),
                              "DVC_PORTAL_LIST": [{"unit": "01",
                                                   "url": srv.portal_urls["01"] + "/"}]})

    def portal_evidence() -> list[dict[str, Any]]:
        return [e for e in store.load_evidence(db, run_id) if e["kind"].startswith("portal")]

    try:
        srv.clear_requests()
        # the listed portal is visited at once, but what it shows is held: the national crawl
        # has not said which provinces hand off to it
        assert wait_until(lambda: any(r.site == "01" and "/tiep-nhan-online/" in r.path
                                      for r in srv.requests))  # its apply flows
        time.sleep(1)
        assert crawl.child.poll() is None
        assert not portal_evidence()
        # a national procedure: its page is the national_pages spider's, not this crawl's
        store.add_evidence(db, run_id, {"kind": "procedure", "url": srv.base_url, "method": "POST",
                                        "procedure_code": "1.001612", "outcome": "ok",
                                        "data": {"id": "00000000-0000-0000-0000-000000000001"}})
        crawl.tell(phases.NATIONAL_DONE)

        def portal_done() -> bool:
            kinds = {e["kind"] for e in portal_evidence()}
            return "portal_list" in kinds and "portal_apply" in kinds

        assert wait_until(portal_done)
        assert {tuple(e["data"]["units"]) for e in portal_evidence()} == {("01",)}
        assert wait_until(lambda: crawl.child.poll() is not None)  # done, told nothing more
        assert crawl.wait() == 0
    finally:
        crawl.stop()
    assert not [r for r in srv.requests if r.site == "national"]
    assert not [e for e in store.load_evidence(db, run_id) if e["kind"] == "national_page"]
    assert "provincial" in json.loads(store.get_run(db, run_id)["stats"])


def seed(base: str, *units: str, source: str = "national") -> seeds.Seed:
    return seeds.Seed(base, set(units), {source}, [base + "/apply"])


def portal_item(kind: str, base: str, *units: str) -> dict[str, Any]:
    return {"kind": kind, "data": {"base": base, "units": list(units), "sources": ["national"],
                                   "entry_urls": []}}


def test_seeding_holds_portal_evidence_then_gives_it_the_final_units() -> None:
    seeding = seeds.Seeding()
    a, b = "http://a.example", "http://b.example"
    assert seeding.new([seed(a, "01")]) == [seed(a, "01")]
    assert seeding.new([seed(a, "01"), seed(b, "02")]) == [seed(b, "02")]  # a: started already
    request = object()
    assert seeding.hold(request) == [request]  # requests and other evidence pass at once
    assert seeding.hold({"kind": "fetch", "data": {}}) == [{"kind": "fetch", "data": {}}]
    held = [portal_item("portal", a, "01"), portal_item("portal_apply", b, "02")]
    assert [out for item in held for out in seeding.hold(item)] == []
    assert seeding.keeps(b)
    # in the end a's offices of two provinces and the list name it; b is no seed after all
    final_a = seeds.Seed(a, {"01", "04"}, {"national", "config"}, [a + "/x"])
    gone, released = seeding.settle([final_a])
    assert [s.base for s in gone] == [b] and not seeding.keeps(b) and seeding.keeps(a)
    assert released == [{"kind": "portal", "data": {
        "base": a, "units": ["01", "04"], "sources": ["config", "national"],
        "entry_urls": [a + "/x"]}}]
    later = seeding.hold(portal_item("portal_list", a, "01"))  # after settling: fixed at once
    assert later[0]["data"]["units"] == ["01", "04"]
    assert seeding.hold(portal_item("portal_list", b, "02")) == []


def test_seeding_labels_a_shared_system_with_its_hand_offs() -> None:
    """A host offices of two provinces hand off to (and the list does not name) is a system:
    its observations carry no units, the system, and on the home page the hand-offs."""
    seeding = seeds.Seeding()
    b = "http://b.example"
    seeding.new([seed(b, "02")])
    assert seeding.hold(portal_item("portal", b, "02")) == []
    final_b = seeds.Seed(b, {"02", "04"}, {"national"}, [b + "/x"],
                         handoffs={"1.001193": {"04": 2, "02": 1}})
    _, released = seeding.settle([final_b])
    assert released[0]["data"]["units"] == []
    assert released[0]["data"]["system"] == {"host": "b.example", "family": "",
                                             "ministry": ""}
    assert released[0]["data"]["handoffs"] == {"1.001193": {"02": 1, "04": 2}}
    later = seeding.hold(portal_item("portal_apply", b, "02"))[0]["data"]
    assert later["units"] == [] and later["system"]["host"] == "b.example"
    assert "handoffs" not in later  # on the home page only


@pytest.mark.slow
def test_national_crawl_asks_every_office_list_before_any_detail(replica, tmp_path: Path) -> None:
    """One request at a time on the host: the office lists (the provincial crawl's seeds) are
    all asked before any detail, by request priority."""
    srv = replica(SMALL, fresh=True)
    db = store.open_db(tmp_path / "audit.db")
    run_id = store.start_run(db, target=srv.base_url, rubric_version="t", engine_version="t")
    srv.clear_requests()
    code = crawl("national", srv.base_url, tmp_path / "audit.db", run_id, quiet=True,
                 overrides={"CONCURRENT_REQUESTS_PER_DOMAIN": 1, "DOWNLOAD_DELAY": 0.01})
    assert code == 0
    api = [r.path for r in sorted(srv.requests, key=lambda r: r.at) if r.path in API.values()]
    at = {name: [i for i, p in enumerate(api) if p == path] for name, path in API.items()}
    assert all(at.values())
    assert max(at["offices"]) < min(at["detail"])
    assert seeds.national_seeded(store.load_evidence(db, run_id, seeds.SEEDING_KINDS))


def office_row(url: str, office_code: str, citizen_url: str) -> dict[str, Any]:
    return {"kind": "office_row", "url": url, "method": "POST", "outcome": "ok",
            "procedure_code": "1.001612", "office_code": office_code,
            "data": {"office_code": office_code, "citizen_url": citizen_url}}


@pytest.mark.slow
def test_a_host_that_turns_out_shared_is_kept_as_a_system(replica, tmp_path: Path) -> None:
    """Visited as Hà Nội's portal as soon as one office row hands off to it; once a Cao Bằng
    office hands off to it too, it is a shared system, not a province's portal: its evidence is
    kept as the system's (no units: no province's portal; its hand-offs), as if the crawl had
    started after the national one."""
    srv = replica(SMALL, fresh=True)
    db = store.open_db(tmp_path / "audit.db")
    run_id = store.start_run(db, target=srv.base_url, rubric_version="t", engine_version="t")
    host = srv.portal_urls["01"]
    store.add_evidence(db, run_id, office_row(srv.base_url, "000.00.12.H26", host + "/a"))
    crawl = launch("provincial", srv.base_url, tmp_path / "audit.db", run_id, quiet=True,
                   overrides={"DVC_AWAIT_NATIONAL": True, "DVC_BROWSER": False,
                              "DVC_OUT_DIR": str(tmp_path), "DVC_PORTAL_LIST": [],
                              "DVC_NATIONAL_PAGES": False})
    try:
        srv.clear_requests()
        assert wait_until(lambda: any(r.site == "01" for r in srv.requests))  # visited early
        store.add_evidence(db, run_id, office_row(srv.base_url, "000.00.12.H14", host + "/b"))
        crawl.tell(phases.NATIONAL_DONE)
        assert crawl.wait() == 0
    finally:
        crawl.stop()
    shown = [e for e in store.load_evidence(db, run_id) if e["kind"].startswith("portal")]
    assert shown and all(e["data"]["units"] == [] and e["data"]["system"]["host"] ==
                         host.split("//")[1] for e in shown)
    home = next(e for e in shown if e["kind"] == "portal")
    assert home["data"]["handoffs"] == {"1.001612": {"01": 1, "04": 1}}
    assert home["data"]["system"]["family"] == "eform"


@pytest.mark.slow
def test_a_crawl_launched_beside_others_stops_when_asked(replica, tmp_path: Path) -> None:
    srv = replica(SMALL, fresh=True)
    db = store.open_db(tmp_path / "audit.db")
    run_id = store.start_run(db, target=srv.base_url, rubric_version="t", engine_version="t")
    crawl = launch("provincial", srv.base_url, tmp_path / "audit.db", run_id, quiet=True,
                   overrides={"DVC_AWAIT_NATIONAL": True, "DVC_BROWSER": False,
                              "DVC_OUT_DIR": str(tmp_path), "DVC_PORTAL_LIST": []})
    time.sleep(4)  # waiting for seeds that never come
    assert crawl.child.poll() is None
    started = time.monotonic()
    crawl.stop()
    assert crawl.child.returncode is not None
    assert time.monotonic() - started < 9  # asked, it stopped: it was not killed after 10 s


def test_a_crawl_that_closed_well_announces_its_phase(monkeypatch: Any) -> None:
    import os
    from types import SimpleNamespace

    read, write = os.pipe()
    monkeypatch.setenv(phases.ANNOUNCE_FD, str(write))
    ext = phases.AnnounceDone()
    ext.spider_closed(SimpleNamespace(name="index766"), "shutdown")  # stopped: nothing said
    ext.spider_closed(SimpleNamespace(name="provincial"), "finished")  # no phase of its own
    ext.spider_closed(SimpleNamespace(name="index766"), "finished")
    os.close(write)
    with os.fdopen(read, "rb") as pipe:
        assert pipe.read() == b"index766-done\n"
    monkeypatch.delenv(phases.ANNOUNCE_FD)
    phases.announce(phases.NATIONAL_DONE)  # no pipe (a crawl run by hand): nothing, no error


@pytest.mark.slow
def test_the_766_crawl_waits_for_the_national_crawl_then_announces_its_end(
        replica, tmp_path: Path) -> None:
    """Started beside the national crawl (DVC_AWAIT_NATIONAL), the 766 figures' crawl asks
    nothing until told national-done; as its spider closes it says index766-done."""
    srv = replica(SMALL, fresh=True)
    db = store.open_db(tmp_path / "audit.db")
    run_id = store.start_run(db, target=srv.base_url, rubric_version="t", engine_version="t")
    srv.clear_requests()
    crawl_ = launch("index766", srv.base_url, tmp_path / "audit.db", run_id, quiet=True,
                    overrides={"DVC_AWAIT_NATIONAL": True})
    heard: list[str] = []
    crawl_.on_phase(heard.append)
    try:
        time.sleep(4)  # loaded and waiting: nothing asked
        assert crawl_.child.poll() is None and not srv.requests
        crawl_.tell(phases.NATIONAL_DONE)
        assert wait_until(lambda: bool(heard))
        assert crawl_.wait() == 0
    finally:
        crawl_.stop()
    assert heard == [phases.INDEX766_DONE]
    assert [e for e in store.load_evidence(db, run_id) if e["kind"] == "index766_results"]
    stats = json.loads(store.get_run(db, run_id)["stats"])["index766"]
    assert stats["index766/national_waited"] > 0
