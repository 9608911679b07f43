"""The dashboard's "standing" panel (issue 7): Vietnam's UN figures now, and an ESTIMATE of
where it would stand if every gap of the top-N services were closed.

Only glue: the UN data and the what-if come from audits.standing, the bridge from verdicts to
an OSI rise from ``standing.bridge_estimate`` (its weights are UNCONFIRMED rubric data). The
top-N services are those with the most points missing across all units (ties: annex order).

With the run's UN survey answers (issue 18) the panel uses the fuller national estimate: the
OSQ share over every sub-index measured so far (`standing.survey_estimate`), saying what share
of the OSQ is measured; each top-N row then also has the OSQ what-if (`survey`,
`survey_what_if`; `chosen` is the one to show) and `survey_all` closes every OSQ feature found
missing. A run without answers (judged before issue 18) keeps the 20-service bridge alone
(`basis` "services": services only).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from audits import standing
from core import store
from core.indicators import IndicatorSet, read_indicators
from core.rubric import RUBRIC_DIR, Service
from core.sqlite import sqlite_utils
from core.vocab import Verdict

if TYPE_CHECKING:
    from reports.report import ReportModel

TOP_NS = (1, 3, 5, 10, 20)


@dataclass(frozen=True)
class StandingRow:
    n: int  # the top-n services whose gaps are closed
    services: tuple[Service, ...]
    gaps: int
    estimate: standing.BridgeEstimate  # the 20-service bridge (services only)
    what_if: standing.WhatIf  # ... and where its d would take the country
    survey: standing.SurveyEstimate | None = None  # the OSQ what-if of the same gaps
    survey_what_if: standing.WhatIf | None = None

    @property
    def basis(self) -> str:
        """"survey": the fuller OSQ estimate; "services": the 20-service bridge only."""
        return "survey" if self.survey_what_if is not None else "services"

    @property
    def chosen(self) -> standing.WhatIf:
        """The what-if to show: the OSQ estimate when the run has survey answers."""
        return self.survey_what_if or self.what_if

    @property
    def d_osi(self) -> float:
        return self.survey.d_osi if self.survey is not None else self.estimate.d_osi

    @property
    def places(self) -> int:
        """EGDI places gained (positive = up), by the bridge (services only)."""
        return self.what_if.before.egdi_rank - self.what_if.after.egdi_rank

    @property
    def osi_places(self) -> int:
        return self.what_if.before.osi_rank - self.what_if.after.osi_rank

    @property
    def chosen_places(self) -> int:
        return self.chosen.before.egdi_rank - self.chosen.after.egdi_rank


@dataclass(frozen=True)
class SurveyRow:
    """ESTIMATE: every OSQ feature found missing (not_met) met; untested ones stay out."""

    estimate: standing.SurveyEstimate
    what_if: standing.WhatIf

    @property
    def places(self) -> int:
        return self.what_if.before.egdi_rank - self.what_if.after.egdi_rank


@dataclass(frozen=True)
class StandingPanel:
    file: str
    year: int | None
    country: str
    countries: int
    published_rank: int
    tii: float
    hci: float
    now: standing.Position
    asean_size: int
    rows: tuple[StandingRow, ...]
    config: standing.StandingConfig
    check_ok: bool
    notes: tuple[str, ...]
    survey: standing.SurveyEstimate | None = None  # the OSQ now: share, measured share
    survey_all: SurveyRow | None = None  # every OSQ gap closed

    @property
    def basis(self) -> str:
        """"survey" (OSQ, all sub-indices measured so far) or "services" (services only)."""
        return "survey" if self.survey is not None else "services"


def missing_points(model: ReportModel) -> dict[str, float]:
    """Points missing per service across all units (the weights of its not_met answers)."""
    out: dict[str, float] = defaultdict(float)
    for v in model.verdicts:
        if v["verdict"] == "not_met":
            out[v["service_id"]] += model.weights[v["criterion_id"]]
    return dict(out)


def ranked_services(model: ReportModel) -> list[Service]:
    missing = missing_points(model)
    services = [s for s in model.rubric.services if missing.get(s.id, 0) > 0]
    return sorted(services, key=lambda s: (-missing[s.id], s.annex_no))


def survey_inputs(db: sqlite_utils.Database, run_id: int,
                  rubric_dir: Path = RUBRIC_DIR) -> dict[str, Any]:
    """build_panel's `osq` and `answers` for a stored run ({} without indicators: the panel
    then keeps the 20-service bridge): `build_panel(un, model, **survey_inputs(db, run))`."""
    indicators = read_indicators(Path(rubric_dir))[0]
    if indicators is None or "osq" not in indicators.sets:
        return {}
    return {"osq": indicators.sets["osq"], "answers": store.load_indicator_answers(db, run_id)}


def _closed(verdicts: Iterable[Mapping[str, Any]],
            gaps: Iterable[tuple[str, str, str]]) -> list[Mapping[str, Any]]:
    shut = set(gaps)
    return [{**v, "verdict": Verdict.MET} if (v["unit_code"], v["service_id"], v["criterion_id"])
            in shut else v for v in verdicts]


def build_panel(un_data: Path, model: ReportModel, country: str | None = None,
                top_ns: tuple[int, ...] = TOP_NS,
                config_path: Path = standing.STANDING_YAML, *,
                osq: IndicatorSet | None = None,
                answers: Iterable[Mapping[str, Any]] = ()) -> StandingPanel:
    """Raises standing.StandingDataError (naming the file and problem) for a bad UN file.
    `osq` and `answers` (the run's stored indicator answers, core.store
    load_indicator_answers): the fuller OSQ estimate; without national answers, services only."""
    cfg = standing.load_standing_config(config_path)
    ed = standing.load_un_data(un_data)
    row = ed.row(country or cfg.default_country)
    services = ranked_services(model)
    all_ids = [s.id for s in model.rubric.services]
    national = standing.national_answers(answers) if osq is not None else {}
    survey = standing.survey_estimate(osq, national, None, cfg.raw_range) if (
        osq is not None and national) else None
    rows = []
    for n in sorted({min(n, len(services)) for n in top_ns if n > 0} - {0}):
        chosen = tuple(services[:n])
        ids = {s.id for s in chosen}
        gaps = [(v["unit_code"], v["service_id"], v["criterion_id"]) for v in model.verdicts
                if v["verdict"] == "not_met" and v["service_id"] in ids]
        est = standing.bridge_estimate(model.verdicts, gaps, cfg.features, cfg.sp_weight,
                                       cfg.factor, services=all_ids)
        fuller = standing.survey_estimate(
            osq, national, standing.services_closed(osq, national, _closed(model.verdicts, gaps)),
            cfg.raw_range) if survey is not None and osq is not None else None
        rows.append(StandingRow(n, chosen, len(gaps), est,
                                standing.what_if(ed, row.country, est.d_osi, cfg.asean), fuller,
                                standing.what_if(ed, row.country, fuller.d_osi, cfg.asean)
                                if fuller else None))
    survey_all = None
    if survey is not None and osq is not None:
        every = standing.survey_estimate(osq, national, standing.every_gap_closed(national),
                                         cfg.raw_range)
        survey_all = SurveyRow(every, standing.what_if(ed, row.country, every.d_osi, cfg.asean))
    now = standing.what_if(ed, row.country, 0.0, cfg.asean)
    return StandingPanel(
        file=Path(un_data).name, year=ed.year, country=row.country, countries=len(ed.rows),
        published_rank=row.egdi_rank, tii=row.tii, hci=row.hci, now=now.before,
        asean_size=now.asean_size, rows=tuple(rows), config=cfg,
        check_ok=standing.check_edition(ed).ok, notes=tuple(ed.notes), survey=survey,
        survey_all=survey_all)
