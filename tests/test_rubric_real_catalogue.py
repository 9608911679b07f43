"""The shipped rubric against the real sources in ../shared (read in place, never copied).

Skipped as a whole when ../shared (beside the repository root) is absent.
"""

from __future__ import annotations

import csv
import json
import re
import unicodedata
from pathlib import Path

import pytest

from core.rubric import Rubric, load_rubric

SHARED = Path(__file__).resolve().parents[2] / "shared"
PORTALS = SHARED / "research" / "portals"
SEED = SHARED / "seeds" / "003_0e01f973a6fa1172.txt"
CATALOGUE = PORTALS / "dvcqg_new" / "catalog.list-all-public-formality-by-citizen.jsonl"
PROVINCES = PORTALS / "dvcqg_new" / "province-vn_list-by-citizen.response.json"
DETAILS = PORTALS / "dvcqg_new" / "details"
OFFICES_766 = PORTALS / "derived" / "dvcqg_766_province_departments.csv"
CANDIDATES = PORTALS / "derived" / "un20_candidate_tthc_codes.csv"

if not SHARED.is_dir():
    pytest.skip(
        f"shared research data not found at {SHARED}: real-catalogue checks skipped",
        allow_module_level=True,
    )

# Candidate codes deliberately left out of services.yaml (code -> reason). Empty: every
# candidate was found in the catalogue and kept.
DROPPED_CANDIDATES: dict[str, str] = {}


def nfc(s: str) -> str:
    return unicodedata.normalize("NFC", s)


def squash(s: str) -> str:
    return " ".join(nfc(s).split())


@pytest.fixture(scope="module")
def rubric() -> Rubric:
    return load_rubric()


@pytest.fixture(scope="module")
def catalogue() -> dict[str, dict]:
    rows = [json.loads(line) for line in CATALOGUE.read_text(encoding="utf-8").splitlines()]
    assert len(rows) == 5670
    return {r["code"]: r for r in rows}


def parse_annex() -> dict[int, list[str]]:
    """Annex of 6146/VPCP-KSTT: item number -> [name, ministries, local, status, deadline].

    Rows are tab-separated; a row whose first cell is empty continues the cells of the row
    above (item 6's ministries cell wraps). <i> tags are dropped.
    """
    lines = SEED.read_text(encoding="utf-8").splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("STT\t"))
    rows: dict[int, list[str]] = {}
    current = 0
    for line in lines[start + 2 :]:
        if not line.strip():
            continue
        cells = line.split("\t")
        m = re.fullmatch(r"(\d+)\.", cells[0])
        if m:
            current = int(m.group(1))
            rows[current] = [c.strip() for c in cells[1:6]]
            continue
        for j, cell in enumerate(cells[1:6]):
            if cell.strip():
                rows[current][j] = f"{rows[current][j]} {cell.strip()}"
    return {k: [nfc(re.sub(r"</?i>", "", c)) for c in v] for k, v in rows.items()}


# --------------------------------------------------------------------------- annex


def test_annex_has_twenty_rows() -> None:
    assert sorted(parse_annex()) == list(range(1, 21))


def test_service_texts_match_the_annex(rubric: Rubric) -> None:
    annex = parse_annex()
    for s in rubric.services:
        name, ministries, local, status, deadline = annex[s.annex_no]
        assert s.name_vi == name, s.id
        assert s.annex_local == local, s.id
        assert s.annex_status == status, s.id
        assert s.annex_deadline == deadline, s.id
        for m in s.ministries:
            assert m in ministries, (s.id, m)


def test_spot_check_annex_rows(rubric: Rubric) -> None:
    assert rubric.service("birth_registration").annex_no == 2
    assert rubric.service("birth_registration").name_vi == "Đăng ký khai sinh"
    assert rubric.service("vehicle_registration").annex_no == 20
    assert rubric.service("temporary_residence").annex_local == ""
    assert rubric.service("driving_licence").ministries == ("Bộ Giao thông vận tải", "Bộ Công an")


# --------------------------------------------------------------------------- catalogue


def test_every_procedure_code_is_in_the_catalogue(rubric: Rubric, catalogue: dict) -> None:
    missing = sorted(rubric.all_codes() - set(catalogue))
    assert missing == []


def test_procedure_names_are_catalogue_names(rubric: Rubric, catalogue: dict) -> None:
    for s in rubric.services:
        for p in s.procedures:
            assert p.name == squash(catalogue[p.code]["name"]), (s.id, p.code)


def test_procedures_are_national_not_province_specific(rubric: Rubric, catalogue: dict) -> None:
    for code in rubric.all_codes():
        assert catalogue[code]["type"] == "STANDARD", code


def test_agency_codes_match_catalogue_owner(rubric: Rubric, catalogue: dict) -> None:
    """The agencies named for a service are the departmentPromulgate of its procedures."""
    for s in rubric.services:
        if not s.procedures:
            continue
        owners = {nfc(catalogue[p.code]["departmentPromulgate"]) for p in s.procedures}
        assert owners == {rubric.unit(c).name for c in s.agency_codes}, s.id


def test_candidate_codes_are_kept(rubric: Rubric, catalogue: dict) -> None:
    with CANDIDATES.open(encoding="utf-8") as f:
        rows = [r for r in csv.DictReader(f) if r["ma_tthc"]]
    by_annex = {s.annex_no: {p.code for p in s.procedures} for s in rubric.services}
    for r in rows:
        code = r["ma_tthc"]
        if code in DROPPED_CANDIDATES:
            continue
        assert code in catalogue, f"candidate {code} not in the catalogue: drop it and say why"
        assert code in by_annex[int(r["un_item"])], (r["un_item"], code)


# --------------------------------------------------------------------------- units


def test_provinces_equal_the_real_province_list(rubric: Rubric) -> None:
    rows = json.loads(PROVINCES.read_text(encoding="utf-8"))["data"]["rows"]
    real = {(r["code"], nfc(r["name"])) for r in rows}
    ours = {(u.code, u.name) for u in rubric.provinces}
    assert len(real) == 34
    assert ours == real


def _place(name: str) -> str:
    name = nfc(name).removeprefix("UBND ").strip()
    low = name.lower()
    for prefix in ("thành phố ", "tỉnh "):
        if low.startswith(prefix):
            return name[len(prefix) :]
    return name


def test_province_office_codes_match_766(rubric: Rubric) -> None:
    with OFFICES_766.open(encoding="utf-8") as f:
        offices = {_place(r["departmentName"]): r["departmentCode"] for r in csv.DictReader(f)}
    assert len(offices) == 34
    for u in rubric.provinces:
        assert u.office_code == offices[_place(u.name)], u.name


def test_verified_agency_codes_are_proven_by_details(rubric: Rubric, catalogue: dict) -> None:
    proven: dict[str, set[str]] = {}
    for path in DETAILS.glob("*.json"):
        data = json.loads(path.read_text(encoding="utf-8"))
        data = data.get("data", data)
        owner = nfc(catalogue[path.stem]["departmentPromulgate"])
        proven.setdefault(data["departmentPromulgateCode"], set()).add(owner)
    verified = [u for u in rubric.agencies if u.code_verified]
    assert {u.code for u in verified} == {"G01", "G08", "G09", "G12", "G15", "G17"}
    for u in verified:
        assert proven.get(u.code) == {u.name}, u.code
    for u in rubric.agencies:
        if u.code in proven:
            assert u.code_verified, f"{u.code} is proven by a detail: mark it verified"
