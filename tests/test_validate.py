"""core/validate.py: one error type for every hand-written input file, one line each."""

from __future__ import annotations

import pytest

from audits.coverage import CoverageConfigError
from audits.rules import CaseError
from audits.standing import StandingDataError
from core.rubric import RubricError
from core.scoring_config import ScoringConfigError, parse_scoring_config
from core.validate import InputError, Problems, check_fields, int_in, text
from crawler.shapes import ShapesError
from replica.scenario import ScenarioError, parse_scenario


@pytest.mark.parametrize("error", [RubricError, ScenarioError, CaseError, StandingDataError,
                                   ScoringConfigError, CoverageConfigError, ShapesError])
def test_every_loader_raises_the_one_error_type(error: type[Exception]) -> None:
    assert issubclass(error, InputError)


@pytest.mark.parametrize(("error", "line"), [
    (InputError("units.yaml", "01", "name", "must not be empty", 4),
     "units.yaml:4: entry '01' field 'name': must not be empty"),
    (InputError("rubric.yaml", field="version", message="required field is missing"),
     "rubric.yaml: field 'version': required field is missing"),
    (ScenarioError("s.yaml", "offers[0].level", "must be one of FULL, PARTIAL, NONE"),
     "s.yaml: field 'offers[0].level': must be one of FULL, PARTIAL, NONE"),
    (CaseError("level4_full.yaml", "c1", "unit", "unknown unit 'XX'"),
     "level4_full.yaml: case 'c1' field 'unit': unknown unit 'XX'"),
    (CaseError("a.yaml", "met", message="every case needs an id", label="section"),
     "a.yaml: section 'met': every case needs an id"),
    (StandingDataError("standing.yaml: bridge.raw_range must be > 0"),
     "standing.yaml: bridge.raw_range must be > 0"),
])
def test_one_line_names_file_line_entry_and_field(error: InputError, line: str) -> None:
    assert str(error) == line and "\n" not in str(error)


def test_problems_collects_every_problem_of_an_entry() -> None:
    errors: list[RubricError] = []
    spec = {"name": (text(), True, None), "annex_no": (int_in(range(1, 21)), True, None)}
    got = check_fields({"name": " ", "annex_no": 30, "x": 1}, spec,
                       Problems("services.yaml", errors, RubricError), "birth")
    assert got is None and all(isinstance(e, RubricError) for e in errors)
    assert [str(e) for e in errors] == [
        "services.yaml: entry 'birth' field 'x': unknown field (allowed: name, annex_no)",
        "services.yaml: entry 'birth' field 'name': must not be empty",
        "services.yaml: entry 'birth' field 'annex_no': must be an integer 1..20"]


def test_loaders_raise_it_for_bad_files() -> None:
    with pytest.raises(InputError, match=r"^bad.yaml: field 'seed': must be an integer"):
        parse_scenario({"name": "x", "seed": "one", "procedures": []}, "bad.yaml")
    with pytest.raises(InputError):
        parse_scoring_config({"groups": "many"})
