"""Scenario files: the ground truth a replica serves (format: docs/SCENARIOS.md). The model
(dataclasses, words, ScenarioError) is replica/scenario_model.py, re-exported here.

A scenario declares the national catalogue (its procedures plus generated filler), which units
offer which procedure at which level (``offers``) and injected faults (``faults``). It is loaded
with ``yaml.safe_load``; every problem raises :class:`ScenarioError` naming the file and field.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import replace
from pathlib import Path
from typing import Any

from core.validate import FieldReader
from core.vocab import OFFER_RANK
from core.vocab import Offer as OfferLevel
from replica.scenario_model import (  # the model; imported from here by the rest of the project
    FAULT_KINDS,
    FEE_TYPES,
    GOV_LEVELS,
    HTTP_ERROR_STATUSES,
    IMPLEMENT_LEVELS,
    LEGACY_CHARSETS,
    METHODS,
    OFFICE_FILTERS,
    OFFICES,
    PAGE_TIMEOUT,
    PLATFORMS,
    PORTAL_OFFERS,
    PROCEDURE_CODE_RE,
    PROCEDURE_TYPES,
    PROVINCE_CODE_RE,
    SHAPE_PLACES,
    SHAPE_TYPES,
    SLOW_IN_TIME,
    SLOW_TIMES_OUT,
    STATES,
    SYSTEM_PLATFORMS,
    SYSTEM_PREFIX,
    TARGET_DEFAULTS,
    TARGETS,
    Fault,
    FaultKind,
    Fee,
    NationalOptions,
    Offer,
    PortalService,
    PortalSpec,
    ProcedureSpec,
    Scenario,
    ScenarioError,
    ShapeChange,
    SystemSpec,
)
from replica.scenario_model import MAX_PAGE_MIB as MAX_PAGE_MIB  # re-exported (tests)
from replica.scenario_model import REPLICA_RETRIES as REPLICA_RETRIES  # re-exported (tests)
from replica.site_model import parse_sites

# --------------------------------------------------------------------------- parsing


class _Reader(FieldReader):
    error_type = ScenarioError

    def __init__(self, file: str | Path):
        super().__init__(file)
        self.systems: set[str] = set()  # ids declared under `systems` (read before offers)


_PROC_KEYS = {"code", "name", "department", "agency_code", "service", "levels", "methods", "fees",
              "full_process", "vertical", "targets", "type", "state", "category", "decision",
              "cases", "duplicate_methods", "duplicate_cases", "processing_time",
              "offline_only_flag"}
PROCESSING_TIME_FORMS = ("int", "float", "text")
_OFFER_KEYS = {"procedure", "office", "level", "citizen_url", "testing", "count", "office_name",
               "essential", "office_code"}
_TOP_KEYS = {"name", "description", "seed", "catalogue", "procedures", "offers", "faults",
             "rubric", "portals", "index766", "office_codes", "national", "systems",
             "recorded_details", "site"}
OFFICE_CODE_FORMS = ("real", "legacy")  # replica/offices.py
_OFFICE_CODE_RE = re.compile(r"^[A-Za-z0-9_]+(\.[A-Za-z0-9_]+)*$")
_PORTAL_KEYS = {"platform", "sso", "services", "site"}
_PORTAL_SERVICE_KEYS = {"offer", "payment", "sso", "procedure"}


def _parse_fees(r: _Reader, raw: Any, fld: str, methods: tuple[str, ...]) -> dict:
    if raw is None:
        return {}
    raw = r.mapping(raw, fld)
    fees: dict[str, tuple[Fee, ...]] = {}
    for method, values in raw.items():
        mfld = f"{fld}.{method}"
        if method not in METHODS:
            raise r.err(mfld, f"method must be one of {', '.join(METHODS)}")
        if method not in methods:
            raise r.err(mfld, f"fees given for {method} but it is not in methods")
        if isinstance(values, (int, dict)) and not isinstance(values, bool):
            values = [values]
        values = r.seq(values, mfld)
        out = []
        for i, v in enumerate(values):
            vfld = f"{mfld}[{i}]"
            if isinstance(v, dict):
                out.append(_parse_fee(r, v, vfld))
            elif isinstance(v, int) and not isinstance(v, bool) and v >= 0:
                out.append(Fee(v))
            else:
                raise r.err(vfld, f"must be a fee value >= 0 or {{type, value, description}}, "
                                  f"got {v!r}")
        fees[method] = tuple(out)
    return fees


def _parse_fee(r: _Reader, v: dict, vfld: str) -> Fee:
    """{type, value, description}: `value` is required and may be null (the real portal's
    charges are mostly written in `description` beside a 0 or null value)."""
    r.unknown_keys(v, {"type", "value", "description"}, vfld)
    if "value" not in v:
        raise r.err(f"{vfld}.value", "is required (a number >= 0, or null)")
    value = None if v["value"] is None else r.integer(v, "value", f"{vfld}.value", minimum=0)
    ftype = r.choice(v, "type", f"{vfld}.type", FEE_TYPES, required=False,
                     default="FEE") or "FEE"
    text = r.string(v, "description", f"{vfld}.description", required=False)
    return Fee(value, ftype, unicodedata.normalize("NFC", text).strip())


def _offline_only_flag(r: _Reader, d: dict, fld: str, methods: tuple[str, ...]) -> bool | None:
    if d.get("offline_only_flag") is None:
        return None
    flag = r.boolean(d, "offline_only_flag", fld, False)
    if flag and "ONLINE" in methods:  # the truth reads "online" from methods
        raise r.err(fld, "true needs a procedure without an ONLINE method")
    return flag


def _parse_procedure(r: _Reader, raw: Any, fld: str) -> ProcedureSpec:
    d = r.mapping(raw, fld)
    r.unknown_keys(d, _PROC_KEYS, fld)
    code = r.string(d, "code", f"{fld}.code")
    if not PROCEDURE_CODE_RE.match(code):
        raise r.err(f"{fld}.code", f"must look like 1.001193, got {code!r}")
    svc = d.get("service")
    if isinstance(svc, str):
        services: tuple[str, ...] = (svc,)
    elif isinstance(svc, list) and svc and all(isinstance(s, str) and s for s in svc):
        services = tuple(svc)
    else:
        raise r.err(f"{fld}.service", "is required: a rubric service id (or a list of them)")
    methods = r.choices(d, "methods", f"{fld}.methods", METHODS, upper=True)
    return ProcedureSpec(
        code=code,
        name=r.string(d, "name", f"{fld}.name"),
        department=r.string(d, "department", f"{fld}.department"),
        agency_code=r.string(d, "agency_code", f"{fld}.agency_code"),
        services=services,
        levels=r.choices(d, "levels", f"{fld}.levels", GOV_LEVELS),
        methods=methods,
        fees=_parse_fees(r, d.get("fees"), f"{fld}.fees", methods),
        full_process=r.boolean(d, "full_process", f"{fld}.full_process", False),
        vertical=r.boolean(d, "vertical", f"{fld}.vertical", False),
        targets=r.choices(d, "targets", f"{fld}.targets", TARGETS, upper=True,
                          default=("VIETNAMESE_CITIZEN",)),
        type=r.choice(d, "type", f"{fld}.type", PROCEDURE_TYPES, required=False,
                      default="STANDARD", upper=True),
        state=r.choice(d, "state", f"{fld}.state", STATES, required=False, default="UPDATED",
                       upper=True),
        category=r.string(d, "category", f"{fld}.category", required=False),
        decision=r.string(d, "decision", f"{fld}.decision", required=False),
        cases=r.integer(d, "cases", f"{fld}.cases", required=False, default=1, minimum=1),
        duplicate_methods=r.boolean(d, "duplicate_methods", f"{fld}.duplicate_methods", False),
        duplicate_cases=r.boolean(d, "duplicate_cases", f"{fld}.duplicate_cases", False),
        processing_time=r.choice(d, "processing_time", f"{fld}.processing_time",
                                 PROCESSING_TIME_FORMS, required=False, default="int"),
        offline_only_flag=_offline_only_flag(r, d, f"{fld}.offline_only_flag", methods),
    )


def _is_province_code(unit: str) -> bool:
    return bool(PROVINCE_CODE_RE.match(unit))


def _parse_offer(r: _Reader, unit: str, raw: Any, fld: str, codes: set[str]) -> Offer:
    d = r.mapping(raw, fld)
    r.unknown_keys(d, _OFFER_KEYS, fld)
    proc = r.string(d, "procedure", f"{fld}.procedure")
    if proc not in codes:
        raise r.err(f"{fld}.procedure", f"{proc!r} is not declared under procedures")
    office = r.choice(d, "office", f"{fld}.office", OFFICES)
    if _is_province_code(unit) and office == "agency":
        raise r.err(f"{fld}.office",
                    f"unit {unit!r} is a province: office must be province or ward")
    if not _is_province_code(unit) and office != "agency":
        raise r.err(f"{fld}.office", f"unit {unit!r} is an agency: office must be agency")
    url = r.string(d, "citizen_url", f"{fld}.citizen_url", required=False, default="default")
    if url.startswith(SYSTEM_PREFIX):
        if url[len(SYSTEM_PREFIX):] not in r.systems:
            raise r.err(f"{fld}.citizen_url", f"{url!r}: no such system under systems "
                        f"({', '.join(sorted(r.systems)) or 'none declared'})")
    elif url not in ("default", "") and not re.match(r"^https?://", url):
        raise r.err(f"{fld}.citizen_url", "must be 'default', '', 'system:<id>' or an http(s) "
                    f"URL, got {url!r}")
    count = r.integer(d, "count", f"{fld}.count", required=False, default=1, minimum=1)
    if count > 1 and office != "ward":
        raise r.err(f"{fld}.count", "only ward offers may stand for several offices")
    code = r.string(d, "office_code", f"{fld}.office_code", required=False)
    if code and not _OFFICE_CODE_RE.match(code):
        raise r.err(f"{fld}.office_code", "must be an office code like H26.105, BCA_CAX or "
                    f"0100100079 (letters, digits, _ and dots), got {code!r}")
    if code and count > 1:
        raise r.err(f"{fld}.count", "an explicit office_code is one office: count must be 1")
    return Offer(
        unit=unit,
        procedure=proc,
        office=office,
        level=r.choice(d, "level", f"{fld}.level", IMPLEMENT_LEVELS, upper=True),
        citizen_url=url,
        testing=r.boolean(d, "testing", f"{fld}.testing", False),
        count=count,
        office_name=r.string(d, "office_name", f"{fld}.office_name", required=False),
        essential=r.boolean(d, "essential", f"{fld}.essential", False),
        field=fld,
        office_code=code,
    )


_FAULT_KEYS = {"kind", "procedure", "unit", "service", "times", "system"}


def _fault_scope(r: _Reader, d: dict, fld: str, fk: FaultKind) -> tuple[str, str]:
    """(procedure, unit): exactly one, as the kind allows."""
    for key in ("procedure", "unit"):
        if isinstance(d.get(key), int):
            raise r.err(f"{fld}.{key}", "codes must be quoted strings (\"01\", not 01)")
    proc = r.string(d, "procedure", f"{fld}.procedure", required=False)
    unit = r.string(d, "unit", f"{fld}.unit", required=False)
    if proc and unit:
        raise r.err(fld, "give exactly one scope: procedure or unit, not both")
    if proc and not fk.procedure:
        raise r.err(f"{fld}.procedure", f"kind {d['kind']!r} applies to a unit's portal only")
    if unit and not fk.unit:
        raise r.err(f"{fld}.unit", f"kind {d['kind']!r} applies to a national procedure only")
    if not proc and not unit:
        if fk.procedure and fk.unit:
            raise r.err(fld, "needs a scope: procedure or unit")
        raise r.err(f"{fld}.{'procedure' if fk.procedure else 'unit'}", "is required")
    return proc, unit


def _fault_params(r: _Reader, d: dict, fld: str, kind: str) -> dict[str, Any]:
    fk = FAULT_KINDS[kind]
    r.unknown_keys(d, _FAULT_KEYS | set(fk.params), fld)
    params = {k: d[k] for k in fk.params if d.get(k) is not None}
    pfld = f"{fld}.{next(iter(fk.params), '')}"
    if kind == "http_error":
        v = params.get("status", 503)
        if isinstance(v, bool) or v not in HTTP_ERROR_STATUSES:
            raise r.err(pfld, f"must be one of {', '.join(map(str, HTTP_ERROR_STATUSES))}, "
                        f"got {v!r}")
    elif kind in ("slow", "huge"):
        v = params.get(next(iter(fk.params)), 1)
        if isinstance(v, bool) or not isinstance(v, (int, float)) or v <= 0:
            raise r.err(pfld, f"must be a number > 0, got {v!r}")
        if kind == "slow" and SLOW_IN_TIME <= v < SLOW_TIMES_OUT:
            raise r.err(pfld, f"{v!r} s is neither read in time (< {SLOW_IN_TIME:g} s) nor "
                        f"surely a timeout (>= {SLOW_TIMES_OUT:g} s: twice the replica's "
                        f"page timeout of {PAGE_TIMEOUT:g} s): the verdict would depend on "
                        "the machine's speed")
    elif kind == "rate_limited":
        r.integer(d, "retry_after", pfld, required=False, minimum=0)
    elif kind == "legacy_encoding":
        r.choice(d, "charset", pfld, LEGACY_CHARSETS, required=False)
    return params


def _fault_portal(r: _Reader, d: dict, fld: str, fk: FaultKind, unit: str,
                  portals: dict[str, PortalSpec]) -> str:
    """Check the unit's portal fits the kind; returns the validated `service` ("" = all)."""
    spec = portals.get(unit)
    if spec is None:
        raise r.err(f"{fld}.unit", f"{unit!r} has no portal declared under portals")
    if fk.platforms and spec.platform not in fk.platforms:
        raise r.err(f"{fld}.kind", f"kind {d['kind']!r} applies to {'/'.join(fk.platforms)} "
                    f"portals only; {unit} is {spec.platform}")
    service = r.string(d, "service", f"{fld}.service", required=False)
    if service and not fk.service:
        raise r.err(f"{fld}.service", f"kind {d['kind']!r} applies to a whole portal")
    if service and spec.service(service).offer == "absent":
        raise r.err(f"{fld}.service", f"portal {unit} does not list {service!r}")
    return service


def _parse_fault(r: _Reader, raw: Any, fld: str, codes: set[str],
                 portals: dict[str, PortalSpec]) -> Fault:
    d = r.mapping(raw, fld)
    kind = r.choice(d, "kind", f"{fld}.kind", tuple(FAULT_KINDS))
    fk = FAULT_KINDS[kind]
    if "system" in d:
        return _parse_system_fault(r, d, fld, kind)
    params = _fault_params(r, d, fld, kind)
    proc, unit = _fault_scope(r, d, fld, fk)
    if proc and proc not in codes:
        raise r.err(f"{fld}.procedure", f"{proc!r} is not declared under procedures")
    if proc and "service" in d:
        raise r.err(f"{fld}.service", "only a unit fault can be narrowed to a service")
    service = _fault_portal(r, d, fld, fk, unit, portals) if unit else ""
    times = r.integer(d, "times", f"{fld}.times", required=False, default=0, minimum=1)
    if times and not fk.transient:
        raise r.err(f"{fld}.times", f"kind {kind!r} is permanent: only slow, http_error and "
                    "rate_limited take times")
    return Fault(kind=kind, procedure=proc, params=params, unit=unit, service=service,
                 times=times)


def _parse_portal_service(r: _Reader, sid: str, raw: Any, fld: str) -> PortalService:
    if isinstance(raw, str):
        raw = {"offer": raw}
    d = r.mapping(raw, fld)
    r.unknown_keys(d, _PORTAL_SERVICE_KEYS, fld)
    offer = r.choice(d, "offer", f"{fld}.offer", PORTAL_OFFERS)
    payment = r.boolean(d, "payment", f"{fld}.payment", False)
    if payment and OFFER_RANK[offer] < OfferLevel.PARTIAL.rank:
        raise r.err(f"{fld}.payment", f"a payment step needs offer partial or full, not {offer!r}")
    sso = d.get("sso")
    if sso is not None and not isinstance(sso, bool):
        raise r.err(f"{fld}.sso", f"must be true or false, got {sso!r}")
    proc = r.string(d, "procedure", f"{fld}.procedure", required=False)
    if proc and not PROCEDURE_CODE_RE.match(proc):
        raise r.err(f"{fld}.procedure", f"must look like 1.001193, got {proc!r}")
    return PortalService(service=sid, offer=offer, payment=payment, sso=sso, procedure=proc,
                         field=fld)


def _parse_portal(r: _Reader, unit: Any, raw: Any) -> PortalSpec:
    fld = f"portals.{unit}"
    if isinstance(unit, int):
        raise r.err(fld, "unit codes must be quoted strings (\"01\", not 01)")
    if not _is_province_code(str(unit)):
        raise r.err(fld, f"portals are declared for provinces (\"01\"...\"96\"), got {unit!r}")
    d = r.mapping(raw, fld)
    r.unknown_keys(d, _PORTAL_KEYS, fld)
    services = []
    for sid, sraw in r.mapping(d.get("services") or {}, f"{fld}.services").items():
        services.append(_parse_portal_service(r, str(sid), sraw, f"{fld}.services.{sid}"))
    return PortalSpec(unit=str(unit), platform=r.choice(d, "platform", f"{fld}.platform",
                                                        PLATFORMS),
                      sso=r.boolean(d, "sso", f"{fld}.sso", False), services=tuple(services),
                      field=fld)


def parse_scenario(data: Any, file: str | Path = "<scenario>") -> Scenario:
    """Validate an already-parsed YAML document."""
    r = _Reader(file)
    d = r.mapping(data, "(top level)")
    r.unknown_keys(d, _TOP_KEYS, "")
    name = r.string(d, "name", "name")
    seed = r.integer(d, "seed", "seed")
    cat = r.mapping(d.get("catalogue", {}) or {}, "catalogue")
    r.unknown_keys(cat, {"filler"}, "catalogue")
    filler = r.integer(cat, "filler", "catalogue.filler", required=False, default=0, minimum=0)

    recorded = _recorded_details(r, d, file)
    procs: list[ProcedureSpec] = []
    seen: set[str] = set()
    for i, raw in enumerate(r.seq(d.get("procedures"), "procedures")):
        p = _parse_recorded_procedure(r, raw, f"procedures[{i}]", recorded)
        if p.code in seen:
            raise r.err(f"procedures[{i}].code", f"duplicate procedure code {p.code!r}")
        seen.add(p.code)
        procs.append(p)
    for code, rec in recorded.items():
        if code not in seen:
            raise ScenarioError(rec.path, "(file name)",
                                f"{code} is not declared under procedures in {file}")

    systems = _parse_systems(r, d.get("systems"))
    offers: list[Offer] = []
    raw_offers = d.get("offers") or {}
    for unit, rows in r.mapping(raw_offers, "offers").items():
        unit_s = str(unit)
        if isinstance(unit, int):
            raise r.err(f"offers.{unit}", "unit codes must be quoted strings (\"01\", not 01)")
        for j, raw in enumerate(r.seq(rows, f"offers.{unit_s}")):
            offers.append(_parse_offer(r, unit_s, raw, f"offers.{unit_s}[{j}]", seen))
    keys = set()
    for o in offers:
        key = (o.unit, o.procedure, o.office, o.office_name, o.office_code)
        if (o.office != "ward" or o.office_code) and key in keys:
            raise r.err(o.field, f"duplicate {o.office} offer of {o.procedure} for unit {o.unit}")
        keys.add(key)

    portals = tuple(_parse_portal(r, unit, raw)
                    for unit, raw in r.mapping(d.get("portals") or {}, "portals").items())
    faults = tuple(_parse_fault(r, raw, f"faults[{i}]", seen, {p.unit: p for p in portals})
                   for i, raw in enumerate(r.seq(d.get("faults") or [], "faults")))
    return Scenario(
        name=name,
        description=r.string(d, "description", "description", required=False),
        seed=seed,
        filler=filler,
        procedures=tuple(procs),
        offers=tuple(offers),
        faults=faults,
        rubric=r.string(d, "rubric", "rubric", required=False),
        path=str(file),
        portals=portals,
        index766=_parse_index766(r, d.get("index766")),
        office_codes=r.choice(d, "office_codes", "office_codes", OFFICE_CODE_FORMS,
                              required=False, default="real") or "real",
        national=_parse_national(r, d.get("national")),
        systems=systems,
        recorded=recorded,
        sites=parse_sites(r, d, _rubric_path(d.get("rubric"), file)),
    )


def _rubric_path(rubric: Any, file: str | Path) -> Path | None:
    """The scenario's own rubric directory (for its detector ids), or None."""
    if not isinstance(rubric, str) or not rubric:
        return None
    p = Path(rubric)
    return p if p.is_absolute() else Path(file).parent / p


def _parse_national(r: _Reader, raw: Any) -> NationalOptions:
    if raw is None:
        return NationalOptions()
    d = r.mapping(raw, "national")
    r.unknown_keys(d, {"office_filter", "target_type_default", "shape_change", "site"},
                   "national")
    return NationalOptions(
        office_filter=r.choice(d, "office_filter", "national.office_filter", OFFICE_FILTERS,
                               required=False, default="honoured"),
        target_type_default=r.choice(d, "target_type_default", "national.target_type_default",
                                     TARGET_DEFAULTS, required=False, default="all"),
        shape_change=_parse_shape_change(r, d.get("shape_change")),
    )


def _parse_shape_change(r: _Reader, raw: Any) -> ShapeChange | None:
    if raw is None:
        return None
    fld = "national.shape_change"
    d = r.mapping(raw, fld)
    r.unknown_keys(d, {"in", "key", "rename", "retype"}, fld)
    place = r.choice(d, "in", f"{fld}.in", SHAPE_PLACES)
    key = r.string(d, "key", f"{fld}.key")
    rename = r.string(d, "rename", f"{fld}.rename", required=False)
    retype = r.choice(d, "retype", f"{fld}.retype", tuple(SHAPE_TYPES), required=False)
    if bool(rename) == bool(retype):
        raise r.err(fld, "give exactly one of rename or retype")
    if not key or rename == key:
        raise r.err(f"{fld}.key", f"must be a key to change, got {key!r}")
    return ShapeChange(place, key, rename, retype)


SYSTEM_DEFAULTS = {  # platform -> (ministry, the host real rows name)
    "moj": ("Bộ Tư pháp", "dichvucongnganhtuphap.moj.gov.vn"),
    "moc": ("Bộ Xây dựng", "dvc.moc.gov.vn"),
}
_SYSTEM_KEYS = {"platform", "name", "host", "sso", "services", "scheme"}


def _parse_systems(r: _Reader, raw: Any) -> tuple[SystemSpec, ...]:
    out = []
    for sid, sraw in r.mapping(raw or {}, "systems").items():
        fld = f"systems.{sid}"
        if not isinstance(sid, str) or not re.match(r"^[a-z][a-z0-9_]*$", sid):
            raise r.err(fld, f"system ids are lower-case words (moj, moc), got {sid!r}")
        d = r.mapping(sraw, fld)
        r.unknown_keys(d, _SYSTEM_KEYS, fld)
        platform = r.choice(d, "platform", f"{fld}.platform", SYSTEM_PLATFORMS)
        name, host = SYSTEM_DEFAULTS[platform]
        services = tuple(_parse_portal_service(r, str(k), v, f"{fld}.services.{k}")
                         for k, v in r.mapping(d.get("services") or {},
                                               f"{fld}.services").items())
        out.append(SystemSpec(
            id=sid, platform=platform, name=r.string(d, "name", f"{fld}.name", required=False,
                                                     default=name),
            host=r.string(d, "host", f"{fld}.host", required=False, default=host),
            sso=r.boolean(d, "sso", f"{fld}.sso", False), services=services,
            scheme=r.boolean(d, "scheme", f"{fld}.scheme", False), field=fld))
    r.systems = {s.id for s in out}
    return tuple(out)


def _parse_system_fault(r: _Reader, d: dict, fld: str, kind: str) -> Fault:
    """A fault of a whole ministry system (`system: <id>`): any kind a portal may take whole,
    on any family."""
    fk = FAULT_KINDS[kind]
    params = _fault_params(r, d, fld, kind)
    system = r.string(d, "system", f"{fld}.system")
    if system not in r.systems:
        raise r.err(f"{fld}.system", f"{system!r} is not declared under systems")
    for key in ("procedure", "unit", "service"):
        if key in d:
            raise r.err(f"{fld}.{key}", "a system fault covers the whole system: give only "
                        "`system`")
    if not fk.unit or fk.platforms:
        raise r.err(f"{fld}.kind", f"kind {kind!r} does not apply to a ministry system")
    times = r.integer(d, "times", f"{fld}.times", required=False, default=0, minimum=1)
    if times and not fk.transient:
        raise r.err(f"{fld}.times", f"kind {kind!r} is permanent: only slow, http_error and "
                    "rate_limited take times")
    return Fault(kind=kind, params=params, times=times, system=system)


def _recorded_details(r: _Reader, d: dict, file: str | Path) -> dict[str, Any]:
    """code -> RecordedDetail of the scenario's `recorded_details` directory ({} without)."""
    from replica.recorded import load_recorded_dir  # local: recorded imports this module

    rel = r.string(d, "recorded_details", "recorded_details", required=False)
    if not rel:
        return {}
    directory = Path(rel)
    if not directory.is_absolute():
        directory = Path(file).parent / directory
    return load_recorded_dir(directory, file)


def _parse_recorded_procedure(r: _Reader, raw: Any, fld: str,
                              recorded: dict[str, Any]) -> ProcedureSpec:
    """A procedure entry; with a recorded detail its methods and fees come from the file (and
    name, department, agency code and levels default to the file's)."""
    code = raw.get("code") if isinstance(raw, dict) else None
    rec = recorded.get(str(code)) if code is not None else None
    if rec is None:
        return _parse_procedure(r, raw, fld)
    for key in ("methods", "fees"):
        if key in raw:
            raise r.err(f"{fld}.{key}", f"comes from the recorded file {rec.path}: remove it")
    spec = _parse_procedure(r, {**rec.defaults(), **raw, "methods": list(rec.methods)}, fld)
    return replace(spec, fees=dict(rec.fees))


def _parse_index766(r: _Reader, raw: Any) -> dict[str, Any]:
    from replica.index766 import Index766Error, parse_config  # local: index766 imports catalogue

    try:
        return parse_config(raw)
    except Index766Error as exc:
        fld, _, msg = str(exc).partition(": ")
        raise r.err(fld, msg) from None


def load_scenario(path: str | Path) -> Scenario:
    # the rubric's defensive reader: size cap, UTF-8, safe tags, no duplicate keys, no alias bomb
    from core.yamlio import YamlFileError, read_yaml_file

    path = Path(path)
    try:
        data = read_yaml_file(path)
    except YamlFileError as exc:
        if exc.line is not None or "YAML" in exc.message or "alias" in exc.message:
            raise ScenarioError(path, "(yaml)", f"not valid YAML: {exc}") from None
        raise ScenarioError(path, "(file)", f"cannot read: {exc}") from None
    return parse_scenario(data, path)


def check_against_rubric(scenario: Scenario, rubric: Any) -> list[ScenarioError]:
    """Problems between a scenario and a rubric (unknown units, services, codes)."""
    file = scenario.path or scenario.name
    errors: list[ScenarioError] = []
    units = {u.code: u for u in rubric.units}
    services = {s.id: s for s in rubric.services}
    for i, p in enumerate(scenario.procedures):
        for sid in p.services:
            s = services.get(sid)
            if s is None:
                errors.append(ScenarioError(file, f"procedures[{i}].service",
                                            f"unknown rubric service {sid!r}"))
            elif p.code not in {pr.code for pr in s.procedures}:
                errors.append(ScenarioError(
                    file, f"procedures[{i}].code",
                    f"{p.code} is not a procedure of rubric service {sid!r}"))
    for o in scenario.offers:
        u = units.get(o.unit)
        if u is None:
            errors.append(ScenarioError(file, o.field, f"unknown rubric unit {o.unit!r}"))
        elif (u.kind == "province") != (o.office in ("province", "ward")):
            errors.append(ScenarioError(file, f"{o.field}.office",
                                        f"office {o.office!r} does not fit a {u.kind} unit"))
        elif o.office_code:
            errors += _office_code_problems(file, o, rubric)
    for portal in scenario.portals:
        u = units.get(portal.unit)
        if u is None or u.kind != "province":
            errors.append(ScenarioError(file, portal.field,
                                        f"{portal.unit!r} is not a rubric province"))
        for ps in portal.services:
            s = services.get(ps.service)
            if s is None:
                errors.append(ScenarioError(file, ps.field,
                                            f"unknown rubric service {ps.service!r}"))
            elif "province" not in s.delivery or not s.procedures:
                errors.append(ScenarioError(
                    file, ps.field, f"{ps.service!r} is not a procedure service delivered by "
                    "provinces: a provincial portal cannot list it"))
            elif ps.procedure and ps.procedure not in {p.code for p in s.procedures}:
                errors.append(ScenarioError(
                    file, f"{ps.field}.procedure",
                    f"{ps.procedure} is not a procedure of rubric service {ps.service!r}"))
    return errors + check_systems(scenario, rubric)


def check_systems(scenario: Scenario, rubric: Any) -> list[ScenarioError]:
    """Problems of the ministry systems: services they cannot list, and a (province, service)
    whose offices hand off to two systems (real rows never do; the system met must be one)."""
    file = scenario.path or scenario.name
    errors: list[ScenarioError] = []
    services = {s.id: s for s in rubric.services}
    for spec in scenario.systems:
        for ps in spec.services:
            s = services.get(ps.service)
            if s is None or not s.procedures or "province" not in s.delivery:
                errors.append(ScenarioError(file, ps.field, f"{ps.service!r} is not a procedure "
                                            "service delivered by provinces"))
            elif ps.procedure and ps.procedure not in {p.code for p in s.procedures}:
                errors.append(ScenarioError(
                    file, f"{ps.field}.procedure",
                    f"{ps.procedure} is not a procedure of rubric service {ps.service!r}"))
    met: dict[tuple[str, str], str] = {}
    for o in scenario.offers:
        if not o.system:
            continue
        for sid in scenario.procedure(o.procedure).services:
            other = met.setdefault((o.unit, sid), o.system)
            if other != o.system:
                errors.append(ScenarioError(file, f"{o.field}.citizen_url", f"unit {o.unit} "
                                            f"hands {sid} off to systems {other} and {o.system}"))
    return errors


def _office_code_problems(file: str, offer: Offer, rubric: Any) -> list[ScenarioError]:
    """An explicit office code must name its own unit or none (a generic code such as
    BCA_CAX: unattributed); one naming another unit, or two, would be attributed by guess."""
    from replica.offices import claimants  # local: offices is a leaf beside this module

    named = [u.code for u in claimants(rubric.units, offer.office_code)]
    if len(named) > 1:
        return [ScenarioError(file, f"{offer.field}.office_code",
                              f"{offer.office_code!r} matches units {', '.join(named)}: an "
                              "office code must match one unit at most")]
    if named and named[0] != offer.unit:
        return [ScenarioError(file, f"{offer.field}.office_code",
                              f"{offer.office_code!r} names unit {named[0]}, not {offer.unit}")]
    return []
