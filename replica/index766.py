"""The portal's own Decision 766 index (766/QĐ-TTg), as the replica serves it.

The real portal publishes a 100-point score per province under /api/v1/reporting/evaluation/:
`service-results` (every province with its six group scores) and one endpoint per group
(research/REAL_PORTALS.md, research/portals/derived/index766_metrics.csv). The replica answers
the same POSTs with the same envelope. Figures come from the scenario's optional `index766` key;
provinces it does not list get figures generated from the scenario seed (deterministic), so the
demo always has something to compare against.

Scenario key (docs/SCENARIOS.md):

    index766:
      blocked: false          # true: every 766 endpoint answers F5's "Request Rejected" page
      scores:                 # province code -> group code -> points (0..the group's maximum)
        "01": {CLGQ: 11.5, TTTT: 9}
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from replica.catalogue import BadRequest
from replica.ids import keyed_uuid

PREFIX = "/api/v1/reporting/evaluation/"
RESULTS = PREFIX + "service-results"
# group endpoint -> (group code, maximum points); sums to 100
GROUPS: dict[str, tuple[str, float]] = {
    "transparency": ("CKMB", 18.0),
    "dvc-progress-tree": ("TDGQ", 20.0),
    "provide-online-tree": ("CLGQ", 12.0),
    "formality-online-payment-tree": ("TTTT", 10.0),
    "handling-satisfaction": ("MDHL", 18.0),
    "dossier-digitized": ("MDSH", 22.0),
}
TREE_GROUPS = {"dvc-progress-tree", "provide-online-tree", "formality-online-payment-tree"}
PATHS: tuple[str, ...] = (RESULTS, *(PREFIX + g for g in GROUPS))
MAXIMA = dict(GROUPS.values())
TIME_TYPES = {"year": None, "quarter": (1, 4), "month": (1, 12)}


@dataclass(frozen=True)
class Department:
    id: str
    code: str  # Hxx, the province's office code
    name: str  # "UBND Thành phố Hà Nội"
    scores: dict[str, float] = field(hash=False)  # group code -> points

    @property
    def total(self) -> float:
        return round(sum(self.scores.values()), 2)


@dataclass(frozen=True)
class Index766:
    departments: tuple[Department, ...]
    blocked: bool = False

    def by_id(self, department_id: str) -> Department | None:
        return next((d for d in self.departments if d.id == department_id), None)


class Index766Error(ValueError):
    """A bad `index766` scenario key; the message names the field."""


def parse_config(raw: Any) -> dict[str, Any]:
    """Validate the scenario's `index766` mapping; returns {"blocked": bool, "scores": {...}}."""
    if raw is None:
        return {"blocked": False, "scores": {}}
    if not isinstance(raw, dict):
        raise Index766Error("index766: must be a mapping")
    unknown = set(raw) - {"blocked", "scores"}
    if unknown:
        raise Index766Error(f"index766.{sorted(unknown)[0]}: unknown field (allowed: blocked, "
                            "scores)")
    if not isinstance(raw.get("blocked", False), bool):
        raise Index766Error("index766.blocked: must be true or false")
    scores = raw.get("scores") or {}
    if not isinstance(scores, dict):
        raise Index766Error("index766.scores: must be a mapping of province code to groups")
    out: dict[str, dict[str, float]] = {}
    for code, groups in scores.items():
        where = f"index766.scores.{code}"
        if not isinstance(code, str):
            raise Index766Error(f"{where}: province codes must be quoted strings")
        if not isinstance(groups, dict):
            raise Index766Error(f"{where}: must map group codes ({', '.join(MAXIMA)}) to points")
        for group, points in groups.items():
            if group not in MAXIMA:
                raise Index766Error(f"{where}.{group}: unknown group (one of "
                                    f"{', '.join(MAXIMA)})")
            if isinstance(points, bool) or not isinstance(points, int | float) \
                    or not 0 <= points <= MAXIMA[group]:
                raise Index766Error(f"{where}.{group}: must be a number from 0 to "
                                    f"{MAXIMA[group]:g}, got {points!r}")
        out[code] = {g: float(p) for g, p in groups.items()}
    return {"blocked": bool(raw.get("blocked", False)), "scores": out}


def _generated(seed: int, code: str, group: str) -> float:
    """A stable figure in the upper half of the group's range (the real ones mostly are)."""
    digest = hashlib.sha256(f"{seed}:{code}:{group}".encode()).digest()
    fraction = 0.5 + 0.5 * int.from_bytes(digest[:4], "big") / 0xFFFFFFFF
    return round(MAXIMA[group] * fraction, 2)


def build_index(scenario: Any, rubric: Any) -> Index766:
    """The figures served for a scenario: its `index766` key, the seed for the rest."""
    cfg = parse_config(getattr(scenario, "index766", None))
    departments = []
    for unit in rubric.provinces:
        given = cfg["scores"].get(unit.code, {})
        scores = {g: given.get(g, _generated(scenario.seed, unit.code, g)) for g in MAXIMA}
        departments.append(Department(keyed_uuid(scenario.seed, "index766", unit.code),
                                      unit.office_code, f"UBND {unit.name}", scores))
    return Index766(tuple(departments), cfg["blocked"])


def _period(data: dict[str, Any]) -> None:
    """Reject a body the real endpoint would reject: {timeType, year, month|quarter}."""
    if "fromDate" in data and "toDate" in data:  # handling-satisfaction's date range form
        return
    time_type = data.get("timeType")
    if time_type not in TIME_TYPES:
        raise BadRequest(f"timeType must be one of {', '.join(TIME_TYPES)}")
    if not isinstance(data.get("year"), int):
        raise BadRequest("year is required")
    bounds = TIME_TYPES[time_type]
    if bounds and not (isinstance(data.get(time_type), int)
                       and bounds[0] <= data[time_type] <= bounds[1]):
        raise BadRequest(f"{time_type} must be {bounds[0]}..{bounds[1]}")


def _record(d: Department, group: str | None = None) -> dict[str, Any]:
    base = {"departmentId": d.id, "departmentName": d.name, "departmentCode": d.code,
            "departmentType": "ADMINISTRATIVE_UNIT", "childGroup": None}
    if group is None:
        return {**base, "totalScore": d.total, "scoreDelta": 0.0, "groupScores": dict(d.scores)}
    code, top = GROUPS[group]
    score = d.scores[code]
    return {**base, "totalScore": score, "totalMaxScore": top,
            "ratio": round(score / top * 100, 2)}


def answer(index: Index766, route: str, data: dict[str, Any]) -> dict[str, Any]:
    """The `data` of the envelope for one POST (raises BadRequest like the portal's 400)."""
    _period(data)
    if route == RESULTS:
        if data.get("departmentType", "ADMINISTRATIVE_UNIT") != "ADMINISTRATIVE_UNIT":
            return {"evaluation": [], "overview": {}, "growthPercent": 0, "radar": []}
        rows = [_record(d) for d in index.departments]
        average = round(sum(d.total for d in index.departments) / max(len(rows), 1), 2)
        return {"evaluation": rows, "overview": {"averageScore": average}, "growthPercent": 0,
                "radar": []}
    group = route.removeprefix(PREFIX)
    dep = index.by_id(str(data.get("rootDepartmentId") or ""))
    if dep is None:
        raise BadRequest("rootDepartmentId not found")
    record = _record(dep, group)
    if group in TREE_GROUPS:
        return {"parent": record, "children": []}
    return {"overview": {**record, "score": record["totalScore"],
                         "maxScore": record["totalMaxScore"], "metrics": []},
            "evaluation": []}
