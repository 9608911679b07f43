"""Recorded answers (replica/recorded.py, docs/SCENARIOS.md "Recorded answers"): a scenario's
`recorded_details` directory holds real-shaped detail envelopes that the replica serves byte for
byte and the truth reads; a run's stored answers can be written to such a directory and replayed.

Audits run real crawls: run this module under the heavy-work lock
(`flock /tmp/dvc-heavy.lock uv run --frozen pytest -q tests/test_recorded.py`)."""

from __future__ import annotations

import json
import os
import sqlite3
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from app.jobs import run_audit
from core import store
from core.rubric import load_rubric
from replica.__main__ import main as replica_main
from replica.catalogue import build_detail
from replica.ids import keyed_uuid
from replica.recorded import load_recorded_dir, write_recorded
from replica.scenario import Fee, ProcedureSpec, ScenarioError, load_scenario
from replica.server import API_DETAIL, ReplicaServer
from replica.truth import expected_verdicts
from tests.shared_data import DVCQG, require

HEADERS = {"User-Agent": "Mozilla/5.0 (test)", "Content-Type": "application/json"}


# --------------------------------------------------------------------------- building files


def real_shaped(code: str, name: str, methods: list[dict[str, Any]], *,
                levels: tuple[str, ...] = ("ward",), agency: str = "G15",
                department: str = "Bộ Tư pháp", seed: int = 77) -> bytes:
    """A detail envelope with every top-level key of a real answer, pretty-printed as the real
    files are, with the given (real-shaped) executionMethods."""
    spec = ProcedureSpec(code=code, name=name, department=department, agency_code=agency,
                         services=(), levels=levels, methods=("DIRECT",))
    data = build_detail(seed, spec, keyed_uuid(seed, "recorded", code))
    data["executionMethods"] = methods
    data["isOfflineOnly"] = False  # as real answers say, even with no ONLINE method
    return json.dumps({"code": "OK", "data": data, "message": "OK"}, ensure_ascii=False,
                      indent=2).encode()


def method(kind: str, *fees: dict[str, Any], time: Any = 7) -> dict[str, Any]:
    return {"submissionMethod": kind, "processingTime": time, "processingTimeUnit": "OTHER",
            "description": "", "fees": list(fees)}


def fee(value: Any, description: str = "", kind: str = "FEE") -> dict[str, Any]:
    return {"type": kind, "value": value, "currencyId": "", "attachment": None,
            "description": description}


HDND = "Mức lệ phí cụ thể do Hội đồng nhân dân tỉnh, thành phố trực thuộc Trung ương quyết định."
RECORDED = {
    # birth: ONLINE twice (real answers repeat methods), fees 0 and null with the charge only
    # written; processingTime as a string and a float
    "1.001193": real_shaped("1.001193", "Thủ tục đăng ký khai sinh", [
        method("ONLINE", fee(0, HDND, "SERVICE_FEE"), time="3"),
        method("ONLINE", fee(None, "Miễn lệ phí"), time=2.5),
        method("DIRECT", fee(None, HDND)),
    ]),
    # temporary residence: a charged online fee beside a null one
    "1.004194": real_shaped("1.004194", "Đăng ký tạm trú", [
        method("ONLINE", fee(7000, "Trường hợp nộp trực tuyến thu 7.000 đồng/lần đăng ký."),
               fee(None, "Miễn phí cho người thuộc diện miễn")),
        method("DIRECT", fee(10000, "10.000 đồng/lần")),
    ], agency="G01", department="Bộ Công an"),
    # death: no ONLINE method, isOfflineOnly false all the same
    "1.000656": real_shaped("1.000656", "Thủ tục đăng ký khai tử", [
        method("POSTAL", fee(None, HDND)), method("DIRECT", fee(0, HDND)),
    ]),
}

SCENARIO = """\
name: recorded
seed: 77
catalogue: {filler: 40}
recorded_details: details
procedures:
  - {code: "1.001193", service: birth_registration}
  - {code: "1.004194", service: temporary_residence, levels: [ward]}
  - {code: "1.000656", service: death_registration, department: "Bộ Tư pháp"}
  - code: "1.000894"
    name: "Thủ tục đăng ký kết hôn"
    department: "Bộ Tư pháp"
    agency_code: G15
    service: marriage_registration
    levels: [ward]
    methods: [ONLINE, DIRECT]
    fees: {ONLINE: [0], DIRECT: [0]}
offers:
  "01":
    - {procedure: "1.001193", office: ward, level: FULL, count: 3, citizen_url: ""}
    - {procedure: "1.000656", office: ward, level: PARTIAL, citizen_url: ""}
    - {procedure: "1.000894", office: ward, level: NONE, citizen_url: ""}
  "79":
    - {procedure: "1.001193", office: ward, level: PARTIAL, citizen_url: ""}
  G01:
    - {procedure: "1.004194", office: agency, level: FULL, citizen_url: ""}
"""


def write_scenario(root: Path, files: dict[str, bytes], text: str = SCENARIO) -> Path:
    (root / "details").mkdir(parents=True, exist_ok=True)
    for code, body in files.items():
        (root / "details" / f"{code}.json").write_bytes(body)
    path = root / "recorded.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def fetch_detail(srv: ReplicaServer, fid: str) -> tuple[int, bytes]:
    req = urllib.request.Request(
        srv.base_url + API_DETAIL, data=json.dumps({"id": fid}).encode(), method="POST",
        headers={**HEADERS, "Origin": srv.base_url, "Referer": srv.base_url + "/"})
    with urllib.request.urlopen(req, timeout=10) as resp:
        return resp.status, resp.read()


# --------------------------------------------------------------------------- the model


def test_recorded_files_become_the_procedures_methods_and_fees(tmp_path):
    scenario = load_scenario(write_scenario(tmp_path, RECORDED))
    birth = scenario.procedure("1.001193")
    # duplicate ONLINE methods: one method, both rows' fees; null stays null
    assert birth.methods == ("ONLINE", "DIRECT")
    assert birth.fees["ONLINE"] == (Fee(0, "SERVICE_FEE", HDND), Fee(None, "FEE", "Miễn lệ phí"))
    assert birth.online_fees() == (0, None)
    # the file's name, agency and levels fill what the entry leaves out
    assert (birth.name, birth.agency_code, birth.levels) == \
        ("Thủ tục đăng ký khai sinh", "G15", ("ward",))
    assert scenario.procedure("1.000656").methods == ("POSTAL", "DIRECT")
    residence = scenario.procedure("1.004194")
    assert [f.value for f in residence.fees["ONLINE"]] == [7000, None]
    assert scenario.procedure("1.000894").fees["ONLINE"] == (Fee(0),)  # not recorded


def test_the_truth_reads_the_recorded_rules(tmp_path):
    scenario = load_scenario(write_scenario(tmp_path, RECORDED))
    truth = expected_verdicts(scenario, load_rubric())
    # online fees 0 and null, one of them charged in words (an HĐND reference) -> charged;
    # a 7,000 online fee -> charged
    assert truth[("01", "birth_registration", "online_payment")] == \
        ("cannot_test", "no_portal_evidence")
    assert truth[("G01", "temporary_residence", "online_payment")] == \
        ("cannot_test", "no_portal_evidence")
    # a row of a procedure without an ONLINE method
    assert truth[("01", "death_registration", "offered_online")] == \
        ("not_met", "no_online_method")
    assert truth[("79", "birth_registration", "level3_partial")] == ("met", "")


def test_the_replica_serves_the_recorded_bytes_under_the_recorded_id(tmp_path):
    scenario = load_scenario(write_scenario(tmp_path, RECORDED))
    with ReplicaServer(scenario) as srv:
        for code, body in RECORDED.items():
            fid = json.loads(body)["data"]["id"]
            assert srv.portal.id_by_code[code] == fid  # the catalogue row's id
            assert {r["formalityId"] for r in srv.portal.office_rows
                    if r["formalityCode"] == code} <= {fid}
            assert fetch_detail(srv, fid) == (201, body)
        generated = srv.portal.id_by_code["1.000894"]
        status, body = fetch_detail(srv, generated)
        assert status == 201 and json.loads(body)["data"]["code"] == "1.000894"


# --------------------------------------------------------------------------- bad input


def _bad(tmp_path: Path, body: bytes | None, text: str = SCENARIO) -> str:
    files = dict(RECORDED)
    if body is not None:
        files["1.001193"] = body
    path = write_scenario(tmp_path, files, text)
    with pytest.raises(ScenarioError) as exc:
        load_scenario(path)
    with pytest.raises(ScenarioError):
        ReplicaServer(path)  # nothing is served
    message = str(exc.value)
    assert "\n" not in message
    return message


def _envelope(**changes: Any) -> bytes:
    doc = json.loads(RECORDED["1.001193"])
    for key, value in changes.items():
        if key.startswith("data_"):
            doc["data"][key[5:]] = value
        elif value is None:
            doc.pop(key)
        else:
            doc[key] = value
    return json.dumps(doc, ensure_ascii=False).encode()


@pytest.mark.parametrize(("body", "field"), [
    (b"<html>Request Rejected</html>", "(file)"),
    (b'{"code": "OK", "data": {"id": "x"', "(file)"),
    (b"[1, 2]", "(file)"),
    (_envelope(data=None), "data"),
    (_envelope(code="NOT_FOUND"), "code"),
    (_envelope(data_code="1.000656"), "data.code"),
    (_envelope(data_executionMethods=None), "data.executionMethods"),
    (_envelope(data_executionMethods={"ONLINE": []}), "data.executionMethods"),
    (_envelope(data_executionMethods=[method("FAX")]), "data.executionMethods[0].submissionMethod"),
    (_envelope(data_executionMethods=[method("ONLINE", fee("7000"))]),
     "data.executionMethods[0].fees[0].value"),
    (_envelope(data_id="ABC"), "data.id"),
    (_envelope(data_isOfflineOnly=True), "data.isOfflineOnly"),
])
def test_a_recorded_file_that_is_not_an_envelope_names_file_and_field(tmp_path, body, field):
    message = _bad(tmp_path, body)
    assert message.startswith(str(tmp_path / "details" / "1.001193.json"))
    assert f"field '{field}'" in message


def test_a_missing_directory_names_the_scenario_and_key(tmp_path):
    message = _bad(tmp_path, None, SCENARIO.replace("recorded_details: details",
                                                    "recorded_details: nowhere"))
    assert message.startswith(str(tmp_path / "recorded.yaml"))
    assert "field 'recorded_details'" in message and "nowhere" in message


def test_a_recorded_code_without_a_declared_procedure(tmp_path):
    (tmp_path / "details").mkdir()
    (tmp_path / "details" / "1.003677.json").write_bytes(
        real_shaped("1.003677", "Đăng ký thường trú", [method("ONLINE")]))
    message = _bad(tmp_path, None)
    assert message.startswith(str(tmp_path / "details" / "1.003677.json"))
    assert "field '(file name)'" in message and "not declared" in message


def test_methods_declared_beside_a_recorded_file(tmp_path):
    text = SCENARIO.replace('{code: "1.001193", service: birth_registration}',
                            '{code: "1.001193", service: birth_registration, methods: [ONLINE]}')
    message = _bad(tmp_path, None, text)
    assert "field 'procedures[0].methods'" in message and "recorded file" in message


def test_a_file_name_that_is_no_code(tmp_path):
    (tmp_path / "details").mkdir()
    (tmp_path / "details" / "birth.json").write_bytes(RECORDED["1.001193"])
    assert "field '(file name)'" in _bad(tmp_path, None)


# --------------------------------------------------------------------------- end to end


def stored_verdicts(result: Any) -> dict[tuple[str, str, str], tuple[str, str]]:
    rows = store.load_verdicts(store.open_db(result.db_path), result.run_id)
    return {(v["unit_code"], v["service_id"], v["criterion_id"]): (v["verdict"], v["reason"])
            for v in rows}


def audit(scenario_path: Path, out: Path) -> Any:
    with ReplicaServer(load_scenario(scenario_path)) as srv:
        return run_audit(srv.base_url, out, scenario=str(scenario_path), echo=lambda _: None,
                         quiet=True, portal_list=srv.portal_list())


@pytest.fixture(scope="module")
def audited(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Any]:
    root = tmp_path_factory.mktemp("recorded")
    path = write_scenario(root, RECORDED)
    return path, audit(path, root / "out")


@pytest.mark.slow
def test_the_audit_of_recorded_answers_equals_the_truth(audited):
    path, result = audited
    assert result.status == "complete"
    truth = expected_verdicts(load_scenario(path), load_rubric())
    got = stored_verdicts(result)
    wrong = {k: (got.get(k), v) for k, v in truth.items() if got.get(k) != v}
    assert not wrong, f"{len(wrong)} verdicts differ, e.g. {list(wrong.items())[:5]}"
    # the crawler stored the recorded bytes as the raw body of each detail it read
    db = sqlite3.connect(result.db_path)
    bodies = dict(db.execute(
        "SELECT e.procedure_code, r.body FROM evidence e JOIN responses r USING (sha256) "
        "WHERE e.run_id = ? AND e.kind = 'procedure_detail'", (result.run_id,)).fetchall())
    for code, body in RECORDED.items():
        assert bytes(bodies[code]) == body


@pytest.mark.slow
def test_record_then_replay(audited, tmp_path):
    path, result = audited
    out = tmp_path / "night"
    assert replica_main(["record", "--db", str(result.db_path), "--run", str(result.run_id),
                         "--out", str(out)]) == 0
    written = {p.stem: p.read_bytes() for p in out.glob("*.json")}
    assert set(written) == {"1.001193", "1.004194", "1.000656", "1.000894"}
    for code, body in RECORDED.items():
        assert written[code] == body  # exactly as the portal sent it
    # replay: the same scenario with every procedure's detail taken from the night's files
    replay = tmp_path / "replay.yaml"
    text = SCENARIO.replace("recorded_details: details", f"recorded_details: {out}")
    text = text.replace("    methods: [ONLINE, DIRECT]\n    fees: {ONLINE: [0], DIRECT: [0]}\n",
                        "")
    replay.write_text(text, encoding="utf-8")
    original, replayed = load_scenario(path), load_scenario(replay)
    marriage = replayed.procedure("1.000894")
    assert marriage.methods == original.procedure("1.000894").methods
    assert [f.value for f in marriage.fees["ONLINE"]] == [0]
    rubric = load_rubric()
    assert expected_verdicts(replayed, rubric) == expected_verdicts(original, rubric)
    with ReplicaServer(replayed) as srv:
        fid = srv.portal.id_by_code["1.000894"]
        assert fetch_detail(srv, fid) == (201, written["1.000894"])


def test_record_reports_what_it_could_not_write(tmp_path):
    db_path = tmp_path / "audit.db"
    db = store.open_db(db_path)
    run = store.start_run(db, target="x", rubric_version="v", engine_version="e", scenario="")
    good, bad = RECORDED["1.004194"], b"<html>Request Rejected</html>"
    for code, body in (("1.004194", good), ("1.001193", bad), ("1.000656", None)):
        digest = store.sha256(body or code.encode())
        if body is not None:
            db["responses"].insert({"sha256": digest, "url": "u", "body": body})
        store.add_evidence(db, run, {"kind": "procedure_detail", "url": "u", "method": "POST",
                                     "observed_at": "t", "status": 201, "sha256": digest,
                                     "outcome": "ok", "reason": "", "procedure_code": code,
                                     "office_code": "", "data": {}})
    rec = write_recorded(db_path, tmp_path / "out")
    assert rec.run_id == run and rec.written == ["1.004194"]
    assert [c for c, _ in rec.skipped] == ["1.001193", "1.000656"]
    assert load_recorded_dir(tmp_path / "out", "s.yaml")["1.004194"].raw == good


# --------------------------------------------------------------------------- real answers


REAL_CODES = {  # rubric procedures with a real detail in ../shared (read in place)
    "1.001193": "birth_registration", "2.000986": "birth_registration",
    "1.013225": "building_permit", "1.004194": "temporary_residence",
    "1.002755": "temporary_residence", "1.000656": "death_registration",
    "1.000894": "marriage_registration", "2.001610": "business_registration",
}
REAL_OFFERS = """\
offers:
  "01":
    - {procedure: "1.001193", office: ward, level: FULL, count: 2, citizen_url: ""}
    - {procedure: "2.000986", office: ward, level: PARTIAL, citizen_url: ""}
    - {procedure: "1.000656", office: ward, level: FULL, citizen_url: ""}
    - {procedure: "1.013225", office: ward, level: PARTIAL, citizen_url: ""}
    - {procedure: "2.001610", office: province, level: FULL, citizen_url: ""}
  "48":
    - {procedure: "1.000894", office: ward, level: FULL, citizen_url: ""}
  G01:
    - {procedure: "1.002755", office: agency, level: FULL, citizen_url: ""}
"""


@pytest.fixture
def real_scenario(tmp_path: Path) -> Path:
    """The real files linked (not copied) into a directory of their own: the scenario must
    declare every recorded code, and the real directory holds 390 codes no rubric names."""
    details = require(DVCQG / "details")
    own = tmp_path / "details"
    own.mkdir()
    for code in REAL_CODES:
        os.symlink(details / f"{code}.json", own / f"{code}.json")
    procs = "".join(f'  - {{code: "{c}", service: {s}}}\n' for c, s in REAL_CODES.items())
    path = tmp_path / "real.yaml"
    path.write_text(f"name: real\nseed: 5\ncatalogue: {{filler: 20}}\nrecorded_details: details\n"
                    f"procedures:\n{procs}{REAL_OFFERS}", encoding="utf-8")
    return path


def test_real_answers_load_and_are_served_verbatim(real_scenario):
    scenario = load_scenario(real_scenario)
    with ReplicaServer(scenario) as srv:
        for code in REAL_CODES:
            raw = (real_scenario.parent / "details" / f"{code}.json").read_bytes()
            fid = json.loads(raw)["data"]["id"]
            assert fetch_detail(srv, fid) == (201, raw)
    # plain readings of the raw JSON: 2.000986 has no ONLINE method; 1.004194 charges online
    assert "ONLINE" not in scenario.procedure("2.000986").methods
    assert 7000 in scenario.procedure("1.004194").online_fees()


@pytest.mark.slow
def test_the_audit_of_real_answers_equals_the_truth(real_scenario, tmp_path):
    result = audit(real_scenario, tmp_path / "out")
    assert result.status == "complete"
    truth = expected_verdicts(load_scenario(real_scenario), load_rubric())
    got = stored_verdicts(result)
    wrong = {k: (got.get(k), v) for k, v in truth.items() if got.get(k) != v}
    assert not wrong, f"{len(wrong)} verdicts differ, e.g. {list(wrong.items())[:5]}"
