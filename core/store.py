"""The results database: runs, raw responses, evidence and verdicts (SQLite via sqlite-utils).

Evidence is committed as it arrives (WAL mode), so a run that dies keeps what it saw.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

from core.rows import (
    EvidenceItem,
    EvidenceRow,
    FindingRow,
    IndicatorAnswerRow,
    StoredFinding,
    StoredVerdict,
    VerdictRow,
)
from core.sqlite import sqlite_utils
from core.vocab import VERDICTS

try:
    import fcntl
except ImportError:  # Windows: database setup is not locked there
    fcntl = None  # type: ignore[assignment]

Migration = Callable[[sqlite_utils.Database], None]


TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"  # stored times (UTC): they compare as strings


def utc_at(timestamp: float) -> str:
    """A Unix time in the stored format."""
    return datetime.fromtimestamp(timestamp, UTC).strftime(TIME_FORMAT)


def utcnow() -> str:
    return utc_at(time.time())


def utc_before(seconds: float) -> str:
    """The time `seconds` ago, in the stored format."""
    return utc_at(time.time() - seconds)


def sha256(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def _m001_initial(db: sqlite_utils.Database) -> None:
    db.table("runs").create(
        {
            "id": int, "started_at": str, "finished_at": str, "status": str, "target": str,
            "rubric_version": str, "engine_version": str, "scenario": str, "stats": str,
            "note": str,
        },
        pk="id",
    )
    db.table("responses").create({"sha256": str, "url": str, "body": bytes}, pk="sha256")
    db.table("evidence").create(
        {
            "id": int, "run_id": int, "kind": str, "url": str, "method": str,
            "observed_at": str, "status": int, "sha256": str, "outcome": str, "reason": str,
            "procedure_code": str, "office_code": str, "data": str,
        },
        pk="id",
        foreign_keys=[("run_id", "runs", "id")],
    )
    db.table("evidence").create_index(["run_id", "kind"])
    db.table("verdicts").create(
        {
            "run_id": int, "unit_code": str, "unit_name": str, "unit_kind": str,
            "service_id": str, "criterion_id": str, "verdict": str, "reason": str,
            "rubric_version": str, "evidence_ids": str,
        },
        pk=("run_id", "unit_code", "service_id", "criterion_id"),
        foreign_keys=[("run_id", "runs", "id")],
    )


def _m002_portal_evidence(db: sqlite_utils.Database) -> None:
    """Provincial portals (issue 3): page evidence keeps the DOM's hash, an excerpt and a
    screenshot path; findings record where the national portal and a unit's portal disagree."""
    for column in ("screenshot", "excerpt", "html_sha256"):
        db.table("evidence").add_column(column, str)
    db.table("findings").create(
        {"id": int, "run_id": int, "unit_code": str, "service_id": str, "kind": str,
         "national": str, "portal": str, "detail": str, "evidence_ids": str},
        pk="id", foreign_keys=[("run_id", "runs", "id")])
    db.table("findings").create_index(["run_id"])


def save_findings(db: sqlite_utils.Database, run_id: int, findings: Iterable[FindingRow],
                  rubric_version: str | None = None) -> int:
    """Replace the run's findings (audits.evaluate.findings) under `rubric_version` (default:
    the run's current set): they depend on the rubric, as verdicts do."""
    version = _version_of(db, run_id, rubric_version)
    rows = [{"run_id": run_id, "rubric_version": version, "unit_code": f["unit_code"],
             "service_id": f["service_id"], "kind": f["kind"], "national": f.get("national", ""),
             "portal": f.get("portal", ""), "detail": f.get("detail", ""),
             "evidence_ids": json.dumps(f.get("evidence_ids", []))}
            for f in findings]
    return _replace_run_rows(db, "findings", run_id, version, rows)


def _replace_run_rows(db: sqlite_utils.Database, table: str, run_id: int, version: str,
                      rows: list[dict[str, Any]]) -> int:
    """A run's rows of `table` judged under `version`, replaced in one transaction (a rescore
    under the same rubric version overwrites them)."""
    with db.conn:
        db.execute(f"DELETE FROM {table} WHERE run_id = ? AND rubric_version = ?",
                   [run_id, version])
        if rows:
            db.table(table).insert_all(rows)
    return len(rows)


def _version_of(db: sqlite_utils.Database, run_id: int, rubric_version: str | None) -> str:
    if rubric_version is not None:
        return rubric_version
    run = get_run(db, run_id)
    return run["rubric_version"] if run else ""


def load_findings(db: sqlite_utils.Database, run_id: int,
                  rubric_version: str | None = None) -> list[StoredFinding]:
    """The run's findings under `rubric_version` (default: the run's current set)."""
    rows: list[StoredFinding] = []
    for row in db.table("findings").rows_where("run_id = ? AND rubric_version = ?",
                                         [run_id, _version_of(db, run_id, rubric_version)],
                                         order_by="id"):
        row["evidence_ids"] = json.loads(row["evidence_ids"] or "[]")
        rows.append(cast(Any, row))
    return rows


MIGRATIONS: list[tuple[str, Migration]] = [("001_initial", _m001_initial),
                                           ("002_portal_evidence", _m002_portal_evidence)]


def open_db(path: Path | str) -> sqlite_utils.Database:
    """Open (creating if needed) and migrate the results database."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    db = sqlite_utils.Database(path)
    db.conn.execute("PRAGMA busy_timeout = 30000")
    with _setup_lock(path):
        db.enable_wal()
        migrate(db)
    # In WAL mode NORMAL loses nothing a process crash (kill -9) could: a commit is in the WAL
    # file at once; only the fsync per commit goes (an OS crash may lose the last commits).
    db.conn.execute("PRAGMA synchronous = NORMAL")
    return db


@contextmanager
def _setup_lock(path: Path) -> Iterator[None]:
    """One process at a time switches a database to WAL and migrates it: another may be doing
    so on the same new file (a report opened while the nightly job creates it), and SQLite
    refuses rather than waits when both change the schema. The second finds the work done."""
    try:
        lock = open(f"{path}-setup.lock", "a") if fcntl else None  # noqa: SIM115 - with below
    except OSError:  # a read-only results folder: reading needs no setup, as before
        lock = None
    if lock is None:  # or no flock (Windows): as before
        yield
        return
    with lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        yield


def migrate(db: sqlite_utils.Database) -> list[str]:
    if "_migrations" not in db.table_names():
        db.table("_migrations").create({"name": str, "applied_at": str}, pk="name")
    done = {row["name"] for row in db.table("_migrations").rows}
    applied = []
    for name, step in MIGRATIONS:
        if name in done:
            continue
        with db.conn:
            step(db)
            db.table("_migrations").insert({"name": name, "applied_at": utcnow()})
        applied.append(name)
    return applied


def start_run(db: sqlite_utils.Database, *, target: str, rubric_version: str,
              engine_version: str, scenario: str = "") -> int:
    reap_dead_runs(db)  # runs whose process died (kill -9, power loss) never stay "running"
    table = db.table("runs")
    row = {"started_at": utcnow(), "status": "running", "target": target,
           "rubric_version": rubric_version, "engine_version": engine_version,
           "scenario": scenario, "stats": "{}", "note": ""}
    if "owner" in table.columns_dict:  # absent only while an old database is being migrated
        row["owner"] = owner_tag()
    table.insert(row)
    return cast(int, table.last_pk)


def claim_run(db: sqlite_utils.Database, run_id: int, note: str = "") -> None:
    """Mark an existing run (e.g. a resumed one) as running in this process."""
    db.table("runs").update(run_id, {"status": "running", "note": note, "owner": owner_tag()})


def _start_ticks(pid: int) -> str:
    """The process's start time in clock ticks since boot (Linux), "" if unknown or gone:
    with the pid it identifies a process even after the pid is reused."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return ""
    fields = stat.rsplit(")", 1)[-1].split()  # the name may hold spaces and parentheses
    return "" if fields[0] in ("Z", "X") else fields[19]  # a zombie is dead too


def owner_tag(pid: int | None = None) -> str:
    """"host pid start-ticks": which process owns a running run."""
    pid = os.getpid() if pid is None else pid
    return f"{socket.gethostname()} {pid} {_start_ticks(pid)}".strip()


def _owner_alive(owner: str) -> bool:
    parts = owner.split()
    if len(parts) < 2 or parts[0] != socket.gethostname() or not parts[1].isdigit():
        return True  # another host or an older row: cannot tell, so never reap it
    pid = int(parts[1])
    if Path("/proc/self/stat").exists():
        ticks = _start_ticks(pid)
        return bool(ticks) and (len(parts) < 3 or ticks == parts[2])
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def reap_dead_runs(db: sqlite_utils.Database) -> list[int]:
    """Mark `incomplete` the runs left `running` by a process of this host that is gone."""
    if "owner" not in db.table("runs").columns_dict:
        return []
    dead = [(r["id"], r["owner"]) for r in db.table("runs").rows_where("status = 'running'")
            if not _owner_alive(r["owner"] or "")]
    for run_id, owner in dead:
        finish_run(db, run_id, "incomplete",
                   f"interrupted: its process ({owner.split()[1]}) died before the run ended")
    return [run_id for run_id, _ in dead]


def finish_run(db: sqlite_utils.Database, run_id: int, status: str, note: str = "") -> None:
    db.table("runs").update(run_id, {"finished_at": utcnow(), "status": status, "note": note})


def reusable_run(db: sqlite_utils.Database, target: str, within: float,
                 current: int) -> int | None:
    """The latest complete run of `target` (other than `current`) that finished less than
    `within` seconds ago, under the current run's rubric (which names the procedures a portal
    is read for): the run whose observations a re-run may reuse."""
    row = db.execute(
        "SELECT id FROM runs WHERE id != ? AND target = ? AND status = 'complete' "
        "AND finished_at >= ? AND rubric_version = "
        "(SELECT rubric_version FROM runs WHERE id = ?) ORDER BY id DESC LIMIT 1",
        [current, target, utc_before(within), current]).fetchone()
    return row[0] if row else None


def merge_stats(db: sqlite_utils.Database, run_id: int, spider: str,
                stats: dict[str, Any]) -> None:
    """Store one crawl's Scrapy stats in its run: the national crawl's at the top, any other
    under its spider's name. One transaction, since crawls of a run may end at the same time."""
    with db.conn:
        db.conn.execute("BEGIN IMMEDIATE")
        row = db.conn.execute("SELECT stats FROM runs WHERE id = ?", [run_id]).fetchone()
        merged = json.loads(row[0] or "{}") if row else {}
        if spider == "national":
            merged = {**{k: v for k, v in merged.items() if isinstance(v, dict)}, **stats}
        else:
            merged[spider] = stats
        db.conn.execute("UPDATE runs SET stats = ? WHERE id = ?",
                        [json.dumps(merged, default=str, sort_keys=True), run_id])


def get_run(db: sqlite_utils.Database, run_id: int | None = None) -> dict[str, Any] | None:
    """The given run, or the latest one."""
    if run_id is not None:
        rows = list(db.table("runs").rows_where("id = ?", [run_id]))
    else:
        rows = list(db.table("runs").rows_where(order_by="id desc", limit=1))
    return rows[0] if rows else None


def add_response(db: sqlite_utils.Database, url: str, body: bytes) -> str:
    digest = sha256(body)
    with db.conn:
        db.conn.execute("INSERT OR IGNORE INTO responses (sha256, url, body) VALUES (?, ?, ?)",
                        [digest, url, body])
    return digest


def add_evidence(db: sqlite_utils.Database, run_id: int, item: EvidenceItem) -> int:
    """Insert one evidence row and commit it. Plain SQL: sqlite-utils' insert looks the table
    up on every call (0.8 ms a row; a real-scale crawl stores 20,000 office rows)."""
    row: dict[str, Any] = dict(item)
    row["run_id"] = run_id
    row["data"] = json.dumps(row.get("data") or {}, ensure_ascii=False, sort_keys=True)
    for key, value in row.items():  # as sqlite-utils stored them: nested values as JSON
        if isinstance(value, (dict, list, tuple)):
            row[key] = json.dumps(value, ensure_ascii=False)
    columns = tuple(row)
    sql = _INSERT_EVIDENCE.get(columns)
    if sql is None:
        sql = _INSERT_EVIDENCE[columns] = (
            f"INSERT INTO evidence ({', '.join(f'[{c}]' for c in columns)}) "
            f"VALUES ({', '.join('?' * len(columns))})")
    with db.conn:
        cursor = db.conn.execute(sql, list(row.values()))
    return cast(int, cursor.lastrowid)


_INSERT_EVIDENCE: dict[tuple[str, ...], str] = {}  # column names -> INSERT statement


def load_evidence(db: sqlite_utils.Database, run_id: int,
                  kinds: Iterable[str] = ()) -> list[EvidenceRow]:
    """The run's evidence rows in order; only those of `kinds` when given."""
    return list(iter_evidence(db, run_id, kinds))


def iter_evidence(db: sqlite_utils.Database, run_id: int,
                  kinds: Iterable[str] = ()) -> Iterator[EvidenceRow]:
    """:func:`load_evidence` one row at a time: a run at real scale stores tens of thousands
    of office rows, which a caller that only iterates (scoring) need not hold all at once.
    Read it to the end before writing to the same connection."""
    where, args = "run_id = ?", [cast(Any, run_id)]
    if kinds:
        kinds = list(kinds)
        where += f" AND kind IN ({', '.join('?' * len(kinds))})"
        args += kinds
    for row in db.table("evidence").rows_where(where, args, order_by="id"):
        row["data"] = json.loads(row["data"] or "{}")
        yield cast(EvidenceRow, row)


def last_evidence_id(db: sqlite_utils.Database, run_id: int, kinds: Iterable[str]) -> int:
    """The newest evidence row of the run among `kinds` (0 when there is none): a row stored
    later has a greater id."""
    kinds = list(kinds)
    row = db.execute(f"SELECT MAX(id) FROM evidence WHERE run_id = ? AND kind IN "
                     f"({', '.join('?' * len(kinds))})", [run_id, *kinds]).fetchone()
    return int(row[0] or 0)


VERDICT_KEYS = ("unit_code", "unit_name", "unit_kind", "service_id", "criterion_id",
                "verdict", "reason")


def save_verdicts(db: sqlite_utils.Database, run_id: int, rubric_version: str,
                  verdicts: Iterable[VerdictRow]) -> int:
    detail = "detail" in db.table("verdicts").columns_dict  # absent only while migrating
    rows = [
        {**{k: v[k] for k in VERDICT_KEYS}, "run_id": run_id, "rubric_version": rubric_version,
         "evidence_ids": json.dumps(v.get("evidence_ids", [])),
         **({"detail": v.get("detail") or ""} if detail else {})}
        for v in map(dict, verdicts)
    ]
    counts = {str(v): sum(1 for r in rows if r["verdict"] == v) for v in VERDICTS}
    with db.conn:
        # One verdict set per (run, rubric version): re-scoring under another version adds a set
        # and never overwrites or mixes; the run's `rubric_version` names its current set.
        db.execute("DELETE FROM verdicts WHERE run_id = ? AND rubric_version = ?",
                   [run_id, rubric_version])
        db.table("verdicts").insert_all(rows)
        db.table("verdict_sets").upsert({"run_id": run_id, "rubric_version": rubric_version,
                                   "rubric_hash": "", "scored_at": utcnow(),
                                   "verdicts": len(rows), **counts},
                                  pk=("run_id", "rubric_version"))
        db.table("runs").update(run_id, {"rubric_version": rubric_version})
    return len(rows)


def load_verdicts(db: sqlite_utils.Database, run_id: int,
                  rubric_version: str | None = None) -> list[StoredVerdict]:
    """The run's verdicts under `rubric_version` (default: the run's current set)."""
    rows: list[StoredVerdict] = []
    for row in db.table("verdicts").rows_where("run_id = ? AND rubric_version = ?",
                                         [run_id, _version_of(db, run_id, rubric_version)]):
        row["evidence_ids"] = json.loads(row["evidence_ids"] or "[]")
        rows.append(cast(Any, row))
    return rows


def _m003_history(db: sqlite_utils.Database) -> None:
    """Nightly history (issue 5): verdict sets keyed by (run, rubric version), unit scores per
    set, stale markers, crawl attempts (timings, Scrapy stats) and the changes a nightly saw."""
    key = ("run_id", "rubric_version", "unit_code", "service_id", "criterion_id")
    db.table("verdicts").transform(pk=key)
    db.table("verdicts").create_index(["run_id", "rubric_version"], if_not_exists=True)
    db.table("runs").add_column("kind", str, not_null_default="")  # "nightly" or "" (demo, run)
    db.table("runs").add_column("crawl_codes", str, not_null_default="")  # JSON: codes crawled
    counts = {str(v): int for v in VERDICTS}
    db.table("verdict_sets").create(
        {"run_id": int, "rubric_version": str, "rubric_hash": str, "engine_version": str,
         "scored_at": str, "seconds": float, "verdicts": int, **counts},
        pk=("run_id", "rubric_version"), foreign_keys=[("run_id", "runs", "id")])
    db.table("scores").create(
        {"run_id": int, "rubric_version": str, "unit_code": str, "unit_name": str,
         "unit_kind": str, "raw": float, "max_possible": float, "share": float,
         "normalised": float, "rank": int, "un_group": str, "rating_class": str, **counts},
        pk=("run_id", "rubric_version", "unit_code"), foreign_keys=[("run_id", "runs", "id")])
    db.table("stale").create(
        {"run_id": int, "rubric_version": str, "unit_code": str, "service_id": str,
         "criterion_id": str, "reason": str, "last_verdict": str, "last_run_id": int,
         "last_seen_at": str, "age_days": float},
        pk=key, foreign_keys=[("run_id", "runs", "id")])
    db.table("attempts").create(
        {"run_id": int, "attempt": int, "started_at": str, "finished_at": str,
         "seconds": float, "exit_code": int, "status": str, "resumed": int, "jobdir": str,
         "stats": str},
        pk=("run_id", "attempt"), foreign_keys=[("run_id", "runs", "id")])
    db.table("changes").create(
        {"run_id": int, "base_run_id": int, "rubric_version": str, "unit_code": str,
         "service_id": str, "criterion_id": str, "change": str, "before": str, "after": str,
         "known_before": str, "reason": str},
        pk=("run_id", "base_run_id", "rubric_version", "unit_code", "service_id",
            "criterion_id"), foreign_keys=[("run_id", "runs", "id")])
    sets = db.execute(
        "SELECT run_id, rubric_version, COUNT(*), " + ", ".join(
            f"SUM(verdict = '{v}')" for v in VERDICTS)
        + " FROM verdicts GROUP BY run_id, rubric_version ORDER BY run_id").fetchall()
    for run_id, version, total, *per in sets:  # earlier runs: their one set becomes current
        db.table("verdict_sets").insert({"run_id": run_id, "rubric_version": version,
                                   "rubric_hash": "", "scored_at": "", "verdicts": total,
                                   **dict(zip(map(str, VERDICTS), per, strict=True))})
        db.table("runs").update(run_id, {"rubric_version": version})


MIGRATIONS.append(("003_history", _m003_history))


def _m004_run_owner(db: sqlite_utils.Database) -> None:
    """Crash safety (issue 6): `owner` ("host pid start-ticks") of a running run, so a run
    whose process was killed is marked incomplete instead of staying "running" for ever."""
    db.table("runs").add_column("owner", str, not_null_default="")


MIGRATIONS.append(("004_run_owner", _m004_run_owner))


def _m005_findings_by_version(db: sqlite_utils.Database) -> None:
    """Findings depend on the rubric (its services' codes, who delivers what): kept per verdict
    set, like verdicts, so a re-scored run shows the findings of the rubric it is shown under.
    Existing findings belong to their run's current set."""
    db.table("findings").add_column("rubric_version", str, not_null_default="")
    db.execute("UPDATE findings SET rubric_version = COALESCE((SELECT rubric_version FROM runs "
               "WHERE runs.id = findings.run_id), '')")


MIGRATIONS.append(("005_findings_by_version", _m005_findings_by_version))


def _m006_verdict_detail(db: sqlite_utils.Database) -> None:
    """Office codes and coverage (issue 14): a verdict's `detail`, e.g. the share of the unit's
    offices offering a level ("97/126"); "" for verdicts stored before."""
    db.table("verdicts").add_column("detail", str, not_null_default="")


MIGRATIONS.append(("006_verdict_detail", _m006_verdict_detail))


def _m008_review_answers(db: sqlite_utils.Database) -> None:
    """The UN survey's review indicators (issue 18): each assessor's answer, and the page it
    cites by hash, so an answer holds until that page changes (core/reviews.py)."""
    db.table("review_answers").create(
        {"id": int, "indicator_set": str, "unit_code": str, "indicator_id": str,
         "assessor": str, "answer": str, "comment": str, "cited_url": str, "cited_sha256": str,
         "answered_at": str, "source": str},
        pk="id")
    db.table("review_answers").create_index(["indicator_set", "unit_code", "indicator_id"])



def _m009_indicator_answers(db: sqlite_utils.Database) -> None:
    """The UN survey's indicator answers per run (issue 18): one per indicator set x unit x
    indicator, under the rubric version they were judged with (a rubric change re-judges)."""
    db.table("indicator_answers").create(
        {"run_id": int, "rubric_version": str, "indicator_set": str, "unit_code": str,
         "indicator_id": str, "judged": str, "detector": str, "verdict": str, "reason": str,
         "detail": str, "urls": str, "evidence_ids": str},
        pk=("run_id", "rubric_version", "indicator_set", "unit_code", "indicator_id"),
        foreign_keys=[("run_id", "runs", "id")])


def save_indicator_answers(db: sqlite_utils.Database, run_id: int,
                           answers: Iterable[IndicatorAnswerRow],
                           rubric_version: str | None = None) -> int:
    """Replace the run's indicator answers under `rubric_version` (default: the run's)."""
    version = _version_of(db, run_id, rubric_version)
    rows = [{**a, "run_id": run_id, "rubric_version": version,
             "urls": json.dumps(list(a.get("urls", [])), ensure_ascii=False),
             "evidence_ids": json.dumps(list(a.get("evidence_ids", [])))}
            for a in answers]
    for row in rows:
        row.setdefault("detector", "")
        row.setdefault("detail", "")
    return _replace_run_rows(db, "indicator_answers", run_id, version, rows)


def load_indicator_answers(db: sqlite_utils.Database, run_id: int,
                           rubric_version: str | None = None) -> list[IndicatorAnswerRow]:
    """The run's indicator answers under `rubric_version` (default: the run's current set);
    empty for a run judged before issue 18 (or a database not yet migrated)."""
    if "indicator_answers" not in db.table_names():
        return []
    rows: list[IndicatorAnswerRow] = []
    for row in db.table("indicator_answers").rows_where(
            "run_id = ? AND rubric_version = ?", [run_id, _version_of(db, run_id, rubric_version)],
            order_by="indicator_set, unit_code, indicator_id"):
        row["urls"] = json.loads(row["urls"] or "[]")
        row["evidence_ids"] = json.loads(row["evidence_ids"] or "[]")
        rows.append(cast(Any, row))
    return rows


def run_reason(run: dict[str, Any] | None) -> str:
    """Why a run is incomplete, as a reason key (`interrupted`, `no_coverage`, ...): the note's
    first word before ":" (app/jobs.py writes notes that way); "" for a complete run."""
    if not run or run.get("status") == "complete":
        return ""
    head = (run.get("note") or "").split(":", 1)[0].strip()
    return head if head.replace("_", "").isalpha() and " " not in head else ""


class DatabaseError(Exception):
    """A results database that cannot be used; str() is one line naming the file."""


def _writable(path: Path) -> bool:
    return os.access(path, os.W_OK) and os.access(path.parent, os.W_OK)


def open_existing(path: Path | str) -> sqlite_utils.Database:
    """Open an existing results database for a command that reads it (`report`, `history`,
    `diff`, `rescore`). Never creates or silently migrates a wrong file: a missing, empty,
    non-SQLite or truncated file is a DatabaseError. A database this process cannot write
    (read-only file or folder) is opened read-only: no migration, no switch to WAL, nothing
    reaped; check `is_read_only`."""
    path = Path(path)
    if not path.is_file():
        raise DatabaseError(f"no results database at {path}")
    # stat, never open(): closing any file descriptor of a database drops every POSIX lock
    # this process holds on it, and another process could then delete its WAL files under us
    if path.stat().st_size == 0:
        raise DatabaseError(f"{path}: empty file, not a results database")
    try:
        db = open_db(path) if _writable(path) else _open_read_only(path)
        db.execute("SELECT COUNT(*) FROM runs").fetchone()
    except sqlite3.DatabaseError as exc:
        if "file is not a database" in str(exc):
            raise DatabaseError(f"{path}: not an SQLite database") from None
        raise DatabaseError(f"{path}: not a usable results database ({exc})") from None
    return db


def _open_read_only(path: Path) -> sqlite_utils.Database:
    """Read-only: `mode=ro`, or `immutable=1` where SQLite cannot make its WAL side files."""
    for flags in ("mode=ro", "immutable=1"):
        conn = sqlite3.connect(f"file:{path.resolve()}?{flags}", uri=True)
        try:
            conn.execute("PRAGMA schema_version").fetchone()
        except sqlite3.OperationalError:
            conn.close()
            continue
        db = sqlite_utils.Database(conn)
        db.dvc_read_only = True  # type: ignore[attr-defined]
        missing = [name for name, _ in MIGRATIONS if name not in _applied(db)]
        if missing:
            raise DatabaseError(f"{path}: read-only and not migrated ({', '.join(missing)}): "
                                f"open it once where it can be written")
        return db
    raise DatabaseError(f"{path}: cannot open the read-only results database")


def _applied(db: sqlite_utils.Database) -> set[str]:
    if "_migrations" not in db.table_names():
        return set()
    return {row["name"] for row in db.table("_migrations").rows}


def is_read_only(db: sqlite_utils.Database) -> bool:
    """Opened read-only by `open_existing`: write nothing (no reaping, no scores)."""
    return bool(getattr(db, "dvc_read_only", False))


def _m007_datasette_views(db: sqlite_utils.Database) -> None:
    """Datasette (issue 16): views it streams whole (CSV `_stream=on`, JSON page by page),
    unlike a canned query capped at `max_returned_rows`. `rubric_services` and
    `rubric_criteria` hold the rubric texts a gap needs (body, fix, legal basis, deadline) per
    rubric version; the report writer fills them (reports/rubric_tables.py)."""
    db.table("rubric_services").create(
        {"rubric_version": str, "service_id": str, "annex_no": int, "name_vi": str,
         "name_en": str, "ministries": str, "annex_deadline": str},
        pk=("rubric_version", "service_id"))
    db.table("rubric_criteria").create(
        {"rubric_version": str, "criterion_id": str, "title_vi": str, "title_en": str,
         "weight": float, "legal_basis": str, "remediation_vi": str, "remediation_en": str},
        pk=("rubric_version", "criterion_id"))
    latest = "(SELECT MAX(id) FROM runs WHERE status = 'complete')"
    db.create_view("current_verdicts", f"""
        SELECT v.run_id, v.rubric_version, v.unit_code, v.unit_name, v.unit_kind, v.service_id,
               v.criterion_id, v.verdict, v.reason, v.detail, v.evidence_ids
        FROM verdicts v JOIN runs r ON r.id = v.run_id AND r.rubric_version = v.rubric_version
        WHERE v.run_id = {latest}""")
    db.create_view("province_gaps", """
        SELECT v.run_id, v.rubric_version, v.unit_code, v.unit_name, s.annex_no, v.service_id,
               s.name_vi AS service_name, v.criterion_id, c.title_vi AS criterion_title,
               v.reason, c.weight AS points,
               COALESCE(NULLIF(s.ministries, '') || '; ', '') || 'UBND ' || v.unit_name
                   AS responsible_body,
               c.remediation_vi AS fix, c.legal_basis, s.annex_deadline AS deadline
        FROM current_verdicts v
        LEFT JOIN rubric_services s
               ON s.rubric_version = v.rubric_version AND s.service_id = v.service_id
        LEFT JOIN rubric_criteria c
               ON c.rubric_version = v.rubric_version AND c.criterion_id = v.criterion_id
        WHERE v.unit_kind = 'province' AND v.verdict = 'not_met'""")
    db.create_view("latest_changes", f"""
        SELECT c.run_id, c.base_run_id, c.rubric_version, c.change, c.unit_code, c.service_id,
               c.criterion_id, c.before, c.after, c.known_before, c.reason
        FROM changes c JOIN runs r ON r.id = c.run_id AND r.rubric_version = c.rubric_version
        WHERE c.run_id = {latest}""")


MIGRATIONS.append(("007_datasette_views", _m007_datasette_views))
MIGRATIONS.append(("008_review_answers", _m008_review_answers))
MIGRATIONS.append(("009_indicator_answers", _m009_indicator_answers))
