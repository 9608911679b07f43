"""Issue 16 items 1–4: reports provinces act on.

1. "Since the last run" on the dashboard and unit pages, from two real replica runs with known
   changes between them (the edits of tests/test_nightly.py), and a trend per unit.
2. Gaps grouped by responsible body, each criterion's fix and legal basis once.
3. Current targets (rubrics/targets.yaml, checked by `rubric check`) and the annex's deadlines
   marked overdue on the run's date.
4. Responsible bodies by today's names (rubrics/bodies.yaml), the former name in brackets, in
   reports and exports.

The replica fixture runs audits: run this file under the heavy-test lock (docs: COMMON rules).
"""

from __future__ import annotations

import html as htmllib
import json
import re
import shutil
import unicodedata
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner
from openpyxl import load_workbook

from app.cli import main
from app.jobs import AuditResult, run_audit
from audits import history
from core import store
from core.rubric import RUBRIC_DIR, load_rubric
from core.targets import (
    deadline_end,
    load_bodies,
    overdue,
    parse_targets,
)
from core.yamlio import read_yaml_file
from replica.scenario import load_scenario
from replica.server import ReplicaServer
from reports import report_model
from reports.actions import body_of
from reports.report import build_model, write_reports
from tests.browser import chromium_page
from tests.test_nightly import IMPROVED, REGRESSED, SMALL, edited_scenario
from tests.test_report import make_run


def text_of(page: str) -> str:
    return re.sub(r"\s+", " ", htmllib.unescape(re.sub(r"<[^>]+>", " ", page)))


def section(page: str, sid: str) -> str:
    start = page.index(f'id="{sid}"')
    end = page.find("<section id=", start + 1)
    return page[start:end if end > 0 else None]


def rows_of(page: str, table_id: str) -> set[tuple[str, str, str]]:
    if f'id="{table_id}"' not in page:
        return set()
    table = page[page.index(f'id="{table_id}"'):]
    table = table[:table.index("</table>")]
    return set(re.findall(r'<tr data-unit="([^"]+)" data-service="([^"]+)" '
                          r'data-criterion="([^"]+)"', table))


# --------------------------------------------------------------------------- item 1 (replica)


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Two audits of the replica into one results directory: the small scenario, then the
    same with a regression, an improvement and a blocked procedure (tests/test_nightly.py)."""
    tmp = tmp_path_factory.mktemp("changes")
    out, second = tmp / "out", edited_scenario(tmp)
    results: list[AuditResult] = []
    for path in (SMALL, second):
        with ReplicaServer(load_scenario(path)) as server:
            results.append(run_audit(server.base_url, out, scenario=str(path),
                                     echo=lambda _: None, quiet=True))
    assert [r.status for r in results] == ["complete", "complete"]
    return {"out": out, "runs": results, "second": second}


@pytest.mark.slow
@pytest.mark.browser
def test_since_the_last_run_on_the_dashboard_and_unit_page(two_runs: dict[str, Any]) -> None:
    first, second = two_runs["runs"]
    db = store.open_db(second.db_path)
    cmp = history.compare(db, first.run_id, second.run_id)  # what nightly saves / changes.csv
    page = second.reports["html"].read_text(encoding="utf-8")
    since = section(page, "since-last")
    run1, run2 = (store.get_run(db, r.run_id) for r in (first, second))
    assert f"lần chạy hoàn chỉnh trước đó {run1['id']} ({run1['started_at'][:10]})" in \
        text_of(since)
    regressed = {c.key for c in cmp.of(history.REGRESSION)}
    improved = {c.key for c in cmp.of(history.IMPROVEMENT)}
    assert REGRESSED in regressed and IMPROVED in improved
    assert rows_of(since, "since-regressions") == regressed
    assert rows_of(since, "since-improvements") == improved
    # gaps opened / closed: not met now and not before / not met before and not now
    opened = {c.key for c in cmp.changes if c.after == "not_met"}
    assert rows_of(since, "since-opened") == opened and REGRESSED in opened
    assert IMPROVED in rows_of(since, "since-closed")
    # the blocked procedure: stale cells with the date they were last seen, never regressions
    stale = {(s["unit_code"], s["service_id"], s["criterion_id"]): s
             for s in history.stale_rows(db, second.run_id, run2["rubric_version"])}
    assert stale and rows_of(since, "since-stale") == set(sorted(stale)[:50])
    assert all(k[1] == "school_enrolment" for k in stale) and not set(stale) & regressed
    assert f"lần chạy {run1['id']}, {run1['started_at'][:10]}" in text_of(since)
    counts = dict(re.findall(r'data-count="(\w+)"><span class="big">(\d+)<', since))
    assert counts["regressions"] == str(len(regressed))
    assert counts["stale"] == str(len(stale))
    # the unit page: only its own changes, and a trend of its two runs (inline SVG, no script)
    unit = (second.reports["units"] / "01.html").read_text(encoding="utf-8")
    mine = section(unit, "unit-since")
    assert rows_of(mine, "since-regressions") == {k for k in regressed if k[0] == "01"}
    assert REGRESSED in rows_of(mine, "since-regressions")
    dots = re.findall(r'<circle[^>]*data-run="(\d+)" data-share="([\d.]+)"', mine)
    assert [int(r) for r, _ in dots] == [first.run_id, second.run_id]
    shares = {u["run_id"]: u["share"] for u in db["scores"].rows_where("unit_code = '01'")}
    for rid, share in dots:
        assert abs(float(share) - shares[int(rid)]) < 1e-6
    assert "<script" not in unit and "<script" not in page


@pytest.mark.slow
@pytest.mark.browser
def test_the_first_run_says_there_is_nothing_to_compare(two_runs: dict[str, Any],
                                                       tmp_path: Path) -> None:
    first = two_runs["runs"][0]
    db = store.open_db(first.db_path)
    paths = write_reports(db, load_rubric(), tmp_path, first.run_id)
    since = section(paths["html"].read_text(encoding="utf-8"), "since-last")
    assert "lần chạy hoàn chỉnh đầu tiên" in text_of(since)
    assert 'id="since-regressions"' not in since


@pytest.mark.slow
@pytest.mark.browser
def test_english_since_section(two_runs: dict[str, Any], tmp_path: Path) -> None:
    second = two_runs["runs"][1]
    res = CliRunner().invoke(main, ["report", "--db", str(second.db_path), "--out",
                                    str(tmp_path), "--lang", "en"])
    assert res.exit_code == 0, res.output
    page = text_of((tmp_path / "report.en.html").read_text(encoding="utf-8"))
    assert "Since the last run" in page and "Regressions" in page and "Gaps opened" in page


# --------------------------------------------------------------------------- item 2 (replica)


@pytest.mark.slow
@pytest.mark.browser
def test_gaps_by_body_give_each_fix_and_legal_basis_once(two_runs: dict[str, Any]) -> None:
    second = two_runs["runs"][1]
    db = store.open_db(second.db_path)
    model = build_model(db, load_rubric(), store.get_run(db, second.run_id),
                        store.load_verdicts(db, second.run_id), two_runs["out"])
    scenario = load_scenario(two_runs["second"])
    checked = 0
    for code, p in model.pages.items():
        if not p.gaps:
            continue
        page = (second.reports["units"] / f"{code}.html").read_text(encoding="utf-8")
        text = text_of(page)
        grouped = [g for b in p.bodies for i in b.items for g in i.gaps]
        assert sorted(map(id, grouped)) == sorted(map(id, p.gaps))  # every gap, once
        for c in model.rubric.criteria:
            groups = sum(1 for b in p.bodies for i in b.items if i.criterion.id == c.id)
            assert text.count(" ".join(c.legal_basis.split())) == groups, (code, c.id)
        for b in p.bodies:  # the level comes from the unit's offices for the service
            for i in b.items:
                for g in i.gaps:
                    offices = {o.office for o in scenario.offers if o.unit == code
                               and o.procedure in {x.code for x in g.service.procedures}}
                    if b.level == "ward":
                        assert "ward" in offices, (code, g.service.id)
                    elif b.level == "department":
                        assert "province" in offices and "ward" not in offices
        checked += 1
    assert checked >= 3


@pytest.mark.slow
@pytest.mark.browser
def test_unit_page_height_in_chromium(two_runs: dict[str, Any]) -> None:
    """At desk width the gap table holds one short row per gap (the legal text and the fix
    are in #unit-actions, once per body and criterion): well under 100 px a row, where the
    table with legal basis and remediation per gap took several hundred."""
    second = two_runs["runs"][1]
    page = second.reports["units"] / "01.html"
    with chromium_page() as tab:
        tab.set_viewport_size({"width": 1280, "height": 900})
        tab.goto(page.as_uri())
        facts = tab.evaluate("""() => ({
            table: document.querySelector('#gaps-table').getBoundingClientRect().height,
            rows: document.querySelectorAll('#gaps-table tbody tr').length,
            legal: document.querySelectorAll('#unit-actions p.legal').length,
            groups: document.querySelectorAll('#unit-actions .action').length})""")
    assert facts["rows"] > 0
    assert facts["table"] / facts["rows"] < 100, facts
    assert facts["legal"] == facts["groups"] < facts["rows"], facts


# --------------------------------------------------------------------------- item 2 (stored)


def test_body_levels_from_office_rows_and_ministry_systems(tmp_path: Path) -> None:
    """Hà Nội: ward offices list birth registration -> ward level; a portal criterion of a
    service run on a ministry system -> that ministry; no office rows -> the province's PC."""
    db, run_id = make_run(tmp_path / "audit.db")
    rubric = load_rubric()
    for code, level in (("H29.105", "WARD"), ("H29.7", "PROVINCE")):
        store.add_evidence(db, run_id, {
            "kind": "office_row", "url": "http://127.0.0.1:9/x", "method": "POST",
            "observed_at": "2026-11-01T01:02:03Z", "status": 201, "sha256": "cd" * 32,
            "outcome": "ok", "reason": "", "procedure_code": "1.001193", "office_code": code,
            "data": {"office_name": "UBND phường", "office_level": level}})
    model = build_model(db, rubric, store.get_run(db, run_id), store.load_verdicts(db, run_id),
                        tmp_path)
    hcm = model.pages["79"]
    assert [(b.level, b.name) for b in hcm.bodies] == [("ward", "")]
    assert {i.criterion.id for i in hcm.bodies[0].items} == {"level4_full", "national_handoff"}
    hue = model.pages["46"]
    assert [b.level for b in hue.bodies] == ["province"]  # no office row: the PC
    agency = model.pages["G01"]
    assert [(b.level, b.name) for b in agency.bodies] == [("ministry", "Bộ Công an")]
    gap = hcm.gaps[0]
    portal = report_model.GapItem(gap.unit, gap.service, rubric.criterion("online_payment"),
                                  "", gap.gain)
    assert body_of(portal, "Bộ Tư pháp – dichvucongnganhtuphap.moj.gov.vn", {"WARD"}) == \
        ("ministry", "Bộ Tư pháp")
    assert body_of(gap, "Bộ Tư pháp – dichvucongnganhtuphap.moj.gov.vn", {"WARD"}) == \
        ("ward", "")  # a national criterion: the offices' level decides


# --------------------------------------------------------------------------- item 3


def test_deadline_dates_and_overdue() -> None:
    assert str(deadline_end("Quý III/2020")) == "2020-09-30"
    assert str(deadline_end("Quý I/2021")) == "2021-03-31"
    assert str(deadline_end("2026-06-30")) == "2026-06-30"
    assert deadline_end("Theo lộ trình cấp thẻ Căn cước công dân") is None
    assert overdue("Quý IV/2020", date(2021, 1, 1)) and not overdue("Quý IV/2020",
                                                                   date(2020, 12, 31))
    assert not overdue("Theo lộ trình triển khai CSDL quốc gia về dân cư", date(2030, 1, 1))


def test_the_shipped_targets_list_every_service_and_invent_no_date() -> None:
    rubric = load_rubric()
    targets, errors = parse_targets(read_yaml_file(RUBRIC_DIR / "targets.yaml"), rubric)
    assert errors == []
    assert {t.service for t in targets.items} == {s.id for s in rubric.services}
    for t in targets.items:  # a date only with its source document
        assert (t.due == "") == (t.source is None), t


def rubric_copy(tmp_path: Path) -> Path:
    rdir = tmp_path / "rubric"
    shutil.copytree(RUBRIC_DIR, rdir)
    return rdir


TARGET_FILE = """sources:
  - {id: doc, title: "Văn bản thử nghiệm (test only)"}
targets:
%s"""


def targets_text(rubric: Any, special: str) -> str:
    lines = [f"  - {{service: {s.id}, current: none}}" for s in rubric.services
             if s.id != "birth_registration"]
    return TARGET_FILE % "\n".join([special, *lines])


@pytest.mark.parametrize(("special", "field"), [
    ('  - {service: birth_registration, due: "Quý V/2026", source: doc}', "field 'due'"),
    ('  - {service: birth_registration, due: "Quý IV/2026", source: nope}', "field 'source'"),
    ('  - {service: birth_registration, criterion: bogus, due: "Quý IV/2026", source: doc}',
     "field 'criterion'"),
    ('  - {service: no_such, current: none}', "entry 'no_such' field 'service'"),
    ("", "entry 'birth_registration' field 'service'"),  # a service left out
    ('  - {service: birth_registration, current: none, due: "Quý IV/2026"}', "field 'current'"),
])
def test_rubric_check_names_the_bad_target(tmp_path: Path, special: str, field: str) -> None:
    rdir = rubric_copy(tmp_path)
    (rdir / "targets.yaml").write_text(targets_text(load_rubric(), special), encoding="utf-8")
    res = CliRunner().invoke(main, ["rubric", "check", "--rubric", str(rdir)])
    assert res.exit_code == 1
    assert "targets.yaml" in res.output and field in res.output, res.output


def test_rubric_check_names_a_bad_body_change(tmp_path: Path) -> None:
    rdir = rubric_copy(tmp_path)
    text = (rdir / "bodies.yaml").read_text(encoding="utf-8")
    (rdir / "bodies.yaml").write_text(text.replace("social_protection:", "no_service:"),
                                      encoding="utf-8")
    res = CliRunner().invoke(main, ["rubric", "check", "--rubric", str(rdir)])
    assert res.exit_code == 1 and "bodies.yaml" in res.output
    assert "field 'services.no_service'" in res.output
    ok = CliRunner().invoke(main, ["rubric", "check"])
    assert ok.exit_code == 0, ok.output


def test_current_target_and_annex_overdue_on_the_run_date(tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch
                                                          ) -> None:
    rubric = load_rubric()
    special = ('  - {service: birth_registration, criterion: level4_full, due: "Quý II/2026", '
               'source: doc}\n  - {service: birth_registration, due: "2027-06-30", source: doc}')
    targets, errors = parse_targets(
        yaml.safe_load(targets_text(rubric, special)), rubric)
    assert errors == []
    monkeypatch.setattr(report_model, "load_targets", lambda: targets)
    db, run_id = make_run(tmp_path / "audit.db")
    db["runs"].update(run_id, {"started_at": "2026-11-01T00:00:00Z"})
    paths = write_reports(db, rubric, tmp_path, run_id)
    page = text_of((paths["units"] / "79.html").read_text(encoding="utf-8"))
    # the criterion's own target (passed on 2026-11-01), the service's for the other criterion
    assert ("Hạn hiện hành: Quý II/2026 (Văn bản thử nghiệm (test only)) — "
            "quá hạn từ Quý II/2026") in page
    assert "Hạn hiện hành: 2027-06-30 (Văn bản thử nghiệm (test only))" in page
    assert "quá hạn từ 2027-06-30" not in page
    # the annex (history): Quý III/2020, overdue on the run's date
    assert "Phụ lục 6146/VPCP-KSTT (2020): Quý III/2020 — quá hạn từ Quý III/2020" in page
    en = write_reports(db, rubric, tmp_path, run_id, lang="en")
    en_page = text_of((en["units"] / "79.en.html").read_text(encoding="utf-8"))
    assert "Annex of 6146/VPCP-KSTT (2020): Q3 2020 — overdue since Q3 2020" in en_page
    doc = json.loads(paths["json"].read_text(encoding="utf-8"))
    gap = next(g for g in doc["gaps"] if g["unit_code"] == "79"
               and g["criterion_id"] == "level4_full")
    assert gap["annex_overdue"] and gap["current_overdue"] and gap["current_deadline"] == \
        "Quý II/2026"


def test_no_current_deadline_is_said_not_invented(tmp_path: Path) -> None:
    db, run_id = make_run(tmp_path / "audit.db")
    paths = write_reports(db, load_rubric(), tmp_path, run_id)
    page = text_of(paths["html"].read_text(encoding="utf-8"))
    assert "Chưa có hạn hiện hành" in page and "Hạn hiện hành:" not in page


# --------------------------------------------------------------------------- item 4


def current_name_run(tmp_path: Path) -> tuple[Any, int, Any]:
    """The hand-built run plus a business registration and a social protection gap in HCM."""
    db, run_id = make_run(tmp_path / "audit.db")
    rubric = load_rubric()
    rows = [{"unit_code": "79", "unit_name": "Thành phố Hồ Chí Minh", "unit_kind": "province",
             "service_id": sid, "criterion_id": cid, "verdict": v,
             "reason": "not_listed" if v == "not_met" else "", "evidence_ids": []}
            for sid in ("business_registration", "social_protection")
            for cid, v in (("offered_online", "met"), ("level3_partial", "not_met"))]
    old = store.load_verdicts(db, run_id)
    store.save_verdicts(db, run_id, rubric.version, [*old, *rows])
    return db, run_id, rubric


def test_responsible_bodies_have_todays_names_everywhere(tmp_path: Path) -> None:
    db, run_id, rubric = current_name_run(tmp_path)
    paths = write_reports(db, rubric, tmp_path, run_id)
    unit = text_of((paths["units"] / "79.html").read_text(encoding="utf-8"))
    assert "Bộ Tài chính (trước đây: Bộ Kế hoạch và Đầu tư)" in unit
    assert "Bộ Y tế (trước đây: Bộ Lao động, Thương binh-Xã hội)" in unit
    dash = text_of(paths["html"].read_text(encoding="utf-8"))
    assert "Bộ Tài chính (trước đây: Bộ Kế hoạch và Đầu tư)" in dash
    for text in (unit, dash):  # a former name only ever in brackets
        for former in load_bodies().changes:
            assert text.count(former) == text.count(f"trước đây: {former}"), former
    doc = json.loads(paths["json"].read_text(encoding="utf-8"))
    responsible = {g["service_id"]: g["responsible"] for g in doc["gaps"]
                   if g["unit_code"] == "79"}
    assert responsible["business_registration"].startswith(
        "Bộ Tài chính (trước đây: Bộ Kế hoạch và Đầu tư); UBND Thành phố Hồ Chí Minh")
    assert responsible["social_protection"].startswith("Bộ Y tế (trước đây:")
    wb = load_workbook(paths["xlsx"], read_only=True)
    gaps_sheet = next(ws for ws in wb.worksheets if ws.title.startswith("Khoảng cách"))
    cells = [str(c) for row in gaps_sheet.iter_rows(values_only=True) for c in row if c]
    assert any("Bộ Tài chính (trước đây: Bộ Kế hoạch và Đầu tư)" in c for c in cells)
    assert not any("Bộ Kế hoạch và Đầu tư" in c and "trước đây" not in c for c in cells)
    md = paths["md"].read_text(encoding="utf-8")
    assert unicodedata.is_normalized("NFC", md)
    en = write_reports(db, rubric, tmp_path, run_id, lang="en")
    en_unit = text_of((en["units"] / "79.en.html").read_text(encoding="utf-8"))
    assert "Ministry of Finance (formerly Ministry of Planning and Investment)" in en_unit


def test_codes_stay_stable() -> None:
    """Only names are mapped: the units' codes and the services' agency codes are unchanged."""
    rubric = load_rubric()
    assert rubric.unit("G12").name == "Bộ Tài chính" and rubric.unit("G10").code == "G10"
    assert rubric.service("business_registration").agency_codes == ("G12",)
    assert rubric.service("business_registration").ministries == ("Bộ Kế hoạch và Đầu tư",)
