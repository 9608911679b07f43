"""Verdicts of a stored run -> the gap report: national dashboard, one page per unit, exports.

`write_reports` is the one entry point: `demo`, `run`, `nightly` and `report` all call it, so a
stored run renders the same way whether it was just crawled or re-rendered later. It reads the
run, its verdicts and the evidence they cite into a language-neutral model
(reports/report_model.py), renders it (templates/, Vietnamese by default) and writes the exports
(reports/exports.py). Nothing here fetches or re-evaluates: the stored verdicts are the truth.
"""

from __future__ import annotations

import logging
import unicodedata
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import jinja2

from audits import scoring
from core import store
from core.indicators import Indicators, load_indicators
from core.rubric import Rubric
from core.sqlite import sqlite_utils
from reports import charts, survey_model
from reports.beside import BesideError, Held, beside
from reports.evidence_pages import EVIDENCE_DIR, results_dir_of, write_evidence_pages
from reports.i18n import DEFAULT_LANG, Lang, load_strings
from reports.report_model import (  # noqa: F401 - re-exported: the report's public API
    CELL_MARKS,
    CELL_STATES,
    UNITS_DIR,
    ReportModel,
    UnitPage,
    build_model,
    cell_state,
    with_run_end,
)
from reports.rubric_tables import save_rubric_texts

TEMPLATES_DIR = Path(__file__).resolve().parents[1] / "templates"
TOP_GAPS = 10
log = logging.getLogger(__name__)


# --------------------------------------------------------------------------- rendering


@cache
def environment(lang: Lang) -> jinja2.Environment:
    """HTML templates: autoescaped, so text from the portals can never become markup."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES_DIR),
        autoescape=jinja2.select_autoescape(("html", "j2")),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True, lstrip_blocks=True,
    )
    env.globals.update(L=lang, t=lang.t, marks=CELL_MARKS, states=CELL_STATES)
    env.filters.update(num=lang.num, pct=lang.pct)
    return env


def warm_templates(lang: str = DEFAULT_LANG) -> None:
    """Compile every template of `lang` ahead (the job does it while its last crawls run, so
    the reports' writing after them does not)."""
    from reports.exports import markdown_environment

    load_strings()
    env = environment(Lang(lang))
    for name in env.list_templates(filter_func=lambda name: name.endswith(".html.j2")):
        env.get_template(name)
    markdown_environment(Lang(lang), TEMPLATES_DIR).get_template("summary.md.j2")


def dashboard_charts(model: ReportModel, lang: Lang) -> dict[str, Any]:
    """The dashboard's inline SVG charts (group counts, score distribution, services, gaps)."""
    out: dict[str, Any] = {}
    groups = model.config.groups
    for kind in model.kinds():
        counts = model.group_counts(kind)
        out[f"groups_{kind}"] = charts.column_chart(
            [charts.Bar(lang.group_label(g), counts[g.id], charts.GROUP_COLOURS.get(g.id, ""))
             for g in groups], title=lang.t("chart.groups", kind=lang.kind(kind)))
        shares = [u.share for u in model.board.kinds[kind].ranked if u.share is not None]
        labels = charts.bin_labels(fmt=lambda v: lang.num(v, 1))
        out[f"dist_{kind}"] = charts.column_chart(
            [charts.Bar(label, n)
             for label, n in zip(labels, charts.histogram(shares), strict=True)],
            title=lang.t("chart.distribution", kind=lang.kind(kind)), width=420)
    by_service = model.national.by_service
    out["services"] = charts.hbar_chart(
        [charts.Bar(_short(f"{s.annex_no}. {lang.service_name(s)}"), t.share or 0.0,
                    text=lang.pct(t.share) if t.share is not None else lang.t("no_share"))
         for s in model.rubric.services if (t := by_service.get(s.id)) is not None],
        title=lang.t("chart.services"), max_value=1.0)
    out["top_gaps"] = charts.hbar_chart(
        [charts.Bar(_short(f"{g.service.annex_no}. {lang.service_name(g.service)}"), g.points,
                    "#d64545", f"{lang.num(g.points, 1)} · {lang.criterion_title(g.criterion)}")
         for g in model.top_gaps[:TOP_GAPS]],
        title=lang.t("chart.top_gaps"), width=960, text_room=300)
    return out


def _short(text: str, size: int = 46) -> str:
    return text if len(text) <= size else text[:size - 1].rstrip() + "…"


def _nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def render_dashboard(model: ReportModel, lang: Lang) -> str:
    template = environment(lang).get_template("dashboard.html.j2")
    return _nfc(template.render(m=model, charts=dashboard_charts(model, lang), root=""))


def render_unit(model: ReportModel, page: UnitPage, lang: Lang) -> str:
    template = environment(lang).get_template("unit.html.j2")
    return _nfc(template.render(m=model, p=page, root="../"))


def render_losi(model: ReportModel, su: survey_model.SurveyUnit, lang: Lang) -> str:
    """A province's LOSI page (issue 18): criteria bars, missing features, where we looked."""
    template = environment(lang).get_template("losi.html.j2")
    page = model.pages.get(su.code)
    return _nfc(template.render(m=model, su=su, unit_page=page.file(lang) if page else "",
                                root="../"))


def report_paths(out_dir: Path, lang: Lang) -> dict[str, Path]:
    """Where each output goes. Files of the default language (vi) carry no suffix."""
    sfx = lang.suffix
    return {
        "html": out_dir / f"report{sfx}.html",
        "units": out_dir / UNITS_DIR,
        "csv": out_dir / "verdicts.csv",
        "scores_csv": out_dir / "scores.csv",
        "losi_csv": out_dir / "losi.csv",
        "osq_csv": out_dir / "osq.csv",
        "xlsx": out_dir / f"report{sfx}.xlsx",
        "json": out_dir / "report.json",
        "md": out_dir / f"summary{sfx}.md",
        "evidence": out_dir / EVIDENCE_DIR,
    }


def write_reports(db: sqlite_utils.Database, rubric: Rubric, out_dir: Path,
                  run_id: int | None = None, *, lang: str = "vi",
                  un_data: Path | None = None,
                  config: scoring.ScoringConfig | None = None,
                  indicators: Indicators | None = None,
                  ahead: ReportAhead | None = None) -> dict[str, Path]:
    """Render the reports of a stored run (the latest by default) into `out_dir`.

    `un_data`: a UN E-Government Survey CSV; adds the standing panel (issue 7) to the dashboard.
    `indicators`: the UN survey's indicator sets (default: the project's rubric's) that give
    the stored LOSI/OSQ answers their questions, groups and fixes.
    `ahead`: the run's model and workbook made while its last crawl ended (`report_ahead`),
    for verdicts that have not changed since: finished here.
    Raises LookupError without the run, StandingDataError for a bad UN file.
    """
    from core.rubric import RUBRIC_DIR
    from reports import exports, standing_panel

    run = store.get_run(db, run_id)
    if run is None:
        raise LookupError("no run in the database" if run_id is None else f"no run {run_id}")
    language = Lang(lang)
    out_dir = Path(out_dir)
    if ahead is not None:  # built from the same stored verdicts: only the run's end is new
        model = ahead.model
        with_run_end(db, model, run)
    else:
        model = _verdicts_model(db, rubric, run, out_dir, config)
    if indicators is None:
        indicators = load_indicators(RUBRIC_DIR)
    if un_data is not None:  # the fuller national estimate where the run has OSQ answers
        osq = indicators.sets.get("osq") if indicators is not None else None
        model.standing = standing_panel.build_panel(
            Path(un_data), model, osq=osq, answers=store.load_indicator_answers(db, run["id"]))
    model.survey = survey_model.load_survey(db, run["id"], indicators, rubric, model.config)
    save_rubric_texts(db, rubric)  # Datasette's province_gaps view reads them
    paths = report_paths(out_dir, language)
    paths["units"].mkdir(parents=True, exist_ok=True)
    # the workbook on the other core (beside.py; begun ahead, or from here), the HTML pages
    # and other exports here
    workbook = _finished(ahead, paths["xlsx"], model, language) if ahead is not None else \
        beside(exports.write_xlsx, paths["xlsx"], model, language)
    with workbook:
        _write_pages(db, model, language, paths, out_dir,
                     ahead.evidence_written if ahead is not None else ())
        exports.write_all(model, language, paths)
    return paths


@contextmanager
def _finished(ahead: ReportAhead, path: Path, model: ReportModel,
              language: Lang) -> Iterator[None]:
    """The workbook begun ahead, its child told to go before the block and waited for after;
    written here instead if the child failed: the workbook is never missing."""
    from reports import exports

    ahead.workbook.go()
    try:
        yield
    finally:  # the child is reaped after the block's own error too, as beside() does
        try:
            ahead.workbook.wait()
        except BesideError as exc:
            log.warning("the workbook written ahead failed; writing it again: %s", exc)
            exports.write_xlsx(path, model, language)


def _verdicts_model(db: sqlite_utils.Database, rubric: Rubric, run: dict[str, Any],
                    out_dir: Path, config: scoring.ScoringConfig | None) -> ReportModel:
    """The report's model from the run's stored verdicts and findings (and the 766 figures),
    before the UN survey's answers and anything given for one report (UN data)."""
    from audits import coverage
    from core.rubric import RUBRIC_DIR
    from reports import compare766

    verdicts = sorted(store.load_verdicts(db, run["id"]),
                      key=lambda v: (v["unit_code"], v["service_id"], v["criterion_id"]))
    model = build_model(db, rubric, run, verdicts, out_dir, config)
    # as the scoring settings: from the project's rubrics/scoring.yaml (`coverage` section)
    model.rank_min_tested = coverage.load_coverage(RUBRIC_DIR).rank_min_tested
    model.comparison = compare766.compare(db, run["id"], model)
    return model


@dataclass
class ReportAhead:
    """A run's report begun while its last crawl (the site search's last site) runs: the model
    of its stored verdicts, and its XLSX workbook held in a child (reports/beside.py) that has
    written the verdicts' sheets and, told to go, reads the run's end and its UN survey
    answers and writes the rest. Only for verdicts that will not change before the end."""

    model: ReportModel
    workbook: Held
    evidence_written: tuple[Lang, ...] = ()  # the evidence pages' languages written ahead

    def drop(self) -> None:
        self.workbook.drop()


def report_ahead(db_path: Path, rubric: Rubric, out_dir: Path, run_id: int,
                 lang: str = DEFAULT_LANG) -> ReportAhead:
    """Begin the report of a run whose verdicts are stored and final (app/ahead.py): its
    workbook's child, then, here, the evidence pages in the default language (they show the
    verdicts' and findings' evidence, nothing of the run's end)."""
    from core.rubric import RUBRIC_DIR
    from reports import exports

    language = Lang(lang)
    db = store.open_db(db_path)
    run = store.get_run(db, run_id)
    if run is None:
        raise LookupError(f"no run {run_id}")
    model = _verdicts_model(db, rubric, run, Path(out_dir), None)
    indicators = load_indicators(RUBRIC_DIR)
    path = report_paths(Path(out_dir), language)["xlsx"]

    def then(book: exports.OpenBook) -> None:
        later = store.open_db(db_path)  # the child's own connection
        with_run_end(later, model, store.get_run(later, run_id) or model.run)
        model.survey = survey_model.load_survey(later, run_id, indicators, rubric, model.config)
        exports.finish_xlsx(book, path, model, language)

    begun = ReportAhead(model, Held(lambda: exports.start_xlsx(model, language), then))
    try:
        _evidence_pages(db, model, Lang(DEFAULT_LANG), Path(out_dir))
    except BaseException:
        begun.drop()
        raise
    finally:
        db.close()
    begun.evidence_written = (Lang(DEFAULT_LANG),)
    return begun


def _write_pages(db: sqlite_utils.Database, model: ReportModel, language: Lang,
                 paths: dict[str, Path], out_dir: Path,
                 evidence_written: Collection[Lang] = ()) -> None:
    """The HTML report: dashboard, unit pages, LOSI pages, evidence pages (but those already
    written in a language of `evidence_written`)."""
    paths["html"].write_text(render_dashboard(model, language), encoding="utf-8")
    for page in model.pages.values():
        (out_dir / page.file(language)).write_text(render_unit(model, page, language),
                                                    encoding="utf-8")
    for su in (model.survey.losi.units.values() if model.survey.losi else ()):
        (out_dir / su.file(language)).write_text(render_losi(model, su, language),
                                                  encoding="utf-8")
    # Evidence pages in the report's language, and always in the default one: verdicts.csv
    # (language-neutral) names those.
    for page_lang in dict.fromkeys((language, Lang(DEFAULT_LANG))):
        if page_lang not in evidence_written:
            _evidence_pages(db, model, page_lang, out_dir)


def _evidence_pages(db: sqlite_utils.Database, model: ReportModel, lang: Lang,
                    out_dir: Path) -> None:
    write_evidence_pages(db, model, lang, environment(lang).get_template("evidence.html.j2"),
                         out_dir, results_dir_of(db))
