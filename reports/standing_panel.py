"""The dashboard's "standing" panel (issue 7): Vietnam's UN figures now, and an ESTIMATE of
where it would stand if every gap of the top-N services were closed.

Only glue: the UN data and the what-if come from audits.standing, the bridge from verdicts to
an OSI rise from ``standing.bridge_estimate`` (its weights are UNCONFIRMED rubric data). The
top-N services are those with the most points missing across all units (ties: annex order).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from audits import standing
from core.rubric import Service

if TYPE_CHECKING:
    from reports.report import ReportModel

TOP_NS = (1, 3, 5, 10, 20)


@dataclass(frozen=True)
class StandingRow:
    n: int  # the top-n services whose gaps are closed
    services: tuple[Service, ...]
    gaps: int
    estimate: standing.BridgeEstimate
    what_if: standing.WhatIf

    @property
    def places(self) -> int:
        """EGDI places gained (positive = up)."""
        return self.what_if.before.egdi_rank - self.what_if.after.egdi_rank

    @property
    def osi_places(self) -> int:
        return self.what_if.before.osi_rank - self.what_if.after.osi_rank


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


def build_panel(un_data: Path, model: ReportModel, country: str | None = None,
                top_ns: tuple[int, ...] = TOP_NS,
                config_path: Path = standing.STANDING_YAML) -> StandingPanel:
    """Raises standing.StandingDataError (naming the file and problem) for a bad UN file."""
    cfg = standing.load_standing_config(config_path)
    ed = standing.load_un_data(un_data)
    row = ed.row(country or cfg.default_country)
    services = ranked_services(model)
    all_ids = [s.id for s in model.rubric.services]
    rows = []
    for n in sorted({min(n, len(services)) for n in top_ns if n > 0} - {0}):
        chosen = tuple(services[:n])
        ids = {s.id for s in chosen}
        gaps = [(v["unit_code"], v["service_id"], v["criterion_id"]) for v in model.verdicts
                if v["verdict"] == "not_met" and v["service_id"] in ids]
        est = standing.bridge_estimate(model.verdicts, gaps, cfg.features, cfg.sp_weight,
                                       cfg.factor, services=all_ids)
        rows.append(StandingRow(n, chosen, len(gaps), est,
                                standing.what_if(ed, row.country, est.d_osi, cfg.asean)))
    now = standing.what_if(ed, row.country, 0.0, cfg.asean)
    return StandingPanel(
        file=Path(un_data).name, year=ed.year, country=row.country, countries=len(ed.rows),
        published_rank=row.egdi_rank, tii=row.tii, hci=row.hci, now=now.before,
        asean_size=now.asean_size, rows=tuple(rows), config=cfg,
        check_ok=standing.check_edition(ed).ok, notes=tuple(ed.notes))
