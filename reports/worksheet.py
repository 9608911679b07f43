"""The review worksheet (issue 18): one XLSX per unit with the UN survey's review indicators
still to answer, two answer columns for two assessors, a reconciliation column and a comment.

Row 4 (hidden) holds machine keys the importer reads (app/review.py), so readers may reorder
nothing but fill anything; the assessor ids go in the two cells named by ASSESSOR_CELLS.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypedDict

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.worksheet import Worksheet

from core.indicators import Indicator, IndicatorSet

KEYS = ("indicator_set", "unit_code", "indicator_id", "un_codes", "group", "question",
        "cited_url", "cited_sha256", "assessor_1", "assessor_2", "reconciled", "comment")
KEY_ROW, HEADER_ROW, FIRST_ROW = 4, 5, 6
ASSESSOR_CELLS = ("C2", "F2")  # assessor 1's id, assessor 2's id
# what an assessor may write, per language, and the verdict it stands for
CHOICES = {"vi": {"có": "met", "không": "not_met", "không áp dụng": "not_applicable"},
           "en": {"yes": "met", "no": "not_met", "n/a": "not_applicable"}}


class Labels(TypedDict):
    """A worksheet's texts in one language."""

    title: str
    assessor: str
    help: str
    headers: tuple[str, ...]
    sheet: str


LABELS: dict[str, Labels] = {
    "vi": {"title": "Phiếu đánh giá chỉ số {set} — {unit}", "assessor": "Mã đánh giá viên {n}:",
           "help": "Mỗi đánh giá viên điền một cột (có / không / không áp dụng), không xem cột "
                   "của người kia. Cột “Thống nhất” chỉ điền khi hai người khác nhau.",
           "headers": ("Bộ chỉ số", "Mã đơn vị", "Mã chỉ số", "Mã UN", "Nhóm", "Câu hỏi",
                       "Nơi đã tìm", "Mã băm trang", "Đánh giá viên 1", "Đánh giá viên 2",
                       "Thống nhất", "Ghi chú"), "sheet": "Đánh giá"},
    "en": {"title": "{set} review worksheet — {unit}", "assessor": "Assessor {n} id:",
           "help": "Each assessor fills one column (yes / no / n/a) without looking at the "
                   "other's. Fill “Reconciled” only where the two differ.",
           "headers": ("Set", "Unit", "Indicator", "UN codes", "Group", "Question",
                       "Where the audit looked", "Page hash", "Assessor 1", "Assessor 2",
                       "Reconciled", "Comment"), "sheet": "Review"},
}
WIDTHS = (8, 8, 22, 12, 7, 60, 40, 10, 14, 14, 14, 30)


@dataclass(frozen=True)
class Cited:
    """The page an answer will cite: where the audit looked for the unit, and its hash."""

    url: str = ""
    sha256: str = ""


def write_worksheet(path: Path, iset: IndicatorSet, unit_code: str, unit_name: str,
                    indicators: Sequence[Indicator], cited: Cited, lang: str = "vi") -> Path:
    labels = LABELS[lang]
    wb = Workbook()
    ws = wb.active
    assert isinstance(ws, Worksheet)  # a new workbook's one sheet (for the type checker)
    ws.title = labels["sheet"]
    ws["A1"] = labels["title"].format(set=iset.id.upper(), unit=f"{unit_name} ({unit_code})")
    ws["A1"].font = Font(bold=True, size=13)
    for n, cell in enumerate(ASSESSOR_CELLS, start=1):
        label = ws.cell(row=2, column=ws[cell].column - 1, value=labels["assessor"].format(n=n))
        label.font = Font(bold=True)
    ws["A3"] = labels["help"]
    columns = zip(KEYS, labels["headers"], WIDTHS, strict=True)
    for col, (key, header, width) in enumerate(columns, start=1):
        ws.cell(row=KEY_ROW, column=col, value=key)
        ws.cell(row=HEADER_ROW, column=col, value=header).font = Font(bold=True)
        ws.column_dimensions[get_column_letter(col)].width = width
    ws.row_dimensions[KEY_ROW].hidden = True
    ws.column_dimensions["H"].hidden = True  # the hash: for the importer, not the reader
    _rows(ws, iset, unit_code, indicators, cited, lang)
    ws.freeze_panes = f"{get_column_letter(4)}{FIRST_ROW}"  # the first answer row, column D
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)
    return path


def _rows(ws, iset: IndicatorSet, unit_code: str, indicators: Sequence[Indicator],
          cited: Cited, lang: str) -> None:
    choices = DataValidation(type="list", formula1='"' + ",".join(CHOICES[lang]) + '"',
                             allow_blank=True)
    ws.add_data_validation(choices)
    wrap = Alignment(wrap_text=True, vertical="top")
    for row, ind in enumerate(indicators, start=FIRST_ROW):
        question = ind.question_vi if lang == "vi" else ind.question_en
        values = (iset.id, unit_code, ind.id, " ".join(ind.un_codes), ind.group, question,
                  cited.url, cited.sha256)
        for col, value in enumerate(values, start=1):
            ws.cell(row=row, column=col, value=value).alignment = wrap
        if cited.url:
            ws.cell(row=row, column=7).hyperlink = cited.url
        choices.add(f"I{row}:K{row}")
