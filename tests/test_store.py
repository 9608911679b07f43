"""The results database: migrations, runs, evidence and verdicts round-trip."""

from __future__ import annotations

import multiprocessing
from pathlib import Path
from typing import Any

import pytest

from core import store


def test_open_migrates_once_and_uses_wal(tmp_path: Path) -> None:
    db = store.open_db(tmp_path / "a.db")
    assert {"runs", "evidence", "responses", "verdicts", "_migrations"} <= set(db.table_names())
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert store.migrate(db) == []
    assert [r["name"] for r in db["_migrations"].rows] == [n for n, _ in store.MIGRATIONS]


def test_run_lifecycle_and_latest(tmp_path: Path) -> None:
    db = store.open_db(tmp_path / "a.db")
    first = store.start_run(db, target="http://127.0.0.1:1", rubric_version="v1",
                            engine_version="0.1.0")
    second = store.start_run(db, target="http://127.0.0.1:1", rubric_version="v2",
                             engine_version="0.1.0")
    store.finish_run(db, first, "complete")
    assert store.get_run(db)["id"] == second
    run = store.get_run(db, first)
    assert run["status"] == "complete" and run["finished_at"] and run["rubric_version"] == "v1"
    assert store.get_run(db, 999) is None


def test_evidence_round_trip_keeps_vietnamese_text(tmp_path: Path) -> None:
    db = store.open_db(tmp_path / "a.db")
    run = store.start_run(db, target="t", rubric_version="v", engine_version="e")
    digest = store.add_response(db, "http://x", "Đăng ký khai sinh".encode())
    assert store.add_response(db, "http://x", "Đăng ký khai sinh".encode()) == digest
    store.add_evidence(db, run, {"kind": "procedure", "url": "http://x", "method": "POST",
                                 "observed_at": store.utcnow(), "status": 201, "sha256": digest,
                                 "outcome": "ok", "reason": "", "procedure_code": "1.001193",
                                 "office_code": "", "data": {"name": "Đăng ký khai sinh"}})
    [row] = store.load_evidence(db, run)
    assert row["data"] == {"name": "Đăng ký khai sinh"}
    assert db["responses"].get(digest)["body"].decode() == "Đăng ký khai sinh"


def test_verdicts_are_replaced_not_duplicated(tmp_path: Path) -> None:
    db = store.open_db(tmp_path / "a.db")
    run = store.start_run(db, target="t", rubric_version="v", engine_version="e")
    verdict = {"unit_code": "01", "unit_name": "Thành phố Hà Nội", "unit_kind": "province",
               "service_id": "s", "criterion_id": "c", "verdict": "met", "reason": ""}
    store.save_verdicts(db, run, "v", [verdict])
    store.save_verdicts(db, run, "v", [{**verdict, "verdict": "not_met"}])
    [row] = store.load_verdicts(db, run)
    assert row["verdict"] == "not_met" and row["rubric_version"] == "v"


def _open_each(paths: list[str], together: Any) -> None:
    for path in paths:
        together.wait(30)  # all openers at once, for each new database
        store.open_db(path).conn.close()


@pytest.mark.slow  # 20 databases, 4 processes
def test_processes_opening_a_new_database_at_once_migrate_it_once(tmp_path: Path) -> None:
    """A report or a test opening the results while the nightly job creates them: each opener
    either migrates or waits for the one that does (the second used to fail half way through,
    "duplicate column name")."""
    ctx = multiprocessing.get_context("spawn")
    paths = [str(tmp_path / f"audit-{i}.db") for i in range(20)]
    together = ctx.Barrier(4)
    openers = [ctx.Process(target=_open_each, args=(paths, together)) for _ in range(4)]
    for p in openers:
        p.start()
    for p in openers:
        p.join(120)
    assert [p.exitcode for p in openers] == [0, 0, 0, 0]
    for path in paths:
        names = [r["name"] for r in store.open_db(path)["_migrations"].rows]
        assert names == [name for name, _ in store.MIGRATIONS]


def test_findings_are_kept_per_rubric_version(tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "a.db"
    before = [(n, m) for n, m in store.MIGRATIONS if n != "005_findings_by_version"]
    monkeypatch.setattr(store, "MIGRATIONS", before)
    db = store.open_db(path)  # a database of before migration 005, with a finding
    run = store.start_run(db, target="http://127.0.0.1:1", rubric_version="v1",
                          engine_version="0.1.0")
    db["findings"].insert({"run_id": run, "unit_code": "79", "service_id": "s", "kind": "k",
                           "national": "FULL", "portal": "info", "detail": "",
                           "evidence_ids": "[1]"})
    monkeypatch.undo()
    db = store.open_db(path)
    assert [f["rubric_version"] for f in store.load_findings(db, run)] == ["v1"]
    store.save_findings(db, run, [{"unit_code": "01", "service_id": "s", "kind": "k"}], "v2")
    db["runs"].update(run, {"rubric_version": "v2"})  # as re-scoring under v2 leaves it
    assert [f["unit_code"] for f in store.load_findings(db, run)] == ["01"]
    assert [f["unit_code"] for f in store.load_findings(db, run, "v1")] == ["79"]
    store.save_findings(db, run, [])  # replaces the current set's only
    assert store.load_findings(db, run) == [] and len(store.load_findings(db, run, "v1")) == 1
