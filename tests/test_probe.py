"""`dvc-audit probe` and the checks `run` and `nightly` make first (crawler/probe.py,
crawler/shapes.py, app/preflight.py): real HTTP against the replica, whose scenario option
`national.shape_change` renames or retypes a key the parsers depend on."""

from __future__ import annotations

import dataclasses
import json
import socket
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from app.cli import main
from app.preflight import EXIT_INCOMPATIBLE, probe_codes
from core import store
from core.rubric import load_rubric
from crawler.probe import run_probe
from crawler.shapes import ShapesError, compare, load_shapes
from replica.scenario import Fault, ShapeChange, load_scenario
from tests.shared_data import DVCQG, require

PROJECT = Path(__file__).resolve().parents[1]
SCENARIO = PROJECT / "replica" / "scenarios" / "office_lists.yaml"


# ----------------------------------------------------------------------------- shapes


def test_real_answers_have_the_expected_shapes() -> None:
    """The captured real answers (read in place) have every key the parsers depend on, of the
    expected types, and no key the shapes file does not know."""
    shapes = load_shapes()
    provinces = json.loads(require(DVCQG / "province-vn_list-by-citizen.response.json")
                           .read_text("utf-8"))
    diff = compare(shapes["provinces"], provinces["data"])
    assert not diff.breaking and not diff.new, diff.describe()
    lines = require(DVCQG / "catalog.list-all-public-formality-by-citizen.jsonl").read_text(
        "utf-8").splitlines()
    page = {"items": [json.loads(line) for line in lines], "lastId": None, "total": len(lines)}
    diff = compare(shapes["catalogue"], page)
    assert not diff.breaking and not diff.new, diff.describe()
    details = sorted(require(DVCQG / "details").glob("*.json"))
    assert len(details) >= 15
    for path in details:
        diff = compare(shapes["detail"], json.loads(path.read_text("utf-8"))["data"])
        assert not diff.breaking and not diff.new, f"{path.name}: {diff.describe()}"


def test_compare_names_missing_retyped_and_new_keys() -> None:
    shape = load_shapes()["detail"]
    real = json.loads(require(DVCQG / "details" / "1.001193.json").read_text("utf-8"))["data"]
    assert compare(shape, real).describe() == "as expected"
    changed = dict(real, methods=real["executionMethods"], isOfflineOnly="no")
    del changed["executionMethods"]
    diff = compare(shape, changed)
    assert diff.breaking and diff.missing == ["executionMethods"]
    assert diff.retyped == ["isOfflineOnly: string (expected bool)"] and diff.new == ["methods"]
    fee = dict(real["executionMethods"][0]["fees"][0], value="100.000")
    nested = dict(real, executionMethods=[dict(real["executionMethods"][0], fees=[fee])])
    assert compare(shape, nested).retyped == [
        "executionMethods[].fees[].value: string (expected number/null)"]
    empty = dict(real, executionMethods=[])  # an empty list says nothing of its elements
    assert not compare(shape, empty).breaking
    assert compare(load_shapes()["offices"], []).missing == ["rows"]  # data is not an object


def test_bad_shapes_file_names_file_and_field(tmp_path: Path) -> None:
    path = tmp_path / "shapes.yaml"
    path.write_text(yaml.safe_dump({"endpoints": {"detail": {"keys": {"id": "text"}}}}))
    with pytest.raises(ShapesError, match=r"shapes.yaml: field 'endpoints.detail.keys.id'"):
        load_shapes(path)
    path.write_text("endpoints: [1]\n")
    with pytest.raises(ShapesError, match=r"shapes.yaml: field 'endpoints'"):
        load_shapes(path)


# ----------------------------------------------------------------------------- the probe


def with_national(**options) -> object:
    scenario = load_scenario(SCENARIO)
    return dataclasses.replace(scenario, national=dataclasses.replace(scenario.national,
                                                                      **options))


def probe(server) -> object:
    return run_probe(server.base_url, codes=probe_codes(load_rubric()),
                     portal_list=server.portal_list())


def test_probe_of_the_replica_as_expected(replica) -> None:
    server = replica(SCENARIO)
    report = probe(server)
    table = report.table()
    assert report.incompatible == "" and report.unreachable == "", table
    endpoints = [c.endpoint for c in report.checks]
    assert endpoints == ["provinces", "catalogue", "detail 1.001193",
                         "offices 1.001193 VIETNAMESE_CITIZEN", "portal"], table
    assert "filter honoured" in table and "family legacy" in table
    assert all(r.method in ("POST", "GET") for r in server.requests)
    assert not server.posts("/api/v1/submitting/dossier")  # read-only


def test_probe_sees_an_ignored_filter_without_stopping(replica) -> None:
    report = probe(replica(with_national(office_filter="ignored")))
    assert report.incompatible == ""
    offices = next(c for c in report.checks if c.endpoint.startswith("offices"))
    assert "filter ignored" in offices.shape and "api_filter_ignored" in offices.action


@pytest.mark.parametrize("change, line", [
    (ShapeChange("detail", "executionMethods", rename="methods"),
     "detail 1.001193: missing executionMethods"),
    (ShapeChange("office_row", "implementLevel", retype="number"),
     "offices 1.001193 VIETNAMESE_CITIZEN: retyped rows[].implementLevel: number "
     "(expected string/null)"),
])
def test_probe_names_a_changed_shape(replica, change: ShapeChange, line: str) -> None:
    report = probe(replica(with_national(shape_change=change)))
    assert report.incompatible == line
    assert "stored as incompatible" in report.table()


def test_a_key_the_parsers_ignore_changes_nothing(replica) -> None:
    report = probe(replica(with_national(shape_change=ShapeChange("detail", "note",
                                                                  retype="number"))))
    assert report.incompatible == ""


def test_a_blocked_answer_is_a_reason_not_a_change(replica) -> None:
    scenario = dataclasses.replace(load_scenario(SCENARIO),
                                   faults=(Fault("blocked", procedure="1.001193"),))
    report = probe(replica(scenario))
    detail = next(c for c in report.checks if c.endpoint.startswith("detail"))
    assert detail.reason == "blocked" and "could not test (blocked)" in detail.action
    assert report.unreachable == "blocked" and report.incompatible == ""


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_an_unreachable_portal_is_not_incompatible() -> None:
    report = run_probe(f"http://127.0.0.1:{closed_port()}", codes=["1.001193"],
                       portal_list=[])
    assert report.unreachable == "refused" and report.incompatible == ""


# ----------------------------------------------------------------------------- commands


def test_probe_command(replica) -> None:
    runner = CliRunner()
    assert "first-run check" in runner.invoke(main, ["probe", "--help"]).output.lower()
    ok = runner.invoke(main, ["probe", "--base", replica(SCENARIO).base_url])
    assert ok.exit_code == 0, ok.output
    assert "filter honoured" in ok.output
    changed = replica(with_national(shape_change=ShapeChange("detail", "executionMethods",
                                                             rename="methods")))
    bad = runner.invoke(main, ["probe", "--base", changed.base_url])
    assert bad.exit_code == EXIT_INCOMPATIBLE
    assert "incompatible: detail 1.001193: missing executionMethods" in bad.output
    down = runner.invoke(main, ["probe", "--base", f"http://127.0.0.1:{closed_port()}"])
    assert down.exit_code == 1 and "not reachable: refused" in down.output


def stored_runs(out: Path) -> list[dict]:
    db = store.open_db(out / "audit.db")
    return [dict(r, verdicts=db.execute("SELECT COUNT(*) FROM verdicts WHERE run_id = ?",
                                        [r["id"]]).fetchone()[0])
            for r in db["runs"].rows_where(order_by="id")]


def test_run_stops_on_a_changed_shape(replica, tmp_path: Path) -> None:
    changed = replica(with_national(shape_change=ShapeChange("office_row", "formalityId",
                                                             rename="procedureId")))
    result = CliRunner().invoke(main, ["run", "--base", changed.base_url, "--out",
                                       str(tmp_path)])
    assert result.exit_code == EXIT_INCOMPATIBLE, result.output
    last = result.output.strip().splitlines()[-1]
    assert last == ("run 1: incompatible, no verdicts: offices 1.001193 VIETNAMESE_CITIZEN: "
                    "missing rows[].formalityId")
    [run] = stored_runs(tmp_path)
    assert run["status"] == "incompatible" and run["verdicts"] == 0
    assert run["note"].endswith("missing rows[].formalityId")
    assert not (tmp_path / "report.html").exists()
    details = [r for r in changed.requests if r.path.endswith("get-formality-by-citizen")]
    assert len(details) == 1  # the probe's: nothing was crawled


def test_nightly_stops_on_a_changed_shape(tmp_path: Path) -> None:
    doc = yaml.safe_load(SCENARIO.read_text("utf-8"))
    doc["national"]["shape_change"] = {"in": "detail", "key": "isOfflineOnly",
                                       "retype": "string"}
    scenario = tmp_path / "changed.yaml"
    scenario.write_text(yaml.safe_dump(doc, allow_unicode=True), "utf-8")
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["nightly", "--scenario", str(scenario), "--out",
                                       str(out), "--quiet"])
    assert result.exit_code == EXIT_INCOMPATIBLE, result.output
    assert result.output.strip().splitlines()[-1] == (
        "run 1: incompatible, no verdicts: detail 1.001193: retyped isOfflineOnly: string "
        "(expected bool)")
    [run] = stored_runs(out)
    assert run["status"] == "incompatible" and run["kind"] == "nightly" and run["verdicts"] == 0
    assert not (out / "nightly.json").exists()
    # the next night does not resume it (only incomplete runs are resumed)
    again = CliRunner().invoke(main, ["nightly", "--scenario", str(scenario), "--out",
                                      str(out), "--quiet", "--resume-only"])
    assert again.exit_code == 0 and "no interrupted nightly run" in again.output
