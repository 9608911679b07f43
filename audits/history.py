"""Run history: verdict sets per rubric version, comparisons between runs, flapping, stale
(last known) verdicts and trends.

Rules that keep history honest:

* only ``complete`` runs are compared, trended or used as "last known" values;
* two runs are compared only under one rubric version (both scored under it), never across
  versions: re-score first (``dvc-audit rescore``);
* a verdict that could not be tested (``cannot_test``) is never a regression: it keeps the last
  known testable value, marked stale with its age;
* a met/not_met change whose cell flipped at least twice in the window is ``flapping``.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from audits import scoring
from core import __version__, store
from core.rubric import FEES_FILE, RUBRIC_FILE, SERVICES_FILE, UNITS_FILE, Rubric
from core.sqlite import sqlite_utils
from core.vocab import SCORED as TESTABLE
from core.vocab import VERDICTS as VERDICTS  # re-exported: app.nightly counts by it
from core.vocab import Verdict as V

MET, NOT_MET, NA, CANNOT = V.MET, V.NOT_MET, V.NOT_APPLICABLE, V.CANNOT_TEST
REGRESSION, IMPROVEMENT, FLAPPING = "regression", "improvement", "flapping"
UNTESTED, RETESTED, NEW, SCOPE = "untested", "retested", "new", "scope"
CHANGE_KINDS = (REGRESSION, IMPROVEMENT, FLAPPING, UNTESTED, RETESTED, NEW, SCOPE)
DEFAULT_WINDOW = 5  # complete runs looked at for flapping

Key = tuple[str, str, str]  # (unit_code, service_id, criterion_id)
Verdict = tuple[str, str]  # (verdict, reason)


class NotComparable(Exception):
    """The two runs have no verdict set under one rubric version (or one is not complete)."""


# --------------------------------------------------------------------------- recording


def rubric_hash(rubric_dir: Path | str) -> str:
    """SHA-256 of the rubric files: a weight changed without a version bump is still seen."""
    digest = hashlib.sha256()
    for name in (RUBRIC_FILE, SERVICES_FILE, UNITS_FILE, FEES_FILE):  # fees.yaml: verdicts too
        path = Path(rubric_dir) / name
        digest.update(name.encode() + b"\0" + (path.read_bytes() if path.exists() else b""))
    return digest.hexdigest()


def score_rows(run_id: int, version: str, verdicts: Iterable[Mapping[str, Any]],
               weights: dict[str, float],
               config: scoring.ScoringConfig | None = None) -> list[dict[str, Any]]:
    """One `scores` row per unit: share, normalised value, rank and UN group."""
    board = scoring.score_run(verdicts, weights, config or scoring.load_scoring_config())
    return [{"run_id": run_id, "rubric_version": version, "unit_code": u.unit_code,
             "unit_name": u.unit_name, "unit_kind": u.unit_kind, "raw": u.raw,
             "max_possible": u.max_possible, "share": u.share, "normalised": u.normalised,
             "rank": u.rank, "un_group": u.group or "", "rating_class": u.rating_class or "",
             "met": u.met, "not_met": u.not_met, "not_applicable": u.not_applicable,
             "cannot_test": u.cannot_test} for u in board.units()]


def record_scoring(db: sqlite_utils.Database, run_id: int, rubric: Rubric,
                   rubric_dir: Path | str, verdicts: Sequence[Mapping[str, Any]],
                   seconds: float | None = None) -> None:
    """After `store.save_verdicts`: the set's rubric hash, engine, timing and unit scores."""
    version = rubric.version
    settings = Path(rubric_dir) / "scoring.yaml"  # the rubric's own scoring settings, if any
    config = scoring.load_scoring_config(settings) if settings.exists() else None
    rows = score_rows(run_id, version, verdicts, scoring.weights_from_rubric(rubric), config)
    with db.conn:
        db.table("verdict_sets").update((run_id, version), {
            "rubric_hash": rubric_hash(rubric_dir), "engine_version": __version__,
            "seconds": round(seconds, 3) if seconds is not None else None})
        db.execute("DELETE FROM scores WHERE run_id = ? AND rubric_version = ?",
                   [run_id, version])
        db.table("scores").insert_all(rows)
        run = db.table("runs").get(run_id)
        sets = db.execute("SELECT COUNT(*) FROM verdict_sets WHERE run_id = ?",
                          [run_id]).fetchone()[0]
        if not run.get("crawl_codes") and sets == 1:  # first scoring = the crawl's rubric
            db.table("runs").update(run_id, {"crawl_codes": json.dumps(sorted(rubric.all_codes()))})


# --------------------------------------------------------------------------- reading


def target_key(run: dict[str, Any]) -> str:
    """Runs of the replica (any scenario, any port) form one history; a real portal another."""
    return "replica" if run.get("scenario") else str(run.get("target") or "")


def get_set(db: sqlite_utils.Database, run_id: int, version: str) -> dict[str, Any] | None:
    rows = list(db.table("verdict_sets").rows_where("run_id = ? AND rubric_version = ?",
                                              [run_id, version]))
    return rows[0] if rows else None


def versions_of(db: sqlite_utils.Database, run_id: int) -> list[str]:
    return [r["rubric_version"] for r in db.table("verdict_sets").rows_where(
        "run_id = ?", [run_id], order_by="scored_at")]


def complete_runs(db: sqlite_utils.Database, *, like: dict[str, Any] | None = None,
                  upto: int | None = None, version: str | None = None) -> list[dict[str, Any]]:
    """Complete runs by id: of `like`'s target, up to id `upto`, scored under `version`."""
    runs = list(db.table("runs").rows_where("status = 'complete'", order_by="id"))
    if like is not None:
        runs = [r for r in runs if target_key(r) == target_key(like)]
    if upto is not None:
        runs = [r for r in runs if r["id"] <= upto]
    if version is not None:
        scored = {r[0] for r in db.execute(
            "SELECT run_id FROM verdict_sets WHERE rubric_version = ?", [version])}
        runs = [r for r in runs if r["id"] in scored]
    return runs


def previous_complete(db: sqlite_utils.Database, run: dict[str, Any]) -> dict[str, Any] | None:
    earlier = [r for r in complete_runs(db, like=run) if r["id"] < run["id"]]
    return earlier[-1] if earlier else None


def verdict_map(db: sqlite_utils.Database, run_id: int, version: str) -> dict[Key, dict]:
    rows = db.execute(
        "SELECT unit_code, service_id, criterion_id, verdict, reason, unit_name FROM verdicts "
        "WHERE run_id = ? AND rubric_version = ?", [run_id, version]).fetchall()
    return {(u, s, c): {"verdict": v, "reason": r, "unit_name": n} for u, s, c, v, r, n in rows}


@dataclass(frozen=True)
class Known:
    """The last testable (met / not_met) value of a cell, and when it was seen."""

    verdict: str
    run_id: int
    seen_at: str


def last_known(db: sqlite_utils.Database, run_ids: Sequence[int],
               version: str) -> dict[Key, Known]:
    """Per cell, the testable verdict of the latest of `run_ids` that had one."""
    if not run_ids:
        return {}
    marks = ", ".join("?" for _ in run_ids)
    sql = f"""
        WITH last AS (
            SELECT unit_code, service_id, criterion_id, MAX(run_id) AS run_id FROM verdicts
            WHERE rubric_version = ? AND verdict IN ('met', 'not_met') AND run_id IN ({marks})
            GROUP BY unit_code, service_id, criterion_id)
        SELECT v.unit_code, v.service_id, v.criterion_id, v.verdict, v.run_id, r.started_at
        FROM last JOIN verdicts v USING (unit_code, service_id, criterion_id, run_id)
        JOIN runs r ON r.id = v.run_id WHERE v.rubric_version = ?"""
    rows = db.execute(sql, [version, *run_ids, version]).fetchall()
    return {(u, s, c): Known(v, rid, at) for u, s, c, v, rid, at in rows}


def _seconds(later: str | None, earlier: str | None) -> float | None:
    try:
        return (datetime.strptime(later or "", store.TIME_FORMAT)
                - datetime.strptime(earlier or "", store.TIME_FORMAT)).total_seconds()
    except ValueError:
        return None


def _days(later: str, earlier: str) -> float:
    return round((_seconds(later, earlier) or 0.0) / 86400, 2)


def stale_rows(db: sqlite_utils.Database, run_id: int, version: str) -> list[dict[str, Any]]:
    """Cells not testable in this run that keep their last known value, with its age."""
    run = db.table("runs").get(run_id)
    earlier = [r["id"] for r in complete_runs(db, like=run, version=version)
               if r["id"] < run_id]
    known = last_known(db, earlier, version)
    out = []
    for key, cell in sorted(verdict_map(db, run_id, version).items()):
        if cell["verdict"] != CANNOT or key not in known:
            continue
        k = known[key]
        out.append({"run_id": run_id, "rubric_version": version, "unit_code": key[0],
                    "service_id": key[1], "criterion_id": key[2], "reason": cell["reason"],
                    "last_verdict": k.verdict, "last_run_id": k.run_id,
                    "last_seen_at": k.seen_at, "age_days": _days(run["started_at"], k.seen_at)})
    return out


def write_stale(db: sqlite_utils.Database, run_id: int, version: str) -> list[dict[str, Any]]:
    rows = stale_rows(db, run_id, version)
    with db.conn:
        db.execute("DELETE FROM stale WHERE run_id = ? AND rubric_version = ?", [run_id, version])
        db.table("stale").insert_all(rows)
    return rows


# --------------------------------------------------------------------------- comparing


@dataclass(frozen=True)
class Change:
    unit_code: str
    unit_name: str
    service_id: str
    criterion_id: str
    change: str  # one of CHANGE_KINDS
    before: str  # base run's verdict
    after: str  # this run's verdict
    known_before: str  # last testable value at the base run ("" if none)
    reason: str  # this run's reason

    @property
    def key(self) -> Key:
        return (self.unit_code, self.service_id, self.criterion_id)


@dataclass
class Comparison:
    base: dict[str, Any]
    run: dict[str, Any]
    version: str
    changes: list[Change]
    window: list[int] = field(default_factory=list)  # runs looked at for flapping
    warnings: list[str] = field(default_factory=list)

    def of(self, *kinds: str) -> list[Change]:
        return [c for c in self.changes if c.change in kinds]

    def counts(self) -> Counter:
        return Counter(c.change for c in self.changes)

    def as_dict(self) -> dict[str, Any]:
        return {"base_run": self.base["id"], "run": self.run["id"], "rubric_version": self.version,
                "window": self.window, "warnings": self.warnings,
                "counts": {k: self.counts().get(k, 0) for k in CHANGE_KINDS},
                "changes": [asdict(c) for c in self.changes]}


def classify(before: str, after: str, known: str) -> str | None:
    """The kind of a verdict change; `known` = last testable value at the base run or ""."""
    if before == after:
        return None
    if after == CANNOT:
        return UNTESTED  # keeps its last known value, stale; never a regression
    if NA in (before, after):
        return SCOPE  # applicability changed (delivery, fees or rubric), not the service
    if before == CANNOT and not known:
        return NEW
    reference = known if before == CANNOT else before
    if reference == after:
        return RETESTED
    return REGRESSION if after == NOT_MET else IMPROVEMENT


def flips(series: Iterable[str]) -> int:
    """How often the testable value changed along a series (untestable values carried over)."""
    count, last = 0, ""
    for verdict in series:
        if verdict not in TESTABLE:
            continue
        if last and verdict != last:
            count += 1
        last = verdict
    return count


def common_version(db: sqlite_utils.Database, base_id: int, run_id: int,
                   preferred: str | None = None) -> str:
    """The rubric version both runs are scored under: their current one, else `preferred`."""
    a, b = db.table("runs").get(base_id), db.table("runs").get(run_id)
    if a["rubric_version"] == b["rubric_version"]:
        return a["rubric_version"]
    both = set(versions_of(db, base_id)) & set(versions_of(db, run_id))
    if preferred and preferred in both:
        return preferred
    if len(both) == 1:
        return both.pop()
    raise NotComparable(
        f"run {base_id} is scored under rubric {a['rubric_version']} and run {run_id} under "
        f"{b['rubric_version']}: results of different rubric versions are not compared. "
        f"Re-score one of them under the other's rubric (dvc-audit rescore --run N)")


def _require(db: sqlite_utils.Database, run_id: int) -> dict[str, Any]:
    if run_id not in {r[0] for r in db.execute("SELECT id FROM runs")}:
        raise NotComparable(f"no run {run_id}")
    run = db.table("runs").get(run_id)
    if run["status"] != "complete":
        raise NotComparable(f"run {run_id} is {run['status']}: only complete runs are compared")
    return run


def compare(db: sqlite_utils.Database, base_id: int, run_id: int, *,
            version: str | None = None, window: int = DEFAULT_WINDOW,
            preferred: str | None = None) -> Comparison:
    """Every cell whose verdict differs between the two runs, classified (see module doc)."""
    base, run = _require(db, base_id), _require(db, run_id)
    version = version or common_version(db, base_id, run_id, preferred)
    sets = []
    for rid in (base_id, run_id):
        found = get_set(db, rid, version)
        if found is None:
            raise NotComparable(f"run {rid} has no verdicts under rubric {version}: "
                                f"re-score it first (dvc-audit rescore --run {rid})")
        sets.append(found)
    warnings = []
    hashes = {s["rubric_hash"] for s in sets} - {""}
    if len(hashes) > 1:
        warnings.append(f"rubric {version} changed content between the two sets without a "
                        f"version bump; re-score both runs to compare like with like")
    chain = [r["id"] for r in complete_runs(db, like=run, upto=run_id, version=version)]
    known = last_known(db, [r for r in chain if r <= base_id] or [base_id], version)
    old, new = verdict_map(db, base_id, version), verdict_map(db, run_id, version)
    changes = []
    for key in sorted(old.keys() | new.keys()):
        b, a = old.get(key, {}).get("verdict", NA), new.get(key, {}).get("verdict", NA)
        prior = known.get(key)
        kind = classify(b, a, prior.verdict if prior else "")
        if kind is None:
            continue
        cell = new.get(key) or old[key]
        changes.append(Change(key[0], cell["unit_name"], key[1], key[2], kind, b, a,
                              prior.verdict if prior else "", cell.get("reason", "")))
    recent = chain[-window:] if window > 0 else []
    changes = _mark_flapping(db, changes, recent, version)
    return Comparison(base, run, version, changes, recent, warnings)


def _mark_flapping(db: sqlite_utils.Database, changes: list[Change], window: list[int],
                   version: str) -> list[Change]:
    moving = [c for c in changes if c.change in (REGRESSION, IMPROVEMENT)]
    if not moving or len(window) < 3:
        return changes
    maps = [verdict_map(db, rid, version) for rid in window]
    flapping = {c.key for c in moving
                if flips(m.get(c.key, {}).get("verdict", NA) for m in maps) >= 2}
    return [Change(**{**asdict(c), "change": FLAPPING}) if c.key in flapping else c
            for c in changes]


def save_changes(db: sqlite_utils.Database, comparison: Comparison) -> None:
    rows = [{"run_id": comparison.run["id"], "base_run_id": comparison.base["id"],
             "rubric_version": comparison.version, **{k: v for k, v in asdict(c).items()
                                                      if k != "unit_name"}}
            for c in comparison.changes]
    with db.conn:
        db.execute("DELETE FROM changes WHERE run_id = ? AND base_run_id = ? AND "
                   "rubric_version = ?", [comparison.run["id"], comparison.base["id"],
                                          comparison.version])
        db.table("changes").insert_all(rows)


# --------------------------------------------------------------------------- trends


def score_trend(db: sqlite_utils.Database, unit_code: str, version: str,
                runs: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """The unit's score in each of `runs` scored under `version` (run order)."""
    ids = {r["id"]: r for r in runs}
    rows = db.table("scores").rows_where("unit_code = ? AND rubric_version = ?",
                                   [unit_code, version], order_by="run_id")
    return [{**row, "started_at": ids[row["run_id"]]["started_at"]}
            for row in rows if row["run_id"] in ids]


def cell_trend(db: sqlite_utils.Database, unit_code: str, service_id: str, version: str,
               runs: Sequence[dict[str, Any]]) -> dict[str, list[tuple[int, str, str]]]:
    """criterion -> [(run id, verdict, reason)] over `runs` for one (unit, service)."""
    out: dict[str, list[tuple[int, str, str]]] = {}
    ids = [r["id"] for r in runs]
    if not ids:
        return out
    marks = ", ".join("?" for _ in ids)
    rows = db.execute(
        f"SELECT criterion_id, run_id, verdict, reason FROM verdicts WHERE unit_code = ? AND "
        f"service_id = ? AND rubric_version = ? AND run_id IN ({marks}) ORDER BY run_id",
        [unit_code, service_id, version, *ids]).fetchall()
    for criterion, rid, verdict, reason in rows:
        out.setdefault(criterion, []).append((rid, verdict, reason))
    return out


def flapping_cells(db: sqlite_utils.Database, version: str, runs: Sequence[dict[str, Any]],
                   window: int = DEFAULT_WINDOW) -> dict[Key, list[str]]:
    """Cells whose testable value flipped at least twice over the last `window` runs."""
    recent = [r["id"] for r in runs][-window:]
    maps = [verdict_map(db, rid, version) for rid in recent]
    keys = set().union(*maps) if maps else set()
    out = {}
    for key in sorted(keys):
        series = [m.get(key, {}).get("verdict", NA) for m in maps]
        if flips(series) >= 2:
            out[key] = series
    return out


def run_rows(db: sqlite_utils.Database, limit: int | None = None) -> list[dict[str, Any]]:
    """Every run (latest first) with its verdict sets, timing and Scrapy stats."""
    evidence = dict(db.execute("SELECT run_id, COUNT(*) FROM evidence GROUP BY run_id"))
    attempts = dict(db.execute("SELECT run_id, COUNT(*) FROM attempts GROUP BY run_id"))
    out = []
    for run in db.table("runs").rows_where(order_by="id desc", limit=limit):
        stats = json.loads(run.get("stats") or "{}")
        out.append({
            "id": run["id"], "kind": run.get("kind") or "", "status": run["status"],
            "started_at": run["started_at"], "finished_at": run["finished_at"] or "",
            "seconds": _seconds(run["finished_at"], run["started_at"]),
            "target": run["target"], "scenario": run["scenario"],
            "engine_version": run["engine_version"], "rubric_version": run["rubric_version"],
            "rubric_versions": versions_of(db, run["id"]),
            "attempts": attempts.get(run["id"], 0), "evidence": evidence.get(run["id"], 0),
            "requests": stats.get("downloader/request_count"),
            "items": stats.get("item_scraped_count"),
            "finish_reason": stats.get("finish_reason", ""), "note": run["note"],
        })
    return out
