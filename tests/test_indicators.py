"""The UN indicator sets (rubrics/indicators/): complete against the UN's own lists (read in
place from ../shared), consistent with the 20-service rubric, and validated by `rubric check`."""

from __future__ import annotations

import csv
import re
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
from tests.test_report_language import DOC_NUMBER, ENGLISH, vietnamese_words

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


def test_every_feature_says_what_to_fix_in_both_languages(shipped):
    """Issue 18: the reports show each missing feature's fix; the English one is English and
    the Vietnamese one carries no English label (the report language tests' own rules)."""
    for s in shipped.sets.values():
        for ind in s.indicators:
            assert ind.fix_vi and ind.fix_en and ind.fix_vi != ind.fix_en, (s.id, ind.id)
            assert unicodedata.is_normalized("NFC", ind.fix_vi), (s.id, ind.id)
            assert not vietnamese_words(DOC_NUMBER.sub(" ", ind.fix_en)), (s.id, ind.id)
            assert not ENGLISH.findall(ind.fix_vi), (s.id, ind.id)


# a document number as the project's sources write it: 45/2020/NĐ-CP, 766/QĐ-TTg, 6146/VPCP-KSTT
_DOCUMENT = re.compile(r"\b\d+/(?:\d{4}/)?[A-ZĐ]+-[A-ZĐa-z]+")
_ARTICLE = re.compile(r"(\S+), (?:Điều|Article) (\d+)")


def _sources_text() -> str:
    """The project's own legal sources: the 20-service criteria's legal bases, the seed
    documents and the research notes beside the project."""
    rubric = load_rubric()
    parts = [c.legal_basis + " " + c.legal_basis_en for c in rubric.criteria]
    for path in sorted(require(SHARED / "seeds").glob("*.txt")):
        parts.append(path.read_text(encoding="utf-8"))
    for name in ("OSI_METHOD.md", "REAL_PORTALS.md"):
        parts.append((SHARED / "research" / name).read_text(encoding="utf-8"))
    return unicodedata.normalize("NFC", "\n".join(parts))


def test_legal_bases_cite_only_what_the_projects_sources_cite(shipped):
    """A legal basis is given in both languages, names the same documents in each, and cites
    only documents (and articles) the project's own sources cite: never an invented one."""
    sources = _sources_text()
    criteria = " ".join(c.legal_basis + " " + c.legal_basis_en for c in load_rubric().criteria)
    cited = 0
    for s in shipped.sets.values():
        for ind in s.indicators:
            if not ind.legal_basis:
                assert not ind.legal_basis_en, (s.id, ind.id)
                continue
            cited += 1
            assert ind.legal_basis_en, (s.id, ind.id)
            docs = _DOCUMENT.findall(ind.legal_basis)
            assert docs and sorted(docs) == sorted(_DOCUMENT.findall(ind.legal_basis_en)), ind.id
            assert all(d in sources for d in docs), (s.id, ind.id, docs)
            for text in (ind.legal_basis, ind.legal_basis_en):
                for m in _ARTICLE.finditer(text):  # an article only as a criterion cites it
                    assert m[0] in criteria, (s.id, ind.id, m[0])
            assert not vietnamese_words(DOC_NUMBER.sub(" ", ind.legal_basis_en)), ind.id
    assert cited >= 20, cited


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
    # every feature needs its fix in both languages (issue 18), NFC like all rubric text
    ("losi.yaml", lambda d: _first(d).pop("fix_vi"),
     "indicators/losi.yaml: entry 'official_website' field 'fix_vi': required field is missing"),
    ("osq.yaml", lambda d: _first(d).pop("fix_en"),
     "indicators/osq.yaml: entry 'org_chart' field 'fix_en': required field is missing"),
    ("losi.yaml", lambda d: _first(d).update(fix_en=" "),
     "entry 'official_website' field 'fix_en': must not be empty"),
    ("osq.yaml", lambda d: _first(d).update(fix_vi=unicodedata.normalize("NFD", "Đăng trang")),
     "entry 'org_chart' field 'fix_vi': text is not NFC-normalised Unicode"),
    ("osq.yaml", lambda d: _first(d).update(legal_basis_en="Decree 45/2020/NĐ-CP"),
     "entry 'org_chart' field 'legal_basis_en': an English legal basis needs `legal_basis`"),
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
