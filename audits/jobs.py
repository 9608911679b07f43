"""The audit job: crawl (child process) -> store -> evaluate -> reports.

`demo`, `run` (and later `nightly`) all go through `run_audit`; only the target differs.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from audits import __version__, store
from audits.evaluate import evaluate
from audits.report import write_reports
from audits.rubric import RUBRIC_DIR, load_rubric
from crawler.runner import crawl

DB_NAME = "audit.db"


@dataclass
class AuditResult:
    run_id: int
    status: str
    db_path: Path
    reports: dict[str, Path]
    totals: Counter = field(default_factory=Counter)


def run_audit(base_url: str, out_dir: Path, *, rubric_dir: Path = RUBRIC_DIR,
              scenario: str = "", overrides: dict[str, Any] | None = None,
              echo: Callable[[str], None] = print, quiet: bool = False) -> AuditResult:
    rubric = load_rubric(rubric_dir)
    out_dir = Path(out_dir)
    db_path = out_dir / DB_NAME
    db = store.open_db(db_path)
    run_id = store.start_run(db, target=base_url, rubric_version=rubric.version,
                             engine_version=__version__, scenario=scenario)
    echo(f"run {run_id}: crawling {base_url} (rubric {rubric.version})")
    code = None
    try:
        code = crawl("national", base_url, db_path, run_id, rubric_dir=str(rubric_dir),
                     overrides=overrides, quiet=quiet)
    finally:  # an interrupted crawl is stored as incomplete, never left "running"
        status = "complete" if code == 0 else "incomplete"
        note = "" if code == 0 else ("interrupted" if code is None else f"crawler exit {code}")
        store.finish_run(db, run_id, status, note)
    return score_run(db_path, run_id, out_dir, rubric_dir=rubric_dir, echo=echo)


def score_run(db_path: Path, run_id: int, out_dir: Path, *, rubric_dir: Path = RUBRIC_DIR,
              echo: Callable[[str], None] = print) -> AuditResult:
    """Evaluate a stored run's evidence and write its reports (no network)."""
    rubric = load_rubric(rubric_dir)
    db = store.open_db(db_path)
    evidence = store.load_evidence(db, run_id)
    echo(f"run {run_id}: {len(evidence)} evidence rows; scoring")
    verdicts = evaluate(evidence, rubric)
    store.save_verdicts(db, run_id, rubric.version, verdicts)
    reports = write_reports(db, rubric, Path(out_dir), run_id)
    run = store.get_run(db, run_id) or {}
    return AuditResult(run_id, run.get("status", ""), Path(db_path), reports,
                       Counter(v["verdict"] for v in verdicts))


def run_demo(scenario_path: Path, out_dir: Path, **kwargs: Any) -> AuditResult:
    """Serve the replica of the portals for `scenario_path` on loopback and audit it."""
    from replica.scenario import load_scenario
    from replica.server import ReplicaServer

    scenario = load_scenario(scenario_path)
    with ReplicaServer(scenario) as server:
        return run_audit(server.base_url, out_dir, scenario=str(scenario_path), **kwargs)
