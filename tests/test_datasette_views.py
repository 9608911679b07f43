"""Datasette views (issue 16 item 9, migration 007): what each view holds, on a hand-built
store. The Datasette server itself is tested in tests/test_datasette.py."""

from __future__ import annotations

import json
from pathlib import Path

import sqlite_utils

from core import store
from core.rubric import load_rubric
from reports.rubric_tables import save_rubric_texts

RUBRIC = load_rubric()


def _run(db: sqlite_utils.Database, status: str, version: str = RUBRIC.version) -> int:
    run_id = store.start_run(db, target="http://127.0.0.1", rubric_version=version,
                             engine_version="t")
    store.finish_run(db, run_id, status)
    return run_id


def _verdicts(db: sqlite_utils.Database, run_id: int, verdict: str,
              version: str = RUBRIC.version) -> None:
    s, c = RUBRIC.services[0], RUBRIC.criteria[0]
    store.save_verdicts(db, run_id, version, [
        {"unit_code": u.code, "unit_name": u.name, "unit_kind": u.kind, "service_id": s.id,
         "criterion_id": c.id, "verdict": verdict, "reason": "", "evidence_ids": [1]}
        for u in RUBRIC.units[:3]])


def _change(db: sqlite_utils.Database, run_id: int, version: str = RUBRIC.version) -> None:
    db["changes"].insert({"run_id": run_id, "base_run_id": run_id - 1, "rubric_version": version,
                          "unit_code": "01", "service_id": RUBRIC.services[0].id,
                          "criterion_id": RUBRIC.criteria[0].id, "change": "regression",
                          "before": "met", "after": "not_met", "known_before": "",
                          "reason": ""})


def test_views_hold_the_latest_complete_run_only(tmp_path: Path) -> None:
    db = store.open_db(tmp_path / "audit.db")
    assert {"current_verdicts", "province_gaps", "latest_changes"} <= set(db.view_names())
    old = _run(db, "complete")
    _verdicts(db, old, "met")
    _change(db, old)
    new = _run(db, "complete")
    _verdicts(db, new, "not_met")
    _verdicts(db, new, "met", version="other-version")  # not the run's current set
    db["runs"].update(new, {"rubric_version": RUBRIC.version})
    _run(db, "incomplete")  # never "current"
    rows = list(db["current_verdicts"].rows)
    assert {r["run_id"] for r in rows} == {new} and len(rows) == 3
    assert {r["verdict"] for r in rows} == {"not_met"}
    assert list(db["latest_changes"].rows) == []  # the older run's change is not "latest"
    _change(db, new)
    assert [(r["run_id"], r["change"]) for r in db["latest_changes"].rows] == [
        (new, "regression")]


def test_province_gaps_carry_fix_body_and_deadline(tmp_path: Path) -> None:
    db = store.open_db(tmp_path / "audit.db")
    run = _run(db, "complete")
    _verdicts(db, run, "not_met")
    assert save_rubric_texts(db, RUBRIC)
    s, c = RUBRIC.services[0], RUBRIC.criteria[0]
    provinces = [u for u in RUBRIC.units[:3] if u.kind == "province"]
    gaps = list(db["province_gaps"].rows)
    assert [g["unit_code"] for g in gaps] == [u.code for u in provinces] and gaps
    g = gaps[0]
    assert g["fix"] == c.remediation_vi and g["legal_basis"] == c.legal_basis
    assert g["deadline"] == s.annex_deadline and g["points"] == c.weight
    assert g["responsible_body"] == "; ".join([*s.ministries, f"UBND {provinces[0].name}"])
    assert json.loads(db.execute("SELECT evidence_ids FROM current_verdicts").fetchone()[0]) == [1]

