"""Progress lines for a pipe or a timer (app/progress.py): every phase the job enters is said."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from app.progress import Tracker, mode_for, read_counts


def _evidence_db(path: Path) -> Path:
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE evidence (run_id INTEGER, kind TEXT, sha256 TEXT, "
                     "procedure_code TEXT, url TEXT)")
        conn.executemany("INSERT INTO evidence VALUES (?, ?, ?, ?, ?)", [
            (1, "catalogue", "a", "", "http://127.0.0.1:1/catalogue"),
            (1, "procedure", "b", "1.001", "http://127.0.0.1:1/detail"),
            (1, "procedure", "b", "1.001", "http://127.0.0.1:1/detail"),  # same page again
            (1, "office_list", "c", "1.001", "http://127.0.0.1:1/offices"),
            (1, "portal_home", "d", "", "http://127.0.0.1:2/"),
            (1, "portal_service", "e", "", "http://127.0.0.1:2/service"),
            (2, "office_list", "f", "1.002", "http://127.0.0.1:1/offices"),  # another run
        ])
    return path


def test_counts_are_of_the_run_asked(tmp_path: Path) -> None:
    counts = read_counts(_evidence_db(tmp_path / "r.db"), 1)
    assert (counts.catalogue_pages, counts.office_lists, counts.portals) == (2, 1, 1)
    assert read_counts(tmp_path / "missing.db", 1).office_lists == 0  # not yet set up


def test_a_phase_shorter_than_a_poll_is_still_said(tmp_path: Path) -> None:
    lines: list[str] = []
    tracker = Tracker(_evidence_db(tmp_path / "r.db"), 1, procedures=4, portals=2,
                      mode="plain", echo=lines.append)
    with tracker.running():
        tracker.phase("national_pages")
        tracker.phase("scoring")  # the report begun ahead: scoring can take well under a second
    said = [line.split(";")[0] for line in lines]
    assert said[-2:] == ["progress: national procedure pages", "progress: scoring and reports"]
    assert said.count("progress: scoring and reports") == 1
    assert "office lists 1/4, portals visited 1/2" in lines[-1]
    assert lines[-1].endswith("remaining 0:00")


def test_bars_only_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    assert mode_for("off") == "off" and mode_for("plain") == "plain"
    monkeypatch.setattr("sys.stderr.isatty", lambda: True)
    assert mode_for("auto") == "bars"
    monkeypatch.setattr("sys.stderr.isatty", lambda: False)
    assert mode_for("auto") == "plain"
