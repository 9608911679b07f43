"""`dvc-audit nightly` end to end on the replica: two scenarios differing in known cells, a
third run that flips them back (flapping), the lock, and resuming an interrupted crawl."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from app import nightly
from app.cli import main
from audits import history
from core import store
from core.rubric import load_rubric
from crawler import resume
from replica.scenario import load_scenario
from replica.server import ReplicaServer
from replica.truth import expected_verdicts

PROJECT = Path(__file__).resolve().parents[1]
SMALL = PROJECT / "replica" / "scenarios" / "small.yaml"
# The edits that make the second scenario: (old line, new line) of small.yaml. They touch the
# national questions (hand-off, offered online), which the provincial portals do not decide.
EDITS = [
    # Hà Nội's business registration hand-off goes into testing: national_handoff regresses.
    ('- {procedure: "2.001610", office: province, level: FULL}',
     '- {procedure: "2.001610", office: province, level: FULL, testing: true}'),
    # Hà Nội's social protection hand-off leaves testing: national_handoff improves.
    ('- {procedure: "1.001776", office: ward, level: PARTIAL, testing: true}',
     '- {procedure: "1.001776", office: ward, level: PARTIAL}'),
    # School enrolment is blocked tonight: its cells cannot be tested (stale, not regressed).
    ('  - {kind: blocked, procedure: "2.000986"}',
     '  - {kind: blocked, procedure: "2.000986"}\n  - {kind: blocked, procedure: "3.000182"}'),
]
REGRESSED = ("01", "business_registration", "national_handoff")
IMPROVED = ("01", "social_protection", "national_handoff")


def edited_scenario(tmp: Path) -> Path:
    text = SMALL.read_text(encoding="utf-8")
    for old, new in EDITS:
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    path = tmp / "small-edited.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def cli(*args: str) -> Result:
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def nightly_cli(scenario: Path, out: Path, *extra: str) -> Result:
    result = cli("nightly", "--scenario", str(scenario), "--out", str(out), "--quiet", *extra)
    assert result.exit_code == 0, result.output
    return result


def truth(path: Path) -> dict:
    return expected_verdicts(load_scenario(path), load_rubric())


@pytest.fixture(scope="module")
def three_nights(tmp_path_factory: pytest.TempPathFactory) -> dict:
    tmp = tmp_path_factory.mktemp("nightly")
    out, second = tmp / "results", edited_scenario(tmp)
    outputs = [nightly_cli(SMALL, out).output, nightly_cli(second, out).output]
    outputs.append(nightly_cli(SMALL, out).output)
    return {"out": out, "second": second, "outputs": outputs}


@pytest.mark.slow
@pytest.mark.browser
def test_diff_lists_exactly_the_cells_that_differ(three_nights: dict) -> None:
    before, after = truth(SMALL), truth(three_nights["second"])
    differ = {k for k in before if before[k][0] != after[k][0]}
    assert {REGRESSED, IMPROVED} <= differ and len(differ) > 3
    db = store.open_db(three_nights["out"] / "audit.db")
    comparison = history.compare(db, 1, 2)
    assert {c.key for c in comparison.changes} == differ
    kinds = {c.key: c.change for c in comparison.changes}
    assert kinds[REGRESSED] == history.REGRESSION and kinds[IMPROVED] == history.IMPROVEMENT
    for c in comparison.changes:  # every other cell is classified from the truth alone
        assert (c.before, c.after) == (before[c.key][0], after[c.key][0])
        known = c.before if c.before in history.TESTABLE else ""
        assert c.change == history.classify(c.before, c.after, known)
    # The blocked procedure's cells could not be tested: never a regression.
    blocked = {k: v for k, v in kinds.items() if k[1] == "school_enrolment"}
    assert blocked and set(blocked.values()) == {history.UNTESTED}


@pytest.mark.slow
@pytest.mark.browser
def test_nightly_prints_what_regressed_and_improved(three_nights: dict) -> None:
    first, second, _ = three_nights["outputs"]
    assert "first complete run" in first
    assert "REGRESSED:" in second and "IMPROVED:" in second
    regressed = second.split("REGRESSED:")[1].split("IMPROVED:")[0]
    assert "01 Thành phố Hà Nội · business_registration · national_handoff: met -> not_met" \
        in regressed
    assert "01 Thành phố Hà Nội · social_protection · national_handoff: not_met -> met" in second
    assert "could not be tested" in second and "stale" in second


@pytest.mark.slow
@pytest.mark.browser
def test_stale_keeps_the_last_known_value_with_its_age(three_nights: dict) -> None:
    db = store.open_db(three_nights["out"] / "audit.db")
    version = load_rubric().version
    stale = {(s["unit_code"], s["service_id"], s["criterion_id"]): s
             for s in db["stale"].rows_where("run_id = 2 AND rubric_version = ?", [version])}
    cell = stale[("01", "school_enrolment", "offered_online")]
    assert cell["last_verdict"] == "met" and cell["last_run_id"] == 1
    assert cell["reason"] == "blocked" and cell["age_days"] >= 0
    assert all(s["last_verdict"] in ("met", "not_met") for s in stale.values())


@pytest.mark.slow
@pytest.mark.browser
def test_a_cell_that_flips_back_is_flapping_not_a_regression(three_nights: dict) -> None:
    out = three_nights["out"]
    db = store.open_db(out / "audit.db")
    comparison = history.compare(db, 2, 3)
    flapping = {c.key for c in comparison.of(history.FLAPPING)}
    first = history.compare(db, 1, 2)
    assert flapping == {c.key for c in first.of(history.REGRESSION, history.IMPROVEMENT)}
    assert {REGRESSED, IMPROVED} <= flapping
    assert not comparison.of(history.REGRESSION, history.IMPROVEMENT)
    assert "FLAPPING" in three_nights["outputs"][2]
    assert cli("diff", "2", "3", "--out", str(out), "--fail-on", "any-regression").exit_code == 0
    assert cli("diff", "2", "3", "--out", str(out), "--fail-on", "flapping").exit_code == 3
    trend = cli("history", "--out", str(out), "--flapping")
    assert "01 · business_registration · national_handoff: met -> not_met -> met" in \
        trend.output


@pytest.mark.slow
@pytest.mark.browser
def test_diff_fail_on_gives_ci_an_exit_code(three_nights: dict) -> None:
    out = str(three_nights["out"])
    assert cli("diff", "1", "2", "--out", out).exit_code == 0
    failing = cli("diff", "1", "2", "--out", out, "--fail-on", "regression:province=01")
    assert failing.exit_code == 3  # README "Exit codes": the same from nightly
    assert "fail-on regression:province=01" in failing.output
    assert cli("diff", "1", "2", "--out", out, "--fail-on",
               "regression:province=79").exit_code == 0
    assert cli("diff", "1", "2", "--out", out, "--fail-on",
               "regression:service=business_registration").exit_code == 3
    assert cli("diff", "1", "2", "--out", out, "--fail-on",
               "regression:service=birth_registration").exit_code == 0
    assert cli("diff", "1", "2", "--out", out, "--fail-on", "any-regression").exit_code == 3
    assert cli("diff", "1", "2", "--out", out, "--fail-on", "nonsense").exit_code == 2
    assert cli("diff", "1", "99", "--out", out).exit_code == 4
    as_json = json.loads(cli("diff", "1", "2", "--out", out, "--json").output)
    assert as_json["counts"]["regression"] >= 1 and as_json["counts"]["improvement"] >= 1


@pytest.mark.slow
@pytest.mark.browser
def test_history_snapshots_and_datasette_metadata(three_nights: dict) -> None:
    out = three_nights["out"]
    runs = cli("history", "--out", str(out)).output
    assert runs.count("nightly  complete") == 3 and "engine 0.1.0" in runs
    trend = cli("history", "--out", str(out), "--unit", "01", "--json")
    shares = [row["share"] for row in json.loads(trend.output)]
    assert len(shares) == 3 and shares[1] != shares[0] == shares[2]
    summary = json.loads((out / "nightly.json").read_text(encoding="utf-8"))
    assert summary["run"] == 3 and summary["comparison"]["counts"]["flapping"] >= 2
    for name in ("changes.csv", "stale.csv", "verdicts.json", "verdicts.csv"):
        assert (out / name).stat().st_size > 0
    snaps = sorted((out / "snapshots").iterdir())
    assert len(snaps) == 3 and (snaps[1] / "changes.csv").read_text().count("\n") > 3
    meta = json.loads((out / "metadata.json").read_text(encoding="utf-8"))["databases"]["audit"]
    db = store.open_db(out / "audit.db")
    for table, spec in meta["tables"].items():
        assert table in db.table_names() + db.view_names() and spec.get("description")
        assert set(spec.get("columns", {})) <= set(db[table].columns_dict), table
    for query in meta["queries"].values():  # the canned queries run
        sql = query["sql"].replace(":unit", "'01'").replace(":service", "'birth_registration'")
        db.execute(sql.replace(":run", "1")).fetchall()


def test_a_second_nightly_is_refused_while_one_holds_the_lock(tmp_path: Path) -> None:
    with nightly.nightly_lock(tmp_path / nightly.LOCK_NAME):
        result = CliRunner().invoke(main, ["nightly", "--scenario", str(SMALL), "--out",
                                           str(tmp_path)])
    assert result.exit_code == 75
    assert "another nightly audit is running" in result.output and "nightly.lock" in result.output
    assert not (tmp_path / "audit.db").exists()


@pytest.mark.slow
@pytest.mark.browser
def test_an_interrupted_crawl_resumes_and_only_then_counts(tmp_path: Path) -> None:
    scenario = load_scenario(SMALL)
    quiet: dict = dict(echo=lambda _: None, quiet=True)
    with ReplicaServer(scenario) as server:
        quiet["audit_options"] = {"portal_list": server.portal_list()}
        first = nightly.run_nightly(server.base_url, tmp_path,
                                    overrides={"CLOSESPIDER_PAGECOUNT": 4}, **quiet)
        assert first.status == "incomplete" and first.comparison is None
        assert "never counted" in first.not_compared
        db = store.open_db(tmp_path / "audit.db")
        assert history.complete_runs(db) == []
        assert (nightly.jobdir_for(tmp_path, first.run_id) / "national").is_dir()
        partial = len(store.load_evidence(db, first.run_id))
        second = nightly.run_nightly(server.base_url, tmp_path, resume_only=True, **quiet)
        assert nightly.run_nightly(server.base_url, tmp_path, resume_only=True, **quiet) is None
        posts = [(e.path, e.body) for e in server.request_log if e.method == "POST"]
    assert second is not None
    assert second.run_id == first.run_id and second.resumed and second.attempt == 2
    assert second.status == "complete"
    got = {(v["unit_code"], v["service_id"], v["criterion_id"]): (v["verdict"], v["reason"])
           for v in store.load_verdicts(db, second.run_id)}
    assert got == expected_verdicts(scenario, load_rubric())
    evidence = store.load_evidence(db, second.run_id)
    assert len(evidence) > partial
    # Only what was left was fetched: no API request twice, no evidence twice.
    assert len(posts) == len(set(posts))
    assert sum(1 for e in evidence if e["kind"] == "province_list") == 1
    attempts = list(db["attempts"].rows_where("run_id = ?", [first.run_id], order_by="attempt"))
    assert [(a["status"], a["resumed"]) for a in attempts] == [("incomplete", 0),
                                                               ("complete", 1)]
    assert not nightly.jobdir_for(tmp_path, first.run_id).exists()


@pytest.mark.slow
@pytest.mark.browser
def test_a_crawl_that_cannot_resume_stays_incomplete(tmp_path: Path) -> None:
    quiet: dict = dict(echo=lambda _: None, quiet=True)
    with ReplicaServer(load_scenario(SMALL)) as server:
        quiet["audit_options"] = {"portal_list": server.portal_list()}
        first = nightly.run_nightly(server.base_url, tmp_path,
                                    overrides={"CLOSESPIDER_PAGECOUNT": 4}, **quiet)
        second = nightly.run_nightly(server.base_url, tmp_path,
                                     resume_within=timedelta(0), **quiet)
    assert second.run_id != first.run_id and not second.resumed
    db = store.open_db(tmp_path / "audit.db")
    assert store.get_run(db, first.run_id)["status"] == "incomplete"
    assert [r["id"] for r in history.complete_runs(db)] == [second.run_id]
    assert not nightly.jobdir_for(tmp_path, first.run_id).exists()


def test_a_nightly_left_running_by_a_dead_process_is_marked_incomplete(tmp_path: Path) -> None:
    db = store.open_db(tmp_path / "audit.db")
    dead = store.start_run(db, target="http://127.0.0.1:9", rubric_version="x",
                           engine_version="0")
    db["runs"].update(dead, {"kind": nightly.KIND})
    assert nightly.abandon_dead_runs(db) == [dead]
    run = store.get_run(db, dead)
    assert run["status"] == "incomplete" and "abandoned" in run["note"]


@pytest.mark.slow
@pytest.mark.browser
def test_sigterm_stops_the_crawl_gracefully_and_leaves_it_resumable(tmp_path: Path) -> None:
    """What systemd does on `systemctl stop` (KillMode=mixed): SIGTERM to dvc-audit only."""
    full = PROJECT / "replica" / "scenarios" / "full.yaml"
    proc = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "nightly", "--scenario", str(full), "--out",
         str(tmp_path), "--quiet"], cwd=PROJECT, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:  # wait until the crawler has stored some evidence
            time.sleep(0.3)
            if (tmp_path / "audit.db").exists() and store.open_db(tmp_path / "audit.db").execute(
                    "SELECT COUNT(*) FROM evidence").fetchone()[0] > 5:
                break
        proc.send_signal(signal.SIGTERM)
        output, _ = proc.communicate(timeout=180)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 1, output
    assert "SIGTERM: stopping the crawl gracefully" in output
    db = store.open_db(tmp_path / "audit.db")
    run = store.get_run(db)
    assert run["status"] == "incomplete" and run["kind"] == "nightly"
    [attempt] = db["attempts"].rows_where("run_id = ?", [run["id"]])
    assert attempt["status"] == "incomplete" and attempt["seconds"] < 120
    assert resume.persisted_queue(nightly.jobdir_for(tmp_path, run["id"]) / "national")
    assert history.complete_runs(db) == []


@pytest.mark.parametrize("command", [["nightly"], ["rescore"], ["diff"], ["history"],
                                     ["rubric", "test"]])
def test_every_new_command_has_help(command: list[str]) -> None:
    result = CliRunner().invoke(main, [*command, "--help"])
    assert result.exit_code == 0 and "Usage:" in result.output
