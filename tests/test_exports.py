"""Exports of the gap report: CSV, XLSX (read back with pandas), JSON, Markdown."""

from __future__ import annotations

import csv
import json
import unicodedata
from collections import Counter
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from core.rubric import load_rubric
from reports import exports
from reports.i18n import Lang
from reports.report import write_reports
from tests.test_report import make_run

SUMMARY_SHEETS = {
    "vi": ["Tổng hợp", "Tổng số", "Điểm", "Dịch vụ", "Khoảng cách", "Kết quả"],
    "en": ["Summary", "Totals", "Scores", "Services", "Gaps", "Verdicts"],
}


@pytest.fixture()
def written(tmp_path: Path) -> dict[str, Path]:
    db, run_id = make_run(tmp_path / "audit.db")
    return write_reports(db, load_rubric(), tmp_path, run_id)


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as fh:
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
    totals = sheets[t("xlsx.totals")].set_index("verdict")
    csv_counts = Counter(r["verdict"] for r in rows)
    for verdict in ("met", "not_met", "not_applicable", "cannot_test"):
        assert totals.loc[verdict, t("xlsx.all")] == csv_counts[verdict], verdict
    assert totals.loc["total", t("xlsx.all")] == len(rows)
    kind_counts = Counter(r["unit_kind"] for r in rows)
    assert totals.loc["total", Lang(lang).kind("province")] == kind_counts["province"]
    # every verdict appears once in the Verdicts sheet and once in its unit's sheet
    assert len(sheets[t("xlsx.verdicts")]) == len(rows)
    assert sum(len(sheets[n]) for n in province_sheets) == kind_counts["province"]
    if kind_counts["agency"]:
        assert len(sheets[t("xlsx.agencies")]) == kind_counts["agency"]
    for n in province_sheets:
        codes = set(sheets[n][t("xcol.unit_code")].astype(str).str.zfill(2))
        assert codes == {n.split()[0]}
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
