"""The shipped rubric loads and obeys the contract; broken copies are reported precisely."""

from __future__ import annotations

import shutil
import unicodedata
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from core.rubric import (
    CRITERION_IDS,
    RUBRIC_DIR,
    Criterion,
    Rubric,
    RubricError,
    Service,
    Unit,
    check_rubric,
    load_rubric,
    unit_for_office,
)

FILES = ("rubric.yaml", "services.yaml", "units.yaml", "fees.yaml")


@pytest.fixture(scope="module")
def rubric() -> Rubric:
    return load_rubric()


# --------------------------------------------------------------------------- shipped rubric


def test_shipped_rubric_is_valid() -> None:
    assert [str(e) for e in check_rubric()] == []


def test_twenty_services_numbered_1_to_20(rubric: Rubric) -> None:
    assert len(rubric.services) == 20
    assert sorted(s.annex_no for s in rubric.services) == list(range(1, 21))
    assert len({s.id for s in rubric.services}) == 20
    assert all(isinstance(s, Service) for s in rubric.services)


def test_capabilities_are_items_17_and_18(rubric: Rubric) -> None:
    caps = {s.annex_no for s in rubric.services if s.kind == "capability"}
    assert caps == {17, 18}
    fee = rubric.service("online_fee_payment")
    assert fee.procedures == () and "766" in fee.note
    assert {p.code for p in rubric.service("utility_bill_payment").procedures} >= {"3.000001"}


def test_six_criteria_with_numeric_weights(rubric: Rubric) -> None:
    assert tuple(c.id for c in rubric.criteria) == CRITERION_IDS
    for c in rubric.criteria:
        assert isinstance(c, Criterion)
        assert isinstance(c.weight, float) and c.weight >= 0
        assert c.evidence in ("national", "portal")
    assert rubric.criterion("level4_full").weight > rubric.criterion("level3_partial").weight
    evidence = {c.id: c.evidence for c in rubric.criteria}
    assert evidence == {
        "offered_online": "national",
        "level3_partial": "national",
        "level4_full": "national",
        "online_payment": "portal",
        "national_handoff": "national",
        "national_sso": "portal",
    }


def test_criteria_for_follows_service_kind(rubric: Rubric) -> None:
    ids = lambda sid: [c.id for c in rubric.criteria_for(rubric.service(sid))]  # noqa: E731
    assert ids("online_fee_payment") == ["online_payment"]
    assert ids("utility_bill_payment") == ["offered_online", "online_payment", "national_handoff"]
    for s in rubric.services:
        if s.kind == "procedure":
            assert ids(s.id) == list(CRITERION_IDS), s.id


def test_version_is_a_string(rubric: Rubric) -> None:
    assert isinstance(rubric.version, str) and rubric.version.count(".") == 2


def test_tuples_and_frozen(rubric: Rubric) -> None:
    s = rubric.service("birth_registration")
    assert isinstance(s.procedures, tuple) and isinstance(s.delivery, tuple)
    assert isinstance(rubric.criterion("offered_online").applies_to, tuple)
    with pytest.raises(AttributeError):
        s.id = "x"  # type: ignore[misc]


def test_units(rubric: Rubric) -> None:
    assert len(rubric.provinces) == 34
    assert rubric.unit("01").name == "Thành phố Hà Nội" and rubric.unit("01").office_code == "H26"
    assert rubric.unit("79").office_code == "H29"
    assert rubric.unit("G01").name == "Bộ Công an" and rubric.unit("G01").code_verified
    for code in ("G01", "G12", "G15", "G17"):
        assert rubric.unit(code).code_verified, code
    assert not rubric.unit("EVN").code_verified
    for s in rubric.services:
        for code in s.agency_codes:
            assert rubric.unit(code).kind == "agency"


def test_lookups_raise_key_error(rubric: Rubric) -> None:
    with pytest.raises(KeyError):
        rubric.service("nope")
    with pytest.raises(KeyError):
        rubric.criterion("nope")
    with pytest.raises(KeyError):
        rubric.unit("nope")


def test_all_codes(rubric: Rubric) -> None:
    codes = rubric.all_codes()
    assert {"1.001193", "1.000656", "1.000894", "2.001610", "1.013225"} <= codes
    assert len(codes) == sum(len(s.procedures) for s in rubric.services)


@pytest.mark.parametrize(
    ("office", "unit"),
    [
        ("000.00.12.H26", "01"),
        ("000.37.26.H26", "01"),
        ("000.00.00.H29", "79"),
        ("G01", "G01"),
        ("000.00.00.G01", "G01"),
        ("000.00.00.g15", "G15"),
        ("000.00.00.H99", None),
        ("", None),
    ],
)
def test_unit_for_office(rubric: Rubric, office: str, unit: str | None) -> None:
    found = unit_for_office(rubric, office)
    assert (found.code if found else None) == unit
    assert rubric.unit_for_office(office) == found


def test_units_for_delivery(rubric: Rubric) -> None:
    birth = rubric.units_for(rubric.service("birth_registration"))
    assert len(birth) == 34 and all(u.kind == "province" for u in birth)
    visa = rubric.units_for("foreigner_visa_extension")
    assert [u.code for u in visa] == ["G01", "G08"]
    env = rubric.units_for("environmental_permit")
    assert len(env) == 35 and env[-1].code == "G10"


def test_all_text_is_nfc() -> None:
    def walk(x: object) -> None:
        if isinstance(x, str):
            assert unicodedata.is_normalized("NFC", x), x
        elif isinstance(x, dict):
            for k, v in x.items():
                walk(k)
                walk(v)
        elif isinstance(x, list):
            for v in x:
                walk(v)

    for name in FILES:
        walk(yaml.safe_load((RUBRIC_DIR / name).read_text(encoding="utf-8")))


def test_load_rubric_accepts_a_file_path() -> None:
    assert load_rubric(RUBRIC_DIR / "rubric.yaml").version == load_rubric().version


# --------------------------------------------------------------------------- broken copies


def _copy(tmp_path: Path) -> Path:
    d = tmp_path / "rubrics"
    d.mkdir()
    for name in FILES:
        shutil.copy(RUBRIC_DIR / name, d / name)
    return d


def _edit(d: Path, name: str, change: Callable[[dict], None]) -> None:
    # libyaml: the same data and text as safe_load/safe_dump, in a tenth of the time
    doc = yaml.load((d / name).read_text(encoding="utf-8"), Loader=yaml.CSafeLoader)
    change(doc)
    (d / name).write_text(yaml.dump(doc, Dumper=yaml.CSafeDumper, allow_unicode=True,
                                    sort_keys=False), "utf-8")


def _service(doc: dict, sid: str) -> dict:
    return next(s for s in doc["services"] if s["id"] == sid)


def _criterion(doc: dict, cid: str) -> dict:
    return next(c for c in doc["criteria"] if c["id"] == cid)


def _unit(doc: dict, code: str) -> dict:
    return next(u for u in doc["units"] if u["code"] == code)


def _dup_id(doc: dict) -> None:
    _service(doc, "building_permit")["id"] = "birth_registration"


def _dup_unit(doc: dict) -> None:
    unit = _unit(doc, "G15")
    unit["code"] = unit["office_code"] = "G01"


BROKEN: dict[str, tuple[str, Callable[[dict], None], str, str, str]] = {
    # case: (file, change, expected entry, expected field, text in message)
    "missing_field": (
        "services.yaml",
        lambda d: _service(d, "birth_registration").pop("name_en"),
        "birth_registration",
        "name_en",
        "missing",
    ),
    "wrong_type_annex_no": (
        "services.yaml",
        lambda d: _service(d, "birth_registration").update(annex_no="2"),
        "birth_registration",
        "annex_no",
        "integer 1..20",
    ),
    "annex_no_out_of_range": (
        "services.yaml",
        lambda d: _service(d, "death_registration").update(annex_no=21),
        "death_registration",
        "annex_no",
        "integer 1..20",
    ),
    "annex_no_twice": (
        "services.yaml",
        lambda d: _service(d, "building_permit").update(annex_no=2),
        "building_permit",
        "annex_no",
        "more than once",
    ),
    "wrong_type_keywords": (
        "services.yaml",
        lambda d: _service(d, "land_title").update(keywords="đất đai"),
        "land_title",
        "keywords",
        "must be a list",
    ),
    "duplicate_service_id": (
        "services.yaml",
        _dup_id,
        "birth_registration",
        "id",
        "duplicate",
    ),
    "unknown_field": (
        "services.yaml",
        lambda d: _service(d, "marriage_registration").update(colour="blue"),
        "marriage_registration",
        "colour",
        "unknown field",
    ),
    "bad_delivery": (
        "services.yaml",
        lambda d: _service(d, "building_permit").update(delivery=["ward"]),
        "building_permit",
        "delivery",
        "one of province, agency",
    ),
    "unknown_agency_code": (
        "services.yaml",
        lambda d: _service(d, "criminal_record").update(agency_codes=["G99"]),
        "criminal_record",
        "agency_codes",
        "G99",
    ),
    "province_as_agency": (
        "services.yaml",
        lambda d: _service(d, "criminal_record").update(agency_codes=["01"]),
        "criminal_record",
        "agency_codes",
        "not an agency",
    ),
    "bad_procedure_code": (
        "services.yaml",
        lambda d: _service(d, "birth_registration")["procedures"][0].update(code="1001193"),
        "birth_registration",
        "procedures[1].code",
        "procedure code",
    ),
    "procedure_in_two_services": (
        "services.yaml",
        lambda d: _service(d, "death_registration")["procedures"].append(
            {"code": "1.001193", "name": "Thủ tục đăng ký khai sinh"}
        ),
        "death_registration",
        "procedures",
        "birth_registration",
    ),
    "non_nfc_text": (
        "services.yaml",
        lambda d: _service(d, "birth_registration").update(
            name_vi=unicodedata.normalize("NFD", "Đăng ký khai sinh")
        ),
        "birth_registration",
        "name_vi",
        "NFC",
    ),
    "unknown_service_in_applies_to": (
        "rubric.yaml",
        lambda d: _criterion(d, "offered_online")["applies_to"].append("no_such_service"),
        "offered_online",
        "applies_to",
        "no_such_service",
    ),
    "weight_not_a_number": (
        "rubric.yaml",
        lambda d: _criterion(d, "level4_full").update(weight="heavy"),
        "level4_full",
        "weight",
        "must be a number",
    ),
    "weight_negative": (
        "rubric.yaml",
        lambda d: _criterion(d, "national_sso").update(weight=-1),
        "national_sso",
        "weight",
        ">= 0",
    ),
    "weight_bool": (
        "rubric.yaml",
        lambda d: _criterion(d, "national_sso").update(weight=True),
        "national_sso",
        "weight",
        "must be a number",
    ),
    "bad_evidence": (
        "rubric.yaml",
        lambda d: _criterion(d, "online_payment").update(evidence="guess"),
        "online_payment",
        "evidence",
        "national, portal",
    ),
    "missing_question": (
        "rubric.yaml",
        lambda d: _criterion(d, "national_handoff").pop("question_vi"),
        "national_handoff",
        "question_vi",
        "missing",
    ),
    "non_nfc_criterion": (
        "rubric.yaml",
        lambda d: _criterion(d, "level3_partial").update(
            title_vi=unicodedata.normalize("NFD", "Dịch vụ công trực tuyến một phần")
        ),
        "level3_partial",
        "title_vi",
        "NFC",
    ),
    "province_code_not_quoted": (
        "units.yaml",
        lambda d: _unit(d, "01").update(code=1),
        "#1",
        "code",
        "must be a string",
    ),
    "duplicate_unit_code": (
        "units.yaml",
        _dup_unit,
        "G01",
        "code",
        "duplicate",
    ),
    "bad_code_verified": (
        "units.yaml",
        lambda d: _unit(d, "EVN").update(code_verified="no"),
        "EVN",
        "code_verified",
        "true or false",
    ),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_broken_copy_is_reported(tmp_path: Path, case: str) -> None:
    name, change, entry, field, text = BROKEN[case]
    d = _copy(tmp_path)
    _edit(d, name, change)
    errors = check_rubric(d)
    assert errors, case
    hits = [e for e in errors if (e.file, e.entry, e.field) == (name, entry, field)]
    assert hits, [str(e) for e in errors]
    assert text in hits[0].message
    assert str(hits[0]).startswith(f"{name}: entry '{entry}' field '{field}': ")
    with pytest.raises(RubricError):
        load_rubric(d)


def test_error_string_format(tmp_path: Path) -> None:
    d = _copy(tmp_path)
    _edit(d, "services.yaml", lambda doc: _service(doc, "birth_registration").update(annex_no=0))
    with pytest.raises(RubricError) as info:
        load_rubric(d)
    assert str(info.value) == (
        "services.yaml: entry 'birth_registration' field 'annex_no': must be an integer 1..20"
    )


def test_bad_yaml_names_file_and_line(tmp_path: Path) -> None:
    d = _copy(tmp_path)
    text = (d / "services.yaml").read_text(encoding="utf-8")
    lines = text.splitlines()
    at = next(i for i, line in enumerate(lines) if "id: death_registration" in line)
    lines[at] = "  - id: [death_registration"  # unclosed flow sequence
    (d / "services.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    errors = check_rubric(d)
    yaml_errors = [e for e in errors if e.file == "services.yaml" and "YAML" in e.message]
    assert yaml_errors, [str(e) for e in errors]
    assert yaml_errors[0].line is not None and yaml_errors[0].line >= at + 1
    assert str(yaml_errors[0]).startswith(f"services.yaml:{yaml_errors[0].line}: YAML syntax error")


def test_duplicate_yaml_key_is_an_error(tmp_path: Path) -> None:
    d = _copy(tmp_path)
    text = (d / "rubric.yaml").read_text(encoding="utf-8")
    text = text.replace("    weight: 2\n", "    weight: 2\n    weight: 0\n", 1)
    (d / "rubric.yaml").write_text(text, encoding="utf-8")
    errors = check_rubric(d)
    assert any(e.file == "rubric.yaml" and "duplicate key 'weight'" in e.message for e in errors)


def test_missing_file(tmp_path: Path) -> None:
    d = _copy(tmp_path)
    (d / "units.yaml").unlink()
    errors = check_rubric(d)
    assert [(e.file, e.message) for e in errors] == [("units.yaml", "file not found")]


def test_missing_annex_number_is_reported(tmp_path: Path) -> None:
    d = _copy(tmp_path)

    def drop_item_20(doc: dict) -> None:
        doc["services"] = [s for s in doc["services"] if s["annex_no"] != 20]
        for c in doc_rubric["criteria"]:
            c["applies_to"] = [x for x in c["applies_to"] if x != "vehicle_registration"]

    doc_rubric = yaml.safe_load((d / "rubric.yaml").read_text(encoding="utf-8"))
    _edit(d, "services.yaml", drop_item_20)
    (d / "rubric.yaml").write_text(yaml.safe_dump(doc_rubric, allow_unicode=True), "utf-8")
    errors = check_rubric(d)
    assert [(e.file, e.field) for e in errors] == [("services.yaml", "annex_no")]
    assert "20" in errors[0].message


def test_check_collects_every_problem(tmp_path: Path) -> None:
    d = _copy(tmp_path)
    _edit(d, "services.yaml", lambda doc: _service(doc, "birth_registration").pop("kind"))
    _edit(d, "rubric.yaml", lambda doc: _criterion(doc, "level4_full").update(weight="x"))
    errors = check_rubric(d)
    assert {(e.file, e.field) for e in errors} >= {
        ("services.yaml", "kind"),
        ("rubric.yaml", "weight"),
    }


def test_copy_of_shipped_rubric_loads(tmp_path: Path) -> None:
    d = _copy(tmp_path)
    assert load_rubric(d) == load_rubric()
    assert isinstance(load_rubric(d).units[0], Unit)
