"""The nightly job: lock, crawl (new or resumed run), score, compare with the previous complete
run, write the reports and CSV/JSON snapshots.

* Lock: an exclusive `fcntl` lock on `OUT/nightly.lock`; a second nightly on the same out
  directory exits at once with a clear message (:class:`LockBusy`).
* Resume: the crawl runs with a Scrapy JOBDIR (`OUT/jobs/run-N/<spider>`). A crawl stopped
  gracefully (SIGTERM/SIGINT) leaves its queue there; the next nightly resumes that run if it is
  the latest nightly run, same target and rubric, younger than `resume_within` and tried fewer
  than `MAX_ATTEMPTS` times. Otherwise it stays `incomplete` for ever and is never compared.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from app import snapshots
from app.interrupt import Stop, graceful_stop
from app.jobs import DB_NAME, AuditResult, run_audit
from app.preflight import INCOMPATIBLE
from app.rescore import rescore
from audits import history
from core import __version__, store
from core.rubric import RUBRIC_DIR, Rubric, load_rubric
from core.sqlite import sqlite_utils
from crawler.resume import ADDON, RESUMABLE, persisted_queue
from reports.report import write_reports

LOCK_NAME = "nightly.lock"
JOBS_DIR = "jobs"
MAX_ATTEMPTS = 3
KIND = "nightly"

Echo = Callable[[str], None]


class LockBusy(Exception):
    """Another nightly holds the out directory's lock."""


@contextmanager
def nightly_lock(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on `path` (released by the kernel even if the process dies)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fh = path.open("a+", encoding="utf-8")
    try:
        fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        fh.seek(0)
        holder = fh.read().strip() or "unknown process"
        fh.close()
        raise LockBusy(f"another nightly audit is running ({holder}); lock file {path}. "
                       f"Not starting an overlapping run.") from None
    try:
        fh.seek(0)
        fh.truncate()
        fh.write(f"pid {os.getpid()} since {store.utcnow()}\n")
        fh.flush()
        yield
    finally:
        fh.truncate(0)
        fcntl.flock(fh, fcntl.LOCK_UN)
        fh.close()


@contextmanager
def forward_sigterm(echo: Echo) -> Iterator[Stop]:
    """On SIGTERM (or SIGINT), ask the crawler to stop gracefully so Scrapy saves its JOBDIR
    queue, instead of dying and leaving it killed mid-write. Crawls started after that (the next
    spider) are stopped at once, so the job ends within systemd's stop timeout
    (app/interrupt.py)."""
    with graceful_stop(echo, lambda name: f"{name}: stopping the crawl gracefully; the next "
                                          f"nightly resumes it") as state:
        yield state


@dataclass
class NightlyResult:
    run_id: int
    status: str
    resumed: bool
    attempt: int
    db_path: Path
    reports: dict[str, Path]
    audit: AuditResult
    comparison: history.Comparison | None = None
    not_compared: str = ""  # why there is no comparison
    stale: list[dict[str, Any]] = field(default_factory=list)
    snapshots: dict[str, Path] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def jobdir_for(out_dir: Path, run_id: int) -> Path:
    return out_dir / JOBS_DIR / f"run-{run_id}"


def _resumable_queue(jobdir: Path) -> bool:
    """The resumable spiders stopped gracefully: Scrapy wrote their queue state on close."""
    return all(persisted_queue(jobdir / spider) for spider in RESUMABLE)


def _restart_others(db: sqlite_utils.Database, run_id: int, jobdir: Path) -> int:
    """Spiders that cannot resume from their queue start again from scratch: their JOBDIR and
    the evidence they stored in earlier attempts go, so the run holds one observation of each
    thing. Returns the number of evidence rows dropped."""
    for path in jobdir.iterdir() if jobdir.is_dir() else ():
        if path.is_dir() and path.name not in RESUMABLE:
            shutil.rmtree(path, ignore_errors=True)
    kinds = sorted({k for spider_kinds in RESUMABLE.values() for k in spider_kinds})
    marks = ", ".join("?" for _ in kinds)
    with db.conn:
        cursor = db.execute(f"DELETE FROM evidence WHERE run_id = ? AND kind NOT IN ({marks})",
                            [run_id, *kinds])
    return cursor.rowcount


def _attempts(db: sqlite_utils.Database, run_id: int) -> int:
    return db.execute("SELECT COUNT(*) FROM attempts WHERE run_id = ?", [run_id]).fetchone()[0]


def abandon_dead_runs(db: sqlite_utils.Database) -> list[int]:
    """Nightly runs still `running` while we hold the lock belong to a process that died."""
    dead = [r["id"] for r in db["runs"].rows_where("kind = ? AND status = 'running'", [KIND])]
    for run_id in dead:
        store.finish_run(db, run_id, "incomplete", "abandoned: the nightly process died")
    return dead


def find_resumable(db: sqlite_utils.Database, out_dir: Path, base_url: str, rubric: Rubric,
                   within: timedelta) -> dict[str, Any] | None:
    rows = list(db["runs"].rows_where("kind = ?", [KIND], order_by="id desc", limit=1))
    if not rows or rows[0]["status"] != "incomplete":
        return None
    run = rows[0]
    started = datetime.strptime(run["started_at"], store.TIME_FORMAT).replace(tzinfo=UTC)
    if (run["target"] != base_url or run["rubric_version"] != rubric.version
            or datetime.now(UTC) - started > within or _attempts(db, run["id"]) >= MAX_ATTEMPTS
            or not _resumable_queue(jobdir_for(out_dir, run["id"]))):
        return None
    return run


def why_not_resumed(db: sqlite_utils.Database, out_dir: Path, base_url: str, rubric: Rubric,
                    within: timedelta) -> str:
    """Why the latest run, left incomplete by an interruption, is not resumed ("" if there is
    no such run): the nightly says so instead of starting afresh in silence."""
    latest = store.get_run(db)
    if not latest or store.run_reason(latest) not in ("interrupted", "abandoned"):
        return ""
    run_id = latest["id"]
    started = datetime.strptime(latest["started_at"], store.TIME_FORMAT).replace(tzinfo=UTC)
    if latest["kind"] != KIND:
        why = "it is not a nightly run (`demo`/`run` keep no crawl queue to resume from)"
    elif latest["target"] != base_url:
        why = f"it audited another target ({latest['target']})"
    elif latest["rubric_version"] != rubric.version:
        why = f"it used rubric {latest['rubric_version']}, not {rubric.version}"
    elif datetime.now(UTC) - started > within:
        why = f"it started more than {within.total_seconds() / 3600:g} h ago (--resume-within)"
    elif _attempts(db, run_id) >= MAX_ATTEMPTS:
        why = f"it was tried {MAX_ATTEMPTS} times already"
    elif not _resumable_queue(jobdir_for(out_dir, run_id)):
        why = "its crawl was not stopped gracefully, so no crawl queue was saved"
    else:
        return ""
    return f"run {run_id} (incomplete, {store.run_reason(latest)}) is not resumed: {why}"


def _clean_jobdirs(out_dir: Path, keep: int | None) -> None:
    for path in (out_dir / JOBS_DIR).glob("run-*"):
        if path.name != f"run-{keep}":
            shutil.rmtree(path, ignore_errors=True)


def _start(db: sqlite_utils.Database, out_dir: Path, base_url: str, rubric: Rubric,
           scenario: str, within: timedelta, echo: Echo,
           resume_only: bool) -> tuple[int | None, bool]:
    resumable = find_resumable(db, out_dir, base_url, rubric, within)
    refusal = "" if resumable else why_not_resumed(db, out_dir, base_url, rubric, within)
    if refusal:
        echo(refusal + ("" if resume_only else "; starting a new run"))
    _clean_jobdirs(out_dir, resumable["id"] if resumable else None)
    if resume_only and not resumable:
        return None, False
    if resumable:
        run_id = resumable["id"]
        dropped = _restart_others(db, run_id, jobdir_for(out_dir, run_id))
        store.claim_run(db, run_id, "resuming")
        echo(f"run {run_id}: resuming the interrupted crawl of {resumable['started_at']} "
             f"({dropped} evidence rows of spiders that restart dropped)")
        return run_id, True
    run_id = store.start_run(db, target=base_url, rubric_version=rubric.version,
                             engine_version=__version__, scenario=scenario)
    db.table("runs").update(run_id, {"kind": KIND})
    return run_id, False


def _catalogue_complete(db: sqlite_utils.Database, run_id: int) -> bool:
    return any(e["data"].get("complete") for e in store.iter_evidence(db, run_id, ("catalogue",))
               if e["outcome"] == "ok")


def _record_attempt(db: sqlite_utils.Database, run_id: int, started_at: str, seconds: float,
                    resumed: bool, jobdir: Path) -> int:
    run = db.table("runs").get(run_id)
    attempt = _attempts(db, run_id) + 1
    db.table("attempts").insert({
        "run_id": run_id, "attempt": attempt, "started_at": started_at,
        "finished_at": store.utcnow(), "seconds": round(seconds, 3),
        "exit_code": 0 if run["status"] == "complete" else 1, "status": run["status"],
        "resumed": int(resumed), "jobdir": str(jobdir), "stats": run["stats"]})
    return attempt


def _ensure_scored(db: sqlite_utils.Database, run_ids: list[int], rubric: Rubric,
                   rubric_dir: Path, echo: Echo) -> None:
    """Earlier runs scored under another rubric (or other content of this version) are
    re-scored from their stored evidence, so that only one version is ever compared."""
    digest = history.rubric_hash(rubric_dir)
    for rid in run_ids:
        current = history.get_set(db, rid, rubric.version)
        if current is None or current["rubric_hash"] not in ("", digest):
            echo(f"run {rid}: re-scoring its stored evidence under rubric {rubric.version} "
                 f"to compare like with like (no crawling)")
            rescore(db, rid, rubric, rubric_dir)


def _compare(db: sqlite_utils.Database, run_id: int, rubric: Rubric, rubric_dir: Path,
             window: int, echo: Echo) -> tuple[history.Comparison | None, str]:
    run = db.table("runs").get(run_id)
    if run["status"] != "complete":
        return None, f"run {run_id} is {run['status']}: not compared, never counted as complete"
    earlier = [r["id"] for r in history.complete_runs(db, like=run) if r["id"] < run_id]
    if not earlier:
        return None, "first complete run: nothing to compare with"
    _ensure_scored(db, earlier[-max(window - 1, 1):], rubric, rubric_dir, echo)
    comparison = history.compare(db, earlier[-1], run_id, version=rubric.version, window=window)
    history.save_changes(db, comparison)
    return comparison, ""


def run_nightly(base_url: str, out_dir: Path, *, rubric_dir: Path = RUBRIC_DIR,
                scenario: str = "", overrides: dict[str, Any] | None = None,
                window: int = history.DEFAULT_WINDOW,
                resume_within: timedelta = timedelta(hours=12), echo: Echo = print,
                quiet: bool = False, resume_only: bool = False,
                audit_options: dict[str, Any] | None = None) -> NightlyResult | None:
    """One nightly audit of `base_url` into `out_dir` (raises LockBusy if one is running).
    `resume_only`: only finish an interrupted run; None when there is none. `audit_options`:
    more keyword arguments for `run_audit` (e.g. the replica's `portal_list`)."""
    out_dir = Path(out_dir)
    with nightly_lock(out_dir / LOCK_NAME):
        rubric = load_rubric(rubric_dir)
        db_path = out_dir / DB_NAME
        db = store.open_db(db_path)
        notes = [f"run {r}: marked incomplete (abandoned)" for r in abandon_dead_runs(db)]
        run_id, resumed = _start(db, out_dir, base_url, rubric, scenario, resume_within, echo,
                                 resume_only)
        if run_id is None:
            return None
        jobdir = jobdir_for(out_dir, run_id)
        settings = {**(overrides or {}), "ADDONS": {ADDON: 0}}
        started_at, started = store.utcnow(), time.monotonic()
        with forward_sigterm(echo):
            audit = run_audit(base_url, out_dir, rubric_dir=rubric_dir, scenario=scenario,
                              overrides=settings, echo=echo, quiet=quiet, run_id=run_id,
                              jobdir=jobdir, **(audit_options or {}))
        if resumed and audit.status == "complete" and not _catalogue_complete(db, run_id):
            store.finish_run(db, run_id, "incomplete", "resumed crawl has no complete catalogue")
            audit.reports = write_reports(db, rubric, out_dir, run_id)
        attempt = _record_attempt(db, run_id, started_at, time.monotonic() - started, resumed,
                                  jobdir)
        if audit.status == INCOMPATIBLE:  # stopped before crawling: no stale, comparison
            return NightlyResult(run_id, audit.status, resumed, attempt, db_path, {}, audit,
                                 not_compared=audit.note, notes=notes)  # or snapshots
        status = db.table("runs").get(run_id)["status"]
        if status == "complete":
            shutil.rmtree(jobdir, ignore_errors=True)
        stale = history.write_stale(db, run_id, rubric.version)
        comparison, why = _compare(db, run_id, rubric, rubric_dir, window, echo)
        result = NightlyResult(run_id, status, resumed, attempt, db_path, audit.reports, audit,
                               comparison, why, stale, notes=notes)
        result.snapshots = snapshots.write(db, out_dir, run_id, rubric.version, comparison,
                                           stale, summary=summary(result))
        return result


def summary(result: NightlyResult) -> dict[str, Any]:
    """The nightly's outcome as JSON-ready data (also written to OUT/nightly.json)."""
    t = result.audit.totals
    return {
        "run": result.run_id, "status": result.status, "resumed": result.resumed,
        "attempt": result.attempt, "totals": {k: t.get(k, 0) for k in history.VERDICTS},
        "comparison": result.comparison.as_dict() if result.comparison else None,
        "not_compared": result.not_compared, "stale": len(result.stale), "notes": result.notes,
    }
