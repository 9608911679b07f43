"""The review worksheet round trip (issue 18): export, fill by two assessors, import, rescore;
the UN's 5 % disagreement rule; an answer holds until the page it cites changes."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from openpyxl import load_workbook

from app.cli import main
from app.review import cited_pages, unit_reviews
from audits.survey import score_unit
from core import reviews, store
from core.indicators import load_indicators
from core.rubric import RUBRIC_DIR
from reports.worksheet import ASSESSOR_CELLS, FIRST_ROW

HANOI, HCMC = "01", "79"


@pytest.fixture(scope="module")
def losi():
    sets = load_indicators(RUBRIC_DIR)
    assert sets is not None
    return sets.sets["losi"]


def _run(db, pages: dict[str, str]) -> int:
    """A run whose crawl read each unit's portal home page, with the given hash."""
    run = store.start_run(db, target="t", rubric_version="v", engine_version="e")
    for unit, digest in pages.items():
        store.add_evidence(db, run, {
            "kind": "portal", "url": f"https://portal-{unit}.gov.vn/", "method": "GET",
            "observed_at": store.utcnow(), "status": 200, "sha256": digest * 64,
            "outcome": "ok", "reason": "", "procedure_code": "", "office_code": "",
            "data": {"units": [unit]}})
    store.finish_run(db, run, "complete")
    return run


def _cli(*args: str) -> str:
    result = CliRunner().invoke(main, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def _fill(path: Path, assessors: tuple[str, str], answer, reconcile=None) -> None:
    """Fill a worksheet as two assessors would: `answer(row_index, column)` per cell."""
    wb = load_workbook(path)
    ws = wb.active
    for cell, who in zip(ASSESSOR_CELLS, assessors, strict=True):
        ws[cell] = who
    row = FIRST_ROW
    while ws.cell(row=row, column=3).value:
        i = row - FIRST_ROW
        ws.cell(row=row, column=9, value=answer(i, 1))
        ws.cell(row=row, column=10, value=answer(i, 2))
        if reconcile:
            ws.cell(row=row, column=11, value=reconcile(i))
        row += 1
    wb.save(path)


def _rows(path: Path) -> int:
    ws = load_workbook(path).active
    return sum(1 for r in range(FIRST_ROW, ws.max_row + 1) if ws.cell(row=r, column=3).value)


def test_worksheets_round_trip_and_rescore(tmp_path, losi):
    db_path = tmp_path / "audit.db"
    db = store.open_db(db_path)
    _run(db, {HANOI: "a", HCMC: "b"})
    out = tmp_path / "ws"
    _cli("review", "export", "--db", str(db_path), "--out", str(out), "--set", "losi",
         "--unit", HANOI, "--unit", HCMC)
    asked = [i for i in losi.indicators if i.judged == "review"]
    hanoi, hcmc = out / f"review-losi-{HANOI}.xlsx", out / f"review-losi-{HCMC}.xlsx"
    assert _rows(hanoi) == _rows(hcmc) == len(asked)
    assert load_workbook(hanoi).active.cell(row=FIRST_ROW, column=7).value == \
        f"https://portal-{HANOI}.gov.vn/"

    # Hà Nội's assessors disagree on 3 answers (over 5 %); HCMC's agree (two "không")
    _fill(hanoi, ("nv.an", "nv.binh"), lambda i, who: "có" if i >= 3 or who == 1 else "không")
    _fill(hcmc, ("nv.an", "nv.chi"), lambda i, who: "không" if i < 2 else "có")
    output = _cli("review", "import", "--db", str(db_path), str(hanoi), str(hcmc))
    assert f"{HANOI}: {len(asked) - 3} answers hold; to reconcile: 3 of {len(asked)}" in output
    assert f"{HCMC}: {len(asked)} answers hold; agreed" in output

    # rescore: the held answers are scored, the disputed ones are coverage, not zeros
    cited = cited_pages(db, None)
    held = unit_reviews(db, losi, HCMC, cited).answers
    scored = score_unit(losi, HCMC, held)
    assert scored.coverage.scored("review") == len(asked)
    assert scored.points == len(asked) - 2
    assert score_unit(losi, HANOI, unit_reviews(db, losi, HANOI, cited).answers
                      ).coverage.scored("review") == len(asked) - 3

    # only what does not hold is asked again: Hà Nội's three disputed answers
    again = tmp_path / "again"
    _cli("review", "export", "--db", str(db_path), "--out", str(again), "--set", "losi",
         "--unit", HANOI, "--unit", HCMC)
    assert sorted(p.name for p in again.iterdir()) == [hanoi.name]
    assert _rows(again / hanoi.name) == 3
    _fill(again / hanoi.name, ("nv.an", "nv.binh"), lambda i, who: "có" if who == 1 else "không",
          reconcile=lambda i: "có")
    assert "agreed" in _cli("review", "import", "--db", str(db_path), str(again / hanoi.name))
    assert len(unit_reviews(db, losi, HANOI, cited_pages(db, None)).answers) == len(asked)

    # HCMC's portal changed: every answer citing it is asked again; Hà Nội's still hold
    _run(db, {HANOI: "a", HCMC: "c"})
    third = tmp_path / "third"
    output = _cli("review", "export", "--db", str(db_path), "--out", str(third), "--set", "losi",
                  "--unit", HANOI, "--unit", HCMC)
    assert sorted(p.name for p in third.iterdir()) == [hcmc.name]
    assert _rows(third / hcmc.name) == len(asked)


@pytest.mark.parametrize("fill,expected", [
    (lambda ws: ws.cell(row=FIRST_ROW, column=9, value="có lẽ"), "answer 'có lẽ' is not one of"),
    (lambda ws: (ws.cell(row=FIRST_ROW, column=9, value="có"), ws.__setitem__("C2", None)),
     "answers in 'assessor_1' but no assessor id in C2"),
    (lambda ws: ws.cell(row=4, column=3, value="renamed"), "not a review worksheet"),
])
def test_a_bad_worksheet_is_refused_whole_with_one_line(tmp_path, fill, expected):
    db_path = tmp_path / "audit.db"
    db = store.open_db(db_path)
    _run(db, {HANOI: "a"})
    _cli("review", "export", "--db", str(db_path), "--out", str(tmp_path), "--set", "losi",
         "--unit", HANOI)
    path = tmp_path / f"review-losi-{HANOI}.xlsx"
    _fill(path, ("nv.an", "nv.binh"), lambda i, who: "có")
    wb = load_workbook(path)
    fill(wb.active)
    wb.save(path)
    result = CliRunner().invoke(main, ["review", "import", "--db", str(db_path), str(path)])
    assert result.exit_code == 1
    assert expected in result.output and "Traceback" not in result.output
    assert reviews.load_answers(db, "losi") == []  # nothing half-stored


def test_a_file_that_is_not_a_workbook_is_one_line(tmp_path):
    bad = tmp_path / "notes.xlsx"
    bad.write_text("không phải bảng tính", encoding="utf-8")
    result = CliRunner().invoke(main, ["review", "import", "--db", str(tmp_path / "a.db"),
                                       str(bad)])
    assert result.exit_code == 1 and "not a review worksheet" in result.output
