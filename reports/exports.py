"""Exports of a report model: CSV (verdicts, scores), XLSX, JSON for machines, Markdown for e-mail.

CSV and JSON are language-neutral (codes, plus the rubric's names in both languages where a
name is useful); XLSX and Markdown are for people and follow the report language. Every string
is written in Unicode NFC so Vietnamese diacritics compare and search the same everywhere.
"""

from __future__ import annotations

import csv
import json
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jinja2
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter

from audits.survey import NOT_REVIEWED
from core.indicators import NATIONAL_UNIT, Indicator, IndicatorGroup
from core.rows import StoredVerdict
from core.vocab import VERDICTS, Verdict
from reports.evidence_pages import page_name, shown_ids
from reports.i18n import Lang
from reports.report_model import EVIDENCE_SHOWN
from reports.survey_model import GroupView, SurveyUnit

if TYPE_CHECKING:
    from reports.report import ReportModel

JSON_SCHEMA = "dvc-audit.report/1"
VERDICT_COLUMNS = ("unit_code", "unit_name", "unit_kind", "service_id", "service_annex_no",
                   "criterion_id", "verdict", "reason", "run_id", "rubric_version",
                   "evidence_ids", "detail", "evidence_pages")
SCORE_COLUMNS = ("unit_code", "unit_name", "unit_kind", "rank", "raw", "max_possible", "share",
                 "normalised", "group", "rating_class", "share_group", "met", "not_met",
                 "not_applicable", "cannot_test", "gaps", "run_id", "rubric_version",
                 "tested_cells", "testable_cells")
KINDS = ("province", "agency")
# losi.csv / osq.csv (issue 18): one row per unit x indicator of the set
SURVEY_COLUMNS = ("indicator_set", "unit_code", "unit_name", "indicator_id", "un_codes",
                  "group", "judged", "detector", "verdict", "reason", "detail", "urls",
                  "run_id", "rubric_version")
SHEET_FORBIDDEN = re.compile(r"[\[\]:*?/\\]")
# Excel formats: shares as percentages, scores with 3 decimals, times as dates (UTC)
PCT, DECIMAL, DATE = "0.0%", "0.000", "yyyy-mm-dd hh:mm:ss"
MAX_WIDTH = 60  # characters; longer text wraps in its cell
QUARTER = re.compile(r"Quý\s+(IV|III|II|I)\s*/\s*(\d{4})")
ROMAN = {"I": 1, "II": 2, "III": 3, "IV": 4}


def nfc(value: Any) -> Any:
    """NFC for strings (recursively in lists and dicts); anything else unchanged."""
    if isinstance(value, str):
        return unicodedata.normalize("NFC", value)
    if isinstance(value, list | tuple):
        return [nfc(v) for v in value]
    if isinstance(value, dict):
        return {nfc(k): nfc(v) for k, v in value.items()}
    return value


# --------------------------------------------------------------------------- rows


def sorted_verdicts(model: ReportModel) -> list[StoredVerdict]:
    order = {s.id: s.annex_no for s in model.rubric.services}
    return sorted(model.verdicts, key=lambda v: (v["unit_kind"], v["unit_code"],
                                                 order[v["service_id"]], v["criterion_id"]))


def verdict_records(model: ReportModel) -> list[dict[str, Any]]:
    """One dict per verdict, in the CSV's order and columns."""
    order = {s.id: s.annex_no for s in model.rubric.services}
    pages = shown_ids(model)  # observations with a page (reports/evidence_pages.py)
    return [{
        **{k: v[k] for k in ("unit_code", "unit_name", "unit_kind", "service_id",
                             "criterion_id", "verdict", "reason")},
        "service_annex_no": order[v["service_id"]], "run_id": model.run["id"],
        "rubric_version": model.run["rubric_version"],
        "evidence_ids": " ".join(str(i) for i in v.get("evidence_ids") or []),
        "detail": v.get("detail") or "",  # level criteria: the share of offices ("97/126")
        "evidence_pages": " ".join(page_name(i, Lang()) for i in
                                   (v.get("evidence_ids") or [])[:EVIDENCE_SHOWN] if i in pages),
    } for v in sorted_verdicts(model)]


def score_records(model: ReportModel) -> list[dict[str, Any]]:
    out = []
    for kind in model.kinds():
        ks = model.board.kinds[kind]
        for s in (*ks.ranked, *ks.excluded):
            page = model.pages.get(s.unit_code)
            share = model.coverage(s.unit_code)
            row = {**{k: getattr(s, k) for k in SCORE_COLUMNS[:15]},
                   "gaps": len(page.gaps) if page else s.not_met,
                   "run_id": model.run["id"], "rubric_version": model.run["rubric_version"],
                   "tested_cells": share.tested, "testable_cells": share.cells}
            if model.unranked(s.unit_code):  # too little tested to rank (audits/coverage.py)
                row["rank"] = ""
            out.append(row)
    return out


def gap_records(model: ReportModel, lang: Lang,
                unit_code: str | None = None) -> list[dict[str, Any]]:
    """Every unit's gaps (or `unit_code`'s), ordered by score gained (scoring.gaps_by_gain),
    with who and when."""
    out = []
    for code, page in model.pages.items():
        if unit_code is not None and code != unit_code:
            continue
        for i, g in enumerate(page.gaps, start=1):
            out.append({
                "unit_code": code, "unit_name": page.unit.name, "unit_kind": page.unit.kind,
                "order": i, "service_annex_no": g.service.annex_no, "service_id": g.service.id,
                "service_name": lang.service_name(g.service), "criterion_id": g.criterion.id,
                "criterion_title": lang.criterion_title(g.criterion), "reason": g.reason,
                "points": g.gain.points, "share_before": g.gain.share_before,
                "share_after": g.gain.share_after,
                "normalised_before": g.gain.normalised_before,
                "normalised_after": g.gain.normalised_after,
                "rank_before": g.gain.rank_before, "rank_after": g.gain.rank_after,
                "responsible": lang.responsible(g.service, page.unit),
                "legal_basis": lang.legal_basis(g.criterion),
                "remediation": lang.remediation(g.criterion),
                "deadline": lang.annex_deadline(g.service),
                **_body_and_deadline(model, page, g, lang),
            })
    return out


def survey_records(model: ReportModel, set_id: str) -> list[dict[str, Any]]:
    """Every unit x indicator of one UN survey set (losi, osq), in unit then rubric order; none
    when the run has no answers for the set."""
    survey = model.survey
    ss = survey.sets.get(set_id) if survey is not None else None
    if ss is None:
        return []
    return [{"indicator_set": set_id, "unit_code": code, "unit_name": su.unit.name if su.unit
             else "", "indicator_id": a.indicator.id, "un_codes": " ".join(a.indicator.un_codes),
             "group": a.indicator.group, "judged": a.indicator.judged, "detector": a.detector,
             "verdict": a.verdict, "reason": a.reason, "detail": a.detail,
             "urls": " ".join(a.url_list), "run_id": model.run["id"],
             "rubric_version": model.run["rubric_version"]}
            for code, su in sorted(ss.units.items()) for a in su.answers]


def survey_json(model: ReportModel) -> dict[str, Any]:
    """Each set's scores per unit (report.json `survey`): share, normalised, group, rank,
    points per group, coverage. Answers are in losi.csv / osq.csv."""
    out: dict[str, Any] = {}
    for set_id, ss in model.survey.sets.items():
        out[set_id] = {
            "edition": ss.iset.edition, "weights_are_estimates": ss.iset.weights_are_estimates,
            "units": [{"unit_code": su.code, "share": su.score.share,
                       "normalised": su.ranked.normalised, "group": su.ranked.group,
                       "rank": su.ranked.rank,
                       "groups": {g.group.id: {"earned": g.score.earned,
                                               "possible": g.score.possible,
                                               "share": g.score.share} for g in su.groups},
                       "scored": su.score.coverage.scored(),
                       "features": su.score.coverage.total()} for su in ss.ranked()]}
    return out


def _body_and_deadline(model: ReportModel, page: Any, g: Any, lang: Lang) -> dict[str, Any]:
    """Issue 16: the body that must act (reports/actions.py) and the deadlines on the run's
    date: the current target (rubrics/targets.yaml, "" = none known), the annex's overdue."""
    body = page.body_of(g)
    d = model.deadline(g.service, g.criterion)
    return {"body_level": body.level if body else "",
            "body": lang.t(f"actions.level.{body.level}", name=body.name or page.unit.name)
            if body else "",
            "annex_overdue": d.annex_overdue, "current_deadline": lang.deadline(d.current),
            "current_deadline_source": d.source, "current_overdue": d.current_overdue}


def totals(model: ReportModel) -> dict[str, dict[str, int]]:
    """verdict -> {province, agency, all}: counts of answers (unit x service x criterion)."""
    counts = Counter((v["verdict"], v["unit_kind"]) for v in model.verdicts)
    return {verdict: {**{k: counts[(verdict, k)] for k in KINDS},
                      "all": sum(counts[(verdict, k)] for k in {k for _, k in counts})}
            for verdict in VERDICTS}


# --------------------------------------------------------------------------- CSV


FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")


def defuse(value: Any) -> Any:
    """Text a spreadsheet would run as a formula (=, +, -, @, tab, CR first; OWASP "CSV
    injection") gets a leading apostrophe, so a hostile portal or rubric name stays data."""
    if isinstance(value, str) and value.startswith(FORMULA_START) and not NUMBER.match(value):
        return "'" + value
    return value


def write_csv(path: Path, columns: Sequence[str], records: Iterable[dict[str, Any]]) -> None:
    """UTF-8 with a byte-order mark: without it, Excel on Windows reads the file in the
    machine's code page and garbles Vietnamese. Readers use encoding "utf-8-sig"."""
    with path.open("w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(columns), extrasaction="ignore")
        writer.writeheader()
        for r in records:
            writer.writerow({k: defuse(nfc("" if v is None else v)) for k, v in r.items()})


# --------------------------------------------------------------------------- JSON


def _tally(t: Any) -> dict[str, Any]:
    return asdict(t)


def json_document(model: ReportModel) -> dict[str, Any]:
    """The whole report as data. Gap texts are given in both languages."""
    vi, en = Lang("vi"), Lang("en")
    nat = model.national
    doc: dict[str, Any] = {
        "schema": JSON_SCHEMA,
        "run": {k: model.run.get(k) for k in ("id", "target", "status", "started_at",
                                               "finished_at", "rubric_version",
                                               "engine_version", "note")},
        "rubric_version_rendered": model.rubric.version,
        "weights": model.weights,
        "totals": totals(model),
        "national": {"overall": _tally(nat.overall),
                     "by_kind": {k: _tally(v) for k, v in nat.by_kind.items()},
                     "by_service": {k: _tally(v) for k, v in nat.by_service.items()}},
        "scores": score_records(model),
        "cells": [{"unit_code": u, "service_id": s, "state": st}
                  for (u, s), st in sorted(model.cells.items())],
        "top_gaps": [{"service_id": g.service.id, "criterion_id": g.criterion.id,
                      "points": g.points, "units": [u.code for u in g.units],
                      "national_share_after": g.national_after} for g in model.top_gaps],
        "gaps": [{**r, "criterion_title_en": en.criterion_title(model.rubric.criterion(
                     r["criterion_id"])), "remediation_en": en.remediation(
                     model.rubric.criterion(r["criterion_id"]))}
                 for r in gap_records(model, vi)],
        "verdicts": [{**r, "evidence_ids": [int(i) for i in r["evidence_ids"].split()]}
                     for r in verdict_records(model)],
        "findings": [{"unit_code": code, "service_id": f.service.id, "kind": f.kind,
                      "national": f.national, "portal": f.portal, "detail": f.detail}
                     for code, page in model.pages.items() for f in page.findings],
    }
    if model.standing is not None:
        doc["standing"] = standing_json(model)
    if model.comparison is not None:
        doc["index766"] = comparison_json(model)
    if model.survey is not None and model.survey.gathered:
        doc["survey"] = survey_json(model)
    return doc


def standing_json(model: ReportModel) -> dict[str, Any]:
    st = model.standing
    return {
        "estimate": True, "file": st.file, "year": st.year, "country": st.country,
        "countries": st.countries, "now": asdict(st.now), "asean_size": st.asean_size,
        "sp_weight": st.config.sp_weight, "weights_status": st.config.weights_status,
        "factor": st.config.factor,
        "top_n": [{"n": r.n, "services": [s.id for s in r.services], "gaps": r.gaps,
                   "share_before": r.estimate.share_before,
                   "share_after": r.estimate.share_after, "d_osi": r.estimate.d_osi,
                   "after": asdict(r.what_if.after), "capped": r.what_if.capped,
                   "egdi_places_gained": r.places} for r in st.rows],
    }


def comparison_json(model: ReportModel) -> dict[str, Any]:
    cmp = model.comparison
    return {
        "period": cmp.period, "url": cmp.url, "observed_at": cmp.observed_at,
        "threshold": cmp.threshold, "unmatched": list(cmp.unmatched),
        "failures": [list(f) for f in cmp.failures],
        "rows": [{"unit_code": r.unit.code, "department_name": r.department_name,
                  "total": r.total, "disagree": r.disagree,
                  **{f"{k}_{f}": getattr(p, f) for k, p in r.pairs.items()
                     for f in ("theirs", "ours", "ours_tested", "disagree")}}
                 for r in cmp.rows],
    }


# --------------------------------------------------------------------------- XLSX


def sheet_name(text: str, taken: set[str]) -> str:
    """Excel sheet names: at most 31 characters, none of []:*?/\\, unique."""
    base = SHEET_FORBIDDEN.sub(" ", text).strip()[:31]
    name, i = base, 2
    while name.casefold() in taken:
        name = f"{base[:28]} {i}"
        i += 1
    taken.add(name.casefold())
    return name


@dataclass(frozen=True)
class Styled:
    """A value with its own Excel number format (a summary sheet mixes shares, ids, dates)."""
    value: Any
    number_format: str


def excel_time(text: str | None) -> datetime | None:
    """A stored ISO time ("2026-11-01T01:02:03Z") as a naive UTC datetime: Excel has no time
    zones, so the sheets say "(UTC)"."""
    if not text:
        return None
    try:
        return datetime.fromisoformat(text).replace(tzinfo=None)
    except ValueError:
        return None


def _shown(value: Any) -> str:
    if isinstance(value, Styled):
        value = value.value
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    return str("" if value is None else value)


def _length(value: Any) -> int:
    """The shown text's length (column widths); text, the common case, without a call."""
    return len(value) if type(value) is str else len(_shown(value))


WRAP = Alignment(wrap_text=True, vertical="top")
TOP = Alignment(vertical="top")
StyleKey = tuple[str, bool]  # (number format, wrap)


def _clean(value: Any) -> Any:
    """A value as written: NFC, and text a spreadsheet would run ("=...") defused; a Styled
    value is kept for its format."""
    if type(value) is str:
        return defuse(unicodedata.normalize("NFC", value))
    return value if isinstance(value, Styled) else defuse(nfc(value))


def _style_key(value: Any, number_format: str, wrap: bool) -> StyleKey | None:
    """The style a value is written with, or None: plain when no style applies (write-only
    mode stays fast). Numbers and dates take the column's (or their own) number format."""
    if isinstance(value, Styled):
        value, number_format = value.value, value.number_format
    if isinstance(value, datetime):
        number_format = DATE
    numeric = isinstance(value, int | float | datetime) and not isinstance(value, bool)
    if not wrap and not (number_format and numeric):
        return None
    return (number_format if numeric else "", wrap)


def _styled_cell(ws: Any, key: StyleKey, value: Any) -> Any:
    """A cell of one style, made with its first value as the style was made per value before:
    a date bound first registers openpyxl's default date format, so styles.xml stays the
    same byte for byte."""
    cell = WriteOnlyCell(ws, value=value)
    if key[0]:
        cell.number_format = key[0]
    cell.alignment = WRAP if key[1] else TOP
    return cell


def _column_keys(values: Sequence[Any], number_format: str,
                 wrap: bool) -> list[StyleKey | None] | None:
    """A column's style key per row (None: plain), or None for a column with neither styled
    nor Styled values: nothing to do per row there."""
    own = any(isinstance(v, Styled | datetime) for v in values)
    if not wrap and not number_format and not own:
        return None  # the common text column: no value can take a style
    keys = [_style_key(v, number_format, wrap) for v in values]
    return keys if own or any(k is not None for k in keys) else None


def _column_cells(ws: Any, body: list[list[Any]],
                  keys: dict[int, list[StyleKey | None]]) -> dict[int, list[Any]]:
    """Column -> its cell per row (None where the value goes plain): one cell per column and
    style, reused row after row, as write-only mode writes a row out when it is appended; a
    cell (and a style copy) per value cost more than the value's own writing. The cells are
    made in the order their first values come (row by row), so styles register as before."""
    firsts = sorted((ks.index(k), i, k) for i, ks in keys.items()
                    for k in set(ks) if k is not None)
    made = {(i, k): _styled_cell(ws, k, _unstyled(body[n][i])) for n, i, k in firsts}
    return {i: [None if k is None else made[(i, k)] for k in ks] for i, ks in keys.items()}


def _unstyled(value: Any) -> Any:
    return value.value if isinstance(value, Styled) else value


def _table(wb: Workbook, title: str, headers: Sequence[str], rows: Iterable[Sequence[Any]],
           taken: set[str], formats: dict[int, str] | None = None) -> None:
    """One sheet, made and written (`_fill`)."""
    _fill(_sheet(wb, title, taken), headers, rows, formats)


def _sheet(wb: Workbook, title: str, taken: set[str]) -> Any:
    """A new sheet at the workbook's end, named from `title` (unique, as Excel allows)."""
    return wb.create_sheet(sheet_name(title, taken))


def _fill(ws: Any, headers: Sequence[str], rows: Iterable[Sequence[Any]],
          formats: dict[int, str] | None = None) -> None:
    """A sheet's content: a bold header row, then the rows (write-only mode: large runs stay
    fast). `formats`: column index -> Excel number format (PCT, DECIMAL); datetimes are dates;
    a column with text longer than MAX_WIDTH wraps. Worked column by column: a column's width,
    wrap and format are decided once, not per cell."""
    body = [[_clean(v) for v in r] for r in rows]  # "=..." is a formula
    columns = list(zip(*body, strict=True)) if body else [() for _ in headers]
    longest = [max(len(str(h)), max(map(_length, c), default=0))  # strict: as wide as the header
               for h, c in zip(headers, columns, strict=True)]
    for i, w in enumerate(longest, start=1):
        ws.column_dimensions[get_column_letter(i)].width = max(8, min(MAX_WIDTH, w) + 2)
    ws.freeze_panes = "A2"
    if body:
        ws.auto_filter.ref = f"A1:{get_column_letter(len(headers))}{len(body) + 1}"
    ws.append([_styled_header(ws, h) for h in headers])
    formats = formats or {}
    keys = {i: ks for i, (c, w) in enumerate(zip(columns, longest, strict=True))
            if (ks := _column_keys(c, formats.get(i, ""), w > MAX_WIDTH)) is not None}
    _append_rows(ws, body, _column_cells(ws, body, keys))


def _append_rows(ws: Any, body: list[list[Any]], cells: dict[int, list[Any]]) -> None:
    """Each row as it goes out: its styled values bound to their column's cell (a Styled value
    unwrapped), the rest plain. Only the columns in `cells` are touched per row."""
    styled = list(cells.items())
    for n, row in enumerate(body):
        for i, column in styled:
            value = row[i]
            if type(value) is Styled:
                value = row[i] = value.value
            if (cell := column[n]) is not None:
                cell.value = value
                row[i] = cell
        ws.append(row)


def _styled_header(ws: Any, text: str) -> Any:
    cell = WriteOnlyCell(ws, value=nfc(text))
    cell.font = Font(bold=True)
    cell.alignment = WRAP
    return cell


def formats_for(columns: Sequence[str]) -> dict[int, str]:
    """Number formats by column name: shares as percentages, normalised values as decimals."""
    out = {}
    for i, c in enumerate(columns):
        if c.startswith("share") and c != "share_group":
            out[i] = PCT
        elif c.startswith("normalised"):
            out[i] = DECIMAL
    return out


VERDICT_SHEET = ("unit_code", "unit_name", "service_annex_no", "service_name", "criterion_title",
                 "verdict", "reason", "points", "evidence")


def _verdict_rows(model: ReportModel, lang: Lang, records: list[dict[str, Any]]) -> list[list]:
    rubric = model.rubric
    return [[r["unit_code"], r["unit_name"], r["service_annex_no"],
             lang.service_name(rubric.service(r["service_id"])),
             lang.criterion_title(rubric.criterion(r["criterion_id"])),
             lang.verdict(r["verdict"]), lang.reason(r["reason"]),
             model.weights[r["criterion_id"]] if r["verdict"] == "met" else 0,
             len(r["evidence_ids"].split())] for r in records]


SCORE_SHEET = SCORE_COLUMNS[:16]
GAP_SHEET = ("unit_code", "unit_name", "order", "service_annex_no", "service_name",
             "criterion_title", "points", "share_after", "normalised_after", "rank_before",
             "rank_after", "responsible", "legal_basis", "remediation", "deadline")
TODO_SHEET = ("responsible", "deadline", "service_name", "criterion_title", "reason",
              "remediation", "legal_basis", "points", "share_after", "order")


def _score_value(model: ReportModel, lang: Lang, column: str, value: Any) -> Any:
    """People's sheets show labels, not codes (kind, group)."""
    if column in ("group", "share_group") and value:
        return lang.group_label(model.config.group(value))
    if column == "unit_kind":
        return lang.kind(value)
    return value


def deadline_key(text: str) -> tuple[int, int]:
    """"Quý IV/2020" -> (2020, 4), so deadlines sort by time; no quarter: last."""
    m = QUARTER.search(text or "")
    return (int(m[2]), ROMAN[m[1]]) if m else (9999, 0)


def todo_records(model: ReportModel, lang: Lang, unit_code: str) -> list[dict[str, Any]]:
    """A unit's gaps as a to-do list: by responsible body, then deadline, then points gained
    (gap_records' order). Texts in the report language."""
    rubric = model.rubric
    mine = [{**g, "service_name": f"{g['service_annex_no']}. {g['service_name']}",
             "reason": lang.reason(g["reason"]),
             "_when": deadline_key(rubric.service(g["service_id"]).annex_deadline)}
            for g in gap_records(model, lang, unit_code)]
    return sorted(mine, key=lambda g: (g["responsible"], g["_when"], g["order"]))


def _todo_sheet(wb: Workbook, model: ReportModel, lang: Lang, unit_code: str,
                taken: set[str]) -> None:
    """"Việc cần làm <code>": what the province must do, who does it, by when."""
    t = lang.t
    rows = [[g[c] for c in TODO_SHEET] for g in todo_records(model, lang, unit_code)]
    if not rows:
        rows = [[t("unit.no_gaps"), *[""] * (len(TODO_SHEET) - 1)]]
    _table(wb, f"{t('xlsx.todo')} {unit_code}", [t(f"xcol.{c}") for c in TODO_SHEET], rows,
           taken, formats_for(TODO_SHEET))


def _summary_rows(model: ReportModel, lang: Lang) -> list[tuple[str, Any]]:
    t, run, nat = lang.t, model.run, model.national
    return [(t("meta.run"), run["id"]), (t("meta.target"), run["target"]),
            (t("meta.status"), lang.status(run["status"])),
            (t("xlsx.started"), excel_time(run["started_at"]) or run["started_at"]),
            (t("xlsx.finished"), excel_time(run.get("finished_at")) or "—"),
            (t("meta.rubric"), run["rubric_version"]), (t("meta.engine"), run["engine_version"]),
            (t("xlsx.national_share"), Styled(nat.overall.share, PCT)),
            *((t("summary.by_kind", kind=lang.kind(k)), Styled(v.share, PCT))
              for k, v in nat.by_kind.items())]


def write_xlsx(path: Path, model: ReportModel, lang: Lang) -> None:
    """Summary sheets, then per province its to-do list and its verdicts, then the agencies."""
    finish_xlsx(start_xlsx(model, lang), path, model, lang)


@dataclass
class OpenBook:
    """A workbook written but for the sheets that need the run's end: its summary (the run's
    status and end) and the UN survey's three sheets (the site search's answers). Every sheet
    is made in its place: the order is the workbook's, whichever is written first."""

    wb: Workbook
    summary: Any  # the write-only sheets still empty
    survey: list[Any]


def start_xlsx(model: ReportModel, lang: Lang) -> OpenBook:
    """Every sheet but the summary and the survey's, which `finish_xlsx` writes: the verdicts
    and what follows from them only (app/ahead.py writes these while the last crawl ends)."""
    t, wb = lang.t, Workbook(write_only=True)
    taken: set[str] = set()
    nat = model.national
    summary = _sheet(wb, t("xlsx.summary"), taken)
    tot = totals(model)
    _table(wb, t("xlsx.totals"), [t("xcol.verdict"), lang.kind("province"),
                                  lang.kind("agency"), t("xlsx.all")],
           [[lang.verdict(v), c["province"], c["agency"], c["all"]] for v, c in tot.items()]
           + [[t("xlsx.all"), *(sum(c[k] for c in tot.values())
                                for k in ("province", "agency", "all"))]], taken)
    scores = score_records(model)
    _table(wb, t("xlsx.scores"), [t(f"xcol.{c}") for c in SCORE_SHEET],
           [[_score_value(model, lang, c, s[c]) for c in SCORE_SHEET] for s in scores], taken,
           formats_for(SCORE_SHEET))
    _table(wb, t("xlsx.services"), [t("xcol.service_annex_no"), t("xcol.service_name"),
                                    t("xcol.raw"), t("xcol.max_possible"), t("xcol.share"),
                                    *(lang.verdict(v) for v in VERDICTS)],
           [[s.annex_no, lang.service_name(s), tl.raw, tl.max_possible, tl.share, tl.met,
             tl.not_met, tl.not_applicable, tl.cannot_test]
            for s in model.rubric.services if (tl := nat.by_service.get(s.id))], taken,
           {4: PCT})
    gaps = gap_records(model, lang)
    _table(wb, t("xlsx.gaps"), [t(f"xcol.{c}") for c in GAP_SHEET],
           [[g[c] for c in GAP_SHEET] for g in gaps], taken, formats_for(GAP_SHEET))
    records = verdict_records(model)
    headers = [t(f"xcol.{c}") for c in VERDICT_SHEET]
    rows = _verdict_rows(model, lang, records)  # once: a unit's sheet shows the same rows
    _table(wb, t("xlsx.verdicts"), headers, rows, taken)
    if model.standing is not None:
        _standing_sheet(wb, model, lang, taken)
    if model.comparison is not None and model.comparison.rows:
        _comparison_sheet(wb, model, lang, taken)
    survey = [_sheet(wb, t(key), taken)
              for key in ("xlsx.losi", "xlsx.osq", "xlsx.survey_answers")]
    by_unit: dict[str, list[list[Any]]] = {}
    for r, row in zip(records, rows, strict=True):
        by_unit.setdefault(r["unit_code"], []).append(row)
    for unit in model.rubric.provinces:
        if mine := by_unit.get(unit.code):
            _todo_sheet(wb, model, lang, unit.code, taken)
            _table(wb, f"{unit.code} {unit.name}", headers, mine, taken)
    agencies = [row for r, row in zip(records, rows, strict=True) if r["unit_kind"] == "agency"]
    if agencies:
        _table(wb, t("xlsx.agencies"), headers, agencies, taken)
    return OpenBook(wb, summary, survey)


def finish_xlsx(book: OpenBook, path: Path, model: ReportModel, lang: Lang) -> None:
    """The summary and the survey's sheets into their places, then the file."""
    t = lang.t
    _fill(book.summary, [t("xlsx.item"), t("xlsx.value")], _summary_rows(model, lang))
    _survey_sheets(book.survey, model, lang)
    book.wb.save(path)


def _standing_sheet(wb: Workbook, model: ReportModel, lang: Lang, taken: set[str]) -> None:
    st, t = model.standing, lang.t
    _table(wb, t("xlsx.standing"),
           ["N", t("standing.col_services"), t("standing.col_gaps"), t("standing.col_d"),
            "OSI", "EGDI", t("standing.col_rank"), t("standing.col_places"),
            t("standing.col_osi_rank"), t("xlsx.estimate")],
           [[r.n, ", ".join(str(s.annex_no) for s in r.services), r.gaps, r.estimate.d_osi,
             r.what_if.after.osi, r.what_if.after.egdi, r.what_if.after.egdi_rank, r.places,
             r.what_if.after.osi_rank, t("xlsx.estimate_yes")] for r in st.rows], taken)


def _comparison_sheet(wb: Workbook, model: ReportModel, lang: Lang, taken: set[str]) -> None:
    cmp, t = model.comparison, lang.t
    _table(wb, t("xlsx.index766"),
           [t("col.unit"), t("cmp.total"), t("cmp.online_theirs"), t("cmp.online_ours"),
            t("cmp.payment_theirs"), t("cmp.payment_ours"), t("cmp.finding")],
           [[r.unit.name, r.total, r.pairs["online"].theirs, r.pairs["online"].ours,
             r.pairs["payment"].theirs, r.pairs["payment"].ours,
             t("cmp.differs") if r.disagree else t("cmp.agree")] for r in cmp.rows], taken,
           {2: PCT, 3: PCT, 4: PCT, 5: PCT})


# UN survey sheets (issue 18): LOSI per province, OSQ by sub-index, every answer. Shown as
# surveyed: scores come from reports/survey_model.py (audits.survey), never recomputed here.
LOSI_HEAD = ("unit_code", "unit_name", "rank", "raw", "max_possible", "share", "normalised",
             "group")
LOSI_TAIL = ("survey_auto", "survey_review", "survey_services", "survey_not_reviewed",
             "cannot_test", "survey_scored", "survey_features", "share_measured")
OSQ_SHEET = ("survey_sub_index", "survey_weight", "raw", "max_possible", "share",
             "survey_scored", "survey_features", "share_measured", "survey_kind")
ANSWER_SHEET = ("survey_set", "unit_code", "unit_name", "un_codes", "survey_group",
                "survey_feature", "survey_judged", "verdict", "reason", "detail", "survey_urls",
                "survey_fix")


def _survey_sheets(sheets: Sequence[Any], model: ReportModel, lang: Lang) -> None:
    """Always the three sheets (made by `start_xlsx`): without answers each has its header and
    one row saying the features were not gathered (as a to-do sheet without gaps says so)."""
    losi, osq, answers = sheets
    _losi_sheet(losi, model, lang)
    _osq_sheet(osq, model, lang)
    _answers_sheet(answers, model, lang)


def _nothing(text: str, width: int) -> list[list[Any]]:
    return [[text, *[""] * (width - 1)]]


def _losi_sheet(ws: Any, model: ReportModel, lang: Lang) -> None:
    """One row per province in LOSI rank order (unranked last), a share per criterion."""
    t = lang.t
    ss = model.survey.losi if model.survey is not None else None
    groups = [g for g in ss.iset.groups if not g.score_with] if ss else []
    columns = (*LOSI_HEAD, *(f"share_{g.id}" for g in groups), *LOSI_TAIL)
    headers = [*(t(f"xcol.{c}") for c in LOSI_HEAD), *(lang.pick(g, "name") for g in groups),
               *(t(f"xcol.{c}") for c in LOSI_TAIL)]
    rows = [_losi_row(model, lang, su) for su in ss.ranked()] if ss else \
        _nothing(t("losi.not_gathered"), len(columns))
    _fill(ws, headers, rows, formats_for(columns))


def _losi_row(model: ReportModel, lang: Lang, su: SurveyUnit) -> list[Any]:
    sc, r, cov = su.score, su.ranked, su.score.coverage
    return [su.code, su.name(lang), r.rank, sc.points,
            sum(g.score.possible for g in su.groups), sc.share, r.normalised,
            lang.group_label(model.config.group(r.group)) if r.group else None,
            *(g.score.share for g in su.groups),
            cov.scored("auto"), cov.scored("review"), cov.scored("services"),
            len(su.not_reviewed), len(su.cannot), cov.scored(), cov.total(), cov.measured_share]


def _osq_sheet(ws: Any, model: ReportModel, lang: Lang) -> None:
    """The national portal's OSQ: a row per sub-index, then the weighted whole; labelled an
    estimate when the set's weights are (the UN does not publish them)."""
    t = lang.t
    osq = model.survey.osq if model.survey is not None else None
    headers = [t(f"xcol.{c}") for c in OSQ_SHEET]
    if osq is None:
        rows = _nothing(t("osq.not_gathered"), len(OSQ_SHEET))
    else:
        kind = t("xlsx.estimate_yes") if osq.iset.weights_are_estimates else ""
        rows = [_osq_row(lang, g, kind) for g in osq.groups]
        cov = osq.score.coverage
        rows.append([t("xlsx.osq_total"), None, osq.score.points,
                     sum(g.score.possible for g in osq.groups), osq.score.share, cov.scored(),
                     cov.total(), cov.measured_share, kind])
    _fill(ws, headers, rows, formats_for(OSQ_SHEET))


def _osq_row(lang: Lang, g: GroupView, kind: str) -> list[Any]:
    name = lang.pick(g.group, "name")
    if g.members:  # e.g. E-Government Literacy scored inside Technology
        inside = ", ".join(lang.pick(m, "name") for m in g.members)
        name += f" ({lang.t('survey.group_with', names=inside)})"
    scored = g.n_of(Verdict.MET) + g.n_of(Verdict.NOT_MET)
    return [name, g.group.weight, g.score.earned, g.score.possible, g.score.share, scored,
            len(g.features), scored / len(g.features) if g.features else None, kind]


def _answers_sheet(ws: Any, model: ReportModel, lang: Lang) -> None:
    """The rows of losi.csv and osq.csv together, in words, for filtering by province."""
    t = lang.t
    records = [*survey_records(model, "losi"), *survey_records(model, "osq")]
    sets = model.survey.sets if records else {}
    features = {(sid, i.id): i for sid, ss in sets.items() for i in ss.iset.indicators}
    groups = {(sid, g.id): g for sid, ss in sets.items() for g in ss.iset.groups}
    names = {u.code: lang.unit_name(u) for u in model.rubric.units}
    names[NATIONAL_UNIT] = t("xlsx.national_portal")
    rows = [_answer_row(lang, r, features[(r["indicator_set"], r["indicator_id"])], groups,
                        names.get(r["unit_code"], r["unit_name"])) for r in records] or \
        _nothing(t("survey.not_gathered"), len(ANSWER_SHEET))
    _fill(ws, [t(f"xcol.{c}") for c in ANSWER_SHEET], rows)


def _answer_row(lang: Lang, r: dict[str, Any], ind: Indicator,
                groups: dict[tuple[str, str], IndicatorGroup], unit_name: str) -> list[Any]:
    verdict = lang.t("survey.not_reviewed") if r["verdict"] == NOT_REVIEWED \
        else lang.verdict(r["verdict"])
    return [r["indicator_set"].upper(), r["unit_code"], unit_name, r["un_codes"],
            lang.pick(groups[(r["indicator_set"], ind.group)], "name"),
            lang.pick(ind, "question"), lang.t(f"survey.judged.{ind.judged}"), verdict,
            lang.reason(r["reason"]), r["detail"], r["urls"],
            ind.fix_en if lang.code == "en" else ind.fix_vi]  # no fallback: en stays English


# --------------------------------------------------------------------------- Markdown


def md_cell(text: Any) -> str:
    """Text safe inside a Markdown table cell: no pipe, no line break, no raw HTML."""
    s = "" if text is None else str(text)
    s = s.replace("\\", "\\\\").replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;")
    return " ".join(s.split())


@cache
def markdown_environment(lang: Lang, templates: Path) -> jinja2.Environment:
    """One per language, as reports.report.environment: the template is compiled once."""
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(templates), autoescape=False,
                             undefined=jinja2.StrictUndefined, trim_blocks=True,
                             lstrip_blocks=True, keep_trailing_newline=True)
    env.globals.update(L=lang, t=lang.t)
    env.filters.update(num=lang.num, pct=lang.pct, md=md_cell)
    return env


def render_markdown(model: ReportModel, lang: Lang) -> str:
    from reports.report import TEMPLATES_DIR, TOP_GAPS

    env = markdown_environment(lang, TEMPLATES_DIR)
    text = env.get_template("summary.md.j2").render(m=model, top=model.top_gaps[:TOP_GAPS])
    return unicodedata.normalize("NFC", text)


# --------------------------------------------------------------------------- all


def write_all(model: ReportModel, lang: Lang, paths: dict[str, Path]) -> None:
    """Every export but the XLSX workbook (the report writes that beside: reports/beside.py)."""
    write_csv(paths["csv"], VERDICT_COLUMNS, verdict_records(model))
    write_csv(paths["scores_csv"], SCORE_COLUMNS, score_records(model))
    for set_id in ("losi", "osq"):  # header only when the run has no answers for the set
        write_csv(paths[f"{set_id}_csv"], SURVEY_COLUMNS, survey_records(model, set_id))
    text = json.dumps(json_document(model), ensure_ascii=False, indent=1, default=str)
    paths["json"].write_text(nfc(text), encoding="utf-8")  # NFC of the text = NFC of every value
    paths["md"].write_text(render_markdown(model, lang), encoding="utf-8")
