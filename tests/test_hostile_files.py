"""Hostile rubric, scenario and other hand-edited data files (issue 6): every bad file gets a
clear error naming the file (and the field or line), quickly, and the CLI prints it without a
traceback."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from app.cli import main
from audits.rules import CaseError, load_cases
from audits.scoring import ScoringConfigError, load_scoring_config, load_weights
from audits.standing import STANDING_YAML, StandingDataError, load_standing_config
from core.rubric import RUBRIC_DIR, RubricError, check_rubric, load_rubric
from core.yamlio import MAX_YAML_BYTES
from crawler.platforms.seeds import PORTAL_FILE, PortalListError, load_portal_list
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


def error_of(error: type[Exception], load: Callable[[Path], Any], path: Path) -> str:
    """The message of the `error` that `load(path)` raises, within seconds (an alias bomb is
    refused, not expanded)."""
    started = time.monotonic()
    with pytest.raises(error) as err:
        load(path)
    assert time.monotonic() - started < 10
    return str(err.value)


@pytest.mark.parametrize(("case", "brk", "words"), SCENARIO_CASES,
                         ids=[c[0] for c in SCENARIO_CASES])
def test_bad_scenario_file_is_named_quickly(tmp_path: Path, case: str, brk: Breaker,
                                            words: str) -> None:
    path = tmp_path / "scenario.yaml"
    shutil.copy(SMALL, path)
    brk(path)
    message = error_of(ScenarioError, load_scenario, path)
    assert message.startswith(f"{path}: field '") and words.lower() in message.lower()
    assert case != "syntax" or "line 2:" in message
    if path.is_file():  # click refuses a missing file or a directory itself, also cleanly
        result = CliRunner().invoke(main, ["demo", "--scenario", str(path), "--out",
                                           str(tmp_path / "out")], catch_exceptions=False)
        assert result.exit_code == 1 and str(path) in result.stderr
        assert words.lower() in result.stderr.lower() and "Traceback" not in result.output


# --------------------------------------------------------------------------- other readers
# Rule cases, scoring.yaml, rubric weights, standing.yaml and the portal list go through the
# rubric's reader too: each keeps its own error type, which names the file and line or field.


def prepend(text: str) -> Breaker:
    def brk(path: Path) -> None:
        path.write_text(text + path.read_text(encoding="utf-8"), encoding="utf-8")
    return brk


def cases_of(path: Path) -> object:
    return load_cases(path.parent, load_rubric())


READERS: dict[str, tuple[Path, Callable[[Path], object], type[Exception]]] = {
    "cases": (RUBRIC_DIR / "cases" / "level3_partial.yaml", cases_of, CaseError),
    "scoring": (RUBRIC_DIR / "scoring.yaml", load_scoring_config, ScoringConfigError),
    "weights": (RUBRIC_DIR / "rubric.yaml", load_weights, ValueError),
    "standing": (STANDING_YAML, load_standing_config, StandingDataError),
    "portals": (PORTAL_FILE, load_portal_list, PortalListError),
}
YAML_LEVEL = ("syntax", "alias_bomb", "python_tag", "not_utf8")
READER_CASES: list[tuple[str, str, Breaker, str]] = [  # (reader, case, breaker, words)
    *[(r, c, b, w) for r in READERS for c, b, w in COMMON if c in YAML_LEVEL],
    *[(r, "duplicate_key", prepend("version: 1\nversion: 2\n"),
       "line 2: YAML syntax error: duplicate key 'version'") for r in READERS],
    ("cases", "malformed_field", replace("data: {implement_level: PARTIAL}}", "data: PARTIAL}"),
     "case 'partial_row' field 'evidence[2].data': must be a mapping"),
    ("scoring", "malformed_field", replace("min: 0.50", 'min: "half"'),
     "groups[1].min: must be a number, not 'half'"),
    ("weights", "malformed_field", replace("weight: 1\n", 'weight: "one"\n'),
     "criteria[0].weight: needs a numeric weight, not 'one'"),
    ("standing", "malformed_field", replace("SP: 0.45", 'SP: "lots"'),
     "osi_weights.SP: must be a number, not 'lots'"),
    ("portals", "malformed_field", replace('url: "https://dichvucong.caobang.gov.vn/"',
                                           'url: "dichvucong.caobang.gov.vn"'),
     "portals[1].url: not an http(s) URL: 'dichvucong.caobang.gov.vn'"),
    ("portals", "unquoted_unit", replace('unit: "01"', "unit: 01"),
     'portals[0].unit: must be a province code in quotes, like "01", not 1'),
]


def copy_for(reader: str, tmp_path: Path) -> Path:
    source = READERS[reader][0]
    if reader == "cases":  # a case file is read with the others of its directory
        return Path(shutil.copytree(source.parent, tmp_path / "cases")) / source.name
    return Path(shutil.copy(source, tmp_path / source.name))


@pytest.mark.parametrize("reader", READERS)
def test_shipped_data_files_pass_their_readers(tmp_path: Path, reader: str) -> None:
    READERS[reader][1](copy_for(reader, tmp_path))


@pytest.mark.parametrize(("reader", "case", "brk", "words"), READER_CASES,
                         ids=[f"{c[0]}-{c[1]}" for c in READER_CASES])
def test_bad_data_file_is_named_by_its_reader(tmp_path: Path, reader: str, case: str,
                                              brk: Breaker, words: str) -> None:
    _, load, error = READERS[reader]
    path = copy_for(reader, tmp_path)
    brk(path)
    message = error_of(error, load, path)
    assert message.startswith(path.name if reader == "cases" else f"{path}: "), message
    assert words.lower() in message.lower() and "\n" not in message
    assert case != "syntax" or "line 2: " in message


def one_line_error(result: Result, *words: str) -> None:
    assert result.exit_code == 1 and "Traceback" not in result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.output
    assert all(w in lines[0] for w in words), lines[0]


@pytest.mark.parametrize("case", ["duplicate_key", "malformed_field"])
def test_standing_cli_names_a_bad_standing_yaml(tmp_path: Path, case: str) -> None:
    (_, _, brk, words), = [c for c in READER_CASES if c[:2] == ("standing", case)]
    path = copy_for("standing", tmp_path)
    brk(path)
    result = CliRunner().invoke(main, ["standing", "--un-data", str(path), "--rubric", str(path)],
                                catch_exceptions=False)
    one_line_error(result, str(path), words)


@pytest.mark.parametrize("case", ["duplicate_key", "malformed_field"])
def test_rubric_test_cli_names_a_bad_case_file(rubric_copy: Path, case: str) -> None:
    (_, _, brk, words), = [c for c in READER_CASES if c[:2] == ("cases", case)]
    brk(rubric_copy / "cases" / "level3_partial.yaml")
    result = CliRunner().invoke(main, ["rubric", "test", "--rubric", str(rubric_copy)],
                                catch_exceptions=False)
    one_line_error(result, "level3_partial.yaml", words)


def no_crawl(*args: object, **kwargs: object) -> None:
    raise AssertionError("a bad portal list must stop the run before any crawl")


@pytest.mark.parametrize("command", ["run", "nightly"])
def test_real_run_cli_names_a_bad_portal_list_before_crawling(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, command: str) -> None:
    import app.jobs
    import app.nightly
    import crawler.settings

    path = copy_for("portals", tmp_path)
    replace("https://dichvucong.hanoi.gov.vn/", "dichvucong.hanoi.gov.vn")(path)
    monkeypatch.setattr(crawler.settings, "DVC_PORTAL_FILE", str(path))
    monkeypatch.setattr(app.jobs, "run_audit", no_crawl)  # `run` imports it when it runs
    monkeypatch.setattr(app.nightly, "run_nightly", no_crawl)
    result = CliRunner().invoke(main, [command, "--base", "http://127.0.0.1:9", "--out",
                                       str(tmp_path / "out")], catch_exceptions=False)
    one_line_error(result, f"{path}: portals[0].url: not an http(s) URL")


@pytest.mark.slow
def test_crawl_process_names_a_bad_portal_list(tmp_path: Path) -> None:
    """`python -m crawler.runner --set DVC_PORTAL_FILE=...` (the setting's only way in): one line
    and exit 2 from the provincial spider's process, not a traceback in its log."""
    path = tmp_path / "portals.yaml"
    path.write_text('portals:\n  - {unit: "01", url: "https://a.example/", url: "x"}\n',
                    encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "crawler.runner", "--spider", "provincial", "--base",
         "http://127.0.0.1:9", "--db", str(tmp_path / "audit.db"), "--run-id", "1",
         "--set", f"DVC_PORTAL_FILE={path}", "--set", "DVC_BROWSER=false",
         "--set", 'LOG_LEVEL="WARNING"'],
        cwd=PROJECT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip() == f"error: {path}: line 2: YAML syntax error: duplicate key 'url'"
