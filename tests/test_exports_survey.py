"""Issue 18: the UN survey in the Excel workbook: a LOSI sheet (a row per province in rank
order), an OSQ sheet (the national portal by sub-index) and every answer (the rows of
losi.csv and osq.csv), in both languages; without answers each sheet says so.

Fast: a stored run (tests.test_report.make_run, no crawl) with the indicator answers of
tests/test_report_survey.py for every province and the national portal. Values are checked
against the report's survey model (reports/survey_model.py) and shares by hand.
"""

from __future__ import annotations

import csv
import dataclasses
import re
import unicodedata
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from audits.scoring import load_scoring_config
from core import store
from core.indicators import NATIONAL_UNIT
from reports import exports
from reports.i18n import Lang
from reports.report import write_reports
from reports.survey_model import SurveyModel, load_survey
from tests.test_exports import check_sheet_cells, header_formats
from tests.test_report import make_run
from tests.test_report_language import DOC_NUMBER, ENGLISH, vietnamese_words
from tests.test_report_survey import (
    INDICATORS,
    PROVINCES,
    RUBRIC,
    answer_rows,
    by_unit,
    expected_share,
)

XLSX = {"vi": "report.xlsx", "en": "report.en.xlsx"}
SURVEY_SHEETS = ("xlsx.losi", "xlsx.osq", "xlsx.survey_answers")


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, SurveyModel, list[Any]]:
    out = tmp_path_factory.mktemp("survey-xlsx")
    db, run_id = make_run(out / "audit.db")
    rows = answer_rows()
    store.save_indicator_answers(db, run_id, rows)
    for lang in XLSX:
        write_reports(db, RUBRIC, out, run_id, lang=lang, indicators=INDICATORS)
    return out, load_survey(db, run_id, INDICATORS, RUBRIC, load_scoring_config()), rows


@pytest.fixture(scope="module")
def books(written: tuple[Path, SurveyModel, list[Any]]) -> dict[str, Any]:
    """Each language's workbook, opened once (a few seconds each: 3,000 answer rows)."""
    return {lang: openpyxl.load_workbook(written[0] / name) for lang, name in XLSX.items()}


def sheet(book: Any, lang: str, key: str) -> list[tuple[Any, ...]]:
    """The rows of a sheet named by its string key, header first, as cells (with formats)."""
    if isinstance(book, Path):
        book = openpyxl.load_workbook(book)
    return [tuple(row) for row in book[Lang(lang).t(key)].iter_rows()]


def values(rows: list[tuple[Any, ...]]) -> list[list[Any]]:
    return [[c.value for c in r] for r in rows]


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh))


def opened(written: tuple[Path, SurveyModel, list[Any]], books: dict[str, Any], lang: str,
           key: str) -> tuple[SurveyModel, list[Any], Any, Lang, Any]:
    """(model, answer rows, t, Lang, the sheet's cells) of a written workbook's sheet `key`."""
    _, model, rows = written
    return model, rows, Lang(lang).t, Lang(lang), sheet(books[lang], lang, key)


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_losi_sheet_ranks_every_province_with_the_models_scores(
        written: tuple[Path, SurveyModel, list[Any]], books: dict[str, Any], lang: str) -> None:
    model, rows, t, L, cells = opened(written, books, lang, "xlsx.losi")
    head, body = [c.value for c in cells[0]], cells[1:]
    groups = [g for g in INDICATORS.sets["losi"].groups if not g.score_with]
    assert head == [*(t(f"xcol.{c}") for c in exports.LOSI_HEAD),
                    *(L.pick(g, "name") for g in groups),
                    *(t(f"xcol.{c}") for c in exports.LOSI_TAIL)]
    col = {h: i for i, h in enumerate(head)}
    assert len(body) == len(PROVINCES) == len(model.losi.units)
    codes = [r[col[t("xcol.unit_code")]].value for r in body]
    assert codes == [su.code for su in model.losi.ranked()]
    answers = by_unit(rows, "losi")
    shares = [r[col[t("xcol.share")]].value for r in body]
    assert shares == pytest.approx([expected_share("losi", answers[c]) for c in codes])
    assert shares == sorted(shares, reverse=True)  # rank order, by hand
    ranks = [r[col[t("xcol.rank")]].value for r in body]
    assert ranks[0] == 1 and ranks == sorted(ranks)
    for r in body:
        su = model.losi.units[r[col[t("xcol.unit_code")]].value]
        norm = r[col[t("xcol.normalised")]]
        assert norm.value == pytest.approx(su.ranked.normalised)
        assert norm.number_format == exports.DECIMAL
        assert r[col[t("xcol.share")]].number_format == exports.PCT
        assert r[col[t("xcol.group")]].value == L.group_label(
            load_scoring_config().group(su.ranked.group))
        for g in su.groups:
            cell = r[col[L.pick(g.group, "name")]]
            assert cell.number_format == exports.PCT, g.group.id
            assert cell.value == pytest.approx(g.score.share), (su.code, g.group.id)
        cov = su.score.coverage
        assert r[col[t("xcol.survey_not_reviewed")]].value == sum(
            1 for v in answers[su.code].values() if v == "not_reviewed")
        assert r[col[t("xcol.survey_features")]].value == len(answers[su.code])
        assert r[col[t("xcol.survey_scored")]].value == sum(
            1 for v in answers[su.code].values() if v in ("met", "not_met"))
        measured = r[col[t("xcol.share_measured")]]
        assert measured.value == pytest.approx(cov.measured_share)
        assert measured.number_format == exports.PCT


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_osq_sheet_gives_the_models_sub_indices_as_an_estimate(
        written: tuple[Path, SurveyModel, list[Any]], books: dict[str, Any], lang: str) -> None:
    model, rows, t, L, cells = opened(written, books, lang, "xlsx.osq")
    assert [c.value for c in cells[0]] == [t(f"xcol.{c}") for c in exports.OSQ_SHEET]
    body = cells[1:]
    osq = model.osq
    assert osq is not None and len(body) == len(osq.groups) + 1  # sub-indices, then the whole
    for r, g in zip(body, osq.groups, strict=False):
        assert r[0].value.startswith(L.pick(g.group, "name"))
        assert r[4].value == pytest.approx(g.score.share) and r[4].number_format == exports.PCT
        assert (r[2].value, r[3].value) == (g.score.earned, g.score.possible)
        assert r[8].value == t("xlsx.estimate_yes")  # the set's weights are estimates
    tec = next(r for r, g in zip(body, osq.groups, strict=False) if g.group.id == "TEC")
    assert "E-Government Literacy" in tec[0].value or "Kỹ năng" in tec[0].value
    whole = body[-1]
    assert whole[0].value == t("xlsx.osq_total")
    assert whole[4].value == pytest.approx(expected_share("osq", by_unit(rows, "osq")["VN"]))
    assert whole[4].value == pytest.approx(osq.score.share)
    answers = by_unit(rows, "osq")[NATIONAL_UNIT]
    scored = sum(1 for v in answers.values() if v in ("met", "not_met"))
    assert (whole[5].value, whole[6].value) == (scored, len(answers))
    assert whole[7].value == pytest.approx(scored / len(answers))
    assert whole[7].number_format == exports.PCT and whole[8].value == t("xlsx.estimate_yes")


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_answers_sheet_has_every_row_of_losi_and_osq_csv(
        written: tuple[Path, SurveyModel, list[Any]], books: dict[str, Any], lang: str) -> None:
    out, _, _ = written
    t, L = Lang(lang).t, Lang(lang)
    got = values(sheet(books[lang], lang, "xlsx.survey_answers"))
    assert got[0] == [t(f"xcol.{c}") for c in exports.ANSWER_SHEET]
    csv_rows = read_csv(out / "losi.csv") + read_csv(out / "osq.csv")
    assert len(got) - 1 == len(csv_rows) == (len(PROVINCES) * len(
        INDICATORS.sets["losi"].indicators) + len(INDICATORS.sets["osq"].indicators))
    col = {c: i for i, c in enumerate(exports.ANSWER_SHEET)}
    features = {(s, i.id): i for s, iset in INDICATORS.sets.items() for i in iset.indicators}
    for row, c in zip(got[1:], csv_rows, strict=True):
        assert row[col["survey_set"]] == c["indicator_set"].upper()
        assert (row[col["unit_code"]], row[col["un_codes"]]) == (c["unit_code"], c["un_codes"])
        verdict = t("survey.not_reviewed") if c["verdict"] == "not_reviewed" \
            else L.verdict(c["verdict"])
        assert row[col["verdict"]] == verdict
        assert (row[col["survey_urls"]] or "") == c["urls"]
        ind = features[(c["indicator_set"], c["indicator_id"])]
        assert row[col["survey_feature"]] == L.pick(ind, "question")
        assert row[col["survey_fix"]] == (ind.fix_en if lang == "en" else ind.fix_vi)
    national = [r for r in got[1:] if r[col["unit_code"]] == NATIONAL_UNIT]
    assert national and {r[col["unit_name"]] for r in national} == {t("xlsx.national_portal")}
    # staff filter a province's missing features: Hà Nội's not-met rows are its missing ones
    missing = {r[col["un_codes"]] for r in got[1:]
               if r[col["unit_code"]] == "01" and r[col["verdict"]] == L.verdict("not_met")}
    assert missing == {c["un_codes"] for c in csv_rows
                       if c["unit_code"] == "01" and c["verdict"] == "not_met"} != set()



@pytest.mark.parametrize("lang", ["vi", "en"])
def test_survey_sheets_cell_by_cell(books: dict[str, Any], lang: str) -> None:
    """Every cell of the three survey sheets styled by the workbook's rules: long answers
    (questions, fixes, URLs) wrap, shares are percentages (a LOSI criterion's column too)."""
    L = Lang(lang)
    groups = [L.pick(g, "name") for g in INDICATORS.sets["losi"].groups if not g.score_with]
    for key in SURVEY_SHEETS:
        check_sheet_cells(books[lang][L.t(key)], header_formats(L, groups))
    answers = books[lang][L.t("xlsx.survey_answers")]
    assert any(c.alignment.wrap_text for c in answers[2])  # the rule's wrapping is exercised

def survey_text(wb: Any, lang: str) -> str:
    return " ".join(str(c.value) for key in SURVEY_SHEETS
                    for row in wb[Lang(lang).t(key)].iter_rows() for c in row
                    if c.value is not None)


def test_english_survey_sheets_have_no_vietnamese_and_vietnamese_no_english(
        books: dict[str, Any]) -> None:
    text = unicodedata.normalize("NFC", survey_text(books["en"], "en"))
    for name in sorted((u.name for u in RUBRIC.provinces), key=len, reverse=True):
        text = text.replace(name, " ")  # proper names are data
    left = vietnamese_words(DOC_NUMBER.sub(" ", text))
    assert not left, f"Vietnamese in the English workbook: {left[:12]}"
    vi = re.sub(r"https?://\S+|javascript:\S+", " ", survey_text(books["vi"], "vi"))
    found = ENGLISH.findall(vi)
    assert not found, f"English in the Vietnamese workbook: {found[:12]}"


def test_english_fix_column_is_empty_without_an_english_fix(tmp_path: Path) -> None:
    """A fix written only in Vietnamese is not shown in the English workbook (no fallback)."""
    only_vi = dataclasses.replace(INDICATORS, sets={
        sid: dataclasses.replace(s, indicators=tuple(dataclasses.replace(i, fix_en="")
                                                     for i in s.indicators))
        for sid, s in INDICATORS.sets.items()})
    db, run_id = make_run(tmp_path / "audit.db")
    store.save_indicator_answers(db, run_id, answer_rows(["01"]))
    for lang in XLSX:
        write_reports(db, RUBRIC, tmp_path, run_id, lang=lang, indicators=only_vi)
    fix = exports.ANSWER_SHEET.index("survey_fix")
    en = values(sheet(tmp_path / XLSX["en"], "en", "xlsx.survey_answers"))[1:]
    vi = values(sheet(tmp_path / XLSX["vi"], "vi", "xlsx.survey_answers"))[1:]
    assert en and all(r[fix] is None for r in en)
    fixes_vi = {i.fix_vi for s in only_vi.sets.values() for i in s.indicators if i.fix_vi}
    assert vi and all(r[fix] in fixes_vi for r in vi)


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_a_run_without_answers_keeps_the_sheets_with_one_row_saying_so(
        tmp_path: Path, lang: str) -> None:
    t = Lang(lang).t
    db, run_id = make_run(tmp_path / "audit.db")
    paths = write_reports(db, RUBRIC, tmp_path, run_id, lang=lang, indicators=INDICATORS)
    wb = openpyxl.load_workbook(paths["xlsx"])
    names = wb.sheetnames
    assert names.index(t("xlsx.losi")) > names.index(t("xlsx.verdicts"))
    for key, note, columns in (("xlsx.losi", "losi.not_gathered",
                                (*exports.LOSI_HEAD, *exports.LOSI_TAIL)),
                               ("xlsx.osq", "osq.not_gathered", exports.OSQ_SHEET),
                               ("xlsx.survey_answers", "survey.not_gathered",
                                exports.ANSWER_SHEET)):
        got = [[c.value for c in r] for r in wb[t(key)].iter_rows()]
        assert got[0] == [t(f"xcol.{c}") for c in columns], key
        assert got[1:] == [[t(note), *[None] * (len(columns) - 1)]], key
