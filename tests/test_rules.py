"""`dvc-audit rubric test`: the rule regression cases pass on the shipped rubric and fail,
naming rule, case, expected and got, on a deliberately broken rule."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from app.cli import main
from audits import evaluate, rules
from core.rubric import RUBRIC_DIR, load_rubric

PROJECT = Path(__file__).resolve().parents[1]


def rubric_test(*args: str):
    return CliRunner().invoke(main, ["rubric", "test", *args])


def copy_rubric(tmp_path: Path) -> Path:
    target = tmp_path / "rubrics"
    shutil.copytree(RUBRIC_DIR, target)
    return target


@pytest.mark.slow  # every rule case
def test_shipped_rubric_passes_every_case() -> None:
    result = rubric_test()
    assert result.exit_code == 0, result.output
    assert " 0 failed" in result.output


def test_every_criterion_has_cases_for_its_reachable_verdicts() -> None:
    rubric = load_rubric()
    cases = rules.load_cases(RUBRIC_DIR / "cases", rubric)
    assert rules.uncovered(cases, rubric) == []
    by_rule: dict[str, set[str]] = {}
    for case in cases:
        by_rule.setdefault(case.criterion, set()).add(case.expect)
    for criterion in ("offered_online", "level3_partial", "level4_full", "national_handoff"):
        assert by_rule[criterion] == set(rules.SECTIONS), criterion
    # Portal-evidence rules cannot be met or not_met from national evidence alone.
    assert by_rule["online_payment"] == by_rule["national_sso"] == {"not_applicable",
                                                                    "cannot_test"}


@pytest.mark.slow  # every rule case
def test_a_broken_rule_in_the_code_fails_with_rule_case_expected_got(
        monkeypatch: pytest.MonkeyPatch) -> None:
    # level4_full accidentally rewritten as "at least PARTIAL"
    monkeypatch.setitem(evaluate.RULES, "level4_full", evaluate.RULES["level3_partial"])
    result = rubric_test()
    assert result.exit_code == 1
    assert "FAIL rule level4_full, case partial_is_not_full" in result.output
    assert "expected not_met (below_coverage), got met" in result.output
    fails = [line for line in result.output.splitlines() if line.startswith("FAIL")]
    assert fails and all(line.startswith("FAIL rule level4_full,") for line in fails)


@pytest.mark.slow  # every rule case
def test_a_broken_rule_in_the_rubric_fails(tmp_path: Path) -> None:
    rubric_dir = copy_rubric(tmp_path)
    path = rubric_dir / "rubric.yaml"
    text = path.read_text(encoding="utf-8")
    # level4_full accidentally applies to one service only
    head, _, tail = text.partition("  - id: level4_full")
    tail = tail.replace("applies_to: *procedures\n", "applies_to: [foreigner_visa_extension]\n", 1)
    path.write_text(head + "  - id: level4_full" + tail, encoding="utf-8")
    result = rubric_test("--rubric", str(rubric_dir))
    assert result.exit_code == 1
    assert ("FAIL rule level4_full, case full_ward_row (level4_full.yaml: 01 / "
            "birth_registration): expected met, got not_applicable (criterion_not_applicable)"
            in result.output)


@pytest.mark.slow  # every rule case
def test_a_criterion_without_cases_fails(tmp_path: Path) -> None:
    rubric_dir = copy_rubric(tmp_path)
    (rubric_dir / "cases" / "national_sso.yaml").unlink()
    result = rubric_test("--rubric", str(rubric_dir))
    assert result.exit_code == 1 and "FAIL rule national_sso: no case" in result.output


def test_a_malformed_case_names_file_case_and_field(tmp_path: Path) -> None:
    rubric_dir = copy_rubric(tmp_path)
    path = rubric_dir / "cases" / "level3_partial.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace('unit: "01"', 'unit: "99"', 1),
                    encoding="utf-8")
    result = rubric_test("--rubric", str(rubric_dir))
    assert result.exit_code == 1
    assert "level3_partial.yaml: case 'partial_row' field 'unit': unknown unit '99'" in \
        result.output


def test_ci_runs_the_rule_cases() -> None:
    script = (PROJECT / "scripts" / "test").read_text(encoding="utf-8")
    assert "dvc-audit rubric test" in script
    assert script.index("dvc-audit rubric test") < script.index("uv run --frozen pytest")
    assert "scripts/test" in (PROJECT / ".ci" / "run").read_text(encoding="utf-8")


@pytest.mark.slow  # every rule case, judged whole
def test_judging_one_cell_gives_that_cells_verdicts_of_the_whole() -> None:
    """`rubric test` judges only each case's cell (evaluate(..., only=cell)): the same rows, in
    the same order, as that cell's among the verdicts of every cell."""
    rubric = load_rubric()
    for case in rules.load_cases(RUBRIC_DIR / "cases", rubric):
        cell = (case.unit, case.service)
        whole = [v for v in evaluate.evaluate(case.evidence, rubric)
                 if (v["unit_code"], v["service_id"]) == cell]
        assert whole, case.id
        assert evaluate.evaluate(case.evidence, rubric, only=cell) == whole, case.id
