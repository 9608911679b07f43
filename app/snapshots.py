"""Nightly CSV/JSON snapshots, written next to the reports (and a dated copy under
`OUT/snapshots/`), plus the datasette metadata for browsing `OUT/audit.db`."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from audits.history import Comparison
from core import store
from core.sqlite import sqlite_utils
from reports import exports

PROJECT_DIR = Path(__file__).resolve().parents[1]
DATASETTE_METADATA = PROJECT_DIR / "deploy" / "datasette" / "metadata.json"
VERDICT_COLUMNS = ("unit_code", "unit_name", "unit_kind", "service_id", "criterion_id",
                   "verdict", "reason", "rubric_version")
CHANGE_COLUMNS = ("unit_code", "unit_name", "service_id", "criterion_id", "change", "before",
                  "after", "known_before", "reason")
REPORT_FILES = ("verdicts.csv", "scores.csv", "report.json", "summary.md")  # by the report
STALE_COLUMNS = ("unit_code", "service_id", "criterion_id", "reason", "last_verdict",
                 "last_run_id", "last_seen_at", "age_days")


def write_csv(path: Path, columns: Sequence[str], rows: Iterable[dict[str, Any]]) -> Path:
    exports.write_csv(path, columns, rows)  # NFC, formula cells defused
    return path


def write_json(path: Path, data: Any) -> Path:
    path.write_text(json.dumps(data, ensure_ascii=False, indent=1, default=str) + "\n",
                    encoding="utf-8")
    return path


def write_metadata(out_dir: Path) -> Path:
    """`OUT/metadata.json`: `datasette OUT/` (directory mode) picks it up by itself."""
    target = out_dir / "metadata.json"
    shutil.copyfile(DATASETTE_METADATA, target)
    return target


def columns(row: Mapping[str, object], names: Sequence[str]) -> dict[str, object]:
    """The row's `names`, in that order (a stored row is a TypedDict: read as a mapping)."""
    return {k: row[k] for k in names}


def write(db: sqlite_utils.Database, out_dir: Path, run_id: int, version: str,
          comparison: Comparison | None, stale: list[dict[str, Any]],
          summary: dict[str, Any]) -> dict[str, Path]:
    run = store.get_run(db, run_id) or {}
    verdicts = sorted(store.load_verdicts(db, run_id, version),
                      key=lambda v: (v["unit_kind"], v["unit_code"], v["service_id"],
                                     v["criterion_id"]))
    changes = [asdict(c) for c in comparison.changes] if comparison else []
    paths = {
        "summary": write_json(out_dir / "nightly.json", {**summary, "run_row": run}),
        "verdicts_json": write_json(out_dir / "verdicts.json", [
            columns(v, VERDICT_COLUMNS) for v in verdicts]),
        "changes": write_csv(out_dir / "changes.csv", CHANGE_COLUMNS, changes),
        "stale": write_csv(out_dir / "stale.csv", STALE_COLUMNS, stale),
        "metadata": write_metadata(out_dir),
    }
    day = (run.get("started_at") or store.utcnow())[:10]
    dated = out_dir / "snapshots" / f"{day}-run{run_id:05d}"
    dated.mkdir(parents=True, exist_ok=True)
    for name in ("summary", "verdicts_json", "changes", "stale"):
        shutil.copyfile(paths[name], dated / paths[name].name)
    for name in REPORT_FILES:
        if (out_dir / name).exists():
            shutil.copyfile(out_dir / name, dated / name)
    paths["snapshot_dir"] = dated
    return paths
