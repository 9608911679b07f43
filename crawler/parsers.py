"""Pure parsers for the national portal's JSON API (real 2026 shapes).

They turn a response body into plain facts; nothing here judges a service.
"""

from __future__ import annotations

import json
import unicodedata
from dataclasses import asdict, dataclass, field
from typing import Any

from core.vocab import Reason
from crawler.exceptions import ApiError

BLOCK_MARKERS = ("Request Rejected", "The requested URL was rejected")
CHALLENGE_MARKERS = ("Please enable JavaScript to view the page content", "bobcmn", "/TSPD/")
LEVEL_ORDER = {"NONE": 0, "PARTIAL": 1, "FULL": 2}
GOVERNMENT_LEVELS = ("ward", "province", "ministry", "vertical")  # isWard, isProvince, ...


def nfc(text: Any) -> str:
    return unicodedata.normalize("NFC", str(text or "")).strip()


def is_block_page(body: bytes | str) -> bool:
    """A 200 whose body is the F5 rejection page is a block, not an answer."""
    # its first 4,000 characters come from at most 16,000 bytes: the rest is never decoded
    head = (body[:16000].decode("utf-8", "replace") if isinstance(body, bytes) else body)[:4000]
    return any(marker in head for marker in BLOCK_MARKERS)


def is_challenge_body(body: bytes | str) -> bool:
    """The F5 JavaScript challenge where JSON was expected (a browser-only gate)."""
    head = (body[:8000].decode("utf-8", "replace") if isinstance(body, bytes) else body[:8000])
    return head.lstrip()[:1] == "<" and any(m in head for m in CHALLENGE_MARKERS)


def parse_envelope(body: bytes | str) -> Any:
    """Return `data` of a `{"code":"OK","data":...}` envelope or raise ApiError ("blocked",
    "js_challenge", "malformed" for truncated or garbage JSON, "api_error")."""
    if is_block_page(body):
        raise ApiError(Reason.BLOCKED)
    if is_challenge_body(body):
        raise ApiError(Reason.JS_CHALLENGE)
    try:
        doc = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ApiError(f"malformed: {exc}") from exc
    if not isinstance(doc, dict) or doc.get("code") != "OK":
        code = doc.get("code") if isinstance(doc, dict) else type(doc).__name__
        raise ApiError(f"api_error: {code}")
    return doc.get("data")


@dataclass(frozen=True)
class CatalogueItem:
    id: str
    code: str
    name: str
    type: str
    state: str
    department: str
    categories: tuple[str, ...] = ()
    targets: tuple[str, ...] = ()  # formalityTargetType[]: who may ask (display names)


def catalogue_item(row: dict[str, Any]) -> CatalogueItem:
    return CatalogueItem(
        id=str(row["id"]),
        code=nfc(row.get("code")),
        name=nfc(row.get("name")),
        type=nfc(row.get("type")),
        state=nfc(row.get("state")),
        department=nfc(row.get("departmentPromulgate")),
        categories=tuple(nfc(c) for c in row.get("categories") or ()),
        targets=tuple(nfc(t) for t in row.get("formalityTargetType") or ()
                      if isinstance(t, str)),
    )


@dataclass(frozen=True)
class Page:
    items: list[dict[str, Any]]
    last_id: str | None
    total: int | None


def parse_page(data: Any) -> Page:
    """Cursor-paged list: the catalogue answers `items`, the office list `rows`; both carry a
    `lastId` cursor (else the last row's id is the cursor) and usually `total`."""
    if not isinstance(data, dict):
        raise ApiError("malformed: no page")
    items = data.get("items", data.get("rows"))
    if not isinstance(items, list):
        raise ApiError("malformed: no items or rows list")
    last_id = data.get("lastId") or (items[-1].get("id") if items else None)
    total = data.get("total")
    return Page(items, last_id, int(total) if total is not None else None)


@dataclass
class DetailFacts:
    id: str
    code: str
    name: str
    methods: list[str]
    online: bool
    online_fees: list[float]
    fees: list[float]
    is_full_process: bool
    is_offline_only: bool
    levels: dict[str, bool]
    cases: list[str] = field(default_factory=list)
    decision: str = ""
    agency_code: str = ""
    agency_name: str = ""
    # every fee row of the ONLINE method(s), raw: {type, value (None when null), description}
    online_fee_rows: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def fee_row(fee: Any) -> dict[str, Any]:
    """One fee as the portal states it, not judged: `value` None when null (or not a number)."""
    fee = fee if isinstance(fee, dict) else {}
    value = fee.get("value")
    if isinstance(value, str):  # never seen, but a number sent as text is still that number
        try:
            value = float(value.replace(",", "."))
        except ValueError:
            value = None
    if isinstance(value, bool) or not isinstance(value, int | float):
        value = None
    return {"type": nfc(fee.get("type")), "value": value,
            "description": nfc(fee.get("description"))}


def method_views(methods: Any) -> dict[str, list[dict[str, Any]]]:
    """submissionMethod -> its distinct fee rows, in order. Real details repeat a method (one per
    case, same fees, another processing time): one view per method, a repeated row counted once."""
    views: dict[str, list[dict[str, Any]]] = {}
    for m in methods if isinstance(methods, list) else ():
        if not isinstance(m, dict):
            continue
        rows = views.setdefault(str(m.get("submissionMethod")), [])
        for row in map(fee_row, m.get("fees") or ()):
            if row not in rows:
                rows.append(row)
    return views


def _values(rows: list[dict[str, Any]]) -> list[float]:
    return [float(r["value"] or 0) for r in rows]


def detail_facts(data: dict[str, Any]) -> DetailFacts:
    views = method_views(data.get("executionMethods"))
    online = views.get("ONLINE")
    proposal = data.get("procedureProposal") or {}
    return DetailFacts(
        id=str(data.get("id")),
        code=nfc(data.get("code")),
        name=nfc(data.get("name")),
        methods=list(views),
        online=online is not None and not data.get("isOfflineOnly"),
        online_fees=_values(online or []),
        fees=[v for rows in views.values() for v in _values(rows)]
        + _values([fee_row(f) for f in data.get("fees") or ()]),
        is_full_process=bool(data.get("isFullProcess")),
        is_offline_only=bool(data.get("isOfflineOnly")),
        levels={k: bool(data.get(f"is{k.title()}")) for k in GOVERNMENT_LEVELS},
        cases=list(dict.fromkeys(nfc(c.get("code")) for c in data.get("cases") or ()
                                 if isinstance(c, dict))),  # real details repeat a case
        decision=nfc(proposal.get("proposalNumber") or data.get("decisionNo")),
        agency_code=nfc(data.get("departmentPromulgateCode")),
        agency_name=nfc(data.get("departmentPromulgateName")),
        online_fee_rows=online or [],
    )


OFFICE_FIELDS = {
    "departmentId": "office_id",
    "departmentName": "office_name",
    "departmentCode": "office_code",
    "departmentLevel": "office_level",
    "citizenUrl": "citizen_url",
    "implementLevel": "implement_level",
    "formalityId": "procedure_id",
    "formalityCode": "procedure_code",
    "formalityCaseCode": "case_code",
    "isTesting": "testing",
    "isEssential": "essential",
}


def office_row(row: dict[str, Any]) -> dict[str, Any]:
    """One per-office online-offer row, with snake_case keys and NFC text."""
    out: dict[str, Any] = {}
    for src, dst in OFFICE_FIELDS.items():
        value = row.get(src)
        out[dst] = value if isinstance(value, bool) or value is None else nfc(value)
    out["implement_level"] = (out.get("implement_level") or "NONE").upper()
    if out["implement_level"] not in LEVEL_ORDER:
        out["implement_level"] = "NONE"
    return out


def province_rows(data: Any) -> list[dict[str, str]]:
    rows = data.get("rows") if isinstance(data, dict) else None
    if not isinstance(rows, list):
        raise ApiError("malformed: no rows")
    return [{"id": str(r["id"]), "name": nfc(r.get("name")), "code": nfc(r.get("code"))}
            for r in rows]
