"""`dvc-audit review export|import`: the UN survey's review indicators, answered by people.

export writes one worksheet per unit (reports/worksheet.py) with the review indicators whose
answer does not hold (never answered, disputed, or the cited page changed); import reads
filled worksheets back, stores each assessor's answers (core/reviews.py) and names the units
whose assessors disagree on more than 5 % (audits/review.py).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click
from openpyxl import load_workbook
from openpyxl.worksheet.worksheet import Worksheet

from app.jobs import DB_NAME, DEFAULT_OUT
from app.options import rubric_option
from app.survey import cited_pages, refresh_reviews, unit_reviews
from audits.review import RECONCILED, UnitReview
from core import reviews, store
from core.indicators import NATIONAL_UNIT, Indicators, IndicatorSet, load_indicators
from core.rubric import Rubric, load_rubric
from core.sqlite import sqlite_utils
from reports.worksheet import (
    ASSESSOR_CELLS,
    CHOICES,
    FIRST_ROW,
    KEY_ROW,
    KEYS,
    Cited,
    write_worksheet,
)

NATIONAL = NATIONAL_UNIT


class WorksheetError(click.ClickException):
    """A worksheet that cannot be read back: one line naming the file, cell and problem."""


def units_of(iset: IndicatorSet, rubric: Rubric) -> list[tuple[str, str]]:
    if iset.unit == "national":
        return [(NATIONAL, "Việt Nam")]
    return [(u.code, u.name) for u in rubric.units if u.kind == "province"]


def _indicator_sets(rubric_dir: Path) -> Indicators:
    sets = load_indicators(rubric_dir)
    if sets is None:
        raise click.ClickException(f"{rubric_dir}: the rubric has no UN indicators (indicators/)")
    return sets


def export_worksheets(db: sqlite_utils.Database, rubric_dir: Path, out: Path, set_ids: list[str],
                      units: list[str], lang: str) -> list[Path]:
    sets = _indicator_sets(rubric_dir)
    rubric = load_rubric(rubric_dir)
    cited = cited_pages(db, None)
    written = []
    for set_id in set_ids:
        iset = sets.sets[set_id]
        for code, name in units_of(iset, rubric):
            if units and code not in units:
                continue
            held = unit_reviews(db, iset, code, cited)
            todo = [i for i in iset.indicators if i.judged == "review" and i.id not in held.answers]
            if todo:
                path = out / f"review-{set_id}-{code}.xlsx"
                written.append(write_worksheet(path, iset, code, name, todo,
                                               cited.get(code, Cited()), lang))
    return written


def _answer(value: Any, where: str) -> str:
    text = unicodedata.normalize("NFC", str(value)).strip().casefold()
    for choices in CHOICES.values():
        if text in choices:
            return choices[text]
    allowed = ", ".join(k for c in CHOICES.values() for k in c)
    raise WorksheetError(f"{where}: answer {value!r} is not one of: {allowed}")


def read_worksheet(path: Path) -> Iterator[dict[str, str]]:
    """Every answer in a filled worksheet, one per assessor (and reconciler) per indicator."""
    try:
        ws = load_workbook(path, read_only=False).active
    except Exception as exc:  # openpyxl raises many kinds for a file that is not a workbook
        raise WorksheetError(f"{path}: not a review worksheet ({exc})") from None
    if not isinstance(ws, Worksheet):  # its active sheet is a chart
        raise WorksheetError(f"{path}: not a review worksheet (no worksheet active)")
    keys = [ws.cell(row=KEY_ROW, column=c).value for c in range(1, len(KEYS) + 1)]
    if tuple(keys) != KEYS:
        raise WorksheetError(f"{path}: not a review worksheet (row {KEY_ROW} changed)")
    assessors = {}
    for key, cell in zip(("assessor_1", "assessor_2"), ASSESSOR_CELLS, strict=True):
        value = str(ws[cell].value or "").strip()
        assessors[key] = value
    for row in ws.iter_rows(min_row=FIRST_ROW, values_only=True):
        fields = dict(zip(KEYS, row, strict=False))
        if not fields.get("indicator_id"):
            continue
        yield from _row_answers(path, fields, assessors)


def _row_answers(path: Path, fields: dict[str, Any],
                 assessors: dict[str, str]) -> Iterator[dict[str, str]]:
    base = {k: str(fields.get(k) or "") for k in ("indicator_set", "unit_code", "indicator_id",
                                                   "cited_url", "cited_sha256", "comment")}
    for column, assessor in (*assessors.items(), ("reconciled", RECONCILED)):
        value = fields.get(column)
        if value is None or not str(value).strip():
            continue
        if not assessor:
            cell = ASSESSOR_CELLS[0 if column == "assessor_1" else 1]
            raise WorksheetError(f"{path}: answers in '{column}' but no assessor id in {cell}")
        where = f"{path}: {base['indicator_id']} ({column})"
        yield {**base, "assessor": assessor, "answer": _answer(value, where)}


def import_worksheets(db: sqlite_utils.Database, rubric_dir: Path,
                      files: list[Path]) -> list[UnitReview]:
    sets = _indicator_sets(rubric_dir)
    answers = [a for f in files for a in read_worksheet(f)]
    for a in answers:  # refuse the whole import on one unknown indicator: nothing half-stored
        iset = sets.sets.get(a["indicator_set"])
        if iset is None or a["indicator_id"] not in {i.id for i in iset.indicators}:
            raise WorksheetError(f"unknown indicator {a['indicator_set']}/{a['indicator_id']}")
    reviews.save_answers(db, answers, source=", ".join(f.name for f in files))
    refresh_reviews(db, load_rubric(rubric_dir), sets)  # the latest run's answers show them
    cited = cited_pages(db, None)
    touched = sorted({(a["indicator_set"], a["unit_code"]) for a in answers})
    return [unit_reviews(db, sets.sets[s], u, cited) for s, u in touched]


@click.group()
def review() -> None:
    """The UN survey's review indicators: worksheets for two assessors (export, import)."""


db_option = click.option("--db", type=click.Path(dir_okay=False, path_type=Path),
                         default=DEFAULT_OUT / DB_NAME, show_default=True,
                         help="Results database.")


@review.command("export")
@db_option
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Directory for the worksheets (review-<set>-<unit>.xlsx).")
@click.option("--set", "set_ids", type=click.Choice(["osq", "losi"]), multiple=True,
              help="Indicator set(s) (default: both).")
@click.option("--unit", "units", multiple=True, help="Only these unit codes (repeatable).")
@click.option("--lang", type=click.Choice(["vi", "en"]), default="vi", show_default=True,
              help="Worksheet language.")
@rubric_option
def review_export(db: Path, out: Path, set_ids: tuple[str, ...],
                  units: tuple[str, ...], lang: str, rubric_dir: Path) -> None:
    """Write a worksheet per unit with the review indicators still to answer."""
    database = store.open_db(db)
    written = export_worksheets(database, rubric_dir, out, list(set_ids or ("osq", "losi")),
                                list(units), lang)
    for path in written:
        click.echo(str(path))
    click.echo(f"{len(written)} worksheet(s) written" if written
               else "every review indicator has an answer that holds: nothing to ask")


@review.command("import")
@click.argument("files", nargs=-1, required=True,
                type=click.Path(exists=True, dir_okay=False, path_type=Path))
@db_option
@rubric_option
def review_import(files: tuple[Path, ...], db: Path, rubric_dir: Path) -> None:
    """Store the answers of filled worksheets; name units to reconcile (over 5 % disagree)."""
    database = store.open_db(db)
    for r in import_worksheets(database, rubric_dir, list(files)):
        state = (f"to reconcile: {len(r.disagreements)} of {r.compared} answers disagree "
                 f"({r.disagreement_share:.0%})" if r.needs_reconciliation else "agreed")
        click.echo(f"{r.unit_code}: {len(r.answers)} answers hold; {state}")
