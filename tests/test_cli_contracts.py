"""CI contracts (issue 15): `--fail-on` names only what the rubric knows, one exit-code table
for every command, and one line (never a traceback) for a database or folder that cannot be
used. No crawl: the runs are stored from the small scenario's truth."""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from app import exitcodes
from app.cli import main
from app.cli_nightly import EXIT_FAIL_ON, EXIT_NIGHTLY_FAIL_ON
from audits import history
from core import store
from core.rubric import RUBRIC_DIR, load_rubric
from replica.scenario import load_scenario
from replica.truth import expected_verdicts

PROJECT = Path(__file__).resolve().parents[1]
SMALL = PROJECT / "replica" / "scenarios" / "small.yaml"
REGRESSED = ("01", "birth_registration", "offered_online")


def _store_run(db: object, verdicts: dict, flip: tuple[str, str, str] | None = None) -> int:
    rubric = load_rubric()
    units = {u.code: u for u in rubric.units}
    run_id = store.start_run(db, target="http://127.0.0.1:1", rubric_version=rubric.version,
                             engine_version="0.1.0")
    rows = []
    for (unit, service, criterion), (verdict, reason) in sorted(verdicts.items()):
        if (unit, service, criterion) == flip:
            verdict, reason = "not_met", ""
        rows.append({"unit_code": unit, "unit_name": units[unit].name,
                     "unit_kind": units[unit].kind, "service_id": service,
                     "criterion_id": criterion, "verdict": verdict, "reason": reason})
    store.save_verdicts(db, run_id, rubric.version, rows)
    history.record_scoring(db, run_id, rubric, RUBRIC_DIR, rows, seconds=0.0)
    store.finish_run(db, run_id, "complete")
    return run_id


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Run 1 as the small scenario's truth; run 2 the same with one cell regressed."""
    out = tmp_path_factory.mktemp("contracts")
    truth = expected_verdicts(load_scenario(SMALL), load_rubric())
    assert truth[REGRESSED][0] == "met"
    db = store.open_db(out / "audit.db")
    _store_run(db, truth)
    _store_run(db, truth, flip=REGRESSED)
    db.conn.close()
    return out


def cli(*args: str) -> Result:
    return CliRunner().invoke(main, list(args))


def one_line(result: Result) -> str:
    """The command failed with exactly one line and no traceback."""
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in result.output, result.output
    return lines[0]


@pytest.mark.parametrize(("expr", "message"), [
    ("regression:province=1", "unknown unit '1'; did you mean '01'?"),
    ("regression:unit=G1", "unknown unit 'G1'; did you mean 'G01'?"),
    ("regression:service=buildingpermit",
     "unknown service 'buildingpermit'; did you mean 'building_permit'?"),
    ("regression:criterion=level_4", "unknown criterion 'level_4'"),
    ("regression:agency=01", "unknown unit '01'"),  # a province is not an agency
])
def test_fail_on_names_only_what_the_rubric_knows(two_runs: Path, expr: str,
                                                  message: str) -> None:
    result = cli("diff", "1", "2", "--out", str(two_runs), "--fail-on", expr)
    assert result.exit_code == exitcodes.USAGE == 2
    assert message in one_line(result)


def test_nightly_checks_fail_on_before_it_crawls(tmp_path: Path) -> None:
    result = cli("nightly", "--scenario", str(SMALL), "--out", str(tmp_path), "--fail-on",
                 "regression:province=1")
    assert result.exit_code == 2 and "did you mean '01'?" in one_line(result)
    assert not (tmp_path / "audit.db").exists()


def test_diff_exit_codes_follow_the_table(two_runs: Path) -> None:
    out = str(two_runs)
    assert cli("diff", "1", "2", "--out", out).exit_code == exitcodes.OK
    hit = cli("diff", "1", "2", "--out", out, "--fail-on", "regression:province=01")
    assert hit.exit_code == exitcodes.FAIL_ON == 3, hit.output
    assert "fail-on regression:province=01" in hit.output
    assert cli("diff", "1", "2", "--out", out, "--fail-on",
               "regression:province=79").exit_code == 0
    assert cli("diff", "1", "2", "--out", out, "--fail-on", "flapping").exit_code == 0
    # usage error and "not comparable" are told apart
    assert cli("diff", "1", "2", "--out", out, "--fail-on", "nonsense").exit_code == 2
    missing = cli("diff", "1", "99", "--out", out)
    assert missing.exit_code == exitcodes.NOT_COMPARABLE == 4
    assert "no run 99" in missing.output
    # a --fail-on match is the same code from diff and from nightly
    assert EXIT_FAIL_ON == EXIT_NIGHTLY_FAIL_ON == exitcodes.FAIL_ON


def test_readme_has_the_one_exit_code_table() -> None:
    readme = (PROJECT / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("### Exit codes"):]
    section = section[:section.index("\n#")]
    codes = [int(c) for c in re.findall(r"^\| `?(\d+)`? \|", section, re.M)]
    assert codes == [code for code, _ in exitcodes.TABLE]
    for code in (exitcodes.FAIL_ON, exitcodes.NOT_COMPARABLE, exitcodes.NO_COVERAGE):
        assert f"| {code} |" in section


def test_history_of_an_unknown_unit_is_an_error(two_runs: Path) -> None:
    result = cli("history", "--out", str(two_runs), "--unit", "99")
    assert result.exit_code == 2 and "unknown unit '99'" in one_line(result)
    near = cli("history", "--out", str(two_runs), "--unit", "1")
    assert near.exit_code == 2 and "did you mean '01'?" in near.output
    assert cli("history", "--out", str(two_runs), "--unit", "01").exit_code == 0


def test_an_unknown_run_id_is_one_line(two_runs: Path) -> None:
    result = cli("report", "--out", str(two_runs), "--run", "42")
    assert result.exit_code == 1 and "no run 42" in one_line(result)


@pytest.mark.parametrize("command", [["report"], ["history"], ["diff", "1", "2"],
                                     ["rescore", "--no-reports"]])
def test_a_file_that_is_not_a_results_database_is_one_line(tmp_path: Path,
                                                            two_runs: Path,
                                                            command: list[str]) -> None:
    text = tmp_path / "notes.db"
    text.write_text("id,verdict\n1,met\n" * 20, encoding="utf-8")
    result = cli(*command, "--db", str(text), "--out", str(tmp_path))
    assert result.exit_code == 1 and "not an SQLite database" in one_line(result)

    empty = tmp_path / "empty.db"
    empty.touch()
    result = cli(*command, "--db", str(empty), "--out", str(tmp_path))
    assert result.exit_code == 1 and "empty file" in one_line(result)
    assert empty.stat().st_size == 0  # not silently made into a database

    truncated = tmp_path / "truncated.db"
    whole = (two_runs / "audit.db").read_bytes()
    truncated.write_bytes(whole[:4096 * 3])
    result = cli(*command, "--db", str(truncated), "--out", str(tmp_path))
    assert result.exit_code == 1, result.output
    assert str(truncated) in one_line(result)


# ----------------------------------------------------------------- read-only database and folder


@pytest.fixture
def shared_tmp() -> Iterator[Path]:
    """A folder an unprivileged user can reach (pytest's own is private to its user)."""
    path = Path(tempfile.mkdtemp(prefix="dvc-ro-"))
    path.chmod(0o755)
    try:
        yield path
    finally:
        for p in [path, *path.rglob("*")]:
            p.chmod(0o777 if p.is_dir() else 0o666)
        shutil.rmtree(path, ignore_errors=True)


def unprivileged(args: list[str]) -> subprocess.CompletedProcess:
    """Run dvc-audit as a user who cannot write what is read-only (root can write anything)."""
    drop: list[str] = []
    if os.geteuid() == 0:
        setpriv = shutil.which("setpriv")
        if setpriv is None:
            pytest.skip("running as root without setpriv: cannot make a file read-only")
        drop = [setpriv, "--reuid=65534", "--regid=65534", "--clear-groups"]
    return subprocess.run([*drop, sys.executable, "-m", "app.cli", *args], cwd=PROJECT,
                          capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"})


@pytest.mark.slow  # CLI processes
def test_report_and_history_work_on_a_read_only_database(two_runs: Path,
                                                         shared_tmp: Path) -> None:
    ro = shared_tmp / "ro"
    ro.mkdir()
    db_path = ro / "audit.db"
    source = sqlite3.connect(two_runs / "audit.db")
    source.execute(f"VACUUM INTO '{db_path}'")  # one file, no WAL side files
    source.close()
    # an old database in rollback-journal mode: opening it writable would switch it to WAL
    sqlite3.connect(db_path).execute("PRAGMA journal_mode = DELETE").fetchall()
    before = db_path.read_bytes()
    db_path.chmod(0o444)
    ro.chmod(0o555)
    out = shared_tmp / "out"
    out.mkdir()
    out.chmod(0o777)

    report = unprivileged(["report", "--db", str(db_path), "--out", str(out)])
    assert report.returncode == 0, report.stderr
    assert "Traceback" not in report.stderr
    assert (out / "report.html").stat().st_size > 0
    listing = unprivileged(["history", "--db", str(db_path), "--out", str(out)])
    assert listing.returncode == 0, listing.stderr
    assert listing.stdout.count(" complete ") == 2
    trend = unprivileged(["history", "--db", str(db_path), "--out", str(out), "--unit", "01"])
    assert trend.returncode == 0 and "share" in trend.stdout, trend.stderr
    assert db_path.read_bytes() == before  # no migration, no WAL switch, nothing reaped
    assert sorted(p.name for p in ro.iterdir()) == ["audit.db"]


@pytest.mark.slow  # `demo` in a process of its own
def test_a_read_only_output_folder_is_one_line(two_runs: Path, shared_tmp: Path) -> None:
    out = shared_tmp / "locked"
    out.mkdir()
    out.chmod(0o555)
    for args in (["report", "--db", str(two_runs / "audit.db"), "--out", str(out)],
                 ["demo", "--scenario", str(SMALL), "--out", str(out)],
                 ["nightly", "--scenario", str(SMALL), "--out", str(out)]):
        if args[0] == "report":
            (shared_tmp / "db").mkdir(exist_ok=True)
            copy = shared_tmp / "db" / "audit.db"
            shutil.copy(two_runs / "audit.db", copy)
            for p in (copy.parent, copy):
                p.chmod(0o777 if p.is_dir() else 0o666)
            args[2] = str(copy)
        result = unprivileged(args)
        assert result.returncode == 1, (args, result.stdout, result.stderr)
        lines = [x for x in result.stderr.splitlines() if x.strip()]
        assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
        assert str(out) in lines[0] and "writable" in lines[0]
    assert list(out.iterdir()) == []
