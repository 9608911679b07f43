"""Exports of the gap report: CSV, XLSX (read back with pandas), JSON, Markdown."""

from __future__ import annotations

import csv
import json
import unicodedata
from collections import Counter
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import Any

import openpyxl
import pandas as pd
import pytest
from openpyxl.utils import get_column_letter

from core.rubric import load_rubric
from reports import exports
from reports.i18n import Lang
from reports.report import write_reports
from tests.test_report import make_run

SUMMARY_SHEETS = {
    "vi": ["Tổng hợp", "Tổng số", "Điểm", "Dịch vụ", "Khoảng cách", "Kết quả"],
    "en": ["Summary", "Totals", "Scores", "Services", "Gaps", "Verdicts"],
}


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """One run's reports for the tests that only read them (written once: a second of CPU)."""
    out = tmp_path_factory.mktemp("written")
    db, run_id = make_run(out / "audit.db")
    return write_reports(db, load_rubric(), out, run_id)


def read_csv(path: Path) -> list[dict[str, str]]:
    """As Excel and any reader should: utf-8-sig drops the byte-order mark."""
    with path.open(encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh))


def check_xlsx_against_csv(xlsx: Path, verdicts_csv: Path, scores_csv: Path, lang: str) -> None:
    """The XLSX opens with pandas, has the summary sheets, a sheet per province with verdicts
    and one for the agencies, and its totals equal the CSV's counts."""
    t = Lang(lang).t
    rows = read_csv(verdicts_csv)
    sheets = pd.read_excel(xlsx, sheet_name=None)
    names = list(sheets)
    assert names[:6] == SUMMARY_SHEETS[lang]
    provinces = sorted({r["unit_code"] for r in rows if r["unit_kind"] == "province"})
    province_sheets = [n for n in names if n[:2].isdigit()]
    assert [n.split()[0] for n in province_sheets] == sorted(provinces, key=lambda c: [
        u.code for u in load_rubric().provinces].index(c))
    totals = sheets[t("xlsx.totals")].set_index(t("xcol.verdict"))  # labels, not codes
    csv_counts = Counter(r["verdict"] for r in rows)
    for verdict in ("met", "not_met", "not_applicable", "cannot_test"):
        assert totals.loc[Lang(lang).verdict(verdict), t("xlsx.all")] == csv_counts[verdict]
    assert totals.loc[t("xlsx.all"), t("xlsx.all")] == len(rows)
    kind_counts = Counter(r["unit_kind"] for r in rows)
    assert totals.loc[t("xlsx.all"), Lang(lang).kind("province")] == kind_counts["province"]
    # every verdict appears once in the Verdicts sheet and once in its unit's sheet
    assert len(sheets[t("xlsx.verdicts")]) == len(rows)
    assert sum(len(sheets[n]) for n in province_sheets) == kind_counts["province"]
    if kind_counts["agency"]:
        assert len(sheets[t("xlsx.agencies")]) == kind_counts["agency"]
    for n in province_sheets:
        codes = set(sheets[n][t("xcol.unit_code")].astype(str).str.zfill(2))
        assert codes == {n.split()[0]}
        todo = f"{t('xlsx.todo')} {n.split()[0]}"  # each province's to-do sheet comes first
        assert names[names.index(n) - 1] == todo
    met = sheets[t("xlsx.verdicts")][t("xcol.verdict")].value_counts()
    assert met[Lang(lang).verdict("met")] == csv_counts["met"]
    scores = sheets[t("xlsx.scores")]
    assert len(scores) == len(read_csv(scores_csv))
    assert scores[t("xcol.met")].sum() == csv_counts["met"]


def test_xlsx_opens_with_pandas_with_sheets_and_totals(written: dict[str, Path]) -> None:
    check_xlsx_against_csv(written["xlsx"], written["csv"], written["scores_csv"], "vi")


def test_english_xlsx(tmp_path: Path) -> None:
    db, run_id = make_run(tmp_path / "audit.db")
    paths = write_reports(db, load_rubric(), tmp_path, run_id, lang="en")
    assert paths["xlsx"].name == "report.en.xlsx"
    check_xlsx_against_csv(paths["xlsx"], paths["csv"], paths["scores_csv"], "en")
    gaps = pd.read_excel(paths["xlsx"], sheet_name="Gaps")
    assert "Full online service (level 4)" in set(gaps["Criterion"]) or \
        load_rubric().criterion("level4_full").title_en in set(gaps["Criterion"])


def test_verdicts_csv_columns_and_order(written: dict[str, Path]) -> None:
    rows = read_csv(written["csv"])
    assert tuple(rows[0]) == exports.VERDICT_COLUMNS
    assert len(rows) == 24  # 4 (unit, service) pairs x 6 criteria
    kinds = [r["unit_kind"] for r in rows]
    assert kinds == sorted(kinds, key=["agency", "province"].index)
    hn = [r for r in rows if r["unit_code"] == "01" and r["criterion_id"] == "offered_online"]
    assert hn[0]["evidence_ids"].split() == ["1", "2", "3"]
    scores = {r["unit_code"]: r for r in read_csv(written["scores_csv"])}
    # 79: 4 of its 6 cells tested, under rank_min_tested (0.75): a share, no rank
    assert scores["79"]["share"] == "0.4" and scores["79"]["rank"] == ""
    assert (scores["79"]["tested_cells"], scores["79"]["testable_cells"]) == ("4", "6")
    assert scores["G01"]["rank"] == "1"
    assert scores["79"]["gaps"] == "2"


def test_json_document(written: dict[str, Path]) -> None:
    doc: dict[str, Any] = json.loads(written["json"].read_text(encoding="utf-8"))
    assert doc["schema"] == exports.JSON_SCHEMA
    assert len(doc["verdicts"]) == len(read_csv(written["csv"]))
    assert doc["totals"]["met"]["all"] == sum(v["verdict"] == "met" for v in doc["verdicts"])
    assert doc["national"]["overall"]["share"] == pytest.approx(10 / 20)
    hcm = [g for g in doc["gaps"] if g["unit_code"] == "79"]
    assert [g["order"] for g in hcm] == [1, 2]
    assert hcm[0]["criterion_id"] == "level4_full" and hcm[0]["points"] == 2.0
    assert hcm[0]["criterion_title_en"] and hcm[0]["remediation_en"]
    assert "standing" not in doc and "index766" not in doc
    assert all(isinstance(i, int) for v in doc["verdicts"] for i in v["evidence_ids"])


def test_markdown_summary(written: dict[str, Path]) -> None:
    md = written["md"].read_text(encoding="utf-8")
    assert md.startswith("# Báo cáo khoảng cách")
    assert "| 1 | 2. Đăng ký khai sinh | Dịch vụ công trực tuyến toàn trình | 4,0 | 2 |" in md
    assert "Thành phố Hồ Chí Minh" in md and unicodedata.is_normalized("NFC", md)


def test_markdown_cells_and_sheet_names_are_safe() -> None:
    assert exports.md_cell("a|b\n<c>") == "a\\|b &lt;c&gt;"
    taken: set[str] = set()
    first = exports.sheet_name("Tỉnh [Hà]: Nội/*? với một tên rất dài vượt quá giới hạn", taken)
    assert len(first) <= 31 and not set("[]:*?/\\") & set(first)
    second = exports.sheet_name("Tỉnh [Hà]: Nội/*? với một tên rất dài vượt quá giới hạn", taken)
    assert second != first and len(second) <= 31


def test_csv_files_start_with_a_byte_order_mark(written: dict[str, Path]) -> None:
    """Excel on Windows reads a CSV without a BOM in the local code page: Vietnamese breaks."""
    for key in ("csv", "scores_csv"):
        raw = written[key].read_bytes()
        assert raw.startswith(b"\xef\xbb\xbf") and not raw[3:].startswith(b"\xef\xbb\xbf")
        assert raw[3:].decode("utf-8").startswith("unit_code,")


def test_xlsx_formats_labels_and_dates(written: dict[str, Path]) -> None:
    """Shares are percentages, long texts wrap, run times are dates, people read labels."""
    t = Lang("vi").t
    wb = openpyxl.load_workbook(written["xlsx"])
    summary = {row[0].value: row[1] for row in wb[t("xlsx.summary")].iter_rows(min_row=2)}
    national = summary[t("xlsx.national_share")]
    assert national.value == pytest.approx(0.5) and national.number_format == exports.PCT
    started = summary[t("xlsx.started")]
    assert isinstance(started.value, datetime) and started.is_date
    assert summary[t("meta.status")].value == Lang("vi").status("complete")
    scores = wb[t("xlsx.scores")]
    head = [c.value for c in scores[1]]
    share = scores.cell(row=2, column=head.index(t("xcol.share")) + 1)
    assert isinstance(share.value, int | float) and share.number_format == exports.PCT
    kinds = {scores.cell(row=r, column=head.index(t("xcol.unit_kind")) + 1).value
             for r in range(2, scores.max_row + 1)}
    assert kinds == {Lang("vi").kind("province"), Lang("vi").kind("agency")}
    totals = [r[0].value for r in wb[t("xlsx.totals")].iter_rows(min_row=2)]
    assert "not_met" not in totals and Lang("vi").verdict("not_met") in totals
    gaps = wb[t("xlsx.gaps")]
    head = [c.value for c in gaps[1]]
    legal = gaps.cell(row=2, column=head.index(t("xcol.legal_basis")) + 1)
    assert len(legal.value) > exports.MAX_WIDTH and legal.alignment.wrap_text
    assert gaps.cell(row=2, column=head.index(t("xcol.share_after")) + 1).number_format \
        == exports.PCT


def test_todo_sheet_per_province(written: dict[str, Path]) -> None:
    """"Việc cần làm 79": HCM's two gaps with who, by when and the fix; a province without
    gaps (Hà Nội: all met) says so."""
    t, vi = Lang("vi").t, Lang("vi")
    sheets = pd.read_excel(written["xlsx"], sheet_name=None)
    hcm = sheets[f"{t('xlsx.todo')} 79"]
    assert list(hcm.columns) == [t(f"xcol.{c}") for c in exports.TODO_SHEET]
    rubric = load_rubric()
    service = rubric.service("birth_registration")
    assert len(hcm) == 2
    assert set(hcm[t("xcol.deadline")]) == {service.annex_deadline}
    assert set(hcm[t("xcol.responsible")]) == {
        vi.responsible(service, rubric.unit("79"))}
    assert {vi.remediation(rubric.criterion(c)) for c in ("level4_full", "national_handoff")} \
        == set(hcm[t("xcol.remediation")])
    assert hcm[t("xcol.reason")].notna().all()  # why it is not met, in words
    assert list(sheets[f"{t('xlsx.todo')} 01"].iloc[:, 0]) == [t("unit.no_gaps")]
    assert exports.deadline_key("Quý IV/2020") > exports.deadline_key("Quý III/2020")
    assert exports.deadline_key("") == (9999, 0)


PCT_HEADERS = ("xcol.share", "xcol.share_after", "xcol.share_measured")
DECIMAL_HEADERS = ("xcol.normalised", "xcol.normalised_after")


def shown(value: Any) -> str:
    """A value's text as the widths count it: dates as written, nothing as ""."""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    return "" if value is None else str(value)


def check_sheet_cells(ws: Any, formats: dict[str, str],
                      row_formats: dict[str, str] | None = None) -> None:
    """Every cell of a sheet as the workbook's rules say. Header: bold, wrapped, top. A column
    with text longer than MAX_WIDTH wraps (top) in every cell, numbers keeping their format; a
    number in a formatted column (`formats`: header -> format; `row_formats`: first cell ->
    format, the summary's rows) has that format, top; a date the DATE format; any other cell
    no style at all. Widths fit the longest text (8 to MAX_WIDTH + 2); the header row is
    frozen and filtered."""
    rows = [list(r) for r in ws.iter_rows()]
    head, body = rows[0], rows[1:]
    for c in head:
        assert c.font.b and c.alignment.wrap_text and c.alignment.vertical == "top", c
        assert isinstance(c.value, str) and c.value and c.number_format == "General", c
    longest = [max(len(shown(r[i].value)) for r in rows) for i in range(len(head))]
    for i, w in enumerate(longest):
        width = ws.column_dimensions[get_column_letter(i + 1)].width
        # a float is stored with 16 digits: its text read back may be a digit shorter
        more = any(isinstance(r[i].value, float) for r in body)
        assert max(8, min(exports.MAX_WIDTH, w) + 2) <= width \
            <= max(8, min(exports.MAX_WIDTH, w + more) + 2), (ws.title, i)
    assert ws.freeze_panes == "A2"
    assert ws.auto_filter.ref == (f"A1:{get_column_letter(len(head))}{len(rows)}" if body
                                  else None)
    for r in body:
        assert len(r) == len(head)
        for i, c in enumerate(r):
            v = c.value
            numeric = isinstance(v, int | float | datetime) and not isinstance(v, bool)
            fmt = exports.DATE if isinstance(v, datetime) else \
                (row_formats or {}).get(r[0].value) or formats.get(head[i].value, "")
            where = (ws.title, c.coordinate, v)
            assert not c.font.b, where
            if longest[i] > exports.MAX_WIDTH:
                assert c.alignment.wrap_text and c.alignment.vertical == "top", where
                assert c.number_format == (fmt if numeric and fmt else "General"), where
            elif numeric and fmt:
                assert c.number_format == fmt and c.alignment.vertical == "top", where
                assert not c.alignment.wrap_text, where
            else:
                assert not c.has_style, where
            if isinstance(v, str):
                assert unicodedata.is_normalized("NFC", v) and not v.startswith("="), where


def header_formats(lang: Lang, pct: Iterable[str] = ()) -> dict[str, str]:
    """Column header -> number format: shares as percentages, normalised values as decimals."""
    return {**{lang.t(k): exports.PCT for k in PCT_HEADERS}, **dict.fromkeys(pct, exports.PCT),
            **{lang.t(k): exports.DECIMAL for k in DECIMAL_HEADERS}}


def test_xlsx_every_sheet_cell_by_cell(written: dict[str, Path]) -> None:
    """Every cell of every sheet: its style by the workbook's rules (check_sheet_cells), and
    the verdict rows: the whole sheet's rows, in order, are each province's sheet's and the
    agencies' sheet's (one row per verdicts.csv row, labels not codes)."""
    vi = Lang("vi")
    t = vi.t
    wb = openpyxl.load_workbook(written["xlsx"])
    shares = {t("xlsx.national_share"): exports.PCT,
              **{t("summary.by_kind", kind=vi.kind(k)): exports.PCT for k in exports.KINDS}}
    for ws in wb:
        check_sheet_cells(ws, header_formats(vi),
                          shares if ws.title == t("xlsx.summary") else None)
    values = {ws.title: [[c.value for c in r] for r in ws.iter_rows(min_row=2)] for ws in wb}
    rows = values[t("xlsx.verdicts")]
    csv_rows = read_csv(written["csv"])
    assert [(r[0], r[2], r[5], r[8]) for r in rows] == [
        (c["unit_code"], int(c["service_annex_no"]), vi.verdict(c["verdict"]),
         len(c["evidence_ids"].split())) for c in csv_rows]
    rubric = load_rubric()
    shown_units = [u for u in rubric.provinces if any(r[0] == u.code for r in rows)]
    assert shown_units
    for unit in shown_units:
        assert values[f"{unit.code} {unit.name}"] == [r for r in rows if r[0] == unit.code]
    agencies = {c["unit_code"] for c in csv_rows if c["unit_kind"] == "agency"}
    assert agencies and values[t("xlsx.agencies")] == [r for r in rows if r[0] in agencies]


def test_xlsx_table_cells_keep_their_values_and_styles(tmp_path: Path) -> None:
    """A styled cell is reused row after row (reports.exports._column_cells): every row still
    gets its own value, a column mixing numbers, text, nothing and own formats (Styled) styles
    each value by itself, and formulas stay text."""
    long = "chữ dài " * 10  # over MAX_WIDTH: the column wraps
    when = datetime(2026, 11, 1, 1, 2, 3)
    rows = [[0.25, long + "1", exports.Styled(0.5, exports.PCT), "=cmd", 1],
            ["—", None, exports.Styled("text", exports.PCT), "+1", 2],
            [None, 3, when, "b", True],
            [0.75, long + "2", exports.Styled(None, exports.PCT), "", 4.5]]
    wb = openpyxl.Workbook(write_only=True)
    exports._table(wb, "T", ["share", "text", "own", "formula", "n"], rows, set(),
                   {0: exports.PCT})
    wb.save(tmp_path / "t.xlsx")
    ws = openpyxl.load_workbook(tmp_path / "t.xlsx")["T"]
    got = [[c.value for c in r] for r in ws.iter_rows(min_row=2)]
    assert got == [[0.25, long + "1", 0.5, "'=cmd", 1], ["—", None, "text", "+1", 2],
                   [None, 3, when, "b", True], [0.75, long + "2", None, None, 4.5]]
    pct, wrap, top, plain = exports.PCT, (True, "top"), (None, "top"), (None, None)
    general = ("General", plain)
    styles = [[(pct, top), ("General", wrap), (pct, top), general, general],
              [general, ("General", wrap), general, general, general],
              [general, ("General", wrap), (exports.DATE, top), general, general],
              [(pct, top), ("General", wrap), general, general, general]]
    assert [[(c.number_format, (c.alignment.wrap_text, c.alignment.vertical)) for c in r]
            for r in ws.iter_rows(min_row=2)] == styles
    assert [c.has_style for c in ws["D"][1:] + ws["E"][1:]] == [False] * 8
    assert [ws.column_dimensions[c].width for c in "ABCDE"] == [8, exports.MAX_WIDTH + 2,
                                                                 21, 9, 8]
