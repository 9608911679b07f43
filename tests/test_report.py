"""The gap report from hand-built stored runs (no network): model, HTML, language, escaping.

`make_run` stores a tiny run whose scores are easy to compute by hand (weights from
rubrics/rubric.yaml: offered_online 1, level3_partial 1, level4_full 2, online_payment 1,
national_handoff 1, national_sso 0.5):

    01 Hà Nội   birth_registration: met, met, met, cannot, met, cannot   -> 5/5 = 1.0
    79 HCM      birth_registration: met, met, NOT, cannot, NOT, cannot   -> 2/5 = 0.4
    46 Huế      birth_registration: NOT, NOT, NOT, cannot, NOT, cannot   -> 0/5 = 0.0
    G01         temporary_residence: met, met, NOT, n/a, met, cannot     -> 3/5 = 0.6
"""

from __future__ import annotations

import html as htmllib
import re
import shutil
import unicodedata
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from app.cli import main
from audits import scoring
from core import store
from core.rubric import RUBRIC_DIR, load_rubric
from reports import charts
from reports.i18n import LANGS, Lang, load_strings
from reports.report import CELL_STATES, build_model, cell_state, write_reports

PROJECT = Path(__file__).resolve().parents[1]
UN_2024 = PROJECT.parent / "shared" / "research" / "un" / "EGOV_DATA_2024_renamed_headers.csv"
CRITERIA = ("offered_online", "level3_partial", "level4_full", "online_payment",
            "national_handoff", "national_sso")
M, N, NA, C = "met", "not_met", "not_applicable", "cannot_test"
ANSWERS = {
    ("01", "birth_registration"): (M, M, M, C, M, C),
    ("79", "birth_registration"): (M, M, N, C, N, C),
    ("46", "birth_registration"): (N, N, N, C, N, C),
    ("G01", "temporary_residence"): (M, M, N, NA, M, C),
}
HOSTILE = "UBND phường <script>alert(1)</script> & \"Bến Nghé\""


def verdict_rows(rubric: Any, unit_names: dict[str, str] | None = None,
                 evidence: dict[tuple[str, str, str], list[int]] | None = None) -> list[dict]:
    rows = []
    for (code, service), answers in ANSWERS.items():
        unit = rubric.unit(code)
        for cid, verdict in zip(CRITERIA, answers, strict=True):
            reason = {C: "no_portal_evidence", NA: "no_fee", N: "not_listed"}.get(verdict, "")
            rows.append({"unit_code": code, "unit_name": (unit_names or {}).get(code, unit.name),
                         "unit_kind": unit.kind, "service_id": service, "criterion_id": cid,
                         "verdict": verdict, "reason": reason,
                         "evidence_ids": (evidence or {}).get((code, service, cid), [])})
    return rows


def make_run(path: Path, *, unit_names: dict[str, str] | None = None, status: str = "complete"
             ) -> tuple[Any, int]:
    """A stored run with the verdicts above and three evidence rows for Hà Nội's birth
    registration (one with a screenshot, one with hostile text, one with a javascript: URL)."""
    db = store.open_db(path)
    rubric = load_rubric()
    run_id = store.start_run(db, target="http://127.0.0.1:9", rubric_version=rubric.version,
                             engine_version="test")
    api = "http://127.0.0.1:9/api/v1/submitting/formality/list-department-url-by-citizen"
    ids = [store.add_evidence(db, run_id, {
        "kind": "office_row", "url": url, "method": "POST", "observed_at": "2026-11-01T01:02:03Z",
        "status": 201, "sha256": "ab" * 32, "outcome": "ok", "reason": "",
        "procedure_code": "1.001193", "office_code": "000.00.15.H26", "data": data})
        for url, data in ((api, {"office_name": "Sở Tư pháp", "screenshot": "shots/01.png"}),
                          (api, {"office_name": HOSTILE}),
                          ("javascript:alert(1)", {"office_name": "x"}))]
    evidence = {("01", "birth_registration", "offered_online"): ids,
                ("01", "birth_registration", "level4_full"): ids[:1] + [ids[0]] * 4}
    store.save_verdicts(db, run_id, rubric.version, verdict_rows(rubric, unit_names, evidence))
    store.finish_run(db, run_id, status, "" if status == "complete" else "interrupted")
    return db, run_id


@pytest.fixture()
def stored(tmp_path: Path) -> tuple[Any, int, Path]:
    db, run_id = make_run(tmp_path / "audit.db")
    return db, run_id, tmp_path


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Path], Path]:
    """The stored run's reports (vi), written once for the tests that only read them."""
    out = tmp_path_factory.mktemp("written")
    db, run_id = make_run(out / "audit.db")
    return write_reports(db, load_rubric(), out, run_id), out


def share_cell(page: str, unit_code: str) -> str:
    table = page[page.index('id="scores-table"'):]
    row = re.search(rf'<tr data-unit="{unit_code}">(.*?)</tr>', table, re.S)
    assert row, f"no score row for {unit_code}"
    return re.search(r'class="n score-share">([^<]+)<', row[1])[1]


# --------------------------------------------------------------------------- model


def test_cell_state_levels_capabilities_and_untested() -> None:
    assert cell_state({"level4_full": M, "level3_partial": M, "offered_online": M}) == "full"
    assert cell_state({"level4_full": N, "level3_partial": M}) == "partial"
    assert cell_state({"offered_online": M, "level3_partial": C}) == "listed"
    assert cell_state({"offered_online": C, "level3_partial": N}) == "cannot"
    assert cell_state({"offered_online": N, "level3_partial": N}) == "none"
    assert cell_state({"offered_online": NA, "online_payment": NA}) == "na"
    # a capability with no level criterion (online fee payment): its own answer decides
    assert cell_state({"online_payment": M, "offered_online": NA}) == "available"
    assert cell_state({"online_payment": C, "offered_online": NA}) == "cannot"


def test_model_scores_gaps_and_top_gaps(stored: tuple[Any, int, Path]) -> None:
    db, run_id, out = stored
    rubric = load_rubric()
    run = store.get_run(db, run_id)
    model = build_model(db, rubric, run, store.load_verdicts(db, run_id), out)
    assert [u.code for u in model.units] == ["01", "46", "79", "G01"]  # rubric order
    shares = {u.unit_code: u.share for u in model.board.units()}
    assert shares == {"01": 1.0, "79": 0.4, "46": 0.0, "G01": 0.6}
    hcm = model.pages["79"]
    # gaps ordered as scoring.gaps_by_gain orders them (points gained, then ids)
    expected = scoring.gaps_by_gain(model.verdicts, model.weights, "79")
    assert [(g.service.id, g.criterion.id) for g in hcm.gaps] == \
        [(g.service_id, g.criterion_id) for g in expected]
    assert hcm.gaps[0].criterion.id == "level4_full" and hcm.gaps[0].gain.points == 2.0
    assert hcm.all_closed.share_after == 1.0 and hcm.all_closed.rank_after == 1
    # same answer as the full what_if over every row
    full = scoring.what_if(model.verdicts, model.weights, scoring.by_unit("79")).change("79")
    assert hcm.all_closed == full
    top = model.top_gaps[0]
    assert (top.service.id, top.criterion.id, top.points) == ("birth_registration",
                                                              "level4_full", 4.0)
    assert {u.code for u in top.units} == {"79", "46"}
    nat = model.national.overall
    assert top.national_after == round((nat.raw + 4.0) / nat.max_possible, 9)
    assert model.cells[("01", "birth_registration")] == "full"
    assert model.cells[("46", "birth_registration")] == "none"


# --------------------------------------------------------------------------- HTML


def test_dashboard_and_unit_pages_are_written_and_self_contained(
        written: tuple[dict[str, Path], Path]) -> None:
    paths, out = written
    page = paths["html"].read_text(encoding="utf-8")
    assert '<html lang="vi">' in page and "Ma trận đơn vị × dịch vụ" in page
    assert page.count("<svg") >= 5  # groups + distribution per kind, services, top gaps
    assert "<script" not in page and "src=" not in page and "<link" not in page
    for code in ("01", "79", "46", "G01"):
        assert (out / "units" / f"{code}.html").exists()
        assert f'href="units/{code}.html"' in page
    unit = (out / "units" / "79.html").read_text(encoding="utf-8")
    assert 'href="../report.html"' in unit
    assert "UBND Thành phố Hồ Chí Minh" in unit  # responsible: the People's Committee
    assert "Quý III/2020" in unit  # the annex deadline of birth registration
    assert "Nghị định 42/2022/NĐ-CP" in unit  # legal basis of level4_full


def test_unit_page_evidence_links_with_time_and_screenshot(
        written: tuple[dict[str, Path], Path]) -> None:
    _, out = written
    page = (out / "units" / "01.html").read_text(encoding="utf-8")
    assert 'href="http://127.0.0.1:9/api/v1/submitting/formality/list-department-url-by-' \
           'citizen"' in page
    assert "2026-11-01T01:02:03Z" in page
    assert 'href="../shots/01.png"' in page  # relative to the results directory
    assert "và 2 bằng chứng khác" in page  # level4_full cites 5 rows, 3 are shown


def test_portal_text_is_escaped_and_unsafe_urls_are_not_links(
        written: tuple[dict[str, Path], Path]) -> None:
    _, out = written
    page = (out / "units" / "01.html").read_text(encoding="utf-8")
    assert "<script" not in page
    assert htmllib.escape(HOSTILE, quote=False) in page or "&lt;script&gt;" in page
    assert 'href="javascript:' not in page and "javascript:alert(1)" in page


def test_weight_change_in_a_rubric_copy_changes_the_rendered_score(tmp_path: Path) -> None:
    db, run_id = make_run(tmp_path / "audit.db")
    write_reports(db, load_rubric(), tmp_path / "before", run_id)
    before = (tmp_path / "before" / "report.html").read_text(encoding="utf-8")
    assert share_cell(before, "79") == "0,400"  # 2/5
    copy = tmp_path / "rubrics"
    shutil.copytree(RUBRIC_DIR, copy)
    text = (copy / "rubric.yaml").read_text(encoding="utf-8")
    block = re.search(r"- id: level4_full\n.*?\n    weight: 2\n", text, re.S)
    assert block, "rubric.yaml layout changed: level4_full weight not found"
    (copy / "rubric.yaml").write_text(
        text.replace(block[0], block[0].replace("weight: 2\n", "weight: 4\n")), encoding="utf-8")
    rubric = load_rubric(copy)
    assert rubric.criterion("level4_full").weight == 4
    write_reports(db, rubric, tmp_path / "after", run_id)
    after = (tmp_path / "after" / "report.html").read_text(encoding="utf-8")
    assert share_cell(after, "79") == "0,286"  # 2/7
    assert share_cell(after, "G01") == "0,429"  # 3/7
    unit = (tmp_path / "after" / "units" / "79.html").read_text(encoding="utf-8")
    assert "+4,0" in unit  # the level-4 gap is now worth 4 points


def test_english_report_uses_the_rubric_english_texts(stored: tuple[Any, int, Path]) -> None:
    db, run_id, out = stored
    rubric = load_rubric()
    paths = write_reports(db, rubric, out, run_id, lang="en")
    assert paths["html"].name == "report.en.html"
    page = paths["html"].read_text(encoding="utf-8")
    unit = htmllib.unescape((out / "units" / "79.en.html").read_text(encoding="utf-8"))
    assert '<html lang="en">' in page and "Heatmap: units × services" in page
    l4 = rubric.criterion("level4_full")
    assert l4.title_en in unit and l4.title_vi not in unit
    assert " ".join(l4.remediation_en.split()[:6]) in unit
    assert "Birth certificate" in unit  # service name_en
    assert "Q3 2020" in unit  # the annex deadline, translated
    assert "People's Committee of Thành phố Hồ Chí Minh" in unit
    assert 'href="../report.en.html"' in unit
    assert not (out / "report.html").exists()  # only the language asked for


def test_national_vs_portal_findings_on_the_unit_page(stored: tuple[Any, int, Path]) -> None:
    db, run_id, out = stored
    if not hasattr(store, "save_findings"):
        pytest.skip("the store has no findings yet (provincial portals)")
    store.save_findings(db, run_id, [{
        "unit_code": "79", "service_id": "birth_registration", "kind": "national_overstates",
        "national": "FULL", "portal": "info", "detail": "x", "evidence_ids": [1]}])
    write_reports(db, load_rubric(), out, run_id)
    page = (out / "units" / "79.html").read_text(encoding="utf-8")
    assert 'id="unit-findings"' in page and 'data-kind="national_overstates"' in page
    assert "Cổng quốc gia công bố cao hơn thực tế" in page and "Chỉ thông tin" in page
    assert 'id="unit-findings"' not in (out / "units" / "01.html").read_text(encoding="utf-8")


def test_incomplete_run_is_flagged(tmp_path: Path) -> None:
    db, run_id = make_run(tmp_path / "audit.db", status="incomplete")
    paths = write_reports(db, load_rubric(), tmp_path, run_id)
    assert "chưa hoàn tất" in paths["html"].read_text(encoding="utf-8")
    assert "chưa hoàn tất" in (tmp_path / "units" / "01.html").read_text(encoding="utf-8")


def test_a_host_the_crawl_stopped_asking_is_reported(tmp_path: Path) -> None:
    db, run_id = make_run(tmp_path / "audit.db")
    store.add_evidence(db, run_id, {
        "kind": "host_stopped", "url": "http://127.0.1.48:9/x", "method": "GET",
        "observed_at": "2026-11-01T01:02:03Z", "status": None, "sha256": "", "outcome": "failed",
        "reason": "blocked", "procedure_code": "", "office_code": "",
        "data": {"host": "127.0.1.48:9", "blocks": 5, "last_reason": "js_challenge"}})
    paths = write_reports(db, load_rubric(), tmp_path, run_id, lang="en")
    page = paths["html"].read_text(encoding="utf-8")
    assert "Stopped asking 127.0.1.48:9 after 5 blocks in a row" in page
    assert "held at a JavaScript challenge" in page


def test_decomposed_text_comes_out_nfc_everywhere(tmp_path: Path) -> None:
    nfd = unicodedata.normalize("NFD", "Thành phố Hà Nội")
    db, run_id = make_run(tmp_path / "audit.db", unit_names={"01": nfd})
    paths = write_reports(db, load_rubric(), tmp_path, run_id)
    for key in ("html", "csv", "scores_csv", "json", "md"):
        text = paths[key].read_text(encoding="utf-8")
        assert unicodedata.is_normalized("NFC", text), key
        assert "Thành phố Hà Nội" in text, key


# --------------------------------------------------------------------------- standing panel


def test_standing_panel_on_the_real_2024_file(stored: tuple[Any, int, Path]) -> None:
    if not UN_2024.exists():
        pytest.skip(f"UN data not available at {UN_2024}")
    db, run_id, out = stored
    paths = write_reports(db, load_rubric(), out, run_id, un_data=UN_2024)
    page = paths["html"].read_text(encoding="utf-8")
    assert 'id="standing"' in page and "ƯỚC TÍNH" in page
    assert "71/193" in page  # Viet Nam's published 2024 EGDI rank
    rows = re.findall(r'<tr data-n="(\d+)">', page)
    assert rows == ["1", "2"]  # two services have gaps: top-1 and top-2 (all)
    en = write_reports(db, load_rubric(), out, run_id, lang="en", un_data=UN_2024)
    assert "ESTIMATE" in en["html"].read_text(encoding="utf-8")


def test_report_command_options(stored: tuple[Any, int, Path], tmp_path: Path) -> None:
    _, _, out = stored
    db_path = out / "audit.db"
    res = CliRunner().invoke(main, ["report", "--db", str(db_path), "--out", str(tmp_path / "r"),
                                    "--lang", "en"])
    assert res.exit_code == 0, res.output
    assert (tmp_path / "r" / "report.en.html").exists()
    assert (tmp_path / "r" / "report.en.xlsx").exists()
    bad = tmp_path / "bad.csv"
    bad.write_text("Country,OSI\nViet Nam,0.7\n", encoding="utf-8")
    res = CliRunner().invoke(main, ["report", "--db", str(db_path), "--out", str(tmp_path / "r"),
                                    "--un-data", str(bad)])
    assert res.exit_code != 0 and "missing column" in res.output
    res = CliRunner().invoke(main, ["report", "--db", str(db_path), "--lang", "fr"])
    assert res.exit_code != 0


# --------------------------------------------------------------------------- pieces


def test_every_ui_string_has_both_languages() -> None:
    strings = load_strings()
    assert all(set(v) == set(LANGS) and all(v.values()) for v in strings.values())
    templates = PROJECT / "templates"
    used = set()
    for path in [*templates.glob("*.j2"), *templates.glob("partials/*.j2")]:
        used |= set(re.findall(r"""t\(["']([a-z_0-9.]+)["']\s*[,)]""",
                               path.read_text("utf-8")))
    used |= {f"cell.{state}" for state in CELL_STATES}  # built as "cell." ~ state
    used |= {f"verdict.{v}" for v in scoring.VERDICTS}
    assert len(used) > 50 and used <= set(strings), sorted(used - set(strings))


def test_every_failure_reason_has_a_label() -> None:
    """A could-not-test reason the crawler or a fault can produce reads as words, not a code."""
    from crawler import failures
    from replica.scenario import FAULT_KINDS

    reasons = {k.reason for k in FAULT_KINDS.values() if k.reason}
    reasons |= {r for _, r in failures.BROWSER_ERRORS} | set(failures.TRANSIENT)
    reasons |= set(failures.CHECK_REASONS)
    reasons |= {failures.http_reason(s) for s in (403, 404, 429, 503)}
    reasons |= {"browser_error", "error", "unknown_platform", "needs_browser", "no_browser",
                "unreadable", "unexpected_config", "no_listing", "no_login_options"}
    missing = {r for r in reasons if not Lang("en").has(f"reason.{r}")}
    assert not missing, sorted(missing)


def test_language_helpers() -> None:
    vi, en = Lang("vi"), Lang("en")
    assert vi.num(0.5) == "0,500" and en.num(0.5) == "0.500" and vi.pct(0.256) == "25,6%"
    assert en.deadline("Quý IV/2020") == "Q4 2020" and vi.deadline("Quý IV/2020") == "Quý IV/2020"
    assert en.reason("blocked") == "blocked by the portal" and vi.reason("zzz") == "zzz"
    assert en.suffix == ".en" and vi.suffix == ""
    with pytest.raises(ValueError):
        Lang("fr")


def test_charts_are_escaped_svg() -> None:
    svg = charts.hbar_chart([charts.Bar("<b>&", 0.5)], title="t<")
    assert svg.startswith("<svg") and "&lt;b&gt;&amp;" in svg and "t&lt;" in svg
    assert charts.histogram([0.0, 0.3, 0.99, 1.0], bins=10) == [1, 0, 0, 1, 0, 0, 0, 0, 0, 2]
    col = charts.column_chart([charts.Bar("a", 0), charts.Bar("b", 0)], title="empty")
    assert "<rect" in col  # all-zero data still renders


def test_bar_charts_are_narrow_and_scale() -> None:
    """Issue 16: a wide chart scaled down to a phone is unreadable. Bar charts are drawn at
    most HBAR_MAX_WIDTH wide whatever the caller asks, scale by their viewBox, and a long
    value text gets its own line instead of squeezing the bar."""
    bars = [charts.Bar("19. Đăng ký thành lập doanh nghiệp", 4.0, text="4,0 · " + "x" * 40),
            charts.Bar("2. Đăng ký khai sinh", 2.0, text="2,0 · y")]
    svg = str(charts.hbar_chart(bars, title="gaps", width=960, text_room=300))
    w = charts.HBAR_MAX_WIDTH
    assert f'width="{w}"' in svg and re.search(rf'viewBox="0 0 {w} \d+"', svg)
    widths = [float(x) for x in re.findall(r'<rect x="2" y="[\d.]+" width="([\d.]+)"', svg)]
    assert widths[0] == pytest.approx(w - 4) and widths[1] == pytest.approx((w - 4) / 2)
    short = str(charts.hbar_chart([charts.Bar("a", 0.5)], title="t", max_value=1.0))
    assert float(re.search(r'<rect x="2" y="[\d.]+" width="([\d.]+)"', short)[1]) < w / 2


def test_every_template_can_be_compiled_ahead() -> None:
    """The job compiles the templates while its last crawls run (warm_templates); the reports
    written after then find every one compiled."""
    from reports.exports import markdown_environment
    from reports.report import TEMPLATES_DIR, environment, warm_templates

    warm_templates("en")
    env = environment(Lang("en"))
    compiled = {key[1] for key in env.cache or {}}
    assert compiled >= set(env.list_templates(filter_func=lambda n: n.endswith(".html.j2")))
    assert {"dashboard.html.j2", "unit.html.j2", "evidence.html.j2"} <= compiled
    md = markdown_environment(Lang("en"), TEMPLATES_DIR)
    assert {key[1] for key in md.cache or {}} == {"summary.md.j2"}


def _sheets(path: Path) -> list[tuple[str, list[list[tuple[Any, str]]]]]:
    from openpyxl import load_workbook

    wb = load_workbook(path)
    return [(ws.title, [[(c.value, c.number_format) for c in row] for row in ws.iter_rows()])
            for ws in wb.worksheets]


@pytest.mark.parametrize("end", ["complete", "incomplete"])
def test_the_workbook_written_ahead_equals_the_one_written_at_the_end(
        tmp_path: Path, caplog: pytest.LogCaptureFixture, end: str) -> None:
    """app/ahead.py starts the workbook while the site search reads its last site: a child
    writes the verdicts' sheets then and, told to go, the summary (the run's end, read then)
    and the UN survey's sheets (answers stored after it started). The file equals the one
    written at once from the finished run, sheet by sheet, value and format. The other files, from
    the model built ahead and brought to the run's end (the changes since the previous
    complete run, hosts stopped since), equal those built at the end, byte for byte."""
    from core.rubric import RUBRIC_DIR
    from reports.report import report_ahead
    from tests.test_report_survey import answer_rows

    make_run(tmp_path / "audit.db", status="complete")  # the previous complete run
    db, run_id = make_run(tmp_path / "audit.db", status="complete")
    db["runs"].update(run_id, {"status": "running"})
    ahead, at_end = tmp_path / "ahead", tmp_path / "at_end"
    begun = report_ahead(tmp_path / "audit.db", load_rubric(RUBRIC_DIR), ahead, run_id)
    early_pages = {p.name: p.stat().st_mtime_ns for p in (ahead / "evidence").iterdir()}
    assert early_pages  # the evidence pages are written ahead, in the default language
    store.save_indicator_answers(db, run_id, answer_rows())  # the site search's answers
    store.add_evidence(db, run_id, {  # the site search's host guard, after it started
        "kind": "host_stopped", "url": "http://127.0.0.1:9/", "method": "GET",
        "outcome": "failed", "observed_at": "2026-11-01T01:02:03Z", "reason": "blocked",
        "data": {"host": "127.0.0.1:9", "blocks": 5, "last_reason": "blocked"}})
    store.finish_run(db, run_id, end, "" if end == "complete" else "interrupted")  # its end
    write_reports(db, load_rubric(), ahead, run_id, ahead=begun)
    write_reports(db, load_rubric(), at_end, run_id)
    assert "failed" not in caplog.text  # the child finished it, not the fallback
    assert {p.name: p.stat().st_mtime_ns for p in (ahead / "evidence").iterdir()} == early_pages
    written, fresh = _sheets(ahead / "report.xlsx"), _sheets(at_end / "report.xlsx")
    assert [title for title, _ in written] == [title for title, _ in fresh]
    assert written == fresh
    summary = dict((row[0][0], row[1][0]) for row in written[0][1][1:])
    assert Lang("vi").status(end) in summary.values()
    losi = next(rows for title, rows in written if title == Lang("vi").t("xlsx.losi")[:31])
    assert len(losi) > 2  # the survey's rows, stored after the child started
    # and every other report file, from the model built ahead, equals the one built at the end
    def files(root: Path) -> dict[str, bytes]:
        return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
                if p.is_file() and p.suffix in {".html", ".csv", ".json", ".md"}}

    begun_files, fresh_files = files(ahead), files(at_end)
    assert begun_files.keys() == fresh_files.keys() and "report.html" in begun_files
    assert [name for name in begun_files if begun_files[name] != fresh_files[name]] == []


def test_a_workbook_ahead_that_fails_is_written_at_the_end(tmp_path: Path, monkeypatch) -> None:
    from reports import exports
    from reports.report import report_ahead

    db, run_id = make_run(tmp_path / "audit.db")

    def broken(*args: Any) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(exports, "finish_xlsx", broken)  # the child forks with it
    begun = report_ahead(tmp_path / "audit.db", load_rubric(), tmp_path, run_id)
    monkeypatch.undo()
    paths = write_reports(db, load_rubric(), tmp_path, run_id, ahead=begun)
    assert _sheets(paths["xlsx"])[0][0] == Lang("vi").t("xlsx.summary")
