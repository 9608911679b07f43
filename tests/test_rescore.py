"""`dvc-audit rescore`: stored evidence re-evaluated under the current rubric, without network;
verdict sets of different rubric versions are kept apart and never compared."""

from __future__ import annotations

import shutil
import socket
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from app import exitcodes
from app.cli import main
from app.jobs import run_audit
from audits import history, scoring
from core import store
from core.rubric import RUBRIC_DIR, load_rubric
from replica.scenario import load_scenario
from replica.server import ReplicaServer

pytestmark = [pytest.mark.slow, pytest.mark.browser]

PROJECT = Path(__file__).resolve().parents[1]
SMALL = PROJECT / "replica" / "scenarios" / "small.yaml"
OLD = load_rubric().version
NEW = OLD + "-weights"


def rubric_copy(tmp: Path, *, version: str | None = NEW, level4_weight: int = 5) -> Path:
    """The shipped rubric with level4_full's weight changed (and the version bumped)."""
    target = tmp / f"rubric-{version}-{level4_weight}"
    shutil.copytree(RUBRIC_DIR, target)
    path = target / "rubric.yaml"
    text = path.read_text(encoding="utf-8")
    head, _, tail = text.partition("  - id: level4_full")
    assert "    weight: 2\n" in tail
    tail = tail.replace("    weight: 2\n", f"    weight: {level4_weight}\n", 1)
    text = head + "  - id: level4_full" + tail
    if version:
        text = text.replace(f'version: "{OLD}"', f'version: "{version}"', 1)
    path.write_text(text, encoding="utf-8")
    return target


@pytest.fixture(scope="module")
def stored(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Run 1 crawled under the shipped rubric, run 2 under the re-weighted one."""
    tmp = tmp_path_factory.mktemp("rescore")
    out = tmp / "results"
    with ReplicaServer(load_scenario(SMALL)) as server:
        for rubric_dir in (RUBRIC_DIR, rubric_copy(tmp)):
            run_audit(server.base_url, out, rubric_dir=rubric_dir, scenario=str(SMALL),
                      echo=lambda _: None, quiet=True)
    return out / "audit.db"


@pytest.fixture
def db_path(stored: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private copy of the stored database, with the network and the crawler switched off."""
    copy = tmp_path / "audit.db"
    source = store.open_db(stored)
    source.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    shutil.copyfile(stored, copy)

    def no_network(*args: object, **kwargs: object) -> None:
        raise AssertionError("re-scoring must not touch the network")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    for name in ("crawl", "launch", "go"):
        monkeypatch.setattr(f"crawler.runner.{name}", no_network)
    for name in ("launch", "go"):
        monkeypatch.setattr(f"app.jobs.{name}", no_network)
    return copy


def rescore(db_path: Path, rubric_dir: Path, *args: str):
    return CliRunner().invoke(main, ["rescore", "--db", str(db_path), "--out",
                                     str(db_path.parent / "out"), "--rubric", str(rubric_dir),
                                     *args], catch_exceptions=False)


def cells(db, run_id: int, version: str) -> dict:
    return {(v["unit_code"], v["service_id"], v["criterion_id"]): (v["verdict"], v["reason"])
            for v in store.load_verdicts(db, run_id, version)}


def test_a_new_weight_rescored_without_network_gives_the_new_scores(db_path: Path,
                                                                   tmp_path: Path) -> None:
    new_rubric = rubric_copy(tmp_path)
    result = rescore(db_path, new_rubric, "--run", "1")
    assert result.exit_code == 0, result.output
    assert f"re-scored under rubric {NEW} (was {OLD})" in result.output
    db = store.open_db(db_path)
    # Both sets are kept, with the same verdicts (only a weight changed) ...
    assert history.versions_of(db, 1) == [OLD, NEW]
    assert cells(db, 1, NEW) == cells(db, 1, OLD)
    assert store.get_run(db, 1)["rubric_version"] == NEW  # the run's current set
    # ... and the new scores are those of the new weights.
    weights = scoring.weights_from_rubric(load_rubric(new_rubric))
    assert weights["level4_full"] == 5
    expected = scoring.score_run(store.load_verdicts(db, 1, NEW), weights)
    scores = {(s["rubric_version"], s["unit_code"]): s for s in db["scores"].rows_where(
        "run_id = 1")}
    for unit in expected.units():
        assert scores[(NEW, unit.unit_code)]["share"] == unit.share
    assert scores[(NEW, "01")]["share"] != scores[(OLD, "01")]["share"]
    assert (db_path.parent / "out" / "report.html").exists()


def test_runs_of_different_versions_are_compared_only_after_rescoring(db_path: Path,
                                                                     tmp_path: Path) -> None:
    runner = CliRunner()
    diff = runner.invoke(main, ["diff", "1", "2", "--db", str(db_path)])
    assert diff.exit_code == exitcodes.NOT_COMPARABLE
    assert "different rubric versions are not compared" in diff.output
    assert "rescore" in diff.output
    assert rescore(db_path, rubric_copy(tmp_path), "--run", "1").exit_code == 0
    diff = runner.invoke(main, ["diff", "1", "2", "--db", str(db_path)])
    assert diff.exit_code == 0, diff.output
    assert f"(rubric {NEW})" in diff.output and "regression 0" in diff.output


def test_content_changed_without_a_version_bump_is_reported(db_path: Path,
                                                           tmp_path: Path) -> None:
    same_version = rubric_copy(tmp_path, version=None, level4_weight=3)
    first = rescore(db_path, rubric_copy(tmp_path, version=None, level4_weight=4), "--run", "1")
    assert first.exit_code == 0
    second = rescore(db_path, same_version, "--run", "1", "--no-reports")
    assert "bump the version" in second.output
    db = store.open_db(db_path)
    assert history.versions_of(db, 1) == [OLD]  # replaced, not mixed


def test_codes_added_after_the_crawl_are_not_crawled_not_unlisted(db_path: Path,
                                                                  tmp_path: Path) -> None:
    rubric_dir = rubric_copy(tmp_path, version=OLD + "-codes", level4_weight=2)
    path = rubric_dir / "services.yaml"
    text = path.read_text(encoding="utf-8")
    # land title: Hà Nội has no row of it and no row of it is unattributed (building permits
    # have generic BCA_CAX rows in small.yaml: an absent unit would be cannot_test already)
    anchor = '      - code: "1.012753"\n'
    new_code = '      - code: "1.099001"\n        name: "Thủ tục mới về đất đai"\n'
    path.write_text(text.replace(anchor, new_code + anchor, 1), encoding="utf-8")
    result = rescore(db_path, rubric_dir, "--run", "1", "--no-reports")
    assert result.exit_code == 0, result.output
    assert "1.099001" in result.output
    db = store.open_db(db_path)
    got = cells(db, 1, OLD + "-codes")
    before = cells(db, 1, OLD)
    assert got[("46", "land_title", "offered_online")] == ("met", "")  # positive stays
    assert before[("01", "land_title", "offered_online")][0] == "not_met"
    assert got[("01", "land_title", "offered_online")] == ("cannot_test", "not_crawled")
    assert got[("79", "birth_registration", "level3_partial")] == \
        before[("79", "birth_registration", "level3_partial")]
    # nor is a disagreement about that service established; the others stand
    old_found, new_found = (found(db, 1, v) for v in (OLD, OLD + "-codes"))
    assert ("01", "land_title", "not_listed_nationally") in old_found
    assert old_found - new_found == {f for f in old_found if f[1] == "land_title"}
    assert new_found <= old_found and new_found


def found(db: Any, run_id: int, version: str | None = None) -> set[tuple[str, str, str]]:
    return {(f["unit_code"], f["service_id"], f["kind"])
            for f in store.load_findings(db, run_id, version)}


def test_findings_follow_the_rubric_they_are_scored_under(db_path: Path, tmp_path: Path) -> None:
    """A service the rubric no longer has provinces deliver has no province findings under it;
    the run's findings under the crawl's rubric are kept, and the report shows the current."""
    rubric_dir = rubric_copy(tmp_path, version=OLD + "-delivery", level4_weight=2)
    path = rubric_dir / "services.yaml"
    text = path.read_text(encoding="utf-8")
    anchor = "  - id: land_title\n"
    head, _, tail = text.partition(anchor)
    assert "    delivery: [province]\n" in tail
    path.write_text(head + anchor + tail.replace("    delivery: [province]\n",
                                                 "    delivery: [agency]\n", 1),
                    encoding="utf-8")
    db = store.open_db(db_path)
    before = found(db, 1)
    assert ("01", "land_title", "not_listed_nationally") in before
    assert rescore(db_path, rubric_dir, "--run", "1").exit_code == 0
    db = store.open_db(db_path)
    # the rubric's agency code for land title (G10) is contradicted whoever delivers it
    assert found(db, 1) == {f for f in before
                            if f[1] != "land_title" or f[2] == "unit_code_mismatch"}
    assert found(db, 1, OLD) == before
    page = (db_path.parent / "out" / "units" / "01.html").read_text(encoding="utf-8")
    assert 'data-service="business_registration" data-kind="national_overstates"' in page
    assert 'data-service="land_title"' not in page
