"""The UN indicator sets (rubrics/indicators/): complete against the UN's own lists (read in
place from ../shared), consistent with the 20-service rubric, and validated by `rubric check`."""

from __future__ import annotations

import csv
import shutil
import unicodedata
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from app.cli import main
from core.indicators import check_indicators, load_indicators
from core.rubric import RUBRIC_DIR, load_rubric
from tests.shared_data import SHARED, require

UN = SHARED / "research" / "un"
OSQ_GROUPS = {"Institutional Framework": "IF", "Content Provision": "CP", "Service Provision": "SP",
              "E-Participation": "EPI", "Technology": "TEC", "E-Government Literacy": "EGL"}
LOSI_GROUPS = {"Institutional Framework": "IF", "Content Provision": "CP",
               "Services Provision": "SP", "Participation and Engagement": "PE",
               "E-Government Literacy": "EGL", "Technology": "TEC"}


@pytest.fixture(scope="module")
def shipped():
    services = {s.id for s in load_rubric().services}
    sets = load_indicators(RUBRIC_DIR, services)
    assert sets is not None
    return sets


def _un_rows(name: str) -> list[dict[str, str]]:
    with require(UN / name).open(encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def _codes(cell: str) -> set[str]:
    if "-" in cell:  # "#022-024": two codes
        first, last = cell.split("-")
        return {first, "#" + last}
    return {c.strip() for c in cell.split(";")}


def test_osq_lists_every_un_feature_in_its_sub_index(shipped):
    # the list repeats one code (#014, privacy) under two modules: match codes and module
    by_key = {(frozenset(i.un_codes), i.group): i for i in shipped.sets["osq"].indicators}
    rows = _un_rows("osi_2024_indicators.csv")
    assert len(shipped.sets["osq"].indicators) == len(rows) == len(by_key)
    for row in rows:
        ind = by_key.get((frozenset(_codes(row["un_codes"])), OSQ_GROUPS[row["module"]]))
        assert ind is not None, f"UN feature {row['un_codes']} ({row['title']}) is missing"
        assert ind.look_in == row["evidence_locus"], ind.id
        assert ind.answer == row["answer_type"], ind.id


def test_losi_lists_every_un_feature_in_its_criterion(shipped):
    rows = _un_rows("losi_2024_indicators.csv")
    items = shipped.sets["losi"].indicators
    assert len(items) == len(rows)
    # the list itself repeats one code (#236) under two criteria: match code and criterion
    have = sorted((i.un_codes[0], i.group) for i in items)
    assert have == sorted((r["un_code"], LOSI_GROUPS[r["criterion"]]) for r in rows)


def test_questions_are_bilingual_and_nfc(shipped):
    for s in shipped.sets.values():
        for ind in s.indicators:
            assert ind.question_vi and ind.question_en, ind.id
            assert unicodedata.is_normalized("NFC", ind.question_vi), ind.id
            assert ind.question_vi != ind.question_en, ind.id


def test_services_part_is_the_20_service_audit(shipped):
    """The Services Provision features judged by the services name only real service ids, and
    most of the 20 services stand for a UN feature."""
    services = {s.id for s in load_rubric().services}
    named = {sid for s in shipped.sets.values() for i in s.indicators for sid in i.services}
    assert named <= services
    judged_by_services = [i for s in shipped.sets.values() for i in s.indicators
                          if i.judged == "services"]
    assert {i.group for i in judged_by_services} == {"SP"}
    assert len(named) >= 18, sorted(services - named)


def test_every_detector_is_used_and_every_used_detector_exists(shipped):
    used = {i.detector for s in shipped.sets.values() for i in s.indicators if i.detector}
    assert used == set(shipped.detectors)
    assert shipped.search["depth"] >= 1 and shipped.search["max_pages"] >= 1


def test_sub_index_weights_are_marked_as_estimates(shipped):
    osq = shipped.sets["osq"]
    assert osq.weights_are_estimates
    weighted = [g for g in osq.groups if not g.score_with]
    assert abs(sum(g.weight or 0 for g in weighted) - 1.0) < 1e-9


def _broken(tmp_path: Path, file: str, edit) -> Path:
    rubric = tmp_path / "rubrics"
    shutil.copytree(RUBRIC_DIR, rubric)
    path = rubric / "indicators" / file
    # libyaml: the same data and text as safe_load/safe_dump, in a tenth of the time
    doc = yaml.load(path.read_text(encoding="utf-8"), Loader=yaml.CSafeLoader)
    edit(doc)
    path.write_text(yaml.dump(doc, Dumper=yaml.CSafeDumper, allow_unicode=True,
                              sort_keys=False), encoding="utf-8")
    return rubric


def _first(doc, key="indicators"):
    return doc[key][0]


@pytest.mark.parametrize("file,edit,expected", [
    ("osq.yaml", lambda d: _first(d).update(detector="no_such_detector"),
     "indicators/osq.yaml: entry 'org_chart' field 'detector': unknown detector"),
    ("osq.yaml", lambda d: _first(d).pop("detector"),
     "entry 'org_chart' field 'detector': an automatic indicator needs a detector"),
    ("losi.yaml", lambda d: d["indicators"][38].update(services=["no_such_service"]),
     "field 'services': unknown service ids: no_such_service"),
    ("osq.yaml", lambda d: _first(d).update(un_codes=["10"]),
     "field 'un_codes': item 1: must be a UN code"),
    ("osq.yaml", lambda d: _first(d).update(group="XX"), "field 'group': unknown group 'XX'"),
    ("osq.yaml", lambda d: d["indicators"].append(dict(_first(d))),
     "entry 'org_chart' field 'id': duplicate indicator id"),
    ("losi.yaml", lambda d: d.update(set="osq"), "field 'set': must be 'losi'"),
    ("detectors.yaml", lambda d: d["detectors"]["org_chart"].update(text=["(unclosed"]),
     "entry 'org_chart' field 'text': not a valid pattern"),
    ("detectors.yaml", lambda d: d["detectors"]["https"].update(kind="magic"),
     "entry 'https' field 'kind': must be one of"),
])
def test_rubric_check_names_file_entry_and_field(tmp_path, file, edit, expected):
    rubric = _broken(tmp_path, file, edit)
    assert any(expected in str(e) for e in check_indicators(rubric, {s.id for s in load_rubric(
        rubric).services})), [str(e) for e in check_indicators(rubric)]
    result = CliRunner().invoke(main, ["rubric", "check", "--rubric", str(rubric)])
    assert result.exit_code == 1
    assert expected in result.output


def test_a_rubric_without_indicators_is_the_20_services_only(tmp_path):
    rubric = tmp_path / "rubrics"
    shutil.copytree(RUBRIC_DIR, rubric)
    shutil.rmtree(rubric / "indicators")
    assert load_indicators(rubric) is None and check_indicators(rubric) == []
    result = CliRunner().invoke(main, ["rubric", "check", "--rubric", str(rubric)])
    assert result.exit_code == 0 and "UN indicators" not in result.output
