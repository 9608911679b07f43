"""The UN survey's indicator answers of a stored run: read the evidence, DOM bodies, verdicts
and review answers from the results database, judge them (audits/survey_answers.py, pure) and
store them (`indicator_answers`). Called after scoring (app/jobs.score_run), by `rescore` (a
rubric or indicator change re-judges without re-crawling) and after `review import`."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from audits.review import UnitReview, review_unit
from audits.survey_answers import set_units, survey_answers
from core import reviews, store
from core.indicators import NATIONAL_UNIT, Indicators, IndicatorSet, read_indicators
from core.rows import IndicatorAnswerRow
from core.rubric import Rubric
from core.sqlite import sqlite_utils
from core.vocab import EvidenceKind
from reports.worksheet import Cited

SITE_KINDS = (EvidenceKind.SITE_PAGE, EvidenceKind.SITE_MEASURE)


class StoredBodies(Mapping[str, bytes]):
    """The `responses` table as a mapping sha256 -> body, read on demand: the judge asks for
    one unit's pages at a time, so a run's pages are never all in memory."""

    def __init__(self, db: sqlite_utils.Database) -> None:
        self.db = db

    def __getitem__(self, sha: str) -> bytes:
        row = self.db.execute("SELECT body FROM responses WHERE sha256 = ?", [sha]).fetchone()
        if row is None or row[0] is None:
            raise KeyError(sha)
        return bytes(row[0])

    def __iter__(self) -> Iterator[str]:
        return (r[0] for r in self.db.execute("SELECT sha256 FROM responses"))

    def __len__(self) -> int:
        return int(self.db.execute("SELECT count(*) FROM responses").fetchone()[0])


def cited_pages(db: sqlite_utils.Database, run_id: int | None) -> dict[str, Cited]:
    """Where the run (default: the latest) looked for each unit: a province's portal home
    page, the national portal's first page. Empty when the run read none (the worksheet then
    cites nothing); a review answer holds while the page it cites keeps its hash."""
    run = store.get_run(db, run_id)
    if run is None:
        return {}
    cited: dict[str, Cited] = {}
    for ev in store.load_evidence(db, run["id"], kinds=("portal", "national_page")):
        page = Cited(ev["url"], ev["sha256"] or "")
        if ev["kind"] == "national_page":
            cited.setdefault(NATIONAL_UNIT, page)
        for unit in ev["data"].get("units", []):
            cited.setdefault(unit, page)
    return cited


def unit_reviews(db: sqlite_utils.Database, iset: IndicatorSet, unit_code: str,
                 cited: dict[str, Cited]) -> UnitReview:
    current = {c.url: c.sha256 for c in cited.values() if c.url}
    return review_unit(unit_code, reviews.load_answers(db, iset.id, unit_code), current)


def held_reviews(db: sqlite_utils.Database, indicators: Indicators, rubric: Rubric,
                 run_id: int) -> dict[tuple[str, str], Mapping[str, str]]:
    """(set, unit) -> the review answers that hold for the run's pages."""
    cited = cited_pages(db, run_id)
    provinces = _provinces(rubric)
    return {(iset.id, unit): unit_reviews(db, iset, unit, cited).answers
            for iset in indicators.sets.values() for unit in set_units(iset, provinces)}


def _provinces(rubric: Rubric) -> dict[str, str]:
    return {u.code: u.name for u in rubric.units if u.kind == "province"}


def indicators_or_warn(rubric: Rubric, rubric_dir: Path | str,
                       echo: Callable[[str], None]) -> Indicators | None:
    """The rubric's indicator sets, or None with one warning line: a rubric without
    `indicators/`, or with a problem there, never stops the 20-service scoring."""
    found, errors = read_indicators(Path(rubric_dir), {s.id for s in rubric.services})
    if errors:
        echo(f"warning: UN survey indicators not judged: {errors[0]}")
    elif found is None:
        echo(f"warning: {rubric_dir} has no UN survey indicators (indicators/): "
             f"indicator answers not judged")
    return found


def _run_day(run: Mapping[str, Any]) -> datetime:
    return datetime.fromisoformat(run["started_at"])


def judge_run(db: sqlite_utils.Database, run_id: int, rubric: Rubric, indicators: Indicators,
              verdicts: Iterable[Mapping[str, Any]] | None = None) -> list[IndicatorAnswerRow]:
    """Every indicator answer of a stored run (nothing stored). `verdicts`: the run's
    20-service verdicts when the caller holds them (default: the stored set of the rubric)."""
    run = store.get_run(db, run_id)
    if run is None:
        raise LookupError(f"no run {run_id}")
    if verdicts is None:
        verdicts = store.load_verdicts(db, run_id, rubric.version)
    return survey_answers(indicators, store.load_evidence(db, run_id, SITE_KINDS),
                          StoredBodies(db), verdicts,
                          held_reviews(db, indicators, rubric, run_id),
                          provinces=_provinces(rubric), run_at=_run_day(run))


def save_survey_answers(db: sqlite_utils.Database, run_id: int, rubric: Rubric,
                        rubric_dir: Path | str,
                        verdicts: Iterable[Mapping[str, Any]] | None = None,
                        echo: Callable[[str], None] = print) -> int | None:
    """Judge and store the run's indicator answers under the rubric's version; the number
    stored, or None (with a warning) when the rubric's indicators cannot be loaded."""
    indicators = indicators_or_warn(rubric, rubric_dir, echo)
    if indicators is None:
        return None
    rows = judge_run(db, run_id, rubric, indicators, verdicts)
    return store.save_indicator_answers(db, run_id, rows, rubric.version)


def refresh_reviews(db: sqlite_utils.Database, rubric: Rubric, indicators: Indicators,
                    run_id: int | None = None) -> int:
    """After `review import`: the run's (default: the latest) stored review answers follow
    the answers that now hold, without re-judging its pages; the other answers are kept.
    Returns the rows updated (0 when the run has no stored answers: `rescore` judges it)."""
    run = store.get_run(db, run_id)
    if run is None:
        return 0
    stored = store.load_indicator_answers(db, run["id"])
    if not stored:
        return 0
    held = held_reviews(db, indicators, rubric, run["id"])
    fresh = {(r["indicator_set"], r["unit_code"], r["indicator_id"]): r
             for r in survey_answers(indicators, (), {}, (), held,
                                     provinces=_provinces(rubric), run_at=_run_day(run))
             if r["judged"] == "review"}
    changed = 0
    rows = []
    for r in stored:
        new = fresh.get((r["indicator_set"], r["unit_code"], r["indicator_id"]))
        if r["judged"] == "review" and new is not None and (
                new["verdict"], new["reason"]) != (r["verdict"], r["reason"]):
            r, changed = {**r, **new}, changed + 1
        rows.append(r)
    if changed:
        store.save_indicator_answers(db, run["id"], rows, run["rubric_version"])
    return changed
