"""Hostile rubric and scenario files (issue 6): every bad file gets a clear error naming the
file (and the field or line), quickly, and the CLI prints it without a traceback."""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from audits.cli import main
from audits.rubric import MAX_YAML_BYTES, RUBRIC_DIR, RubricError, check_rubric, load_rubric
from replica.scenario import ScenarioError, load_scenario

PROJECT = Path(__file__).resolve().parents[1]
SMALL = PROJECT / "replica" / "scenarios" / "small.yaml"
BOMB = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{c}: &{c} [{', '.join(['*' + p] * 10)}]\n" for p, c in zip("abcdefgh", "bcdefghi",
                                                                  strict=True))
PYTHON_TAG = "version: !!python/object/apply:os.system ['echo pwned']\n"
Breaker = Callable[[Path], None]


def write(text: str | bytes) -> Breaker:
    def brk(path: Path) -> None:
        if isinstance(text, bytes):
            path.write_bytes(text)
        else:
            path.write_text(text, encoding="utf-8")
    return brk


def replace(old: str, new: str) -> Breaker:
    def brk(path: Path) -> None:
        text = path.read_text(encoding="utf-8")
        assert old in text, f"{path.name}: {old!r}"
        path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return brk


def huge(path: Path) -> None:
    with path.open("w", encoding="utf-8") as fh:
        fh.write("# padding\n" * (MAX_YAML_BYTES // 10 + 1))


def make_dir(path: Path) -> None:
    path.unlink()
    path.mkdir()


def delete(path: Path) -> None:
    path.unlink()


COMMON: list[tuple[str, Breaker, str]] = [  # (case, breaker, words the message holds)
    ("syntax", write("units: []\n  oops: 2\n"), "YAML syntax error"),
    ("alias_bomb", write(BOMB), "alias"),
    ("python_tag", write(PYTHON_TAG), "tag not allowed"),
    ("not_utf8", write(b"name: \xff\xfe caf\xe9\n"), "UTF-8"),
    ("empty", write(""), "empty"),
    ("comments_only", write("# nothing\n"), "no YAML document"),
    ("huge", huge, "10 MB"),
    ("directory", make_dir, "directory"),
    ("missing", delete, "not found"),
]
RUBRIC_CASES: list[tuple[str, str, Breaker, str]] = [
    *[(c, "units.yaml", b, w) for c, b, w in COMMON],
    ("list_for_mapping", "services.yaml", write("- a\n- b\n"), "services"),
    ("string_for_number", "rubric.yaml", replace("weight: 1", 'weight: "one"'), "weight"),
    ("unknown_key", "units.yaml", replace("office_code: H26}", "office_code: H26, colour: red}"),
     "colour"),
    ("missing_field", "units.yaml", replace(", office_code: H26}", "}"), "office_code"),
    ("duplicate_key", "units.yaml", replace("kind: province,", "kind: province, kind: agency,"),
     "duplicate"),
    ("bad_scoring", "scoring.yaml", write("groups: 3\n"), "groups"),
]


@pytest.fixture
def rubric_copy(tmp_path: Path) -> Path:
    return Path(shutil.copytree(RUBRIC_DIR, tmp_path / "rubric"))


@pytest.mark.parametrize(("case", "name", "brk", "words"), RUBRIC_CASES,
                         ids=[c[0] for c in RUBRIC_CASES])
def test_bad_rubric_file_is_named_quickly(rubric_copy: Path, case: str, name: str,
                                          brk: Breaker, words: str) -> None:
    brk(rubric_copy / name)
    started = time.monotonic()
    errors = check_rubric(rubric_copy)
    assert time.monotonic() - started < 10, "validation must stay fast"
    mine = [str(e) for e in errors if e.file == name]
    assert any(words.lower() in e.lower() for e in mine), errors
    assert case != "syntax" or any(e.startswith(f"{name}:2: ") for e in mine)  # the line
    with pytest.raises(RubricError):
        load_rubric(rubric_copy)
    result = CliRunner().invoke(main, ["rubric", "check", "--rubric", str(rubric_copy)],
                                catch_exceptions=False)
    assert result.exit_code == 1
    assert name in result.stderr and words.lower() in result.stderr.lower()
    assert "Traceback" not in result.output


SCENARIO_CASES: list[tuple[str, Breaker, str]] = [
    *[(c, b, w) for c, b, w in COMMON],
    ("list_for_mapping", write("- a\n- b\n"), "(top level)"),
    ("string_for_int", replace("seed: ", 'seed: "x" #'), "seed"),
    ("unknown_key", replace("name: ", "colour: red\nname: ", ), "colour"),
    ("missing_field", replace("seed: ", "# seed: "), "seed"),
]


@pytest.mark.parametrize(("case", "brk", "words"), SCENARIO_CASES,
                         ids=[c[0] for c in SCENARIO_CASES])
def test_bad_scenario_file_is_named_quickly(tmp_path: Path, case: str, brk: Breaker,
                                            words: str) -> None:
    path = tmp_path / "scenario.yaml"
    shutil.copy(SMALL, path)
    brk(path)
    started = time.monotonic()
    with pytest.raises(ScenarioError) as err:
        load_scenario(path)
    assert time.monotonic() - started < 10
    message = str(err.value)
    assert message.startswith(f"{path}: field '") and words.lower() in message.lower()
    assert case != "syntax" or "line 2:" in message
    if path.is_file():  # click refuses a missing file or a directory itself, also cleanly
        result = CliRunner().invoke(main, ["demo", "--scenario", str(path), "--out",
                                           str(tmp_path / "out")], catch_exceptions=False)
        assert result.exit_code == 1 and str(path) in result.stderr
        assert words.lower() in result.stderr.lower() and "Traceback" not in result.output
