"""Office codes -> units on real rows (../shared/research/portals/office_rows_2026-10/, read in
place), and the coverage rule on them; plus the attribution rules on hand-written codes.

The expected counts are a plain reading of the files (README of office_rows_2026-10): every code
there is `Hxx.*` of the file's province, `BCA_CAX` (commune police of any province: no unit) or
`0100100079` (EVN's tax code).
"""

from __future__ import annotations

import itertools
import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from audits.evaluate import evaluate
from core.rubric import Rubric, check_rubric, load_rubric, unit_for_office
from tests.shared_data import PORTALS, require

ROWS_DIR = PORTALS / "office_rows_2026-10"
# The province prefixes, as the files' README states them (not read from units.yaml).
PREFIX = {"01": "H26", "79": "H29", "08": "H60", "75": "H19", "46": "H57", "48": "H17"}
# Plain reading of the files: rows per province (province's own, EVN's, nobody's).
COUNTS = {"01": (2080, 1, 4), "79": (1922, 0, 0), "08": (745, 0, 0), "75": (382, 0, 0),
          "46": (450, 0, 0), "48": (373, 0, 0)}
LEVEL = {"Toàn trình": "FULL", "Một phần": "PARTIAL"}


@pytest.fixture(scope="module")
def rubric() -> Rubric:
    return load_rubric()


def real_files() -> list[Path]:
    files = sorted(require(ROWS_DIR).glob("*.json"))
    if not files:
        pytest.skip(f"no real office rows in {ROWS_DIR}")
    return files


def rows_of(doc: dict[str, Any], codes: set[str] | None = None) -> list[tuple[str, dict]]:
    """(procedure code, row) of every office row of the file (of `codes` when given)."""
    return [(code, r) for code, proc in doc["procedures"].items()
            if codes is None or code in codes for case in proc["dvc"] for r in case["r"]]


def expected_unit(code: str, province: str) -> str | None:
    if code.split(".")[0] == PREFIX[province]:
        return province
    return "EVN" if code == "0100100079" else None


def test_every_real_office_code_is_attributed_or_counted(rubric: Rubric) -> None:
    seen = set()
    for path in real_files():
        doc = json.loads(path.read_text(encoding="utf-8"))
        province = doc["province"]
        seen.add(province)
        counts: Counter = Counter()
        for _, row in rows_of(doc):
            unit = unit_for_office(rubric, row["c"])
            got = unit.code if unit else None
            assert got == expected_unit(row["c"], province), (path.name, row["c"])
            counts["own" if got == province else "EVN" if got == "EVN" else "none"] += 1
        assert (counts["own"], counts["EVN"], counts["none"]) == COUNTS[province], path.name
    assert seen == set(COUNTS)
    assert sum(sum(c) for c in COUNTS.values()) == 5957  # the README's total


_ids = itertools.count(1)


def ev(kind: str, code: str = "", **data: Any) -> dict[str, Any]:
    return {"id": next(_ids), "kind": kind, "procedure_code": code, "outcome": "ok",
            "reason": "", "office_code": data.get("office_code", ""), "data": data}


def evidence_from(doc: dict[str, Any], codes: set[str]) -> list[dict[str, Any]]:
    """A complete national crawl of `codes` whose office rows are the file's real rows."""
    out = [ev("catalogue", complete=True)]
    for code in sorted(codes):
        out += [ev("procedure", code), ev("procedure_detail", code, online=True, online_fees=[]),
                ev("office_list", code, complete=True)]
    for code, r in rows_of(doc, codes):
        out.append(ev("office_row", code, office_code=r["c"], office_name=r["a"],
                      procedure_code=code, implement_level=LEVEL.get(r["m"], "NONE"),
                      testing=r["s"] == "Đang thử nghiệm", citizen_url=r["u"]))
    return out


def verdicts_for(evidence: list[dict], rubric: Rubric, unit: str,
                 service: str) -> dict[str, dict[str, Any]]:
    return {v["criterion_id"]: v for v in evaluate(evidence, rubric)
            if v["unit_code"] == unit and v["service_id"] == service}


def test_coverage_on_real_rows_hanoi_birth_registration(rubric: Rubric) -> None:
    doc = json.loads(require(ROWS_DIR / "01.json").read_text(encoding="utf-8"))
    codes = {p.code for p in rubric.service("birth_registration").procedures}
    rows = [r for _, r in rows_of(doc, codes)]
    offices = {r["c"] for r in rows}
    full = {r["c"] for r in rows if r["m"] == "Toàn trình" and r["s"] == "Chính thức"}
    assert (len(full), len(offices)) == (211, 211)  # every ward and sub-unit: toàn trình
    got = verdicts_for(evidence_from(doc, codes), rubric, "01", "birth_registration")
    assert (got["level4_full"]["verdict"], got["level4_full"]["detail"]) == (
        "met", f"{len(full)}/{len(offices)}")
    assert got["level3_partial"]["detail"] == "211/211"


def test_real_generic_rows_make_other_provinces_untestable(rubric: Rubric) -> None:
    """Hà Nội's building permit rows include BCA_CAX (commune police, no province): Hà Nội is
    judged on its own 172 offices; a province without a row is "could not test", not "not
    listed" - one of the generic rows may be its own."""
    doc = json.loads(require(ROWS_DIR / "01.json").read_text(encoding="utf-8"))
    codes = {p.code for p in rubric.service("building_permit").procedures}
    rows = [r for _, r in rows_of(doc, codes)]
    own = {r["c"] for r in rows if r["c"].startswith("H26.")}
    assert "BCA_CAX" in {r["c"] for r in rows}
    evidence = evidence_from(doc, codes)
    hanoi = verdicts_for(evidence, rubric, "01", "building_permit")
    assert hanoi["level4_full"]["verdict"] == "met"
    assert hanoi["level4_full"]["detail"] == f"{len(own)}/{len(own)}"
    other = verdicts_for(evidence, rubric, "04", "building_permit")
    for criterion in ("offered_online", "level3_partial", "level4_full", "national_handoff"):
        assert (other[criterion]["verdict"], other[criterion]["reason"]) == (
            "cannot_test", "unattributed_rows")


def test_real_evn_row_is_attributed_through_its_alias(rubric: Rubric) -> None:
    doc = json.loads(require(ROWS_DIR / "01.json").read_text(encoding="utf-8"))
    (row,) = [r for _, r in rows_of(doc) if r["c"] == "0100100079"]
    assert row["a"] == "Tập đoàn Điện lực Việt Nam"
    assert unit_for_office(rubric, row["c"]).code == "EVN"


@pytest.mark.parametrize(("code", "unit"), [
    ("H26.105", "01"), ("H26.105.1", "01"), ("H26.7", "01"), ("H26.103", "01"), ("H26", "01"),
    ("H26.10.13.1", "01"), ("h29.12", "79"), ("000.37.26.H26", "01"), ("000.00.12.H29", "79"),
    ("G01", "G01"), ("G01.11", "G01"), ("000.00.00.G15", "G15"), ("0100100079", "EVN"),
    ("G06.18", None), ("G11.27.094", None), ("BCA_CAX", None), ("H99.1", None), ("", None),
])
def test_attribution_rules(rubric: Rubric, code: str, unit: str | None) -> None:
    got = unit_for_office(rubric, code)
    assert (got.code if got else None) == unit


def _copy_rubric(tmp_path: Path) -> Path:
    from core.rubric import RUBRIC_DIR

    for name in ("rubric.yaml", "services.yaml", "units.yaml", "fees.yaml"):
        (tmp_path / name).write_text((RUBRIC_DIR / name).read_text(encoding="utf-8"),
                                     encoding="utf-8")
    return tmp_path


def test_an_alias_matching_two_units_is_an_error(tmp_path: Path) -> None:
    path = _copy_rubric(tmp_path)
    units = (path / "units.yaml").read_text(encoding="utf-8")
    (path / "units.yaml").write_text(units.replace(
        "office_code: G01\n", 'office_code: G01\n    aliases: ["0100100079"]\n', 1),
        encoding="utf-8")
    errors = [str(e) for e in check_rubric(path)]
    assert any(e.startswith("units.yaml: entry 'G01' field 'aliases'") and "EVN" in e
               for e in errors), errors


def test_an_alias_equal_to_another_units_office_code_is_an_error(tmp_path: Path) -> None:
    path = _copy_rubric(tmp_path)
    units = (path / "units.yaml").read_text(encoding="utf-8")
    (path / "units.yaml").write_text(units.replace('aliases: ["0100100079"]',
                                                   'aliases: ["H26"]'), encoding="utf-8")
    errors = [str(e) for e in check_rubric(path)]
    assert any("entry 'EVN' field 'aliases'" in e and "01" in e for e in errors), errors


def test_coverage_threshold_is_rubric_data(tmp_path: Path) -> None:
    path = _copy_rubric(tmp_path)
    text = (path / "rubric.yaml").read_text(encoding="utf-8")
    (path / "rubric.yaml").write_text(text.replace("coverage_threshold: 0.9",
                                                   "coverage_threshold: 0.5"), encoding="utf-8")
    assert load_rubric(path).coverage_threshold == 0.5
    (path / "rubric.yaml").write_text(text.replace("coverage_threshold: 0.9",
                                                   "coverage_threshold: 1.5"), encoding="utf-8")
    errors = [str(e) for e in check_rubric(path)]
    assert any("rubric.yaml" in e and "'coverage_threshold'" in e for e in errors), errors


# --------------------------------------------------------------------------- pure rules


def _birth_base(rubric: Rubric) -> tuple[list[str], list[dict[str, Any]]]:
    codes = [p.code for p in rubric.service("birth_registration").procedures]
    out = [ev("catalogue", complete=True)]
    for code in codes:
        out += [ev("procedure", code), ev("procedure_detail", code, online=True, online_fees=[]),
                ev("office_list", code, complete=True)]
    return codes, out


def _ward(code: str, office: str, level: str, testing: bool = False) -> dict[str, Any]:
    return ev("office_row", code, office_code=office, procedure_code=code,
              implement_level=level, testing=testing, citizen_url="http://x/apply")


@pytest.mark.parametrize(("full", "partial", "verdict"), [
    (9, 1, "met"), (8, 2, "not_met"), (10, 0, "met"), (0, 10, "not_met")])
def test_share_of_offices_against_the_threshold(rubric: Rubric, full: int, partial: int,
                                                verdict: str) -> None:
    codes, evidence = _birth_base(rubric)
    evidence += [_ward(codes[0], f"H26.{100 + k}", "FULL") for k in range(full)]
    evidence += [_ward(codes[0], f"H26.{200 + k}", "PARTIAL") for k in range(partial)]
    got = verdicts_for(evidence, rubric, "01", "birth_registration")
    assert got["level4_full"]["verdict"] == verdict
    assert got["level4_full"]["detail"] == f"{full}/{full + partial}"
    assert got["level3_partial"]["verdict"] == "met"
    if verdict == "not_met":
        assert got["level4_full"]["reason"] == "below_coverage"


def test_an_office_counts_once_at_its_best_row_not_in_testing(rubric: Rubric) -> None:
    codes, evidence = _birth_base(rubric)
    evidence += [_ward(codes[0], "H26.105", "NONE"), _ward(codes[-1], "H26.105", "FULL"),
                 _ward(codes[0], "H26.106", "FULL", testing=True)]
    got = verdicts_for(evidence, rubric, "01", "birth_registration")
    assert got["level4_full"]["detail"] == "1/2"  # H26.106's only row is in testing


def test_agency_code_confirmed_by_a_detail_or_a_row(rubric: Rubric) -> None:
    service = rubric.service("environmental_permit")  # run by G10 (never seen for real)
    code = service.procedures[0].code
    evidence = [ev("catalogue", complete=True), ev("procedure", code),
                ev("office_list", code, complete=True)]
    detail = ev("procedure_detail", code, online=True, online_fees=[], agency_code="G10",
                agency_name="Bộ Nông nghiệp và Môi trường")
    unseen = verdicts_for(evidence + [ev("procedure_detail", code, online=True,
                                         online_fees=[])], rubric, "G10", service.id)
    assert (unseen["offered_online"]["verdict"], unseen["offered_online"]["reason"]) == (
        "cannot_test", "unit_code_unverified")
    seen = verdicts_for(evidence + [detail], rubric, "G10", service.id)
    assert (seen["offered_online"]["verdict"], seen["offered_online"]["reason"]) == (
        "not_met", "not_listed")


def test_a_contradicting_agency_code_is_a_finding(rubric: Rubric) -> None:
    from audits.evaluate import findings

    service = rubric.service("land_title")  # the rubric: G10
    code = service.procedures[0].code
    evidence = [ev("catalogue", complete=True), ev("procedure", code),
                ev("procedure_detail", code, online=True, online_fees=[], agency_code="G13",
                   agency_name="Bộ Nông nghiệp và Môi trường")]
    found = [f for f in findings(evidence, rubric) if f["kind"] == "unit_code_mismatch"]
    assert [(f["unit_code"], f["service_id"], f["national"]) for f in found] == [
        ("G10", "land_title", "G13")]
    assert "G13" in found[0]["detail"] and code in found[0]["detail"]


# --------------------------------------------------------------------------- replica


def _scenario(tmp_path: Path, offers: dict, **top: Any) -> Path:
    import yaml

    doc = {"name": "t", "seed": 3, "procedures": [{
        "code": "1.001193", "name": "Thủ tục đăng ký khai sinh", "department": "Bộ Tư pháp",
        "agency_code": "G15", "service": "birth_registration", "levels": ["ward"],
        "methods": ["ONLINE"]}], "offers": offers, **top}
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    return path


@pytest.mark.parametrize(("code", "message"), [
    ("H29.105", "names unit 79, not 01"),
    ("H26.5.H29", "matches units 01, 79"),
    ("H26 105", "must be an office code"),
])
def test_scenario_office_code_errors_name_file_and_field(rubric: Rubric, tmp_path: Path,
                                                         code: str, message: str) -> None:
    from replica.scenario import ScenarioError, check_against_rubric, load_scenario

    path = _scenario(tmp_path, {"01": [{"procedure": "1.001193", "office": "ward",
                                        "level": "FULL", "office_code": code}]})
    with pytest.raises(ScenarioError) as info:
        errors = check_against_rubric(load_scenario(path), rubric)
        raise errors[0]
    assert str(info.value).startswith(f"{path}: field 'offers.01[0].office_code'")
    assert message in str(info.value)


def test_unknown_office_code_form_is_an_error(tmp_path: Path) -> None:
    from replica.scenario import ScenarioError, load_scenario

    path = _scenario(tmp_path, {}, office_codes="modern")
    with pytest.raises(ScenarioError, match=r"field 'office_codes': must be one of real, legacy"):
        load_scenario(path)


@pytest.mark.parametrize("form", ["real", "legacy"])
def test_both_generated_forms_are_attributed_to_their_unit(rubric: Rubric, tmp_path: Path,
                                                           form: str) -> None:
    from replica.catalogue import build_portal
    from replica.scenario import load_scenario

    path = _scenario(tmp_path, {
        "01": [{"procedure": "1.001193", "office": "ward", "level": "FULL", "count": 3},
               {"procedure": "1.001193", "office": "province", "level": "FULL"}],
        "G15": [{"procedure": "1.001193", "office": "agency", "level": "FULL"}],
        "79": [{"procedure": "1.001193", "office": "ward", "level": "FULL",
                "office_code": "BCA_CAX"}]}, office_codes=form)
    rows = build_portal(load_scenario(path), rubric).office_rows
    got = Counter((unit_for_office(rubric, r["departmentCode"]) or None) and
                  unit_for_office(rubric, r["departmentCode"]).code for r in rows)
    assert got == Counter({"01": 4, "G15": 1, None: 1})
    legacy = all(r["departmentCode"].startswith("000.") for r in rows
                 if r["departmentCode"] != "BCA_CAX")
    assert legacy == (form == "legacy")
