"""The fee rule (rubrics/fees.yaml, audits/fees.py) on written fees, on the real details of the
national portal (read in place from ../shared), and the replica serving the real fee shapes."""

from __future__ import annotations

import functools
import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from audits import fees
from core.rubric import RUBRIC_DIR, check_rubric, load_rubric
from crawler import parsers
from replica.scenario import Fee, ScenarioError, parse_scenario
from replica.server import API_DETAIL
from replica.truth import expected_verdicts, fee_kind
from tests.shared_data import DVCQG, require
from tests.test_replica_server import api

RULE = fees.default_rule()
CHARGED, EXEMPT, UNKNOWN = fees.CHARGED, fees.EXEMPT, fees.UNKNOWN

# (value, description) -> (kind, amount): one row per kind of written fee seen in real details
TEXTS = [
    (7000, "", CHARGED, 7000),
    (100, "Phí công bố nội dung đăng ký doanh nghiệp: 100.000 đồng/lần", CHARGED, 100000),
    (0, "Phí thẩm định: Đối với đất ở: 150.000 đồng/hồ sơ", CHARGED, 150000),
    (None, "Trường hợp nộp qua cổng dịch vụ công trực tuyến thu 5000 đồng/lần", CHARGED, 5000),
    (0, "Lệ phí: 1.500.000 đồng/hồ sơ", CHARGED, 1500000),
    (0, "Lệ phí 50.000đ/bản", CHARGED, 50000),
    (None, "Theo quy định của Hội đồng nhân dân cấp tỉnh", CHARGED, None),
    (0, "Do HĐND tỉnh quy định", CHARGED, None),
    (0, "Mức lệ phí cụ thể do Hội đồng nhân dân tỉnh quyết định.", CHARGED, None),
    (0, "Theo quy định của Luật phí và lệ phí", CHARGED, None),
    (None, "Nghị quyết số 09/2025/NQ-HĐND ngày 27/10/2025", CHARGED, None),
    (None, "Theo quy định tại Thông tư của Bộ trưởng Bộ Tài chính.", CHARGED, None),
    (None, "Chi tiết tại Biểu phí, lệ phí kèm theo", CHARGED, None),
    (None, "Theo Quyết định số 2252/QĐ-VP ngày 02/7/2026", CHARGED, None),
    (0, "Đồng (Mức lệ phí do HĐND tỉnh quyết định. Miễn lệ phí cho hộ nghèo.)", CHARGED, None),
    (0, "Miễn lệ phí cho người thuộc hộ nghèo", CHARGED, None),  # for some only
    (0, "Miễn lệ phí đối với trường hợp đăng ký đúng hạn", CHARGED, None),
    (0, "Miễn lệ phí.", EXEMPT, 0),
    (None, "Miễn phí", EXEMPT, 0),
    (0, " - Không thu phí", EXEMPT, 0),
    (0, "Miễn lệ phí. Phí cấp bản sao (nếu có yêu cầu) theo quy định tại Thông tư số "
        "281/2016/TT-BTC.", EXEMPT, 0),
    (0, "0 đồng", EXEMPT, 0),
    (0, "", UNKNOWN, None),
    (None, "", UNKNOWN, None),
    (None, "Không quy định", UNKNOWN, None),
    (0, "Phí thẩm định hồ sơ cấp đổi Giấy chứng nhận (Đất)", UNKNOWN, None),  # a name, no more
]


@pytest.mark.parametrize(("value", "text", "kind", "amount"), TEXTS)
def test_each_written_fee_reads_as_its_kind(value, text, kind, amount) -> None:
    got = fees.read_fee(value, text, RULE)
    assert (got.kind, got.amount) == (kind, amount)
    # the replica's truth reads the same data with its own code, to the same kind
    assert fee_kind(Fee(value, "FEE", text), RULE) == kind


def test_value_and_text_disagreeing_keep_both() -> None:
    got = fees.read_fee(100, "100.000 đồng/lần", RULE)
    assert (got.value, got.text_amounts, got.amount, got.disagrees) == (100, (100000,), 100000,
                                                                         True)
    agree = fees.read_fee(150000, "Đất ở: 150.000 đồng; tổ chức: 200.000 đồng", RULE)
    assert (agree.amount, agree.disagrees) == (150000, False)


def test_a_set_of_fees_is_exempt_only_when_every_fee_is() -> None:
    assert fees.combine([EXEMPT, EXEMPT]) == EXEMPT
    assert fees.combine([EXEMPT, UNKNOWN]) == UNKNOWN
    assert fees.combine([EXEMPT, UNKNOWN, CHARGED]) == CHARGED
    assert fees.combine([]) == UNKNOWN  # an ONLINE method listing no fee at all


@pytest.mark.parametrize(("detail", "kind"), [
    ({"online": True, "online_fees": [7000, 0]}, CHARGED),  # stored before online_fee_rows
    ({"online": True, "online_fees": [0]}, UNKNOWN),  # a 0 without its text cannot tell
    ({"online": True, "methods": ["ONLINE"], "online_fees": []}, UNKNOWN),
    ({"online": False, "methods": ["DIRECT"], "online_fees": []}, None),  # no ONLINE method
    ({"methods": ["ONLINE"], "online_fees": [0], "online_fee_rows": [
        {"type": "FEE", "value": 0, "description": "Miễn lệ phí"}]}, EXEMPT),
    ({"methods": ["ONLINE"], "online_fees": [], "online_fee_rows": []}, UNKNOWN),
    ({"methods": ["DIRECT"], "online_fees": [], "online_fee_rows": []}, None),
])
def test_stored_details_old_and_new(detail: dict, kind: str | None) -> None:
    assert fees.procedure_fee(detail, RULE) == kind


# --------------------------------------------------------------------------- fees.yaml


def _rubric_copy(tmp_path: Path) -> Path:
    return Path(shutil.copytree(RUBRIC_DIR, tmp_path / "rubric"))


@pytest.mark.parametrize(("change", "field"), [
    (lambda d: d["amount"].update(patterns=["(\\d+"]), "patterns"),  # not a regex
    (lambda d: d["amount"].update(patterns=["\\d+ đồng"]), "patterns"),  # no group
    (lambda d: d["exemption"].pop("starts"), "starts"),
    (lambda d: d["exemption"].update(clause_end="x*"), "clause_end"),  # matches nothing
    (lambda d: d["reference"].update(words=[]), "words"),
    (lambda d: d.update(extra=1), "extra"),
])
def test_bad_fee_rule_names_file_and_field(tmp_path: Path, change, field: str) -> None:
    d = _rubric_copy(tmp_path)
    doc = yaml.safe_load((d / "fees.yaml").read_text(encoding="utf-8"))
    change(doc)
    (d / "fees.yaml").write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    errors = check_rubric(d)
    assert errors and all(e.file == "fees.yaml" for e in errors), errors
    assert field in str(errors[0]) and str(errors[0]).startswith("fees.yaml")


def test_missing_fee_rule_is_an_error(tmp_path: Path) -> None:
    d = _rubric_copy(tmp_path)
    (d / "fees.yaml").unlink()
    assert [(e.file, e.message) for e in check_rubric(d)] == [("fees.yaml", "file not found")]


def test_shipped_rubric_carries_its_fee_rule() -> None:
    rule = load_rubric().fees
    assert rule is not None and rule.exempt_starts == ("miễn", "không thu")
    assert "hội đồng nhân dân" in rule.references


# --------------------------------------------------------------------------- real details


def _details() -> list[Path]:
    return sorted(require(DVCQG / "details").glob("*.json"))


@functools.cache  # read-only: four tests read every real detail, some of them twice
def _facts(code: str) -> dict[str, Any]:
    body = require(DVCQG / "details" / f"{code}.json").read_bytes()
    return parsers.detail_facts(parsers.parse_envelope(body)).as_dict()


# Hand-checked against the raw JSON: the procedure's online fees, and the amounts charged
# (None where the text names only where the charge is set).
REAL_CASES = [
    ("1.001193", UNKNOWN, []),  # birth: SERVICE_FEE 0, no text
    ("1.013225", CHARGED, [None]),  # building permit: "Theo quy định của HĐND cấp tỉnh"
    ("1.000656", CHARGED, [None]),  # death: HĐND decides; exempt when registered on time
    ("1.000894", EXEMPT, []),  # marriage: "Miễn lệ phí. ..."
    ("1.004194", CHARGED, [7000, 5000]),  # temporary residence; its third row "Miễn phí"
    ("1.002755", CHARGED, [7000, 7000]),  # value 5000 beside "7.000 đồng": the text's
    ("2.001610", CHARGED, [100000]),  # value 100 beside "100.000 đồng"
    ("1.004222", CHARGED, [10000]),
    ("1.010038", CHARGED, [5000, None]),  # "5000 đồng"; a conditional-exemption note
    ("1.010039", UNKNOWN, []),  # 0, no text
    ("1.003197", UNKNOWN, []),  # an ONLINE method with no fee row at all
    ("1.115711", UNKNOWN, []),  # "Không quy định"
    ("1.115755", CHARGED, [150000, 25000]),  # value 0, amounts in the text
    ("1.115621", CHARGED, [None]),  # "Chi tiết tại Biểu phí, lệ phí kèm theo"
    ("1.115444", CHARGED, [None]),  # the fees law
    ("1.115373", CHARGED, [None]),  # ONLINE twice: no fee, then "09/2025/NQ-HĐND"
    ("1.009122", CHARGED, [100000, 50000]),  # ONLINE twice with different fees: both kept
    ("1.000593", None, []),  # DIRECT only
    ("2.000986", None, []),  # isOfflineOnly false, yet no ONLINE method
]


@pytest.mark.parametrize(("code", "kind", "amounts"), REAL_CASES, ids=[c[0] for c in REAL_CASES])
def test_hand_checked_real_details(code: str, kind: str | None, amounts: list) -> None:
    facts = _facts(code)
    assert fees.procedure_fee(facts, RULE) == kind
    readings = [fees.read_fee(r["value"], r["description"], RULE) for r in facts["online_fee_rows"]]
    assert [r.amount for r in readings if r.kind == CHARGED] == amounts


AMOUNT = re.compile(r"(\d[\d.]*)\s*đồng")  # the test's own plain reading of an amount


def _plain_amounts(text: str) -> list[int]:
    return [int(n.replace(".", "")) for n in AMOUNT.findall(text) if n.replace(".", "")]


def test_every_real_online_fee_against_a_plain_reading() -> None:
    checked = 0
    for path in _details():
        data = json.loads(path.read_bytes())["data"]
        for method in data.get("executionMethods") or []:
            if method.get("submissionMethod") != "ONLINE":
                continue
            for fee in method.get("fees") or []:
                value, text = fee.get("value"), (fee.get("description") or "").strip()
                got = fees.read_fee(value, text, RULE)
                plain = [a for a in _plain_amounts(text) if a > 0]
                where = f"{path.name}: {value!r} {text[:60]!r}"
                if value and value > 0:
                    assert got.kind == CHARGED, where
                    assert got.amount == (value if not plain or value in plain else plain[0]), where
                elif plain:
                    assert (got.kind, got.amount) == (CHARGED, plain[0]), where
                elif text.lstrip(" -*(").startswith("Miễn"):
                    assert got.kind == EXEMPT, where
                elif not text:
                    assert got.kind == UNKNOWN, where
                checked += 1
    assert checked > 500  # 755 ONLINE fee rows in the July 2026 sample


def test_most_real_online_fee_sets_are_charged_or_unknown_not_exempt() -> None:
    kinds = [fees.procedure_fee(_facts(p.stem), RULE) for p in _details()]
    online = [k for k in kinds if k is not None]
    assert len(online) > 300
    assert kinds.count(EXEMPT) <= len(online) // 50  # "Miễn" is rare: marriage
    assert kinds.count(CHARGED) > len(online) // 2
    # the old rule (every value 0 -> no fee) would have called most of them free
    zero = [p for p in _details() if all(not r["value"] for r in _facts(p.stem)["online_fee_rows"])
            and _facts(p.stem)["online"]]
    assert len(zero) > len(online) // 2


def test_real_duplicate_methods_are_one_view() -> None:
    for path in _details():
        data = json.loads(path.read_bytes())["data"]
        online = [m for m in data.get("executionMethods") or []
                  if m.get("submissionMethod") == "ONLINE"]
        rows = _facts(path.stem)["online_fee_rows"]
        distinct = {json.dumps(parsers.fee_row(f), sort_keys=True)
                    for m in online for f in m.get("fees") or []}
        assert len(rows) == len(distinct), path.name  # a repeated row counted once


# --------------------------------------------------------------------------- replica


def _mini(**proc: Any) -> dict:
    base = {"code": "1.000894", "name": "Thủ tục đăng ký kết hôn", "department": "Bộ Tư pháp",
            "agency_code": "G15", "service": "marriage_registration", "levels": ["ward"],
            "methods": ["ONLINE", "DIRECT"]}
    return {"name": "fees", "seed": 3, "catalogue": {"filler": 5},
            "procedures": [{**base, **proc}],
            "offers": {"79": [{"procedure": "1.000894", "office": "ward", "level": "FULL"}]}}


def _parse(doc: dict):
    return parse_scenario(yaml.safe_load(yaml.safe_dump(doc, allow_unicode=True)), "fees.yaml")


@pytest.mark.parametrize(("proc", "field"), [
    ({"fees": {"ONLINE": [{"description": "Miễn phí"}]}}, "procedures[0].fees.ONLINE[0].value"),
    ({"fees": {"ONLINE": [{"value": -1}]}}, "procedures[0].fees.ONLINE[0].value"),
    ({"fees": {"ONLINE": [{"value": 0, "note": "x"}]}}, "procedures[0].fees.ONLINE[0].note"),
    ({"fees": {"ONLINE": [{"value": 0, "description": ["x"]}]}},
     "procedures[0].fees.ONLINE[0].description"),
    ({"processing_time": "weeks"}, "procedures[0].processing_time"),
    ({"offline_only_flag": True}, "procedures[0].offline_only_flag"),
    ({"duplicate_methods": "yes"}, "procedures[0].duplicate_methods"),
])
def test_bad_fee_and_shape_options_name_the_field(proc: dict, field: str) -> None:
    with pytest.raises(ScenarioError) as err:
        _parse(_mini(**proc))
    assert err.value.field == field and str(err.value).startswith("fees.yaml: field")


def test_scenario_fees_carry_text_and_null() -> None:
    s = _parse(_mini(fees={"ONLINE": [{"value": None, "description": "Mie\u0302\u0303n phí"},
                                      {"type": "SERVICE_FEE", "value": 0}, 7000]}))
    assert s.procedures[0].fees["ONLINE"] == (Fee(None, "FEE", "Miễn phí"),
                                              Fee(0, "SERVICE_FEE", ""), Fee(7000))


def test_replica_serves_the_real_shapes_and_the_crawler_reads_them(replica) -> None:
    text = "Theo quy định của Hội đồng nhân dân cấp tỉnh"
    doc = _mini(fees={"ONLINE": [{"value": None, "description": text}], "DIRECT": [20000]},
                duplicate_methods=True, duplicate_cases=True, processing_time="text", cases=2)
    doc["procedures"].append({**doc["procedures"][0], "code": "2.000986", "methods": ["DIRECT"],
                              "service": "birth_registration",
                              "offline_only_flag": False, "processing_time": "float",
                              "duplicate_methods": False, "duplicate_cases": False,
                              "fees": None})
    srv = replica(_parse(doc))
    data = api(srv, API_DETAIL, {"id": srv.portal.id_by_code["1.000894"]})
    methods = data["executionMethods"]
    assert [m["submissionMethod"] for m in methods] == ["ONLINE", "DIRECT"] * 2
    assert methods[0]["fees"] == [{"type": "FEE", "value": None, "currencyId": "",
                                   "attachment": None, "description": text}]
    assert methods[2]["fees"] == methods[0]["fees"]
    assert all(isinstance(m["processingTime"], str) for m in methods)
    assert [c["code"] for c in data["cases"]] == ["1.000894.01", "1.000894.02"] * 2
    facts = parsers.detail_facts(data)
    assert facts.methods == ["ONLINE", "DIRECT"] and facts.cases == ["1.000894.01",
                                                                     "1.000894.02"]
    assert facts.online_fee_rows == [{"type": "FEE", "value": None, "description": text}]
    assert fees.procedure_fee(facts.as_dict(), RULE) == CHARGED
    offline = api(srv, API_DETAIL, {"id": srv.portal.id_by_code["2.000986"]})
    assert offline["isOfflineOnly"] is False
    assert isinstance(offline["executionMethods"][0]["processingTime"], float)
    assert parsers.detail_facts(offline).online is False


def test_truth_follows_the_written_fee() -> None:
    rubric = load_rubric()
    key = ("79", "marriage_registration", "online_payment")

    def truth(online: list) -> tuple[str, str]:
        return expected_verdicts(_parse(_mini(fees={"ONLINE": online})), rubric)[key]

    assert truth([{"value": 0, "description": "Miễn lệ phí."}]) == ("not_applicable", "no_fee")
    assert truth([{"value": None, "description": "Do HĐND tỉnh quy định"}]) == (
        "cannot_test", "no_portal_evidence")
    assert truth([{"value": 0, "description": ""}]) == ("cannot_test", "fee_unknown")
    assert truth([]) == ("cannot_test", "fee_unknown")  # no fee row at all
    assert truth([{"value": 0, "description": "Miễn phí"}, {"value": None}]) == (
        "cannot_test", "fee_unknown")
