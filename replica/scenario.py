"""Scenario files: the ground truth a replica serves (format: docs/SCENARIOS.md).

A scenario declares the national catalogue (its procedures plus generated filler), which units
offer which procedure at which level (``offers``) and injected faults (``faults``). It is loaded
with ``yaml.safe_load``; every problem raises :class:`ScenarioError` naming the file and field.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

GOV_LEVELS = ("ward", "province", "ministry")
METHODS = ("ONLINE", "DIRECT", "POSTAL")
IMPLEMENT_LEVELS = ("FULL", "PARTIAL", "NONE")
OFFICES = ("province", "ward", "agency")
FEE_TYPES = ("FEE", "SERVICE_FEE", "PRICE_LEVEL")
TARGETS = ("VIETNAMESE_CITIZEN", "ENTERPRISE", "FOREIGNER")
PROCEDURE_TYPES = ("STANDARD", "SPECIFIC", "STANDARD_INTERNAL")
STATES = ("ACTIVE", "UPDATED")


@dataclass(frozen=True)
class FaultKind:
    """What a fault kind does: the failure ``reason`` an audit must report for it."""

    reason: str
    needs_procedure: bool = True


# Extensible: later issues add kinds (timeout, http_5xx, provincial portal faults, ...).
FAULT_KINDS: dict[str, FaultKind] = {
    "blocked": FaultKind(reason="blocked"),
}

PROVINCE_CODE_RE = re.compile(r"^\d{2}$")
PROCEDURE_CODE_RE = re.compile(r"^\d+\.\d{6,}$")


class ScenarioError(Exception):
    """A scenario file problem: ``str()`` is ``"<file>: field '<field>': <message>"``."""

    def __init__(self, file: str | Path, field: str, message: str):
        self.file = str(file)
        self.field = field
        self.message = message
        super().__init__(f"{self.file}: field '{field}': {message}")


@dataclass(frozen=True)
class Fee:
    value: int
    type: str = "FEE"


@dataclass(frozen=True)
class ProcedureSpec:
    code: str
    name: str
    department: str  # promulgating agency name ("Bộ Tư pháp")
    agency_code: str  # promulgating agency code ("G15")
    services: tuple[str, ...]  # rubric service ids
    levels: tuple[str, ...]  # subset of GOV_LEVELS
    methods: tuple[str, ...]  # subset of METHODS, in order
    fees: dict[str, tuple[Fee, ...]] = field(default_factory=dict, hash=False)
    full_process: bool = False
    vertical: bool = False
    targets: tuple[str, ...] = ("VIETNAMESE_CITIZEN",)
    type: str = "STANDARD"
    state: str = "UPDATED"
    category: str = ""  # "" = derived from the agency
    decision: str = ""  # procedureProposal.proposalNumber; "" = derived
    cases: int = 1

    @property
    def service(self) -> str:
        return self.services[0] if self.services else ""

    def fees_for(self, method: str) -> tuple[Fee, ...]:
        return self.fees.get(method, (Fee(0),))

    def online_fees(self) -> tuple[int, ...]:
        if "ONLINE" not in self.methods:
            return ()
        return tuple(f.value for f in self.fees_for("ONLINE"))


@dataclass(frozen=True)
class Offer:
    unit: str  # unit code ("01", "G01")
    procedure: str  # procedure code
    office: str  # province | ward | agency
    level: str  # FULL | PARTIAL | NONE
    citizen_url: str = "default"  # "default" | "" | explicit URL
    testing: bool = False
    count: int = 1  # ward offers: how many ward offices share this row's state
    office_name: str = ""  # override the generated office name
    essential: bool = False
    field: str = ""  # where it was declared, for messages

    def url_for(self, base_url: str) -> str:
        if self.citizen_url == "default":
            return f"{base_url}/portals/{self.unit}/vi/nps/apply?ma={self.procedure}"
        return self.citizen_url


@dataclass(frozen=True)
class Fault:
    kind: str
    procedure: str = ""
    params: dict[str, Any] = field(default_factory=dict, hash=False)

    @property
    def reason(self) -> str:
        return FAULT_KINDS[self.kind].reason


@dataclass(frozen=True)
class Scenario:
    name: str
    description: str
    seed: int
    filler: int
    procedures: tuple[ProcedureSpec, ...]
    offers: tuple[Offer, ...]
    faults: tuple[Fault, ...] = ()
    rubric: str = ""  # optional rubric directory, relative to the scenario file
    path: str = ""

    def procedure(self, code: str) -> ProcedureSpec:
        for p in self.procedures:
            if p.code == code:
                return p
        raise KeyError(code)

    def codes(self) -> set[str]:
        return {p.code for p in self.procedures}

    def offers_for(self, unit: str) -> tuple[Offer, ...]:
        return tuple(o for o in self.offers if o.unit == unit)

    def units(self) -> list[str]:
        seen: dict[str, None] = {}
        for o in self.offers:
            seen.setdefault(o.unit, None)
        return list(seen)

    def failed_procedures(self) -> dict[str, str]:
        """procedure code -> failure reason, for procedure-scoped faults."""
        out: dict[str, str] = {}
        for f in self.faults:
            if f.procedure:
                out.setdefault(f.procedure, f.reason)
        return out

    def blocked_codes(self) -> set[str]:
        return {f.procedure for f in self.faults if f.kind == "blocked"}

    def rubric_dir(self) -> Path | None:
        if not self.rubric:
            return None
        p = Path(self.rubric)
        if not p.is_absolute() and self.path:
            p = Path(self.path).parent / p
        return p


# --------------------------------------------------------------------------- parsing


class _Reader:
    def __init__(self, file: str | Path):
        self.file = str(file)

    def err(self, fld: str, msg: str) -> ScenarioError:
        return ScenarioError(self.file, fld, msg)

    def mapping(self, value: Any, fld: str) -> dict:
        if not isinstance(value, dict):
            raise self.err(fld, f"must be a mapping, got {type(value).__name__}")
        return value

    def seq(self, value: Any, fld: str) -> list:
        if not isinstance(value, list):
            raise self.err(fld, f"must be a list, got {type(value).__name__}")
        return value

    def string(self, d: dict, key: str, fld: str, *, required=True, default="") -> str:
        if key not in d or d[key] is None:
            if required:
                raise self.err(fld, "is required")
            return default
        v = d[key]
        if isinstance(v, bool) or not isinstance(v, (str, int, float)):
            raise self.err(fld, f"must be a string, got {type(v).__name__}")
        return str(v)

    def integer(self, d: dict, key: str, fld: str, *, required=True, default=0,
                minimum=None) -> int:
        if key not in d or d[key] is None:
            if required:
                raise self.err(fld, "is required")
            return default
        v = d[key]
        if isinstance(v, bool) or not isinstance(v, int):
            raise self.err(fld, f"must be an integer, got {v!r}")
        if minimum is not None and v < minimum:
            raise self.err(fld, f"must be >= {minimum}, got {v}")
        return v

    def boolean(self, d: dict, key: str, fld: str, default: bool) -> bool:
        if key not in d or d[key] is None:
            return default
        v = d[key]
        if not isinstance(v, bool):
            raise self.err(fld, f"must be true or false, got {v!r}")
        return v

    def choice(self, d: dict, key: str, fld: str, choices, *, required=True, default="",
               upper=False) -> str:
        v = self.string(d, key, fld, required=required, default=default)
        if upper:
            v = v.upper()
        if (required or v) and v not in choices:
            raise self.err(fld, f"must be one of {', '.join(choices)}, got {v!r}")
        return v

    def choices(self, d: dict, key: str, fld: str, choices, *, default=(), upper=False,
                nonempty=True) -> tuple[str, ...]:
        if key not in d or d[key] is None:
            if default:
                return tuple(default)
            raise self.err(fld, "is required")
        raw = d[key]
        if isinstance(raw, str):
            raw = [raw]
        items = self.seq(raw, fld)
        out: list[str] = []
        for i, v in enumerate(items):
            if not isinstance(v, str):
                raise self.err(f"{fld}[{i}]", f"must be a string, got {v!r}")
            v = v.upper() if upper else v
            if v not in choices:
                raise self.err(f"{fld}[{i}]", f"must be one of {', '.join(choices)}, got {v!r}")
            if v in out:
                raise self.err(f"{fld}[{i}]", f"duplicate value {v!r}")
            out.append(v)
        if nonempty and not out:
            raise self.err(fld, "must not be empty")
        return tuple(out)


def _unknown_keys(r: _Reader, d: dict, allowed: set[str], fld: str) -> None:
    for k in d:
        if k not in allowed:
            raise r.err(f"{fld}.{k}" if fld else str(k),
                        f"unknown field (allowed: {', '.join(sorted(allowed))})")


_PROC_KEYS = {"code", "name", "department", "agency_code", "service", "levels", "methods", "fees",
              "full_process", "vertical", "targets", "type", "state", "category", "decision",
              "cases"}
_OFFER_KEYS = {"procedure", "office", "level", "citizen_url", "testing", "count", "office_name",
               "essential"}
_TOP_KEYS = {"name", "description", "seed", "catalogue", "procedures", "offers", "faults",
             "rubric"}


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
                _unknown_keys(r, v, {"type", "value"}, vfld)
                value = r.integer(v, "value", f"{vfld}.value", minimum=0)
                ftype = r.choice(v, "type", f"{vfld}.type", FEE_TYPES, required=False,
                                 default="FEE") or "FEE"
                out.append(Fee(value, ftype))
            elif isinstance(v, int) and not isinstance(v, bool) and v >= 0:
                out.append(Fee(v))
            else:
                raise r.err(vfld, f"must be a fee value >= 0 or {{type, value}}, got {v!r}")
        fees[method] = tuple(out)
    return fees


def _parse_procedure(r: _Reader, raw: Any, fld: str) -> ProcedureSpec:
    d = r.mapping(raw, fld)
    _unknown_keys(r, d, _PROC_KEYS, fld)
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
    )


def _is_province_code(unit: str) -> bool:
    return bool(PROVINCE_CODE_RE.match(unit))


def _parse_offer(r: _Reader, unit: str, raw: Any, fld: str, codes: set[str]) -> Offer:
    d = r.mapping(raw, fld)
    _unknown_keys(r, d, _OFFER_KEYS, fld)
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
    if url not in ("default", "") and not re.match(r"^https?://", url):
        raise r.err(f"{fld}.citizen_url", f"must be 'default', '' or an http(s) URL, got {url!r}")
    count = r.integer(d, "count", f"{fld}.count", required=False, default=1, minimum=1)
    if count > 1 and office != "ward":
        raise r.err(f"{fld}.count", "only ward offers may stand for several offices")
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
    )


def _parse_fault(r: _Reader, raw: Any, fld: str, codes: set[str]) -> Fault:
    d = r.mapping(raw, fld)
    kind = r.choice(d, "kind", f"{fld}.kind", tuple(FAULT_KINDS))
    fk = FAULT_KINDS[kind]
    proc = r.string(d, "procedure", f"{fld}.procedure", required=fk.needs_procedure)
    if proc and proc not in codes:
        raise r.err(f"{fld}.procedure", f"{proc!r} is not declared under procedures")
    params = {k: v for k, v in d.items() if k not in ("kind", "procedure")}
    return Fault(kind=kind, procedure=proc, params=params)


def parse_scenario(data: Any, file: str | Path = "<scenario>") -> Scenario:
    """Validate an already-parsed YAML document."""
    r = _Reader(file)
    d = r.mapping(data, "(top level)")
    _unknown_keys(r, d, _TOP_KEYS, "")
    name = r.string(d, "name", "name")
    seed = r.integer(d, "seed", "seed")
    cat = r.mapping(d.get("catalogue", {}) or {}, "catalogue")
    _unknown_keys(r, cat, {"filler"}, "catalogue")
    filler = r.integer(cat, "filler", "catalogue.filler", required=False, default=0, minimum=0)

    procs: list[ProcedureSpec] = []
    seen: set[str] = set()
    for i, raw in enumerate(r.seq(d.get("procedures"), "procedures")):
        p = _parse_procedure(r, raw, f"procedures[{i}]")
        if p.code in seen:
            raise r.err(f"procedures[{i}].code", f"duplicate procedure code {p.code!r}")
        seen.add(p.code)
        procs.append(p)

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
        if o.office != "ward" and (o.unit, o.procedure, o.office, o.office_name) in keys:
            raise r.err(o.field, f"duplicate {o.office} offer of {o.procedure} for unit {o.unit}")
        keys.add((o.unit, o.procedure, o.office, o.office_name))

    faults = tuple(_parse_fault(r, raw, f"faults[{i}]", seen)
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
    )


def load_scenario(path: str | Path) -> Scenario:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ScenarioError(path, "(file)", f"cannot read: {exc}") from exc
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ScenarioError(path, "(yaml)", f"not valid YAML: {exc}") from exc
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
    return errors
