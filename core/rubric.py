"""Load and validate the audit rubric (`rubrics/*.yaml`) into the frozen dataclasses of
core/rubric_model.py (re-exported here: `from core.rubric import Rubric, load_rubric`).

Contract: docs/ARCHITECTURE.md, section "Rubric API". The YAML files are data edited by
hand, so validation is strict and every message names the file, the entry and the field.
No schema library: the checks below are small hand-written functions over `yaml` output.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from core.rubric_model import (  # the model; imported from here by the rest of the project
    DEFAULT_COVERAGE,
    Criterion,
    FeeRule,
    Procedure,
    Rubric,
    Service,
    Unit,
)
from core.rubric_model import office_claims as office_claims
from core.rubric_model import unit_for_office as unit_for_office
from core.scoring_config import parse_scoring_config
from core.validate import (
    Checker,
    FieldSpec,
    InputError,
    Problems,
    boolean,
    check_fields,
    choice,
    duplicates,
    entries,
    entry_name,
    int_in,
    list_of,
    pattern,
    read_yaml,
    text,
    weight,
)
from core.yamlio import YamlFileError, read_yaml_file  # noqa: F401  (crawler.platforms.seeds)

RUBRIC_DIR = Path(__file__).resolve().parents[1] / "rubrics"

RUBRIC_FILE = "rubric.yaml"
SERVICES_FILE = "services.yaml"
UNITS_FILE = "units.yaml"
SCORING_FILE = "scoring.yaml"  # optional (audits/scoring.py)
FEES_FILE = "fees.yaml"  # the fee rule's words and patterns (audits/fees.py)

CRITERION_IDS = (
    "offered_online",
    "level3_partial",
    "level4_full",
    "online_payment",
    "national_handoff",
    "national_sso",
)
SERVICE_KINDS = ("procedure", "capability")
DELIVERY_VALUES = ("province", "agency")
EVIDENCE_VALUES = ("national", "portal")
UNIT_KINDS = ("province", "agency")
ANNEX_RANGE = range(1, 21)

_SLUG = re.compile(r"^[a-z][a-z0-9_]*$")
_PROCEDURE_CODE = re.compile(r"^\d\.\d{6}$")
_PROVINCE_CODE = re.compile(r"^\d{2}$")
_PROVINCE_OFFICE = re.compile(r"^H\d{2}$")
_AGENCY_CODE = re.compile(r"^[A-Z][A-Z0-9]*$")
_ALIAS = re.compile(r"^[A-Z0-9_]+$")



# --------------------------------------------------------------------------- errors


class RubricError(InputError):
    """One problem in one rubric file; str() names file, entry and field."""


def _report(file: str, errors: list[RubricError]) -> Problems:
    return Problems(file, errors, RubricError)


# --------------------------------------------------------------------------- units.yaml

UNIT_FIELDS: FieldSpec = {
    "code": (text(), True, None),
    "kind": (choice(UNIT_KINDS), True, None),
    "name": (text(), True, None),
    "office_code": (text(), True, None),
    "code_verified": (boolean, False, True),
    "note": (text(allow_empty=True), False, ""),
    "aliases": (list_of(pattern(_ALIAS, "a whole office code without spaces or dots, "
                                          "upper-case, e.g. \"0100100079\" (quoted)")),
                False, ()),
    "name_en": (text(allow_empty=True), False, ""),
}


def _unit_codes_problem(u: dict[str, Any]) -> tuple[str, str]:
    """(field, message) when code/office_code do not fit the unit's kind, else ("", "")."""
    if u["kind"] == "province":
        if not _PROVINCE_CODE.match(u["code"]):
            return "code", f'province code must be 2 quoted digits like "01"; got {u["code"]!r}'
        if not _PROVINCE_OFFICE.match(u["office_code"]):
            return "office_code", f"province office_code must be Hxx; got {u['office_code']!r}"
        return "", ""
    if not _AGENCY_CODE.match(u["code"]):
        return "code", f"agency code must be upper-case letters/digits, e.g. G01; got {u['code']!r}"
    if u["office_code"] != u["code"]:
        return "office_code", "an agency's office_code must equal its code"
    return "", ""


def _check_units(doc: Any, rep: Problems) -> tuple[Unit, ...]:
    units: list[Unit] = []
    items = entries(doc, "units", rep)
    for i, raw in enumerate(items):
        entry = entry_name(raw, "code", i)
        u = check_fields(raw, UNIT_FIELDS, rep, entry)
        if u is None:
            continue
        field, msg = _unit_codes_problem(u)
        if field:
            rep.add(entry, field, msg)
            continue
        units.append(Unit(**u))
    for code in sorted(duplicates(u.code for u in units)):
        rep.add(code, "code", "duplicate unit code")
    for oc in sorted(duplicates(u.office_code for u in units)):
        rep.add(oc, "office_code", "office_code used by more than one unit")
    _alias_clashes(units, rep)
    return tuple(units)


def _alias_clashes(units: list[Unit], rep: Problems) -> None:
    """An alias must name one unit only: not another unit's alias, office_code or code (an
    office code matching two units would be attributed arbitrarily)."""
    for u in units:
        for alias in u.aliases:
            others = [o.code for o in units if o is not u and (
                alias in o.aliases or alias in (o.office_code, o.code))]
            if others:
                rep.add(u.code, "aliases", f"alias {alias!r} also matches unit(s) "
                        f"{', '.join(others)}: an office code must match one unit only")


# --------------------------------------------------------------------------- services.yaml

PROCEDURE_FIELDS: FieldSpec = {
    "code": (pattern(_PROCEDURE_CODE, 'a procedure code like "1.001193" (quoted)'), True, None),
    "name": (text(), True, None),
    "note": (text(allow_empty=True), False, ""),
}


def _procedures(v: Any) -> tuple[bool, Any, str]:
    """Checked separately (nested records): here only the outer type."""
    return (True, v, "") if isinstance(v, list) else (False, None, "must be a list")


SERVICE_FIELDS: FieldSpec = {
    "id": (pattern(_SLUG, "a lower-case slug like birth_registration"), True, None),
    "annex_no": (int_in(ANNEX_RANGE), True, None),
    "name_vi": (text(), True, None),
    "name_en": (text(), True, None),
    "kind": (choice(SERVICE_KINDS), True, None),
    "ministries": (list_of(text()), True, None),
    "agency_codes": (list_of(text(), non_empty=False), True, None),
    "annex_local": (text(allow_empty=True), True, None),
    "delivery": (list_of(choice(DELIVERY_VALUES)), True, None),
    "annex_status": (text(), True, None),
    "annex_deadline": (text(), True, None),
    "procedures": (_procedures, True, None),
    "keywords": (list_of(text()), True, None),
    "note": (text(allow_empty=True), False, ""),
    "ministries_en": (list_of(text(), non_empty=False, unique=False), False, ()),
    "annex_deadline_en": (text(allow_empty=True), False, ""),
}


def _check_procedures(raw: list[Any], rep: Problems, entry: str) -> tuple[Procedure, ...] | None:
    out: list[Procedure] = []
    ok = True
    for j, praw in enumerate(raw):
        sub = _report(rep.file, [])
        p = check_fields(praw, PROCEDURE_FIELDS, sub, entry)
        for e in sub.errors:  # name the nested field: procedures[2].code
            rep.add(entry, f"procedures[{j + 1}]" + (f".{e.field}" if e.field else ""), e.message)
        if p is None:
            ok = False
            continue
        out.append(Procedure(**p))
    for code in sorted(duplicates(p.code for p in out)):
        rep.add(entry, "procedures", f"procedure code {code} listed twice")
        ok = False
    return tuple(out) if ok else None


def _service_rules(s: Service, units: dict[str, Unit] | None, rep: Problems) -> bool:
    """Rules across fields of one service; units is None when units.yaml did not load."""
    ok = True
    if s.kind == "procedure" and not s.procedures:
        rep.add(s.id, "procedures", "a 'procedure' service needs at least one procedure")
        ok = False
    if s.kind == "capability" and not s.procedures and not s.note.strip():
        rep.add(s.id, "note", "a capability without procedures must say how it is measured")
        ok = False
    if s.ministries_en and len(s.ministries_en) != len(s.ministries):
        rep.add(s.id, "ministries_en", f"gives {len(s.ministries_en)} names for "
                                       f"{len(s.ministries)} ministries (one each, same order)")
        ok = False
    if "agency" in s.delivery and not s.agency_codes:
        rep.add(s.id, "agency_codes", "delivery includes 'agency' but no agency code is given")
        ok = False
    for code in s.agency_codes if units is not None else ():
        unit = (units or {}).get(code)
        if unit is None:
            rep.add(s.id, "agency_codes", f"unknown unit {code!r} (not in {UNITS_FILE})")
            ok = False
        elif unit.kind != "agency":
            rep.add(s.id, "agency_codes", f"unit {code!r} is a {unit.kind}, not an agency")
            ok = False
    return ok


def _check_services(doc: Any, units: dict[str, Unit] | None, rep: Problems) -> tuple[Service, ...]:
    services: list[Service] = []
    for i, raw in enumerate(entries(doc, "services", rep)):
        entry = entry_name(raw, "id", i)
        f = check_fields(raw, SERVICE_FIELDS, rep, entry)
        if f is None:
            continue
        procs = _check_procedures(f["procedures"], rep, entry)
        if procs is None:
            continue
        s = Service(**{**f, "procedures": procs})
        if _service_rules(s, units, rep):
            services.append(s)
    _service_set_rules(services, rep)
    return tuple(services)


def _service_set_rules(services: list[Service], rep: Problems) -> None:
    for sid in sorted(duplicates(s.id for s in services)):
        rep.add(sid, "id", "duplicate service id")
    numbers = [s.annex_no for s in services]
    for s in services:
        if numbers.count(s.annex_no) > 1:
            rep.add(s.id, "annex_no", f"annex number {s.annex_no} is used more than once")
    owners: dict[str, str] = {}
    for s in services:
        for p in s.procedures:
            if p.code in owners and owners[p.code] != s.id:
                rep.add(s.id, "procedures", f"procedure {p.code} also belongs to {owners[p.code]}")
            owners.setdefault(p.code, s.id)


def _annex_coverage(services: tuple[Service, ...], rep: Problems) -> None:
    """Each annex number 1..20 exactly once (only meaningful when every entry was valid)."""
    missing = sorted(set(ANNEX_RANGE) - {s.annex_no for s in services})
    if missing:
        rep.add("", "annex_no", f"annex numbers missing: {', '.join(map(str, missing))}")


# --------------------------------------------------------------------------- rubric.yaml

CRITERION_FIELDS: FieldSpec = {
    "id": (choice(CRITERION_IDS), True, None),
    "title_vi": (text(), True, None),
    "title_en": (text(), True, None),
    "question_vi": (text(), True, None),
    "question_en": (text(), True, None),
    "legal_basis": (text(), True, None),
    "remediation_vi": (text(), True, None),
    "remediation_en": (text(), True, None),
    "weight": (weight, True, None),
    "applies_to": (list_of(text()), True, None),
    "evidence": (choice(EVIDENCE_VALUES), True, None),
    "legal_basis_en": (text(allow_empty=True), False, ""),
}


def _check_criteria(doc: Any, service_ids: set[str] | None, rep: Problems) -> tuple[str, tuple]:
    version = ""
    if isinstance(doc, dict):
        ok, v, msg = text()(doc.get("version"))
        if ok:
            version = v
        else:
            rep.add("", "version", "required field is missing" if "version" not in doc else msg)
    criteria: list[Criterion] = []
    for i, raw in enumerate(entries(doc, "criteria", rep,
                                     others=("version", "coverage_threshold"))):
        entry = entry_name(raw, "id", i)
        f = check_fields(raw, CRITERION_FIELDS, rep, entry)
        if f is None:
            continue
        unknown = [s for s in f["applies_to"] if service_ids is not None and s not in service_ids]
        if unknown:
            rep.add(entry, "applies_to", f"unknown service ids: {', '.join(unknown)}")
            continue
        criteria.append(Criterion(**f))
    for cid in sorted(duplicates(c.id for c in criteria)):
        rep.add(cid, "id", "duplicate criterion id")
    return version, tuple(criteria)


def _coverage_threshold(doc: Any, rep: Problems) -> float:
    """rubric.yaml `coverage_threshold`: a share in (0, 1]; DEFAULT_COVERAGE when absent."""
    if not isinstance(doc, dict) or "coverage_threshold" not in doc:
        return DEFAULT_COVERAGE
    v = doc["coverage_threshold"]
    if isinstance(v, bool) or not isinstance(v, int | float) or not 0 < v <= 1:
        rep.add("", "coverage_threshold", f"must be a number > 0 and <= 1, got {v!r}")
        return DEFAULT_COVERAGE
    return float(v)


def _criteria_coverage(criteria: tuple[Criterion, ...], rep: Problems) -> None:
    missing = [c for c in CRITERION_IDS if c not in {x.id for x in criteria}]
    if missing:
        rep.add("", "criteria", f"criteria missing: {', '.join(missing)}")


# --------------------------------------------------------------------------- fees.yaml


def _regex(groups: int) -> Checker:
    def check(v: Any) -> tuple[bool, Any, str]:
        ok, value, msg = text()(v)
        if not ok:
            return ok, value, msg
        try:
            rx = re.compile(value)
        except re.error as e:
            return False, None, f"not a valid regular expression: {e}"
        if rx.groups < groups:
            return False, None, f"needs {groups} capturing group(s) (the number), has {rx.groups}"
        if rx.search(""):
            return False, None, "matches the empty text"
        return True, value, ""

    return check


def _words(v: Any) -> tuple[bool, Any, str]:
    ok, value, msg = list_of(text())(v)
    return (True, tuple(w.casefold() for w in value), "") if ok else (ok, value, msg)


FEE_SECTIONS: dict[str, FieldSpec] = {
    "amount": {"patterns": (list_of(_regex(1)), True, None)},
    "exemption": {"starts": (_words, True, None), "conditional": (_words, True, None),
                  "clause_end": (_regex(0), True, None)},
    "reference": {"words": (_words, True, None)},
}


def _check_fees(doc: Any, rep: Problems) -> FeeRule | None:
    if not isinstance(doc, dict):
        rep.add("", "", f"top level must be a mapping with keys {', '.join(FEE_SECTIONS)}")
        return None
    for k in doc:
        if k not in FEE_SECTIONS:
            rep.add("", str(k), "unknown top-level key")
    parts: dict[str, dict[str, Any]] = {}
    for name, spec in FEE_SECTIONS.items():
        if name not in doc:
            rep.add(name, "", "required section is missing")
            continue
        got = check_fields(doc[name], spec, rep, name)
        if got is not None:
            parts[name] = got
    if len(parts) != len(FEE_SECTIONS) or any(k not in FEE_SECTIONS for k in doc):
        return None
    return FeeRule(amount_patterns=parts["amount"]["patterns"],
                   exempt_starts=parts["exemption"]["starts"],
                   conditional=parts["exemption"]["conditional"],
                   clause_end=parts["exemption"]["clause_end"],
                   references=parts["reference"]["words"])


# --------------------------------------------------------------------------- entry points


def _build(path: Path) -> tuple[Rubric | None, list[RubricError]]:
    path = Path(path)
    if path.is_file():  # allow pointing at one of the files
        path = path.parent
    errors: list[RubricError] = []
    reports = {n: _report(n, errors) for n in (RUBRIC_FILE, SERVICES_FILE, UNITS_FILE)}
    docs = {n: read_yaml(path / n, r) for n, r in reports.items()}

    units: tuple[Unit, ...] = ()
    unit_index: dict[str, Unit] | None = None
    if docs[UNITS_FILE] is not None:
        n_before = len(errors)
        units = _check_units(docs[UNITS_FILE], reports[UNITS_FILE])
        # Cross-checks against units only when units.yaml is clean, to avoid noise.
        unit_index = {u.code: u for u in units} if len(errors) == n_before else None

    services: tuple[Service, ...] = ()
    service_ids: set[str] | None = None
    if docs[SERVICES_FILE] is not None:
        n_before = len(errors)
        services = _check_services(docs[SERVICES_FILE], unit_index, reports[SERVICES_FILE])
        if len(errors) == n_before:
            _annex_coverage(services, reports[SERVICES_FILE])
            service_ids = {s.id for s in services}

    version, criteria, threshold = "", (), DEFAULT_COVERAGE
    if docs[RUBRIC_FILE] is not None:
        n_before = len(errors)
        version, criteria = _check_criteria(docs[RUBRIC_FILE], service_ids, reports[RUBRIC_FILE])
        threshold = _coverage_threshold(docs[RUBRIC_FILE], reports[RUBRIC_FILE])
        if len(errors) == n_before:
            _criteria_coverage(criteria, reports[RUBRIC_FILE])

    _check_scoring(path / SCORING_FILE, _report(SCORING_FILE, errors))
    fees_report = _report(FEES_FILE, errors)
    fees_doc = read_yaml(path / FEES_FILE, fees_report)
    fees = _check_fees(fees_doc, fees_report) if fees_doc is not None else None
    if errors or unit_index is None or service_ids is None:
        return None, errors
    return Rubric(version, services, criteria, units, fees, threshold), errors


def _check_scoring(path: Path, rep: Problems) -> None:
    """scoring.yaml is optional; when present it must parse as core.scoring_config expects."""
    if not path.exists() and not path.is_symlink():
        return
    doc = read_yaml(path, rep)
    if doc is None:
        return
    try:
        parse_scoring_config(doc)
    except (ValueError, TypeError, KeyError, AttributeError) as e:
        rep.add("", "", f"invalid scoring settings: {e}")


def load_rubric(path: Path = RUBRIC_DIR) -> Rubric:
    """Load the rubric directory; raises RubricError on the first problem found."""
    rubric, errors = _build(path)
    if errors:
        raise errors[0]
    assert rubric is not None  # _build returns a rubric whenever there is no error
    return rubric


def check_rubric(path: Path = RUBRIC_DIR) -> list[RubricError]:
    """Every problem in the rubric directory (empty list = valid), for `dvc-audit rubric check`."""
    return _build(path)[1]
