"""`dvc-audit rubric check --catalogue FILE [--office-rows DIR]`: rubric codes the real catalogue
or the real office rows do not list are flagged (real files read in place; skipped when
../shared is absent), and bad source files get one line naming file and line or field."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from app.cli import main
from tests.shared_data import DVCQG, PORTALS, require

CATALOGUE = DVCQG / "catalog.list-all-public-formality-by-citizen.jsonl"
OFFICE_ROWS = PORTALS / "office_rows_2026-10"


def check(*args: str) -> tuple[int, str, dict[str, str]]:
    result = CliRunner().invoke(main, ["rubric", "check", *args])
    flags = dict(re.findall(r"^flag: services\.yaml: service '\w+' code ([\d.]+): (.*)$",
                            result.output, re.M))
    return result.exit_code, result.output, flags


def test_real_catalogue_lists_every_rubric_code() -> None:
    code, out, flags = check("--catalogue", str(require(CATALOGUE)))
    assert code == 0 and not flags and "every rubric code is in the real sources" in out


def test_real_rows_flag_the_codes_hanoi_and_hue_list_no_office_for() -> None:
    code, _, flags = check("--catalogue", str(require(CATALOGUE)),
                           "--office-rows", str(require(OFFICE_ROWS)))
    assert code == 1
    # land title: Hà Nội lists no office for either code, Huế none for 1.013978
    assert flags["1.013978"].startswith("no office row in 01, 46")
    assert flags["1.012753"].startswith("no office row in 01;")
    # temporary residence: Hà Nội lists only 1.003677 (khai báo tạm vắng) of the service
    for code_ in ("1.004194", "1.002755", "1.010028"):
        assert flags[code_].startswith("no office row in 01;")
        assert "the service there has rows for 1.003677 (01)" in flags[code_]
    # codes with rows everywhere they were looked up are not flagged
    assert "1.001193" not in flags and "1.013225" not in flags


def test_a_code_missing_from_the_catalogue_is_flagged(tmp_path: Path) -> None:
    real = [json.loads(line) for line in require(CATALOGUE).read_text("utf-8").splitlines()]
    catalogue = tmp_path / "catalogue.jsonl"
    catalogue.write_text("\n".join(json.dumps(r) for r in real if r["code"] != "1.001193"),
                         encoding="utf-8")
    code, _, flags = check("--catalogue", str(catalogue))
    assert code == 1 and set(flags) == {"1.001193"}
    assert "does not list it" in flags["1.001193"]


@pytest.mark.slow  # over ~2 s of CPU: out of the fast loop
def test_bad_source_files_are_one_line_naming_file_and_place(tmp_path: Path) -> None:
    bad = tmp_path / "catalogue.jsonl"
    bad.write_text('{"code": "1.001193"}\n{"name": "x"}\n', encoding="utf-8")
    code, out, _ = check("--catalogue", str(bad))
    assert code == 1 and f"{bad}: line 2.code: a catalogue row needs a code" in out
    rows = tmp_path / "rows"
    rows.mkdir()
    (rows / "01.json").write_text(json.dumps({"province": "01", "procedures": {
        "1.001193": {"dvc": "oops"}}}), encoding="utf-8")
    code, out, _ = check("--office-rows", str(rows))
    assert code == 1 and "01.json: procedures.1.001193.dvc: must be a list" in out
