"""The results database: runs, raw responses, evidence and verdicts (SQLite via sqlite-utils).

Evidence is committed as it arrives (WAL mode), so a run that dies keeps what it saw.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlite_utils

Migration = Callable[[sqlite_utils.Database], None]


def utcnow() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def sha256(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def _m001_initial(db: sqlite_utils.Database) -> None:
    db["runs"].create(
        {
            "id": int, "started_at": str, "finished_at": str, "status": str, "target": str,
            "rubric_version": str, "engine_version": str, "scenario": str, "stats": str,
            "note": str,
        },
        pk="id",
    )
    db["responses"].create({"sha256": str, "url": str, "body": bytes}, pk="sha256")
    db["evidence"].create(
        {
            "id": int, "run_id": int, "kind": str, "url": str, "method": str,
            "observed_at": str, "status": int, "sha256": str, "outcome": str, "reason": str,
            "procedure_code": str, "office_code": str, "data": str,
        },
        pk="id",
        foreign_keys=[("run_id", "runs", "id")],
    )
    db["evidence"].create_index(["run_id", "kind"])
    db["verdicts"].create(
        {
            "run_id": int, "unit_code": str, "unit_name": str, "unit_kind": str,
            "service_id": str, "criterion_id": str, "verdict": str, "reason": str,
            "rubric_version": str, "evidence_ids": str,
        },
        pk=("run_id", "unit_code", "service_id", "criterion_id"),
        foreign_keys=[("run_id", "runs", "id")],
    )


MIGRATIONS: list[tuple[str, Migration]] = [("001_initial", _m001_initial)]


def open_db(path: Path | str) -> sqlite_utils.Database:
    """Open (creating if needed) and migrate the results database."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    db = sqlite_utils.Database(path)
    db.conn.execute("PRAGMA busy_timeout = 30000")
    db.enable_wal()
    migrate(db)
    return db


def migrate(db: sqlite_utils.Database) -> list[str]:
    if "_migrations" not in db.table_names():
        db["_migrations"].create({"name": str, "applied_at": str}, pk="name")
    done = {row["name"] for row in db["_migrations"].rows}
    applied = []
    for name, step in MIGRATIONS:
        if name in done:
            continue
        with db.conn:
            step(db)
            db["_migrations"].insert({"name": name, "applied_at": utcnow()})
        applied.append(name)
    return applied


def start_run(db: sqlite_utils.Database, *, target: str, rubric_version: str,
              engine_version: str, scenario: str = "") -> int:
    table = db["runs"]
    table.insert({
        "started_at": utcnow(), "status": "running", "target": target,
        "rubric_version": rubric_version, "engine_version": engine_version,
        "scenario": scenario, "stats": "{}", "note": "",
    })
    return int(table.last_pk)


def finish_run(db: sqlite_utils.Database, run_id: int, status: str, note: str = "") -> None:
    db["runs"].update(run_id, {"finished_at": utcnow(), "status": status, "note": note})


def save_stats(db: sqlite_utils.Database, run_id: int, stats: dict[str, Any]) -> None:
    db["runs"].update(run_id, {"stats": json.dumps(stats, default=str, sort_keys=True)})


def get_run(db: sqlite_utils.Database, run_id: int | None = None) -> dict[str, Any] | None:
    """The given run, or the latest one."""
    if run_id is not None:
        rows = list(db["runs"].rows_where("id = ?", [run_id]))
    else:
        rows = list(db["runs"].rows_where(order_by="id desc", limit=1))
    return rows[0] if rows else None


def add_response(db: sqlite_utils.Database, url: str, body: bytes) -> str:
    digest = sha256(body)
    db["responses"].insert({"sha256": digest, "url": url, "body": body}, ignore=True)
    return digest


def add_evidence(db: sqlite_utils.Database, run_id: int, item: dict[str, Any]) -> int:
    row = dict(item)
    row["run_id"] = run_id
    row["data"] = json.dumps(row.get("data") or {}, ensure_ascii=False, sort_keys=True)
    table = db["evidence"]
    table.insert(row, alter=False)
    return int(table.last_pk)


def load_evidence(db: sqlite_utils.Database, run_id: int) -> list[dict[str, Any]]:
    rows = []
    for row in db["evidence"].rows_where("run_id = ?", [run_id], order_by="id"):
        row["data"] = json.loads(row["data"] or "{}")
        rows.append(row)
    return rows


VERDICT_KEYS = ("unit_code", "unit_name", "unit_kind", "service_id", "criterion_id",
                "verdict", "reason")


def save_verdicts(db: sqlite_utils.Database, run_id: int, rubric_version: str,
                  verdicts: Iterable[dict[str, Any]]) -> int:
    rows = [
        {**{k: v[k] for k in VERDICT_KEYS}, "run_id": run_id, "rubric_version": rubric_version,
         "evidence_ids": json.dumps(v.get("evidence_ids", []))}
        for v in verdicts
    ]
    with db.conn:
        db.execute("DELETE FROM verdicts WHERE run_id = ?", [run_id])
        db["verdicts"].insert_all(rows)
    return len(rows)


def load_verdicts(db: sqlite_utils.Database, run_id: int) -> list[dict[str, Any]]:
    rows = []
    for row in db["verdicts"].rows_where("run_id = ?", [run_id]):
        row["evidence_ids"] = json.loads(row["evidence_ids"] or "[]")
        rows.append(row)
    return rows
