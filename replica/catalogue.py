"""The replica's national data: province list, catalogue, procedure details, office rows.

Built once from a scenario and a rubric (pure data, no HTTP); ``server.py`` serves it. Shapes
mirror the real 2026 national portal (../shared/research/REAL_PORTALS.md).
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from typing import Any

from replica import names
from replica import offices as office_codes
from replica.ids import keyed_rng, keyed_uuid, uuid7, uuid_ms
from replica.provincial import apply_path
from replica.scenario import (
    Fee,
    ProcedureSpec,
    Scenario,
    ScenarioError,
    check_against_rubric,
)

BASE_TOKEN = "{base_url}"  # replaced by the server's base URL when a row is served
PORTAL_TOKEN = "{portal:%s}"  # replaced by that province's portal base URL when served
MAX_LIMIT = 200
DEFAULT_LIMIT = 20
LEVEL_NAMES = {"ward": "isWard", "province": "isProvince", "ministry": "isMinistry"}
FILLER_PREFIX = "09"  # filler codes are N.09xxxx: no real procedure code uses that block


class BadRequest(Exception):
    """A request body the real API would refuse with HTTP 400 BAD_REQUEST."""


@dataclass
class Portal:
    scenario: Scenario
    provinces: list[dict[str, Any]]
    items: list[dict[str, Any]]  # catalogue rows, id descending
    specs: dict[str, ProcedureSpec]  # formality id -> spec (scenario procedures and filler)
    office_rows: list[dict[str, Any]]  # id descending; citizenUrl may hold BASE_TOKEN
    row_targets: dict[str, tuple[str, ...]] = field(default_factory=dict)
    faulted_ids: dict[str, str] = field(default_factory=dict)  # formality id -> failure reason
    _details: dict[str, dict[str, Any]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.id_by_code = {i["code"]: i["id"] for i in self.items}
        # formality id -> recorded detail (replica/recorded.py): served instead of a built one
        self.recorded = {r.id: r for r in self.scenario.recorded.values()}
        self.rows_by_formality: dict[str, list[dict[str, Any]]] = {}
        for row in self.office_rows:
            self.rows_by_formality.setdefault(row["formalityId"], []).append(row)

    # ---------------------------------------------------------------- catalogue
    def page_catalogue(self, body: dict[str, Any]) -> dict[str, Any]:
        limit, last_id = _paging(body)
        rows = self.items
        q = str(body.get("q") or "").strip().casefold()
        if q:
            rows = [r for r in rows if q in r["name"].casefold() or q in r["code"]]
        if body.get("type"):
            rows = [r for r in rows if r["type"] == body["type"]]
        if body.get("categoryId"):
            rows = [r for r in rows if body["categoryId"] in r["categoryIds"]]
        return _page(rows, limit, last_id)

    # ---------------------------------------------------------------- details
    def detail(self, formality_id: str) -> dict[str, Any] | None:
        if formality_id in self.recorded:
            return self.recorded[formality_id].data
        spec = self.specs.get(formality_id)
        if spec is None:
            return None
        if formality_id not in self._details:
            self._details[formality_id] = build_detail(self.scenario.seed, spec, formality_id)
        return self._details[formality_id]

    # ---------------------------------------------------------------- offices
    def page_offices(self, body: dict[str, Any], base_url: str,
                     portal_urls: dict[str, str] | None = None) -> dict[str, Any]:
        limit, last_id = _paging(body)
        options = self.scenario.national
        fid = str(body.get("formalityId") or "")
        if fid and options.office_filter == "honoured":
            rows = self.rows_by_formality.get(fid, [])
        else:  # office_filter ignored: every procedure's rows, as if no formalityId was sent
            rows = [r for r in self.office_rows if r["formalityId"] not in self.faulted_ids]
        code = str(body.get("departmentCode") or "").strip()
        if code:
            rows = [r for r in rows if r["departmentCode"] == code
                    or r["departmentCode"].endswith(code) or r["departmentCode"].startswith(code)]
        for key in ("departmentLevel", "implementLevel"):
            if body.get(key):
                rows = [r for r in rows if r[key] == str(body[key]).upper()]
        target = str(body.get("formalityTargetType") or "").upper()
        if not target and options.target_type_default != "all":
            target = options.target_type_default  # no type asked: the server picks one
        if target:
            rows = [r for r in rows if target in self.row_targets.get(r["id"], ())]
        search = str(body.get("search") or "").strip().casefold()
        if search:
            rows = [r for r in rows if search in r["departmentName"].casefold()
                    or search in r["departmentCode"].casefold() or search in r["formalityCode"]]
        data = _page(rows, limit, last_id)
        rendered = [_render(r, base_url, portal_urls or {}) for r in data["items"]]
        change = options.shape_change
        if change is not None and change.place == "office_row":
            rendered = [change.apply(r) for r in rendered]
        # "rows" is the real key (public scraper code reads data.rows), unlike the catalogue
        return {"rows": rendered, "lastId": data["lastId"],
                "total": data["total"]}


def _neg(uid: str) -> str:
    # items are sorted by id descending; bisect works on an ascending list of complemented ids
    return uid.translate(_COMPLEMENT)


_COMPLEMENT = str.maketrans("0123456789abcdef", "fedcba9876543210")


def _paging(body: dict[str, Any]) -> tuple[int, str]:
    limit = body.get("limit", DEFAULT_LIMIT)
    if limit is None:
        limit = DEFAULT_LIMIT
    if isinstance(limit, bool) or not isinstance(limit, int):
        raise BadRequest(f"limit must be an integer, got {limit!r}")
    if limit < 1 or limit > MAX_LIMIT:
        raise BadRequest(f"limit must be between 1 and {MAX_LIMIT}, got {limit}")
    last_id = body.get("lastId") or ""
    if not isinstance(last_id, str):
        raise BadRequest(f"lastId must be a string, got {last_id!r}")
    return limit, last_id.lower()


def _page(rows: list[dict[str, Any]], limit: int, last_id: str) -> dict[str, Any]:
    start = 0
    if last_id:
        start = bisect.bisect_right(rows, _neg(last_id), key=lambda r: _neg(r["id"]))
    chunk = rows[start:start + limit]
    return {"items": chunk, "lastId": chunk[-1]["id"] if chunk else None, "total": len(rows)}


SYSTEM_TOKEN_START = "{system:"  # replaced by the system's address when served


def system_url(scenario: Scenario, system_id: str, code: str) -> str:
    """A row's citizen URL that hands off to a ministry system: the token of its address
    (served with or without "http://", as the system's `scheme` says) and its apply route."""
    from replica.systems import apply_path as system_apply  # replica.systems imports this

    spec = scenario.system(system_id)
    assert spec is not None  # checked when the scenario was read
    return f"{SYSTEM_TOKEN_START}{system_id}}}" + system_apply(spec.platform, code)


def _render(row: dict[str, Any], base_url: str, portal_urls: dict[str, str]) -> dict[str, Any]:
    out = dict(row)
    for key in ("citizenUrl", "employeeUrl"):
        value = out[key]
        if value.startswith(BASE_TOKEN):
            out[key] = base_url + value[len(BASE_TOKEN):]
        elif value.startswith(SYSTEM_TOKEN_START):  # see system_url
            sid, _, rest = value[len(SYSTEM_TOKEN_START):].partition("}")
            out[key] = portal_urls.get(f"system:{sid}", f"{base_url}/systems/{sid}") + rest
        elif value.startswith("{portal:"):
            unit, _, rest = value[len("{portal:"):].partition("}")
            out[key] = portal_urls.get(unit, f"{base_url}/portals/{unit}") + rest
    return out


# --------------------------------------------------------------------------- building


def build_portal(scenario: Scenario, rubric: Any) -> Portal:
    errors = check_against_rubric(scenario, rubric)
    if errors:
        raise errors[0]
    seed = scenario.seed
    provinces = sorted((u for u in rubric.units if u.kind == "province"), key=lambda u: u.code)

    specs: dict[str, ProcedureSpec] = {}
    items: list[dict[str, Any]] = []
    for p in scenario.procedures:
        # a recorded detail keeps its real id: the catalogue row is what the crawler asks with
        rec = scenario.recorded.get(p.code)
        fid = rec.id if rec is not None else keyed_uuid(seed, "formality", p.code)
        specs[fid] = p
        items.append(catalogue_row(seed, p, fid))
    reserved = set(scenario.codes()) | set(_rubric_codes(rubric))
    for spec in filler_specs(seed, scenario.filler, reserved, provinces):
        fid = keyed_uuid(seed, "filler", spec.code)
        specs[fid] = spec
        items.append(catalogue_row(seed, spec, fid))
    items.sort(key=lambda r: r["id"], reverse=True)
    if len({i["id"] for i in items}) != len(items):  # pragma: no cover - 2^74 space
        raise ScenarioError(scenario.path, "seed", "id collision; choose another seed")
    id_by_code = {i["code"]: i["id"] for i in items}

    rows: list[dict[str, Any]] = []
    row_targets: dict[str, tuple[str, ...]] = {}
    for o, offices in office_codes.offer_offices(scenario, rubric):
        spec = scenario.procedure(o.procedure)
        fid = id_by_code[o.procedure]
        for dept_code, dept_name, level in offices:
            # an explicit code (BCA_CAX) may be declared under several units: one row each
            row_id = (keyed_uuid(seed, "office-row", o.procedure, dept_code, o.unit)
                      if o.office_code else keyed_uuid(seed, "office-row", o.procedure, dept_code))
            url = o.citizen_url
            portal = scenario.portal(o.unit)
            root = PORTAL_TOKEN % o.unit if portal else f"{BASE_TOKEN}/portals/{o.unit}"
            if url == "default":
                url = root + (apply_path(portal.platform, o.procedure) if portal
                              else f"/vi/nps/apply?ma={o.procedure}")
            elif o.system:  # a ministry system (replica/systems): its host, maybe no scheme
                url = system_url(scenario, o.system, o.procedure)
            rows.append({
                "id": row_id,
                "departmentId": keyed_uuid(seed, "department", dept_code),
                "departmentName": dept_name,
                "departmentCode": dept_code,
                "departmentLevel": level,
                "departmentType": names.DEPARTMENT_TYPES[level],
                "citizenUrl": url,
                "employeeUrl": "" if o.system else f"{root}/can-bo" if portal and url else
                f"{BASE_TOKEN}/portals/{o.unit}/vi/cb" if url else "",
                "implementLevel": o.level,
                "formalityId": fid,
                "formalityCaseId": keyed_uuid(seed, "case", spec.code, 1),
                "formalityCaseName": spec.name,
                "formalityCaseCode": f"{spec.code}.01",
                "formalityCode": spec.code,
                "allowAuthorizationToSubmit": True,
                "isTesting": o.testing,
                "isEssential": o.essential,
                "formalityTargetType": [
                    {"id": keyed_uuid(seed, "target", t), "name": names.TARGET_NAMES[t], "type": t}
                    for t in spec.targets
                ],
            })
            row_targets[row_id] = spec.targets
    rows.sort(key=lambda r: r["id"], reverse=True)

    province_rows = [
        {"id": keyed_uuid(seed, "province", u.code), "name": u.name, "code": u.code,
         "state": "ACTIVE"}
        for u in provinces
    ]
    # left out of the unfiltered office listing: procedures failed for good (not healing ones)
    faulted = {id_by_code[code]: reason for code, reason in scenario.failed_procedures().items()}
    return Portal(scenario=scenario, provinces=province_rows, items=items, specs=specs,
                  office_rows=rows, row_targets=row_targets, faulted_ids=faulted)


def _rubric_codes(rubric: Any) -> list[str]:
    return [p.code for s in rubric.services for p in s.procedures]


def ward_office(seed: int, unit: Any, k: int, form: str = "real") -> tuple[str, str]:
    """(code, name) of ward number k (1-based) of a province unit (replica/offices.py)."""
    return office_codes.ward_code(unit, k, form), office_codes.ward_name(seed, unit, k)


def catalogue_row(seed: int, p: ProcedureSpec, fid: str) -> dict[str, Any]:
    category = p.category or names.agency_info(p.agency_code)[3]
    return {
        "id": fid,
        "name": p.name,
        "code": p.code,
        "codeNotation": p.code,
        "categories": [category],
        "categoryIds": [keyed_uuid(seed, "category", category)],
        "departments": executing_departments(p),
        "departmentPromulgate": p.department,
        "departmentPromulgateId": keyed_uuid(seed, "agency", p.agency_code),
        "formalityTargetType": [names.TARGET_NAMES[t] for t in p.targets],
        "state": p.state,
        "type": p.type,
    }


def executing_departments(p: ProcedureSpec) -> list[str]:
    out = []
    dept = names.agency_info(p.agency_code)[1]
    if "ministry" in p.levels:
        out.append(p.department)
    if "province" in p.levels:
        out.append(f"{dept} các tỉnh, thành phố" if p.type != "SPECIFIC" else dept)
    if "ward" in p.levels:
        out.append("Ủy ban nhân dân cấp xã")
    return out


def filler_specs(seed: int, n: int, reserved: set[str], provinces: list[Any]
                 ) -> list[ProcedureSpec]:
    rng = keyed_rng(seed, "filler")
    space = 3 * 10000
    picks = rng.sample(range(space), min(n + 64, space))
    codes = []
    for x in picks:
        code = f"{x // 10000 + 1}.{FILLER_PREFIX}{x % 10000:04d}"
        if code not in reserved:
            codes.append(code)
        if len(codes) == n:
            break
    out = []
    for code in codes:
        r = keyed_rng(seed, "filler-spec", code)
        specific = bool(provinces) and r.random() < 0.16
        if specific:
            unit = r.choice(provinces)
            department = "UBND " + unit.name.replace("Tỉnh ", "tỉnh ")
            agency = unit.office_code
            ptype = "SPECIFIC"
            categories: tuple[str, ...]
            objects: tuple[str, ...]
            categories, objects = names.FILLER_LOCAL
            levels: tuple[str, ...] = ("province",)
        else:
            agency = r.choice(names.FILLER_AGENCIES)
            department = names.AGENCIES[agency][0]
            ptype = "STANDARD_INTERNAL" if r.random() < 0.04 else "STANDARD"
            categories, objects = names.FILLER_BY_AGENCY[agency]
            levels = tuple(lv for lv in ("ward", "province", "ministry") if r.random() < 0.45) \
                or ("province",)
        name = f"{r.choice(names.FILLER_ACTIONS)} {r.choice(objects)}"
        if len(levels) == 1 and r.random() < 0.5:
            name += {"ward": " (cấp xã)", "province": " (cấp tỉnh)",
                     "ministry": " (cấp Trung ương)"}[levels[0]]
        roll = r.random()
        methods: tuple[str, ...]
        if roll < 0.55:
            methods = ("ONLINE", "POSTAL", "DIRECT")
        elif roll < 0.8:
            methods = ("ONLINE", "DIRECT")
        else:
            methods = ("DIRECT",)
        fees: dict[str, tuple[Fee, ...]] = {}
        if r.random() < 0.4:
            value = r.choice((10000, 20000, 50000, 100000, 200000, 500000))
            fees = {m: (Fee(value),) for m in methods}
        out.append(ProcedureSpec(
            code=code,
            name=name,
            department=department,
            agency_code=agency,
            services=(),
            levels=levels,
            methods=methods,
            fees=fees,
            full_process=methods != ("DIRECT",) and r.random() < 0.3,
            targets=r.choice(names.FILLER_TARGET_SETS),
            type=ptype,
            state="UPDATED" if r.random() < 0.6 else "ACTIVE",
            category=r.choice(categories),
        ))
    return out


def processing_time(p: ProcedureSpec, days: int) -> int | float | str:
    """processingTime in the form the procedure declares: real details send 7, 7.5 and
    "Không quá 7 ngày làm việc"."""
    if p.processing_time == "float":
        return days + 0.5
    if p.processing_time == "text":
        return f"Không quá {days:02d} ngày làm việc kể từ ngày nhận đủ hồ sơ hợp lệ"
    return days


def build_detail(seed: int, p: ProcedureSpec, fid: str) -> dict[str, Any]:
    """A procedure detail in the shape of get-formality-by-citizen's data (every real key)."""
    r = keyed_rng(seed, "detail", p.code)
    agency_name, _, _, default_category = names.agency_info(p.agency_code)
    category = p.category or default_category
    cat = {"id": keyed_uuid(seed, "category", category), "name": category,
           "code": f"{p.agency_code}-{r.randint(1, 40):02d}"}
    created = uuid_ms(fid)
    updated = created + r.randint(0, 90) * 86_400_000
    methods = []
    for m in p.methods:
        methods.append({
            "submissionMethod": m,
            "processingTime": processing_time(p, r.choice((1, 3, 5, 7, 10, 15))),
            "processingTimeUnit": "WORKING_DAY",
            "description": "",
            "fees": [{"type": f.type, "value": f.value, "currencyId": "", "attachment": None,
                      "description": f.description}
                     for f in p.fees_for(m)],
        })
    if p.duplicate_methods:  # real: one entry per case, same fees, another time
        methods += [{**m, "processingTime": processing_time(p, r.choice((20, 30))),
                     "description": "Đối với trường hợp khác"} for m in methods]
    unit_group = ("Ủy ban nhân dân cấp xã" if "ward" in p.levels else
                  "Ủy ban nhân dân cấp tỉnh" if "province" in p.levels else agency_name)
    unit_group_id = keyed_uuid(seed, "unit-group", unit_group)
    agency_id = keyed_uuid(seed, "agency", p.agency_code)
    decision = p.decision or f"{r.randint(50, 2999)}/QĐ-{p.agency_code}"
    cases = [
        {"id": keyed_uuid(seed, "case", p.code, i), "name": p.name,
         "code": f"{p.code}.{i:02d}",
         "processingDay": {"qty": r.choice((1, 3, 5, 10)), "type": "WORKING_DAY"},
         "profileComponents": []}
        for i in range(1, p.cases + 1)
    ]
    if p.duplicate_cases:  # real: the same case code listed twice
        cases += [{**c, "id": keyed_uuid(seed, "case-copy", c["code"])} for c in cases]
    target_ids = [keyed_uuid(seed, "subject", t) for t in p.targets]
    return {
        "id": fid,
        "code": p.code,
        "codeNotation": p.code,
        "executionSteps": [{"name": "", "description": f"Bước 1: Nộp hồ sơ {p.name.lower()}."}],
        "executionMethods": methods,
        "description": "",
        "name": p.name,
        "decisionNo": "",
        "executionCases": [],
        "formalityTargetType": [],
        "formalityType": "ASSIGNED_REGULATION" if p.type == "STANDARD" else
        "NOT_ASSIGNED_REGULATION",
        "state": p.state,
        "isInternal": p.type == "STANDARD_INTERNAL",
        "type": p.type,
        "isWard": "ward" in p.levels,
        "isProvince": "province" in p.levels,
        "isMinistry": "ministry" in p.levels,
        "isOtherAgency": False,
        "isUndetermined": False,
        "isVertical": p.vertical,
        "isFullProcess": p.full_process,
        "isSharedService": False,
        "note": "",
        "keywords": "",
        "categoryIds": [cat["id"]],
        "serviceGroupIds": [],
        "legalBasisIds": [],
        "resultIds": [],
        "subjectTypeIds": target_ids,
        "departmentExecutingIds": [],
        "departmentAuthorityIds": [],
        "departmentAuthorizedIds": [],
        "departmentCoordinatingIds": [],
        "categoriesDetails": [cat],
        "category": cat,
        "departmentDetails": [],
        "departmentsExecuting": [],
        "departmentsAuthority": [],
        "departmentsAuthorized": [],
        "departmentsCoordinating": [],
        "unitGroupExecutingIds": [unit_group_id],
        "unitGroupAuthorityIds": [],
        "unitGroupAuthorizedIds": [],
        "unitGroupCoordinatingIds": [],
        "unitGroupsExecuting": [{"id": unit_group_id, "name": unit_group}],
        "unitGroupsAuthority": [],
        "unitGroupsAuthorized": [],
        "unitGroupsCoordinating": [],
        "serviceGroupsDetails": [],
        "legalBasisesDetails": [],
        "resultsDetails": [],
        "subjectTypesDetails": [
            {"id": i, "name": names.TARGET_NAMES[t], "code": f"ĐT{n}"}
            for n, (i, t) in enumerate(zip(target_ids, p.targets, strict=True), 1)
        ],
        "departmentPromulgateId": agency_id,
        "departmentPromulgateCode": p.agency_code,
        "departmentPromulgateName": p.department,
        "cases": cases,
        "fees": [],
        "createdAt": created,
        "updatedAt": updated,
        "profileComponents": [],
        "targetObjects": [],
        "executingAgencies": "",
        "authorizedAgencies": "",
        "dossierReceivingAddresses": "",
        "delegatedAgencies": "",
        "coordinatingAgencies": "",
        "requirementsAndConditions": "",
        "procedureRelatedGroup": [],
        "procedureProposal": {
            "id": keyed_uuid(seed, "proposal", p.code),
            "proposalNumber": decision,
            "decisionDate": created - r.randint(10, 120) * 86_400_000,
            "decisionNumber": None,
            "publicationDate": created,
            "issuingAgency": {"id": agency_id, "name": p.department},
            "proposalType": "STANDARD",
        },
        "isOfflineOnly": "ONLINE" not in p.methods if p.offline_only_flag is None
        else p.offline_only_flag,
        "isNonTerritorial": False,
        "returningMethods": [],
    }


__all__ = ["BadRequest", "Portal", "build_portal", "build_detail", "uuid7", "MAX_LIMIT"]
