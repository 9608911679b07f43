"""Verdicts of a stored run -> gap report (HTML via templates/) and the verdicts CSV."""

from __future__ import annotations

import csv
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
import sqlite_utils

from audits import scoring, store
from audits.rubric import Rubric, Service, Unit

TEMPLATES_DIR = Path(__file__).resolve().parents[1] / "templates"
CSV_COLUMNS = ("unit_code", "unit_name", "unit_kind", "service_id", "service_annex_no",
               "criterion_id", "verdict", "reason", "run_id", "rubric_version")

# Matrix cell states, from best to worst; the label is what a reader sees.
CELL_LABELS = {
    "full": "Toàn trình", "partial": "Một phần", "listed": "Chỉ thông tin",
    "none": "Chưa cung cấp", "cannot": "Không kiểm tra được", "na": "—",
}


@dataclass
class Gap:
    service: Service
    criterion_id: str
    title: str
    remediation: str
    legal_basis: str
    responsible: str
    deadline: str


def cell_state(by_criterion: dict[str, dict[str, Any]]) -> str:
    """Level reached by a unit for a service, from its verdicts."""
    verdicts = {c: v["verdict"] for c, v in by_criterion.items()}
    if all(v == "not_applicable" for v in verdicts.values()):
        return "na"
    if verdicts.get("level4_full") == "met":
        return "full"
    if verdicts.get("level3_partial") == "met":
        return "partial"
    if verdicts.get("offered_online") == "met":
        return "listed"
    level_keys = ("offered_online", "level3_partial", "level4_full")
    if any(verdicts.get(k) == "cannot_test" for k in level_keys):
        return "cannot"
    return "none"


def responsible(service: Service, unit: Unit) -> str:
    """Who must close a gap: the annex's ministries, and the province's People's Committee."""
    parts = list(service.ministries)
    if unit.kind == "province":
        parts.append(f"UBND {unit.name}")
    return "; ".join(parts)


def build_context(rubric: Rubric, run: dict[str, Any],
                  verdicts: list[dict[str, Any]]) -> dict[str, Any]:
    grid: dict[tuple[str, str], dict[str, dict[str, Any]]] = defaultdict(dict)
    for v in verdicts:
        grid[(v["unit_code"], v["service_id"])][v["criterion_id"]] = v
    gaps: dict[str, list[Gap]] = defaultdict(list)
    for v in verdicts:
        if v["verdict"] != "not_met":
            continue
        unit, service = rubric.unit(v["unit_code"]), rubric.service(v["service_id"])
        crit = rubric.criterion(v["criterion_id"])
        gaps[unit.code].append(Gap(service, crit.id, crit.title_vi, crit.remediation_vi,
                                   crit.legal_basis, responsible(service, unit),
                                   service.annex_deadline))
    cells = {key: cell_state(by_c) for key, by_c in grid.items()}
    config = scoring.load_scoring_config()
    board = scoring.score_run(verdicts, scoring.weights_from_rubric(rubric), config)
    units = [u for u in rubric.units if any(cells.get((u.code, s.id), "na") != "na"
                                             for s in rubric.services)]
    return {
        "run": run, "rubric": rubric, "units": units, "services": rubric.services,
        "cells": cells, "labels": CELL_LABELS, "gaps": gaps,
        "cannot": Counter((v["criterion_id"], v["reason"]) for v in verdicts
                          if v["verdict"] == "cannot_test"),
        "scores": {u.unit_code: u for u in board.units()},
        "board": board, "group_labels": {g.id: g.label_vi for g in config.groups},
        "totals": Counter(v["verdict"] for v in verdicts),
        "cell_totals": Counter(cells.values()),
    }


def environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES_DIR),
        autoescape=jinja2.select_autoescape(("html", "j2")),
        undefined=jinja2.StrictUndefined,
    )


def render_html(context: dict[str, Any]) -> str:
    return environment().get_template("report.html.j2").render(**context)


def write_csv(path: Path, rubric: Rubric, run: dict[str, Any],
              verdicts: list[dict[str, Any]]) -> None:
    order = {s.id: s.annex_no for s in rubric.services}
    rows = sorted(verdicts, key=lambda v: (v["unit_kind"], v["unit_code"],
                                           order[v["service_id"]], v["criterion_id"]))
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=CSV_COLUMNS, extrasaction="ignore")
        writer.writeheader()
        for v in rows:
            writer.writerow({**v, "service_annex_no": order[v["service_id"]],
                             "run_id": run["id"], "rubric_version": run["rubric_version"]})


def write_reports(db: sqlite_utils.Database, rubric: Rubric, out_dir: Path,
                  run_id: int | None = None) -> dict[str, Path]:
    """Render the reports of a stored run (the latest by default) into `out_dir`."""
    run = store.get_run(db, run_id)
    if run is None:
        raise LookupError("no run in the database" if run_id is None else f"no run {run_id}")
    verdicts = store.load_verdicts(db, run["id"])
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {"html": out_dir / "report.html", "csv": out_dir / "verdicts.csv"}
    paths["html"].write_text(render_html(build_context(rubric, run, verdicts)), encoding="utf-8")
    write_csv(paths["csv"], rubric, run, verdicts)
    return paths
