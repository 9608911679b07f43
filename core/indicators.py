"""The UN survey's indicator sets as rubric data: OSQ features of the national portal, LOSI
features of each provincial portal, and how the automatic ones are detected.

Files: rubrics/indicators/osq.yaml, losi.yaml, detectors.yaml (rules: rubrics/README.md,
"Indicators"). Optional: a rubric directory without `indicators/` audits the 20 services only.
Checked with the rubric's own field checkers, so `rubric check` reports every problem the same
way (file, entry, field, message).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.rubric import RubricError
from core.validate import (
    FieldSpec,
    Problems,
    boolean,
    check_fields,
    choice,
    duplicates,
    entries,
    entry_name,
    list_of,
    pattern,
    read_yaml,
    text,
    weight,
)

INDICATORS_DIR = "indicators"
SET_FILES = {"osq": "osq.yaml", "losi": "losi.yaml"}
DETECTORS_FILE = "detectors.yaml"
JUDGED = ("auto", "review", "services")
LOOK_IN = ("national_portal_only", "any_government_domain")
ANSWERS = ("binary", "enum")
UNITS = ("national", "province")
NATIONAL_UNIT = "VN"  # the unit code of the national portal in survey answers (OSQ)
DETECTOR_KINDS = ("link", "text", "form", "https", "responsive", "axe", "w3c", "fresh", "domain")
_SLUG = re.compile(r"^[a-z][a-z0-9_]*$")
_GROUP = re.compile(r"^[A-Z]{2,4}$")
_UN_CODE = re.compile(r"^#\d{2,3}[a-z]?$")


@dataclass(frozen=True)
class IndicatorGroup:
    """A sub-index (OSQ) or criterion (LOSI)."""

    id: str
    name_en: str
    name_vi: str
    weight: float | None = None  # None: equal weights (LOSI) or scored with another group
    score_with: str = ""  # scored inside another group (e.g. literacy features with Technology)


@dataclass(frozen=True)
class Indicator:
    id: str
    un_codes: tuple[str, ...]
    group: str
    question_en: str
    question_vi: str
    judged: str  # auto | review | services
    answer: str = "binary"
    look_in: str = ""
    detector: str = ""
    services: tuple[str, ...] = ()
    weight: float = 1.0
    legal_basis: str = ""  # the Vietnamese legal text requiring the feature, where one is cited
    fix_vi: str = ""  # what the portal must do (required in the files: `rubric check`)
    fix_en: str = ""
    legal_basis_en: str = ""  # the legal basis in English reports (falls back to legal_basis)


@dataclass(frozen=True)
class IndicatorSet:
    id: str  # osq | losi
    edition: int
    unit: str  # national | province
    groups: tuple[IndicatorGroup, ...]
    indicators: tuple[Indicator, ...]
    weights_are_estimates: bool = False
    # the 20-service criterion that answers a `services` feature ("can one apply online?")
    services_criterion: str = "level3_partial"


@dataclass(frozen=True)
class Detector:
    id: str
    kind: str
    params: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Indicators:
    sets: Mapping[str, IndicatorSet]
    detectors: Mapping[str, Detector]
    search: Mapping[str, Any]


def _regexes(v: Any) -> tuple[bool, Any, str]:
    ok, items, msg = list_of(text())(v)
    if not ok:
        return ok, items, msg
    for p in items:
        try:
            re.compile(p)
        except re.error as e:
            return False, None, f"not a valid pattern {p!r}: {e}"
    return True, items, ""


def _int(v: Any) -> tuple[bool, Any, str]:
    ok = isinstance(v, int) and not isinstance(v, bool) and v > 0
    return (True, v, "") if ok else (False, None, "must be a positive integer")


GROUP_FIELDS: FieldSpec = {
    "id": (pattern(_GROUP, "2-4 capital letters"), True, None),
    "name_en": (text(), True, None),
    "name_vi": (text(), True, None),
    "weight": (weight, False, None),
    "score_with": (pattern(_GROUP, "a group id"), False, ""),
}
INDICATOR_FIELDS: FieldSpec = {
    "id": (pattern(_SLUG, "a lowercase slug"), True, None),
    "un_codes": (list_of(pattern(_UN_CODE, "a UN code like #010 or #131a")), True, None),
    "group": (pattern(_GROUP, "a group id"), True, None),
    "question_en": (text(), True, None),
    "question_vi": (text(), True, None),
    "judged": (choice(JUDGED), True, None),
    "answer": (choice(ANSWERS), False, "binary"),
    "look_in": (choice(LOOK_IN), False, ""),
    "detector": (pattern(_SLUG, "a detector id"), False, ""),
    "services": (list_of(pattern(_SLUG, "a service id")), False, ()),
    "weight": (weight, False, 1.0),
    "legal_basis": (text(), False, ""),
    # every feature says what the portal must do, in both languages: the reports show it for
    # each missing feature, so a missing fix is an error, not a blank in the report
    "fix_vi": (text(), True, None),
    "fix_en": (text(), True, None),
    "legal_basis_en": (text(), False, ""),
}
DETECTOR_PARAMS: dict[str, FieldSpec] = {
    "link": {"text": (_regexes, False, ()), "href": (_regexes, False, ())},
    "text": {"text": (_regexes, True, None)},
    "form": {"inputs": (list_of(text()), True, None)},
    "https": {},
    "responsive": {"width": (_int, True, None)},
    "axe": {"standard": (text(), True, None),
            "fail_impacts": (list_of(choice(("minor", "moderate", "serious", "critical"))),
                             True, None)},
    "w3c": {"check": (choice(("markup", "css")), True, None)},
    "fresh": {"max_age_days": (_int, True, None)},
    "domain": {"suffixes": (list_of(text()), True, None)},
}
SEARCH_FIELDS: FieldSpec = {
    "depth": (_int, True, None),
    "max_pages": (_int, True, None),
    "sitemap": (boolean, True, None),
}


def _judgement_problem(ind: Indicator, detectors: Mapping[str, Detector] | None,
                       service_ids: set[str] | None) -> tuple[str, str]:
    """(field, message) when how an indicator is judged does not hold together."""
    if ind.judged == "auto":
        if not ind.detector:
            return "detector", "an automatic indicator needs a detector"
        if detectors is not None and ind.detector not in detectors:
            return "detector", f"unknown detector {ind.detector!r} (see {DETECTORS_FILE})"
    elif ind.detector:
        return "detector", f"only automatic indicators have a detector (judged: {ind.judged})"
    if ind.judged == "services":
        if not ind.services:
            return "services", "an indicator judged by the services needs their ids"
        unknown = [s for s in ind.services if service_ids is not None and s not in service_ids]
        if unknown:
            return "services", f"unknown service ids: {', '.join(unknown)}"
    elif ind.services:
        return "services", f"only indicators judged by the services list them ({ind.judged})"
    return "", ""


def _check_groups(doc: Any, rep: Problems) -> tuple[IndicatorGroup, ...]:
    raw_groups = doc.get("groups") if isinstance(doc, dict) else None
    if not isinstance(raw_groups, list) or not raw_groups:
        rep.add("", "groups", "required list is missing or empty")
        return ()
    groups = []
    for i, raw in enumerate(raw_groups):
        f = check_fields(raw, GROUP_FIELDS, rep, f"group {entry_name(raw, 'id', i)}")
        if f is not None:
            groups.append(IndicatorGroup(**f))
    ids = {g.id for g in groups}
    for g in groups:
        if g.score_with and (g.score_with not in ids or g.score_with == g.id):
            rep.add(f"group {g.id}", "score_with", f"must name another group, got {g.score_with!r}")
    for gid in sorted(duplicates(g.id for g in groups)):
        rep.add(f"group {gid}", "id", "duplicate group id")
    return tuple(groups)


def _check_set(doc: Any, name: str, rep: Problems, detectors: Mapping[str, Detector] | None,
               service_ids: set[str] | None) -> IndicatorSet | None:
    head = {"set", "edition", "unit", "groups", "weights_are_estimates", "services_criterion"}
    raw_items = entries(doc, "indicators", rep, others=tuple(head))
    if not isinstance(doc, dict):
        return None
    if doc.get("set") != name:
        rep.add("", "set", f"must be {name!r} (the file's set), got {doc.get('set')!r}")
    if doc.get("unit") not in UNITS:
        rep.add("", "unit", f"must be one of {', '.join(UNITS)}; got {doc.get('unit')!r}")
    edition = doc.get("edition")
    if not isinstance(edition, int) or isinstance(edition, bool):
        rep.add("", "edition", "must be the survey's year, e.g. 2024")
    groups = _check_groups(doc, rep)
    group_ids = {g.id for g in groups}
    items = []
    for i, raw in enumerate(raw_items):
        entry = entry_name(raw, "id", i)
        f = check_fields(raw, INDICATOR_FIELDS, rep, entry)
        if f is None:
            continue
        ind = Indicator(**f)
        where, problem = _judgement_problem(ind, detectors, service_ids)
        if not problem and ind.legal_basis_en and not ind.legal_basis:
            where, problem = "legal_basis_en", "an English legal basis needs `legal_basis`"
        if problem:
            rep.add(entry, where, problem)
        elif ind.group not in group_ids:
            rep.add(entry, "group", f"unknown group {ind.group!r}")
        else:
            items.append(ind)
    for iid in sorted(duplicates(i.id for i in items)):
        rep.add(iid, "id", "duplicate indicator id")
    criterion = doc.get("services_criterion", "level3_partial")
    if not isinstance(criterion, str) or not _SLUG.match(criterion):
        rep.add("", "services_criterion", f"must be a criterion id, got {criterion!r}")
    return IndicatorSet(name, edition if isinstance(edition, int) else 0, str(doc.get("unit")),
                        groups, tuple(items), bool(doc.get("weights_are_estimates", False)),
                        str(criterion))


def _check_detectors(doc: Any, rep: Problems) -> tuple[dict[str, Detector], dict[str, Any]]:
    if not isinstance(doc, dict) or not isinstance(doc.get("detectors"), dict):
        rep.add("", "detectors", "a 'detectors' mapping (id: {kind, ...}) is required")
        return {}, {}
    for k in doc:
        if k not in ("detectors", "search"):
            rep.add("", str(k), "unknown top-level key")
    search = check_fields(doc.get("search"), SEARCH_FIELDS, rep, "search") or {}
    found: dict[str, Detector] = {}
    for did, raw in doc["detectors"].items():
        kind = raw.get("kind") if isinstance(raw, dict) else None
        if kind not in DETECTOR_PARAMS:
            rep.add(str(did), "kind", f"must be one of {', '.join(DETECTOR_KINDS)}; got {kind!r}")
            continue
        spec: FieldSpec = {"kind": (choice(DETECTOR_KINDS), True, None), **DETECTOR_PARAMS[kind]}
        f = check_fields(raw, spec, rep, str(did))
        if f is None:
            continue
        if kind == "link" and not (f["text"] or f["href"]):
            rep.add(str(did), "text", "a link detector needs `text` or `href` patterns")
            continue
        found[str(did)] = Detector(str(did), kind, {k: v for k, v in f.items() if k != "kind"})
    return found, search


def read_indicators(rubric_dir: Path, service_ids: set[str] | None = None
                    ) -> tuple[Indicators | None, list[RubricError]]:
    """The indicator sets (None when absent or invalid) and every problem found."""
    base = Path(rubric_dir) / INDICATORS_DIR
    errors: list[RubricError] = []
    if not base.is_dir():
        return None, errors
    det_rep = Problems(f"{INDICATORS_DIR}/{DETECTORS_FILE}", errors, RubricError)
    det_doc = read_yaml(base / DETECTORS_FILE, det_rep)
    detectors, search = _check_detectors(det_doc, det_rep) if det_doc is not None else ({}, {})
    known = detectors if not errors else None  # cross-check only against a clean detectors file
    sets: dict[str, IndicatorSet] = {}
    for name, file in SET_FILES.items():
        rep = Problems(f"{INDICATORS_DIR}/{file}", errors, RubricError)
        doc = read_yaml(base / file, rep)
        if doc is not None:
            built = _check_set(doc, name, rep, known, service_ids)
            if built is not None:
                sets[name] = built
    return (None if errors else Indicators(sets, detectors, search)), errors


def check_indicators(rubric_dir: Path, service_ids: set[str] | None = None) -> list[RubricError]:
    """Every problem in `rubric_dir/indicators/` (empty: valid or absent)."""
    return read_indicators(rubric_dir, service_ids)[1]


def load_indicators(rubric_dir: Path, service_ids: set[str] | None = None) -> Indicators | None:
    """The indicator sets, or None when the rubric has none; RubricError on the first problem."""
    indicators, errors = read_indicators(rubric_dir, service_ids)
    if errors:
        raise errors[0]
    return indicators
