"""The gap report on realistic data: the small scenario through replica -> spiders -> store ->
evaluate -> write_reports, then opened in headless Chromium with screenshots."""

from __future__ import annotations

import html as htmllib
import re
import unicodedata
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from app.cli import main
from app.jobs import AuditResult, run_audit
from core import store
from core.rubric import load_rubric
from replica.scenario import load_scenario
from replica.server import ReplicaServer
from reports.compare766 import compare
from reports.report import build_model
from tests.browser import render
from tests.test_exports import check_xlsx_against_csv

pytestmark = [pytest.mark.slow, pytest.mark.browser]

PROJECT = Path(__file__).resolve().parents[1]
SMALL = PROJECT / "replica" / "scenarios" / "small.yaml"
UN_2024 = PROJECT.parent / "shared" / "research" / "un" / "EGOV_DATA_2024_renamed_headers.csv"
# The portal's own 766 figures for two provinces; the others are generated from the seed.
INDEX766 = {"scores": {"01": {"CLGQ": 12, "TTTT": 0}, "79": {"CLGQ": 0, "TTTT": 10}}}


@pytest.fixture(scope="module")
def audited(tmp_path_factory: pytest.TempPathFactory) -> AuditResult:
    tmp = tmp_path_factory.mktemp("pipeline")
    data = yaml.safe_load(SMALL.read_text(encoding="utf-8"))
    data["index766"] = INDEX766
    scenario = tmp / "small766.yaml"
    scenario.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False),
                        encoding="utf-8")
    with ReplicaServer(load_scenario(scenario)) as server:
        return run_audit(server.base_url, tmp / "out", scenario=str(scenario),
                         echo=lambda _: None, quiet=True)


def nfc_ok(text: str) -> bool:
    return unicodedata.is_normalized("NFC", text)


def test_dashboard_in_chromium_heatmap_charts_diacritics(audited: AuditResult,
                                                         tmp_path: Path) -> None:
    html_path = audited.reports["html"]
    page = html_path.read_text(encoding="utf-8")
    shot = tmp_path / "dashboard.png"
    facts = render(html_path.as_uri(), shot)
    assert shot.stat().st_size > 20_000
    assert facts["matrixRows"] >= 34 and facts["matrixCells"] == facts["matrixRows"] * 20
    assert facts["hatched"] > 0  # the blocked procedure: could not test
    assert facts["unitSections"] == facts["matrixRows"]
    assert facts["scripts"] == 0 and facts["external"] == []
    assert page.count("<svg") >= 6 and 'id="top-gaps-table"' in page
    for text in (facts["text"], page):
        assert nfc_ok(text)
        for phrase in ("Ma trận đơn vị × dịch vụ", "Đăng ký khai sinh", "Thành phố Hà Nội",
                       "khoảng cách lớn nhất", "Chỉ số quốc gia 20 dịch vụ"):
            assert phrase in text, phrase


def test_province_page_in_chromium(audited: AuditResult, tmp_path: Path) -> None:
    page_path = audited.reports["units"] / "01.html"
    shot = tmp_path / "hanoi.png"
    facts = render(page_path.as_uri(), shot)
    assert shot.stat().st_size > 20_000
    assert facts["scripts"] == 0 and facts["external"] == []
    text = facts["text"]
    assert nfc_ok(text) and "Thành phố Hà Nội (01)" in text
    assert "Khoảng cách cần đóng" in text and "UBND Thành phố Hà Nội" in text
    page = page_path.read_text(encoding="utf-8")
    assert re.search(r'href="http://127\.0\.0\.1:\d+/api/v1/submitting/formality/'
                     r'list-department-url-by-citizen"', page)  # evidence URL
    assert re.search(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", text)  # evidence time
    # gaps ordered by points gained: level 4 (2 points) before the 1-point criteria
    points = [float(p.replace(",", ".")) for p in re.findall(r'class="n">\+([\d,]+)<', page)]
    assert points and points == sorted(points, reverse=True)


def test_exports_on_realistic_data(audited: AuditResult) -> None:
    r = audited.reports
    check_xlsx_against_csv(r["xlsx"], r["csv"], r["scores_csv"], "vi")
    for key in ("csv", "scores_csv", "json", "md"):
        text = r[key].read_text(encoding="utf-8")
        assert nfc_ok(text) and "Thành phố Hà Nội" in text, key


def test_english_report_with_standing_panel_via_the_command(audited: AuditResult,
                                                            tmp_path: Path) -> None:
    args = ["report", "--db", str(audited.db_path), "--out", str(tmp_path), "--lang", "en"]
    if UN_2024.exists():
        args += ["--un-data", str(UN_2024)]
    res = CliRunner().invoke(main, args)
    assert res.exit_code == 0, res.output
    facts = render((tmp_path / "report.en.html").as_uri(), tmp_path / "en.png")
    unit = htmllib.unescape((tmp_path / "units" / "01.en.html").read_text(encoding="utf-8"))
    rubric = load_rubric()
    for c in rubric.criteria:  # English criterion titles, no Vietnamese ones
        if c.id in ("offered_online", "level4_full"):
            assert c.title_en in unit
        assert c.title_vi not in unit
    assert "Heatmap: units × services" in facts["text"] and nfc_ok(facts["text"])
    if UN_2024.exists():
        assert "ESTIMATE" in facts["text"] and "71/193" in facts["text"]
        assert re.search(r'class="n standing-places">\+\d+<',
                         (tmp_path / "report.en.html").read_text(encoding="utf-8"))


def test_decision_766_comparison(audited: AuditResult) -> None:
    db = store.open_db(audited.db_path)
    run = store.get_run(db, audited.run_id)
    assert run["status"] == "complete"
    model = build_model(db, load_rubric(), run, store.load_verdicts(db, run["id"]),
                        audited.reports["html"].parent)
    cmp = compare(db, run["id"], model)
    assert cmp is not None and len(cmp.rows) == 34 and not cmp.failures
    rows = {r.unit.code: r for r in cmp.rows}
    hanoi = rows["01"].pairs["online"]
    assert hanoi.theirs == 1.0  # 12 of 12 points, as the scenario says
    assert rows["79"].pairs["payment"].theirs == 1.0 and rows["79"].pairs["online"].theirs == 0
    for code, key, criterion in (("01", "online", "level4_full"), ("79", "online", "level4_full"),
                                 ("79", "payment", "online_payment")):
        tested = [v["verdict"] for v in model.verdicts if v["unit_code"] == code
                  and v["criterion_id"] == criterion and v["verdict"] in ("met", "not_met")]
        pair = rows[code].pairs[key]
        if not tested:  # nothing testable: shown as such, never a disagreement
            assert pair.ours is None and not pair.disagree
            continue
        ours = tested.count("met") / len(tested)
        assert pair.ours == pytest.approx(ours) and pair.ours_tested == len(tested)
        assert pair.disagree == (abs(ours - pair.theirs) >= 0.3)
    page = audited.reports["html"].read_text(encoding="utf-8")
    assert 'id="index766"' in page and 'id="index766-table"' in page
    assert 'data-unit="01" class="disagree"' in page or not rows["01"].disagree
    stats: dict[str, Any] = __import__("json").loads(run["stats"])
    assert stats["item_scraped_count"] > 100  # the national crawl's stats are kept
    assert stats["index766"]["item_scraped_count"] == 1 + 34 * 2
