"""No data lost (issue 6): `kill -9` of a running nightly audit, whole process tree at once.

The database must stay intact, keep every evidence row committed before the kill, show the
killed run as incomplete (never complete, never "running" for ever), and the next nightly on
the same database must complete with verdicts equal to the scenario's truth."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from app.cli import main
from core import store
from core.rubric import load_rubric
from replica.scenario import load_scenario
from replica.truth import expected_verdicts

pytestmark = [pytest.mark.slow, pytest.mark.browser]

PROJECT = Path(__file__).resolve().parents[1]
SMALL = PROJECT / "replica" / "scenarios" / "small.yaml"
DEADLINE = 120.0  # seconds; a small audit takes ~30 s on 2 cores


def wait_for(condition: Callable[[], bool], what: str, proc: subprocess.Popen, log: Path,
             timeout: float = DEADLINE) -> None:
    """Poll `condition` until true; fail (not hang) at the deadline or if `proc` ends first."""
    end = time.monotonic() + timeout
    while not condition():
        tail = log.read_text(errors="replace")[-3000:]
        if proc.poll() is not None:
            pytest.fail(f"the audit ended (exit {proc.returncode}) before {what}:\n{tail}")
        if time.monotonic() > end:
            pytest.fail(f"timed out waiting for {what}:\n{tail}")
        time.sleep(0.05)


def read_only(db_path: Path, sql: str) -> list[tuple]:
    """Query without taking part in the writer's transactions; [] while the schema is new."""
    if not db_path.exists():
        return []
    try:
        with sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=5) as conn:
            return conn.execute(sql).fetchall()
    except sqlite3.OperationalError:  # not created or migrated yet
        return []


def descendants(pid: int) -> list[int]:
    """Every process below `pid` (Linux /proc), e.g. the crawler and its Chromium, which
    Playwright starts in a session of its own (so killpg alone would miss it)."""
    found, todo = [], [pid]
    while todo:
        for task in Path(f"/proc/{todo.pop()}/task").glob("*/children"):
            try:
                kids = [int(p) for p in task.read_text().split()]
            except OSError:
                continue
            found += kids
            todo += kids
    return found


def kill_tree(proc: subprocess.Popen) -> None:
    """SIGKILL the audit's process group and every descendant, like a power cut."""
    tree = descendants(proc.pid)
    os.killpg(proc.pid, signal.SIGKILL)
    for pid in tree:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    proc.wait(timeout=30)


def portal_rows(db_path: Path) -> list[int]:
    """Ids of the provincial crawl's evidence: it writes them over several seconds."""
    return [r[0] for r in read_only(db_path, "SELECT id FROM evidence WHERE kind LIKE 'portal%'")]


@pytest.fixture(scope="module")
def killed(tmp_path_factory: pytest.TempPathFactory) -> dict:
    out = tmp_path_factory.mktemp("crash") / "results"
    db_path = out / "audit.db"
    cmd = [sys.executable, "-m", "app.cli", "nightly", "--scenario", str(SMALL),
           "--out", str(out), "--quiet"]
    log = out.parent / "audit.log"
    with log.open("wb") as fh:
        proc = subprocess.Popen(cmd, cwd=PROJECT, start_new_session=True, stdout=fh,
                                stderr=subprocess.STDOUT)
    try:  # kill mid-crawl: the national evidence is in, the provincial is being written
        wait_for(lambda: len(portal_rows(db_path)) >= 3, "provincial evidence rows", proc, log)
        seen = read_only(db_path, "SELECT id, kind, url FROM evidence ORDER BY id")
    finally:
        if proc.poll() is None:
            kill_tree(proc)
    assert proc.returncode == -signal.SIGKILL, "the audit finished before it could be killed"
    return {"out": out, "db": db_path, "seen": seen}


def test_the_database_survives_kill_9_intact(killed: dict) -> None:
    conn = sqlite3.connect(killed["db"])
    assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    assert conn.execute("PRAGMA foreign_key_check").fetchall() == []


def test_evidence_committed_before_the_kill_is_kept(killed: dict) -> None:
    rows = set(read_only(killed["db"], "SELECT id, kind, url FROM evidence"))
    assert killed["seen"] and set(killed["seen"]) <= rows
    kinds = {kind for _, kind, _ in killed["seen"]}
    assert "catalogue" in kinds and "procedure_detail" in kinds  # the national crawl's


def test_the_killed_run_is_listed_as_incomplete(killed: dict) -> None:
    raw = read_only(killed["db"], "SELECT status, owner FROM runs WHERE id = 1")
    assert raw and raw[0][0] == "running"  # as the dead process left it
    listing = CliRunner().invoke(main, ["history", "--out", str(killed["out"]), "--json"],
                                 catch_exceptions=False)
    assert listing.exit_code == 0, listing.output
    run = next(r for r in json.loads(listing.output) if r["id"] == 1)
    assert run["status"] == "incomplete" and "interrupted" in run["note"]


def test_the_next_nightly_completes_with_the_true_verdicts(killed: dict) -> None:
    result = CliRunner().invoke(main, ["nightly", "--scenario", str(SMALL), "--out",
                                       str(killed["out"]), "--quiet"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    db = store.open_db(killed["db"])
    latest = store.get_run(db)
    assert latest is not None and latest["status"] == "complete"
    assert db["runs"].get(1)["status"] == "incomplete"  # never counted as complete
    got = {(v["unit_code"], v["service_id"], v["criterion_id"]): (v["verdict"], v["reason"])
           for v in store.load_verdicts(db, latest["id"])}
    truth = expected_verdicts(load_scenario(SMALL), load_rubric())
    assert got == truth
    assert sqlite3.connect(killed["db"]).execute("PRAGMA integrity_check").fetchone() == ("ok",)


def test_a_running_row_of_a_dead_process_is_reaped(tmp_path: Path) -> None:
    """Unit check of the owner stamp: a live owner is left alone, a dead one (even with its pid
    reused) is marked incomplete; a row of another host is never touched."""
    db = store.open_db(tmp_path / "audit.db")
    alive, dead, reused, other = (store.start_run(db, target="t", rubric_version="v",
                                                  engine_version="e") for _ in range(4))
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    host, pid, _ticks = store.owner_tag().split()
    db["runs"].update(dead, {"owner": f"{host} {gone.pid}"})
    db["runs"].update(reused, {"owner": f"{host} {pid} 1"})  # our pid, another start time
    db["runs"].update(other, {"owner": f"elsewhere.example {gone.pid} 1"})
    assert sorted(store.reap_dead_runs(db)) == [dead, reused]
    status = {r["id"]: r["status"] for r in db["runs"].rows}
    assert "interrupted" in db["runs"].get(dead)["note"]
    assert status == {alive: "running", dead: "incomplete", reused: "incomplete",
                      other: "running"}
