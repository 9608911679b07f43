"""The UN survey's results of a stored run (issue 18 item 6): LOSI per province, OSQ for the
national portal. Language-neutral, like reports/report_model.py.

Reads the run's judged indicator answers (`store.load_indicator_answers`) and scores them with
audits.survey (score_unit, rank_units): nothing is re-judged here. A run judged before issue 18
has no answers; then `build_survey` still returns a model whose sets are empty, and the report
says the features were not gathered.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from markupsafe import Markup

from audits.scoring import DEFAULT_CONFIG, ScoringConfig
from audits.survey import NOT_REVIEWED, GroupScore, Ranked, SurveyScore, survey_scores
from core import store
from core.indicators import NATIONAL_UNIT, Indicator, IndicatorGroup, Indicators, IndicatorSet
from core.rows import IndicatorAnswerRow
from core.rubric import Rubric, Unit
from core.sqlite import sqlite_utils
from core.vocab import Verdict
from reports import charts
from reports.i18n import Lang

UNITS_DIR = "units"  # as report_model.UNITS_DIR: LOSI pages sit next to the unit pages
URLS_SHOWN = 10  # pages searched listed per feature; the rest are counted
JUDGED_ORDER = ("auto", "review", "services")
# Coverage states, in the order the report shows them
STATES = (Verdict.MET, Verdict.NOT_MET, Verdict.CANNOT_TEST, NOT_REVIEWED,
          Verdict.NOT_APPLICABLE)


@dataclass(frozen=True)
class Link:
    url: str
    href: str | None  # only http(s) URLs become links


@dataclass(frozen=True)
class FeatureAnswer:
    """One indicator's stored answer for one unit."""

    indicator: Indicator
    verdict: str  # a Verdict or NOT_REVIEWED
    reason: str
    detail: str
    url_list: tuple[str, ...]  # where it was found, or the pages searched
    detector: str = ""
    stored: bool = True  # False: the run stored no answer for it (counted as score_unit does)

    @property
    def urls(self) -> tuple[Link, ...]:
        """The first URLS_SHOWN pages, as links where http(s)."""
        return tuple(Link(u, _safe_href(u)) for u in self.url_list[:URLS_SHOWN])

    @property
    def more_urls(self) -> int:
        return max(len(self.url_list) - URLS_SHOWN, 0)


@dataclass(frozen=True)
class GroupView:
    """A criterion (LOSI) or sub-index (OSQ) of one unit: its points and its features."""

    group: IndicatorGroup
    score: GroupScore
    members: tuple[IndicatorGroup, ...]  # groups scored inside this one (OSQ: EGL with TEC)
    features: tuple[FeatureAnswer, ...]

    def n_of(self, state: str) -> int:
        return sum(1 for f in self.features if f.verdict == state)


@dataclass
class SurveyUnit:
    iset: IndicatorSet
    code: str
    unit: Unit | None  # None for the national portal (VN)
    ranked: Ranked
    groups: list[GroupView]
    answers: list[FeatureAnswer]

    @property
    def score(self) -> SurveyScore:
        return self.ranked.score

    def name(self, lang: Lang) -> str:
        return lang.unit_name(self.unit) if self.unit else self.code

    def where(self, state: str) -> list[FeatureAnswer]:
        return [a for a in self.answers if a.verdict == state]

    @property
    def missing(self) -> list[FeatureAnswer]:
        return self.where(Verdict.NOT_MET)

    @property
    def cannot(self) -> list[FeatureAnswer]:
        return self.where(Verdict.CANNOT_TEST)

    @property
    def not_reviewed(self) -> list[FeatureAnswer]:
        return self.where(NOT_REVIEWED)

    def services(self) -> list[FeatureAnswer]:
        """The features the 20 services decide (the Services Provision part)."""
        return [a for a in self.answers if a.indicator.judged == "services"]

    def coverage_rows(self) -> list[tuple[str, dict[str, int], int]]:
        """Per way of judging (auto, review, services): counts per state and the total."""
        counts = self.score.coverage.counts
        rows = []
        for judged in JUDGED_ORDER:
            total = self.score.coverage.total(judged)
            if total:
                rows.append((judged, {str(s): counts.get((judged, str(s)), 0) for s in STATES},
                             total))
        return rows

    def file(self, lang: Lang) -> str:
        return f"{UNITS_DIR}/{self.code}-losi{lang.suffix}.html"

    def bars(self, lang: Lang) -> Markup:
        """Points per criterion / sub-index as an inline SVG (shares of the points testable)."""
        return charts.hbar_chart(
            [charts.Bar(lang.pick(g.group, "name"), g.score.share or 0.0,
                        text=lang.t("survey.bar", earned=lang.num(g.score.earned, 0),
                                    possible=lang.num(g.score.possible, 0),
                                    share=lang.pct(g.score.share))
                        if g.score.share is not None else lang.t("survey.bar_none"))
             for g in self.groups],
            title=lang.t(f"survey.chart.{self.iset.id}", name=self.name(lang)),
            max_value=1.0)


@dataclass
class SurveySet:
    iset: IndicatorSet
    units: dict[str, SurveyUnit] = field(default_factory=dict)

    def ranked(self) -> list[SurveyUnit]:
        """By rank (units with nothing scored last), then code."""
        return sorted(self.units.values(),
                      key=lambda u: (u.ranked.rank is None, u.ranked.rank or 0, u.code))


@dataclass
class SurveyModel:
    sets: dict[str, SurveySet]  # only the sets the run has answers for

    @property
    def gathered(self) -> bool:
        return bool(self.sets)

    @property
    def losi(self) -> SurveySet | None:
        return self.sets.get("losi")

    @property
    def osq(self) -> SurveyUnit | None:
        s = self.sets.get("osq")
        return s.units.get(NATIONAL_UNIT) if s else None

    def losi_page(self, unit_code: str) -> SurveyUnit | None:
        return self.losi.units.get(unit_code) if self.losi else None


def _safe_href(url: str) -> str | None:
    return url if url.startswith(("http://", "https://")) else None


def _feature(ind: Indicator, row: Mapping[str, Any] | None) -> FeatureAnswer:
    if row is None:  # no stored answer: as score_unit counts an absent id
        state = NOT_REVIEWED if ind.judged == "review" else Verdict.CANNOT_TEST
        return FeatureAnswer(ind, str(state), "", "", (), stored=False)
    return FeatureAnswer(ind, str(row["verdict"]), row.get("reason") or "",
                         row.get("detail") or "", tuple(str(u) for u in row.get("urls") or []),
                         row.get("detector") or "")


def _unit_view(iset: IndicatorSet, code: str, unit: Unit | None, ranked: Ranked,
               rows: Mapping[str, Mapping[str, Any]]) -> SurveyUnit:
    answers = [_feature(ind, rows.get(ind.id)) for ind in iset.indicators]
    by_group: dict[str, list[FeatureAnswer]] = defaultdict(list)
    into = {g.id: g.score_with or g.id for g in iset.groups}
    for a in answers:
        by_group[into[a.indicator.group]].append(a)
    groups = [GroupView(g, ranked.score.groups[g.id],
                        tuple(m for m in iset.groups if m.score_with == g.id),
                        tuple(by_group[g.id]))
              for g in iset.groups if not g.score_with]
    return SurveyUnit(iset, code, unit, ranked, groups, answers)


def build_survey(rows: Iterable[IndicatorAnswerRow], indicators: Indicators | None,
                 rubric: Rubric, config: ScoringConfig = DEFAULT_CONFIG) -> SurveyModel:
    """The survey part of a report from a run's stored answers (empty without answers)."""
    rows = list(rows)
    if indicators is None or not rows:
        return SurveyModel({})
    scores = {k: v for k, v in survey_scores(indicators, rows, config).items() if v}
    stored: dict[tuple[str, str], dict[str, Mapping[str, Any]]] = defaultdict(dict)
    for r in rows:
        stored[(r["indicator_set"], r["unit_code"])][r["indicator_id"]] = r
    units = {u.code: u for u in rubric.units}
    sets: dict[str, SurveySet] = {}
    for set_id, ranked in scores.items():
        iset = indicators.sets[set_id]
        sets[set_id] = SurveySet(iset, {
            code: _unit_view(iset, code, units.get(code), r, stored[(set_id, code)])
            for code, r in ranked.items()})
    return SurveyModel(sets)


def load_survey(db: sqlite_utils.Database, run_id: int, indicators: Indicators | None,
                rubric: Rubric, config: ScoringConfig = DEFAULT_CONFIG,
                rubric_version: str | None = None) -> SurveyModel:
    """`build_survey` over the run's stored answers (its current rubric version by default)."""
    return build_survey(store.load_indicator_answers(db, run_id, rubric_version), indicators,
                        rubric, config)
