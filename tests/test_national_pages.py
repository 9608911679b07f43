"""The national portal's rendered procedure pages: the real captures in
../shared/research/portals/dvcqg_new/captures/ (read in place; skipped when absent), and the
replica's pages behind its JavaScript challenge (plain HTTP sees only the challenge; a browser
passes it)."""

from __future__ import annotations

import urllib.request
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from crawler.pages import is_challenge, page_excerpt, parse_procedure_page
from crawler.platforms import fingerprint
from tests.shared_data import DVCQG, require

CAPTURES = DVCQG / "captures"
UA = "Mozilla/5.0 (X11; Linux x86_64) dvc-audit-test"

# (file, code, decision, level, sector, {method: online fees}) read off the real pages by hand
REAL = [
    ("detail-khai-sinh.html", "1.001193", "163/QĐ-BTP", "Cấp xã", "Hộ tịch",
     {"ONLINE": [0], "POSTAL": [0], "DIRECT": [0]}),
    ("detail-thuong-tru.html", "1.004222", "1523/QĐ-BCA-C06", "Cấp xã",
     "Đăng ký, quản lý cư trú", {"ONLINE": [10000], "DIRECT": [20000]}),
    ("detail-gpxd-cap-moi-III-IV-nha-o-rieng-le.html", "1.013225", "1077/QĐ-BXD", "Cấp xã",
     "Hoạt động xây dựng", {"ONLINE": [0], "POSTAL": [0], "DIRECT": [0]}),
]


@pytest.mark.parametrize(("name", "code", "decision", "level", "sector", "fees"), REAL,
                         ids=[r[0] for r in REAL])
def test_real_rendered_page(name, code, decision, level, sector, fees):
    html = require(CAPTURES / name).read_bytes()
    assert not is_challenge(html)
    page = parse_procedure_page(html)
    assert page.found and not page.challenge and not page.blocked
    assert (page.code, page.decision, page.level, page.sector) == (code, decision, level, sector)
    assert page.name and page.type == "TTHC được luật giao quy định chi tiết"
    assert {m.method: m.fees for m in page.methods} == fees
    assert page.online and page.methods[0].label == "Trực tuyến"
    assert all(m.time for m in page.methods)
    # the "Nộp hồ sơ" office chooser, as rendered (its dropdown closed)
    chooser = page.chooser
    assert chooser.present and chooser.button == "Nộp hồ sơ"
    assert chooser.search_types == ["PROVINCE", "MINISTRY"]
    assert chooser.office_levels == ["WARD", "OTHER"]
    assert "đã áp dụng dịch vụ công trực tuyến" in chooser.note
    excerpt = page_excerpt(html)
    assert "Hình thức nộp" in excerpt and "Nộp hồ sơ" in excerpt


def test_real_fee_descriptions_are_not_counted_as_fees():
    page = parse_procedure_page(require(CAPTURES / "detail-thuong-tru.html").read_bytes())
    online = next(m for m in page.methods if m.method == "ONLINE")
    assert online.fees == [10000]  # "(... thu 10.000 đồng/lần đăng ký.)" is a description
    assert "10.000 đồng/lần" in online.fee_text


def test_real_page_is_not_a_shell():
    fp = fingerprint("https://dichvucong.gov.vn/thu-tuc-hanh-chinh/x",
                     require(CAPTURES / "detail-khai-sinh.html").read_bytes())
    assert not fp.needs_js and fp.family == ""


# ----------------------------------------------------------------------------- the replica


def _get(url: str, cookie: str = "") -> str:
    headers = {"User-Agent": UA, **({"Cookie": cookie} if cookie else {})}
    with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=10) as r:
        assert r.status == 200
        return r.read().decode()


def test_plain_http_sees_only_the_challenge(replica):
    srv = replica("replica/scenarios/small.yaml")
    fid = srv.portal.id_by_code["1.001193"]
    for path in (f"/thu-tuc-hanh-chinh/{fid}", "/thu-tuc-hanh-chinh/nonexistent", "/x"):
        html = _get(srv.base_url + path)
        assert is_challenge(html)
        page = parse_procedure_page(html)
        assert page.challenge and not page.found and not page.methods
        fp = fingerprint(srv.base_url + path, html)
        assert fp.needs_js and "js_challenge" in fp.signals


@pytest.mark.browser
def test_replica_page_parses_like_the_real_one(replica, tmp_path: Path):
    """A browser runs the challenge (script, cookie, reload); the page then reads like the real
    captures, and its chooser lists the offices that hand off online."""
    from playwright.sync_api import sync_playwright

    from crawler.browser import launch_options

    srv = replica("replica/scenarios/small.yaml")
    fid = srv.portal.id_by_code["1.013236"]
    with sync_playwright() as pw:
        browser = pw.chromium.launch(**launch_options())
        try:
            page = browser.new_page()
            page.goto(f"{srv.base_url}/thu-tuc-hanh-chinh/{fid}")
            page.wait_for_selector("text=Mã thủ tục", timeout=15_000)
            html = page.content()
            cookies = page.context.cookies()
        finally:
            browser.close()
    assert any(c["name"] == "TS01dvc" for c in cookies)
    parsed = parse_procedure_page(html)
    assert parsed.found and parsed.code == "1.013236" and parsed.level == "Cấp tỉnh"
    assert {m.method: m.fees for m in parsed.methods} == {
        "ONLINE": [150000], "POSTAL": [150000], "DIRECT": [150000]}
    assert parsed.chooser.present and parsed.chooser.button == "Nộp hồ sơ"
    assert [o["code"] for o in parsed.chooser.options] == ["H26.17"]  # Hà Nội's Sở (real form)
    # the cookie works for plain HTTP too: the challenge is all that stood in the way
    cookie = next(f"{c['name']}={c['value']}" for c in cookies if c["name"] == "TS01dvc")
    assert parse_procedure_page(_get(f"{srv.base_url}/thu-tuc-hanh-chinh/{fid}", cookie)).found


def test_blocked_procedure_page_is_the_rejection_page(replica):
    from crawler.parsers import is_block_page

    srv = replica("replica/scenarios/small.yaml")
    token = srv.challenge.issue()
    html = _get(f"{srv.base_url}/thu-tuc-hanh-chinh/{srv.portal.id_by_code['2.000986']}",
                f"TS01dvc={token[::-1]}")
    assert is_block_page(html) and parse_procedure_page(html).blocked


# ------------------------------------------------------------------- the national_pages spider

NOT_LISTED = "00000000-0000-0000-0000-000000000001"  # a formality id the replica does not know


def _seeded_run(srv: Any, tmp_path: Path) -> tuple[Any, int, dict]:
    """A run whose national crawl stored five procedures (one blocked in small.yaml, one with
    an id the portal does not know): (db, run id, codes)."""
    from core import store
    from core.rubric import load_rubric

    db = store.open_db(tmp_path / "audit.db")
    run_id = store.start_run(db, target=srv.base_url, rubric_version="t", engine_version="t")
    listed = sorted(set(srv.portal.id_by_code) & load_rubric().all_codes() - {"2.000986"})[:3]
    ids = {**{c: srv.portal.id_by_code[c] for c in listed},
           "2.000986": srv.portal.id_by_code["2.000986"], "1.001612": NOT_LISTED}
    for code, fid in ids.items():
        store.add_evidence(db, run_id, {"kind": "procedure", "url": srv.base_url,
                                        "method": "POST", "procedure_code": code,
                                        "outcome": "ok", "data": {"id": fid}})
    srv.clear_requests()
    return db, run_id, ids


def _pages_run(srv: Any, tmp_path: Path, overrides: dict[str, Any]) -> tuple[Any, int, dict]:
    """Crawl the national pages of a seeded run (_seeded_run): (db, run id, codes)."""
    from crawler.runner import crawl

    db, run_id, ids = _seeded_run(srv, tmp_path)
    code = crawl("national_pages", srv.base_url, tmp_path / "audit.db", run_id, quiet=True,
                 overrides={"DVC_OUT_DIR": str(tmp_path), **overrides})
    assert code == 0
    return db, run_id, ids


@pytest.mark.slow
def test_beside_the_766_figures_the_pages_wait_their_turn(replica, tmp_path: Path):
    """The job starts the pages' crawl as the provincial crawl ends, beside the 766 figures'
    crawl (DVC_AWAIT_INDEX766): it loads, asks the national host nothing until the job says
    the 766 crawl has ended, then reads every page."""
    import json
    import time

    from core import store
    from crawler import phases
    from crawler.runner import go, prestart

    srv = replica("replica/scenarios/small.yaml", fresh=True)
    db, run_id, ids = _seeded_run(srv, tmp_path)
    settings = {"DVC_OUT_DIR": str(tmp_path), "DVC_BROWSER": False, "DVC_AWAIT_INDEX766": True}
    prestart("national_pages", srv.base_url, tmp_path / "audit.db", run_id, quiet=True,
             overrides=settings, phased=True)
    crawl_ = go("national_pages", srv.base_url, tmp_path / "audit.db", run_id, quiet=True,
                overrides=settings)
    try:
        time.sleep(4)  # started, and waiting: nothing asked
        assert crawl_.child.poll() is None
        assert not [r for r in srv.requests if r.site == "national"]
        crawl_.tell(phases.INDEX766_DONE)
        assert crawl_.wait() == 0
    finally:
        crawl_.stop()
    rows = [e for e in store.load_evidence(db, run_id) if e["kind"] == "national_page"]
    assert sorted(e["procedure_code"] for e in rows) == sorted(ids)
    stats = json.loads(store.get_run(db, run_id)["stats"])["national_pages"]
    assert stats["national_pages/index766_waited"] > 0  # (how long depends on its start-up)


@pytest.mark.slow
@pytest.mark.browser
def test_spider_passes_the_challenge_then_shares_the_cookie(replica, tmp_path: Path):
    """A plain probe meets the challenge; the browser passes it and reads the first pages; the
    cookie it earned then reads the rest with plain requests. Each page is one national_page
    observation with its reason: blocked (the rejection page), not found, or none."""
    import json

    from core import store

    srv = replica("replica/scenarios/small.yaml", fresh=True)
    db, run_id, ids = _pages_run(srv, tmp_path, {})
    rows = {e["procedure_code"]: e for e in store.load_evidence(db, run_id)
            if e["kind"] == "national_page"}
    assert rows.keys() == ids.keys()
    reasons = {c: (e["outcome"], e["reason"]) for c, e in rows.items()}
    assert reasons.pop("2.000986") == ("failed", "blocked")
    assert reasons.pop("1.001612") == ("failed", "not_found")
    assert set(reasons.values()) == {("ok", "")}
    assert all(rows[c]["data"]["code"] == c for c in reasons)  # read off the rendered page
    # the browser's pages have a screenshot; the cookie's pages none, and were asked plainly
    shot = [c for c, e in rows.items() if e["screenshot"]]
    plain = [c for c, e in rows.items() if not e["screenshot"]]
    assert shot and plain
    assert all((tmp_path / rows[c]["screenshot"]).stat().st_size > 0 for c in shot)
    pages = [r for r in srv.requests if r.site == "national" and "/thu-tuc-hanh-chinh/" in r.path]
    assert pages[0].outcome == "challenge"  # the probe
    assert len([r for r in pages if r.outcome == "challenge"]) <= 1 + len(shot)
    # the cookie the browser earned let the plain requests through (which pages the three lanes
    # leave to the cookie depends on which browser page finishes first)
    plain_paths = {urlsplit(rows[c]["url"]).path for c in plain}
    asked_plainly = [r for r in pages if r.path in plain_paths]
    assert asked_plainly and all(r.outcome != "challenge" for r in asked_plainly)
    stats = json.loads(store.get_run(db, run_id)["stats"])["national_pages"]
    assert stats["finish_reason"] == "finished"
    assert stats["item_scraped_count"] == len(ids)
    assert stats["playwright/browser_count"] == 1
    assert stats["playwright/page_count"] < len(ids)  # not one browser page per national page
    assert stats["national_pages/contexts_closed"] == stats["playwright/context_count"]


@pytest.mark.slow
def test_spider_without_a_browser_names_the_challenge(replica, tmp_path: Path):
    """No browser: the probe alone is asked, every page is a failed observation naming the
    challenge (could not test, never not met), and no Chromium is started."""
    import json

    from core import store

    srv = replica("replica/scenarios/small.yaml", fresh=True)
    db, run_id, ids = _pages_run(srv, tmp_path, {"DVC_BROWSER": False})
    rows = [e for e in store.load_evidence(db, run_id) if e["kind"] == "national_page"]
    assert sorted(e["procedure_code"] for e in rows) == sorted(ids)
    assert {(e["outcome"], e["reason"]) for e in rows} == {("failed", "js_challenge")}
    asked = [r.path for r in srv.requests if r.site == "national" and r.path != "/robots.txt"]
    assert len(asked) == 1  # the probe
    stats = json.loads(store.get_run(db, run_id)["stats"])["national_pages"]
    assert stats["item_scraped_count"] == len(ids)
    assert not any(key.startswith("playwright/") for key in stats)


@pytest.mark.slow
def test_spider_stores_the_failure_when_the_host_cannot_be_reached(tmp_path: Path):
    """The national host refuses: every page is a failed observation with the reason."""
    import socket

    from core import store
    from crawler.runner import crawl

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        base = f"http://127.0.0.1:{sock.getsockname()[1]}"  # closed once the block ends
    db = store.open_db(tmp_path / "audit.db")
    run_id = store.start_run(db, target=base, rubric_version="t", engine_version="t")
    store.add_evidence(db, run_id, {"kind": "procedure", "url": base, "method": "POST",
                                    "procedure_code": "1.001193", "outcome": "ok",
                                    "data": {"id": NOT_LISTED}})
    assert crawl("national_pages", base, tmp_path / "audit.db", run_id, quiet=True,
                 overrides={"DVC_OUT_DIR": str(tmp_path), "RETRY_TIMES": 0,
                            "ROBOTSTXT_OBEY": False}) == 0
    rows = [e for e in store.load_evidence(db, run_id) if e["kind"] == "national_page"]
    assert [(e["procedure_code"], e["outcome"], e["reason"]) for e in rows] == [
        ("1.001193", "failed", "refused")]
