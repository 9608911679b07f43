"""Parsers on the real responses captured from the 2026 national portal (read in place)."""

from __future__ import annotations

import json

import pytest

from core.rubric import load_rubric
from crawler import parsers
from tests.shared_data import DVCQG, require


def catalogue_items() -> list[parsers.CatalogueItem]:
    path = require(DVCQG / "catalog.list-all-public-formality-by-citizen.jsonl")
    with path.open(encoding="utf-8") as fh:
        return [parsers.catalogue_item(json.loads(line)) for line in fh if line.strip()]


def test_real_catalogue_parses_into_its_5670_procedures() -> None:
    items = catalogue_items()
    assert len(items) == 5670
    assert len({i.id for i in items}) == 5670
    assert all(i.code and i.name and i.type for i in items)
    assert {i.type for i in items} <= {"STANDARD", "SPECIFIC", "STANDARD_INTERNAL"}


def test_every_rubric_code_is_in_the_real_catalogue() -> None:
    codes = {i.code for i in catalogue_items()}
    missing = load_rubric().all_codes() - codes
    assert not missing, f"rubric codes absent from the real catalogue: {sorted(missing)}"


def detail(code: str) -> parsers.DetailFacts:
    body = require(DVCQG / "details" / f"{code}.json").read_bytes()
    return parsers.detail_facts(parsers.parse_envelope(body))


def test_birth_registration_detail_facts() -> None:
    facts = detail("1.001193")
    assert facts.code == "1.001193"
    assert facts.name == "Thủ tục đăng ký khai sinh"
    assert facts.online is True
    assert "ONLINE" in facts.methods
    assert facts.is_full_process is False
    assert facts.online_fees == [0.0]
    assert not any(facts.fees)
    assert facts.levels["ward"] is True and facts.levels["province"] is False
    assert "1.001193.01" in facts.cases
    assert facts.agency_code == "G15"


@pytest.mark.parametrize(("code", "online", "full", "paid"), [
    ("1.000593", False, False, False),   # DIRECT only
    ("1.004222", True, False, True),     # permanent residence: online fee 10,000
    ("1.010039", True, True, False),
    ("2.001610", True, True, True),      # business registration: online fee 100
    ("2.000986", False, False, False),
])
def test_real_detail_files_parse_into_the_right_facts(code: str, online: bool, full: bool,
                                                        paid: bool) -> None:
    facts = detail(code)
    assert facts.code == code
    assert facts.online is online
    assert facts.is_full_process is full
    assert any(facts.online_fees) is paid


def test_every_real_detail_file_parses() -> None:
    files = sorted(require(DVCQG / "details").glob("*.json"))
    assert files, "no real detail file"
    for path in files:
        raw = json.loads(path.read_bytes())["data"]
        facts = parsers.detail_facts(parsers.parse_envelope(path.read_bytes()))
        assert facts.code == path.stem
        sent = [m["submissionMethod"] for m in raw["executionMethods"]]
        # one view per method, however often the detail repeats it (real: one per case)
        assert facts.methods == list(dict.fromkeys(sent)), path.name
        assert set(facts.methods) <= {"ONLINE", "DIRECT", "POSTAL"}
        assert facts.online == ("ONLINE" in sent and not raw.get("isOfflineOnly")), path.name
        assert len(facts.cases) == len(set(facts.cases))
        assert all(isinstance(r["value"], int | float | type(None)) for r in facts.online_fee_rows)


def test_real_province_list_parses() -> None:
    body = require(DVCQG / "province-vn_list-by-citizen.response.json").read_bytes()
    rows = parsers.province_rows(parsers.parse_envelope(body))
    assert len(rows) == 34
    assert {"name": "Thành phố Hà Nội", "code": "01"}.items() <= rows[0].items()


def test_block_page_is_not_an_answer() -> None:
    page = "<html><title>Request Rejected</title><body>The requested URL was rejected.</body>"
    assert parsers.is_block_page(page)
    with pytest.raises(parsers.ApiError, match="blocked"):
        parsers.parse_envelope(page)


def test_error_envelope_and_bad_json_raise() -> None:
    with pytest.raises(parsers.ApiError, match="api_error"):
        parsers.parse_envelope('{"code":"NOT_FOUND","data":null}')
    with pytest.raises(parsers.ApiError, match="malformed"):
        parsers.parse_envelope("{not json")


def test_office_row_normalises_level_and_text() -> None:
    row = parsers.office_row({"departmentCode": "000.00.12.H26", "implementLevel": "partial",
                              "departmentName": "So\u031b\u0309 Tư pháp", "isTesting": False,
                              "citizenUrl": None})
    assert row["implement_level"] == "PARTIAL"
    assert row["office_name"] == "Sở Tư pháp"
    assert row["testing"] is False and row["citizen_url"] is None


def test_scrapy_download_errors_get_named_reasons() -> None:
    from scrapy import exceptions
    from twisted.python.failure import Failure

    from crawler.failures import failure_reason

    def reason(exc: Exception) -> str:
        try:
            raise exc
        except Exception:
            return failure_reason(Failure())[0]

    assert reason(exceptions.DownloadTimeoutError("slow")) == "timeout"
    assert reason(exceptions.DownloadConnectionRefusedError("down")) == "refused"
    assert reason(exceptions.CannotResolveHostError("nx")) == "dns"
    assert reason(exceptions.IgnoreRequest("Forbidden by robots.txt")) == "robots_disallowed"
    assert reason(ValueError("other")) == "error"
