"""Recorded answers: procedure details served exactly as the real portal sent them.

A scenario's ``recorded_details: DIR`` (relative to the scenario file) holds ``<code>.json``
files, each a ``get-formality-by-citizen`` answer envelope (``{"code": "OK", "data": {...},
"message": ...}``) as the portal sent it (docs/SCENARIOS.md "Recorded answers"). For a declared
procedure with such a file the replica serves the file's bytes instead of a generated detail,
and the catalogue row and office rows of that procedure carry the recorded ``data.id`` (the id
the crawler asks the detail with). The truth reads the file through the documented rules, here,
into the scenario's own model (``ProcedureSpec.methods`` and ``fees``): no audit or crawler code.

``python -m replica record --db results/audit.db [--run ID] --out DIR`` writes such a DIR from
the raw bodies a run stored (``write_recorded``).
"""

from __future__ import annotations

import json
import re
import sqlite3
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from replica.scenario import FEE_TYPES, METHODS, PROCEDURE_CODE_RE, Fee, ScenarioError

# the replica pages by comparing ids as lower-case hex (catalogue.py): real ids are UUIDs
UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
MAX_BYTES = 4 * 2**20  # the largest real detail is about 60 KiB


@dataclass(frozen=True)
class RecordedDetail:
    """One recorded detail answer and what the truth reads from it."""

    code: str
    path: str
    raw: bytes = field(repr=False)  # served verbatim
    data: dict[str, Any] = field(repr=False, hash=False)  # the envelope's `data`
    methods: tuple[str, ...] = ()  # distinct submission methods, first-seen order
    fees: dict[str, tuple[Fee, ...]] = field(default_factory=dict, hash=False)

    @property
    def id(self) -> str:
        return str(self.data["id"])

    def defaults(self) -> dict[str, Any]:
        """Scenario fields a procedure entry may leave out when this file is recorded."""
        d = self.data
        out: dict[str, Any] = {}
        for key, src in (("name", "name"), ("department", "departmentPromulgateName"),
                         ("agency_code", "departmentPromulgateCode")):
            if isinstance(d.get(src), str) and d[src].strip():
                out[key] = _nfc(d[src])
        levels = [lv for lv, flag in (("ward", "isWard"), ("province", "isProvince"),
                                      ("ministry", "isMinistry")) if d.get(flag) is True]
        if levels:
            out["levels"] = levels
        return out


def _nfc(text: Any) -> str:
    return unicodedata.normalize("NFC", str(text)).strip()


def _err(path: Path | str, fld: str, msg: str) -> ScenarioError:
    return ScenarioError(path, fld, msg)


def parse_recorded(path: Path | str, code: str, raw: bytes) -> RecordedDetail:
    """Validate one recorded envelope; every problem names the file and the field."""
    try:
        doc = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise _err(path, "(file)", f"not a JSON answer envelope: {exc}") from None
    if not isinstance(doc, dict):
        raise _err(path, "(file)", f"not an answer envelope: a JSON {type(doc).__name__}")
    if doc.get("code") != "OK":
        raise _err(path, "code", f"must be 'OK' (a successful answer), got {doc.get('code')!r}")
    data = doc.get("data")
    if not isinstance(data, dict):
        raise _err(path, "data", "is missing or not an object: not a detail answer")
    if data.get("code") != code:
        raise _err(path, "data.code", f"must be the file's code {code!r}, got "
                   f"{data.get('code')!r}")
    if not isinstance(data.get("id"), str) or not UUID_RE.match(data["id"]):
        raise _err(path, "data.id", f"must be a lower-case UUID, got {data.get('id')!r}")
    methods, fees = _methods(path, data)
    if data.get("isOfflineOnly") is True and "ONLINE" in methods:
        raise _err(path, "data.isOfflineOnly", "is true but an ONLINE method is listed: "
                   "whether it is offered online is undefined")
    return RecordedDetail(code=code, path=str(path), raw=raw, data=data, methods=methods,
                          fees=fees)


def _methods(path: Path | str, data: dict[str, Any]
             ) -> tuple[tuple[str, ...], dict[str, tuple[Fee, ...]]]:
    """Distinct methods in first-seen order; the fees of duplicate methods are concatenated
    (the real portal lists a method twice at times: both rows' fees apply)."""
    raw_methods = data.get("executionMethods")
    if not isinstance(raw_methods, list):
        raise _err(path, "data.executionMethods", "is missing or not a list")
    if not raw_methods:
        raise _err(path, "data.executionMethods", "is empty: no submission method")
    methods: list[str] = []
    fees: dict[str, list[Fee]] = {}
    for i, m in enumerate(raw_methods):
        fld = f"data.executionMethods[{i}]"
        if not isinstance(m, dict):
            raise _err(path, fld, "must be an object")
        method = m.get("submissionMethod")
        if method not in METHODS:
            raise _err(path, f"{fld}.submissionMethod",
                       f"must be one of {', '.join(METHODS)}, got {method!r}")
        if method not in methods:
            methods.append(method)
        raw_fees = m.get("fees")
        if raw_fees is None:
            raw_fees = []
        if not isinstance(raw_fees, list):
            raise _err(path, f"{fld}.fees", "must be a list")
        fees.setdefault(method, []).extend(
            _fee(path, f"{fld}.fees[{j}]", f) for j, f in enumerate(raw_fees))
    return tuple(methods), {m: tuple(v) for m, v in fees.items()}


def _fee(path: Path | str, fld: str, raw: Any) -> Fee:
    if not isinstance(raw, dict):
        raise _err(path, fld, "must be an object")
    value = raw.get("value")
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if value is not None and (isinstance(value, bool) or not isinstance(value, int)
                              or value < 0):
        raise _err(path, f"{fld}.value", f"must be an amount >= 0 or null, got {value!r}")
    ftype = raw.get("type") or "FEE"
    if ftype not in FEE_TYPES:
        raise _err(path, f"{fld}.type", f"must be one of {', '.join(FEE_TYPES)}, got {ftype!r}")
    description = raw.get("description")
    if description is not None and not isinstance(description, str):
        raise _err(path, f"{fld}.description", f"must be text or null, got {description!r}")
    return Fee(value, ftype, _nfc(description or ""))


def load_recorded_dir(directory: Path, scenario_file: Path | str) -> dict[str, RecordedDetail]:
    """code -> recorded detail for every ``<code>.json`` in `directory`."""
    if not directory.is_dir():
        raise _err(scenario_file, "recorded_details", f"directory {directory} does not exist")
    out: dict[str, RecordedDetail] = {}
    for path in sorted(directory.glob("*.json")):
        code = path.stem
        if not PROCEDURE_CODE_RE.match(code):
            raise _err(path, "(file name)", f"must be <procedure code>.json, e.g. "
                       f"1.001193.json, got {path.name!r}")
        if path.stat().st_size > MAX_BYTES:
            raise _err(path, "(file)", f"larger than {MAX_BYTES // 2**20} MiB")
        out[code] = parse_recorded(path, code, path.read_bytes())
    ids: dict[str, str] = {}
    for code, rec in out.items():
        if rec.id in ids:
            raise _err(rec.path, "data.id", f"{rec.id} is also the id of {ids[rec.id]}")
        ids[rec.id] = code
    return out


# --------------------------------------------------------------------------- recording


@dataclass
class Recording:
    run_id: int
    written: list[str] = field(default_factory=list)  # codes
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (code, why)


def _latest_run(db: sqlite3.Connection) -> int:
    row = db.execute("SELECT max(run_id) FROM evidence WHERE kind = 'procedure_detail' "
                     "AND outcome = 'ok'").fetchone()
    if not row or row[0] is None:
        raise ValueError("no run in the database has a procedure detail")
    return int(row[0])


def write_recorded(db_path: Path, out: Path, run_id: int | None = None) -> Recording:
    """Write every detail answer a run read well, as the portal sent it, to `out`/<code>.json.

    Bodies come from the `responses` table by the evidence's `sha256`. A body that is no valid
    envelope (it could not have been evidence, but the file is checked like any recorded file)
    or is missing is skipped and reported, so every written file loads."""
    if not db_path.is_file():
        raise ValueError(f"{db_path}: no such results database")
    db = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    try:
        run = run_id if run_id is not None else _latest_run(db)
        rows = db.execute(
            "SELECT procedure_code, sha256 FROM evidence WHERE run_id = ? AND "
            "kind = 'procedure_detail' AND outcome = 'ok' ORDER BY id", (run,)).fetchall()
        if not rows:
            raise ValueError(f"run {run} has no procedure detail evidence")
        out.mkdir(parents=True, exist_ok=True)
        rec = Recording(run)
        for code, digest in rows:
            body = db.execute("SELECT body FROM responses WHERE sha256 = ?",
                              (digest,)).fetchone()
            if code in rec.written:
                continue
            if body is None or body[0] is None:
                rec.skipped.append((code, f"raw body {digest[:12]}… not stored"))
                continue
            target = out / f"{code}.json"
            try:
                parse_recorded(target, code, bytes(body[0]))
            except ScenarioError as exc:
                rec.skipped.append((code, str(exc)))
                continue
            target.write_bytes(bytes(body[0]))
            rec.written.append(code)
        return rec
    finally:
        db.close()
