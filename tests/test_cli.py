"""`dvc-audit` as a user runs it: the demo on the full scenario, report, rubric check, help."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from app.cli import main
from core import store
from core.rubric import load_rubric
from replica.scenario import load_scenario
from replica.truth import expected_verdicts
from tests.browser import render

PROJECT = Path(__file__).resolve().parents[1]
FULL = PROJECT / "replica" / "scenarios" / "full.yaml"


@pytest.fixture(scope="module")
def full_demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    out = tmp_path_factory.mktemp("demo")
    proc = subprocess.run([sys.executable, "-m", "app.cli", "demo", "--out", str(out)],
                          cwd=PROJECT, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return out, proc.stdout


@pytest.mark.slow
@pytest.mark.browser
def test_demo_on_the_full_scenario_prints_where_results_are(full_demo: tuple[Path, str]) -> None:
    out, stdout = full_demo
    for name in ("report.html", "verdicts.csv", "audit.db"):
        assert str(out / name) in stdout
        assert (out / name).stat().st_size > 0
    assert "complete" in stdout


@pytest.mark.slow
@pytest.mark.browser
def test_demo_full_scenario_verdicts_equal_the_truth(full_demo: tuple[Path, str]) -> None:
    out, _ = full_demo
    db = store.open_db(out / "audit.db")
    run = store.get_run(db)
    got = {(v["unit_code"], v["service_id"], v["criterion_id"]): (v["verdict"], v["reason"])
           for v in store.load_verdicts(db, run["id"])}
    truth = expected_verdicts(load_scenario(FULL), load_rubric())
    assert got == truth


@pytest.mark.slow
@pytest.mark.browser
def test_demo_report_opens_in_chromium(full_demo: tuple[Path, str], tmp_path: Path) -> None:
    out, _ = full_demo
    facts = render((out / "report.html").as_uri(), tmp_path / "full.png")
    rubric = load_rubric()
    provinces = [u for u in rubric.units if u.kind == "province"]
    assert facts["matrixRows"] >= len(provinces) == 34
    assert facts["matrixCells"] == facts["matrixRows"] * 20
    assert "Thành phố Hồ Chí Minh" in facts["text"]
    assert "Ma trận đơn vị × dịch vụ" in facts["text"]


@pytest.mark.slow
@pytest.mark.browser
def test_report_renders_a_stored_run_without_crawling(full_demo: tuple[Path, str],
                                                      tmp_path: Path) -> None:
    out, _ = full_demo
    result = CliRunner().invoke(main, ["report", "--db", str(out / "audit.db"),
                                       "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "report.html").exists() and (tmp_path / "verdicts.csv").exists()
    assert (tmp_path / "verdicts.csv").read_text(encoding="utf-8") == \
        (out / "verdicts.csv").read_text(encoding="utf-8")


def test_report_without_a_database_is_a_clear_error(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("app.cli.DEFAULT_OUT", tmp_path / "none")  # nor in the usual place
    result = CliRunner().invoke(main, ["report", "--out", str(tmp_path)])
    assert result.exit_code != 0
    assert "no results database" in result.output


def test_rubric_check_passes_and_fails_with_the_field_named(tmp_path: Path) -> None:
    ok = CliRunner().invoke(main, ["rubric", "check"])
    assert ok.exit_code == 0 and "OK" in ok.output
    bad = tmp_path / "rubrics"
    bad.mkdir()
    for f in (PROJECT / "rubrics").glob("*.yaml"):
        (bad / f.name).write_text(f.read_text(encoding="utf-8"), encoding="utf-8")
    text = (bad / "services.yaml").read_text(encoding="utf-8")
    (bad / "services.yaml").write_text(text.replace("annex_no: 2\n", "annex_no: two\n", 1),
                                       encoding="utf-8")
    result = CliRunner().invoke(main, ["rubric", "check", "--rubric", str(bad)])
    assert result.exit_code != 0
    assert "services.yaml" in result.output and "annex_no" in result.output


@pytest.mark.parametrize("command", [[], ["demo"], ["run"], ["report"], ["rubric"],
                                     ["rubric", "check"], ["standing"]])
def test_every_command_has_help(command: list[str]) -> None:
    result = CliRunner().invoke(main, [*command, "--help"])
    assert result.exit_code == 0 and "Usage:" in result.output


def test_demo_rejects_a_missing_scenario(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["demo", "--scenario", str(tmp_path / "nope.yaml")])
    assert result.exit_code != 0 and "does not exist" in result.output


@pytest.mark.slow
@pytest.mark.browser
def test_run_uses_the_same_code_path_against_any_base(replica, tmp_path: Path) -> None:
    server = replica(PROJECT / "replica" / "scenarios" / "small.yaml")
    result = CliRunner().invoke(main, ["run", "--base", server.base_url, "--contact",
                                       "audit@example.invalid", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    run = store.get_run(store.open_db(tmp_path / "audit.db"))
    assert run["target"] == server.base_url and run["status"] == "complete"
    agents = {e.headers.get("user-agent", "") for e in server.request_log}
    assert any("audit@example.invalid" in a and a.startswith("Mozilla/5.0") for a in agents)


def test_reuse_window_must_be_hours_not_negative(tmp_path: Path) -> None:
    for command in (["run"], ["nightly"]):
        result = CliRunner().invoke(main, [*command, "--reuse-within", "-1", "--out",
                                           str(tmp_path)])
        assert result.exit_code == 2 and "--reuse-within" in result.output
        shown = CliRunner().invoke(main, [*command, "--help"]).output
        assert "--reuse-within HOURS" in shown
