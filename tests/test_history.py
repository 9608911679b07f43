"""History on a synthetic database (no crawl): verdict sets per rubric version, the 003
migration, change classification, flapping, stale values and --fail-on expressions."""

from __future__ import annotations

from pathlib import Path

import pytest

from app import failon
from audits import history
from core import store

UNIT = {"unit_code": "01", "unit_name": "Thành phố Hà Nội", "unit_kind": "province"}
CELLS = [("birth_registration", "level4_full"), ("birth_registration", "offered_online"),
         ("land_title", "level3_partial")]


def verdicts(*values: str) -> list[dict]:
    return [{**UNIT, "service_id": s, "criterion_id": c, "verdict": v,
             "reason": "blocked" if v == "cannot_test" else ""}
            for (s, c), v in zip(CELLS, values, strict=True)]


def add_run(db, *values: str, version: str = "v1", status: str = "complete",
            started: str | None = None) -> int:
    run = store.start_run(db, target="https://dichvucong.gov.vn", rubric_version=version,
                          engine_version="0.1.0")
    store.save_verdicts(db, run, version, verdicts(*values))
    store.finish_run(db, run, status)
    if started:
        db["runs"].update(run, {"started_at": started})
    return run


@pytest.fixture
def db(tmp_path: Path):
    return store.open_db(tmp_path / "audit.db")


def test_sets_of_two_rubric_versions_are_kept_apart(db) -> None:
    run = add_run(db, "met", "met", "not_met")
    store.save_verdicts(db, run, "v2", verdicts("not_met", "met", "not_met"))
    assert history.versions_of(db, run) == ["v1", "v2"]
    assert store.get_run(db, run)["rubric_version"] == "v2"
    assert [v["verdict"] for v in store.load_verdicts(db, run)][0] == "not_met"
    assert [v["verdict"] for v in store.load_verdicts(db, run, "v1")][0] == "met"
    store.save_verdicts(db, run, "v2", verdicts("met", "met", "met"))  # same version: replaced
    assert len(store.load_verdicts(db, run, "v2")) == 3
    assert history.get_set(db, run, "v2")["met"] == 3


def test_migration_003_turns_existing_verdicts_into_sets(tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(store, "MIGRATIONS", store.MIGRATIONS[:1])
    old = store.open_db(tmp_path / "old.db")
    run = store.start_run(old, target="t", rubric_version="v0", engine_version="0")
    old["verdicts"].insert_all([{**v, "run_id": run, "rubric_version": "v0",
                                 "evidence_ids": "[]"} for v in verdicts("met", "met", "met")])
    monkeypatch.undo()
    assert "003_history" in store.migrate(old)
    assert history.get_set(old, run, "v0")["verdicts"] == 3
    assert len(store.load_verdicts(old, run)) == 3
    assert old["verdicts"].pks == ["run_id", "rubric_version", "unit_code", "service_id",
                                   "criterion_id"]


@pytest.mark.parametrize(("before", "after", "known", "kind"), [
    ("met", "met", "met", None),
    ("met", "not_met", "met", history.REGRESSION),
    ("not_met", "met", "not_met", history.IMPROVEMENT),
    ("met", "cannot_test", "met", history.UNTESTED),
    ("not_applicable", "cannot_test", "", history.UNTESTED),
    ("cannot_test", "not_met", "met", history.REGRESSION),  # against the last known value
    ("cannot_test", "met", "met", history.RETESTED),
    ("cannot_test", "met", "", history.NEW),
    ("not_applicable", "met", "", history.SCOPE),
])
def test_classify(before: str, after: str, known: str, kind: str | None) -> None:
    assert history.classify(before, after, known) == kind


def test_flips_ignore_untestable_values() -> None:
    assert history.flips(["met", "not_met", "met"]) == 2
    assert history.flips(["met", "cannot_test", "met", "not_met"]) == 1
    assert history.flips(["not_met", "not_applicable", "not_met"]) == 0


def test_flapping_over_three_runs_is_not_a_regression(db) -> None:
    runs = [add_run(db, *v) for v in (("met", "met", "not_met"), ("not_met", "met", "met"),
                                      ("met", "met", "met"), ("not_met", "met", "met"))]
    second = history.compare(db, runs[0], runs[1])
    assert {c.criterion_id: c.change for c in second.changes} == {
        "level4_full": history.REGRESSION, "level3_partial": history.IMPROVEMENT}
    third = history.compare(db, runs[1], runs[2])
    assert [(c.criterion_id, c.change) for c in third.changes] == [
        ("level4_full", history.FLAPPING)]
    fourth = history.compare(db, runs[2], runs[3])
    assert [c.change for c in fourth.changes] == [history.FLAPPING]
    assert list(history.flapping_cells(db, "v1", history.complete_runs(db))) == [
        ("01", "birth_registration", "level4_full")]


def test_untested_keeps_the_last_known_value_as_stale_with_its_age(db) -> None:
    first = add_run(db, "met", "met", "not_met", started="2026-11-01T01:00:00Z")
    add_run(db, "met", "met", "not_met", status="incomplete", started="2026-11-02T01:00:00Z")
    third = add_run(db, "cannot_test", "met", "cannot_test", started="2026-11-04T13:00:00Z")
    comparison = history.compare(db, first, third)
    assert {c.change for c in comparison.changes} == {history.UNTESTED}
    stale = {s["criterion_id"]: s for s in history.write_stale(db, third, "v1")}
    assert stale["level4_full"]["last_verdict"] == "met"
    assert stale["level4_full"]["last_run_id"] == first  # never the incomplete run
    assert stale["level4_full"]["age_days"] == 3.5
    assert stale["level3_partial"]["last_verdict"] == "not_met"
    fourth = add_run(db, "not_met", "met", "not_met")
    back = history.compare(db, third, fourth)
    assert {c.criterion_id: c.change for c in back.changes} == {
        "level4_full": history.REGRESSION, "level3_partial": history.RETESTED}


def test_different_rubric_versions_are_never_compared(db) -> None:
    a, b = add_run(db, "met", "met", "met"), add_run(db, "met", "met", "met", version="v2")
    with pytest.raises(history.NotComparable, match="Re-score"):
        history.compare(db, a, b)
    store.save_verdicts(db, a, "v2", verdicts("met", "not_met", "met"))
    comparison = history.compare(db, a, b)
    assert comparison.version == "v2" and comparison.changes[0].change == history.IMPROVEMENT
    incomplete = add_run(db, "met", "met", "met", status="incomplete")
    with pytest.raises(history.NotComparable, match="only complete runs"):
        history.compare(db, a, incomplete)


def test_fail_on_expressions() -> None:
    change = history.Change("01", "Hà Nội", "birth_registration", "level4_full",
                            history.REGRESSION, "met", "not_met", "met", "")
    matches = {
        "any-regression": True, "regression": True, "regression:province=01": True,
        "regression:province=79|01": True, "regression:province=79": False,
        "regression:agency=01": False, "regression:service=birth_registration": True,
        "regression:service=land_title": False,
        "regression:province=01,criterion=level4_full": True,
        "regression:province=01,criterion=offered_online": False,
        "improvement": False, "any-change": True, "flapping": False,
    }
    for text, expected in matches.items():
        assert failon.parse(text).matches(change) is expected, text
    for bad in ("regresion", "regression:city=01", "regression:province"):
        with pytest.raises(failon.FailOnError):
            failon.parse(bad)
