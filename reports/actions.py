"""Who fixes what by when: a unit's gaps grouped by the body that must act, each criterion's
fix and legal basis written once with the services it covers, and deadlines that mean
something on the run's date.

Responsible body of a gap (docs/REPORTS.md "Gaps by responsible body"):

* an agency's gap: the agency (units.yaml names are today's names);
* a province's gap on a criterion seen on the citizen's submission system (rubric
  ``evidence: portal``: online payment, sign-on) of a service that runs on a ministry system:
  that ministry, which runs the system;
* any other province gap: the level of the province's offices that receive the service (the
  office rows' ``departmentLevel``): ward level (UBND cấp xã) when ward offices receive it,
  else the provincial departments (sở, ngành), else the provincial People's Committee.

Deadlines: the annex of 6146/VPCP-KSTT (services.yaml ``annex_deadline``) is history, marked
overdue against the run's date; the current target comes from rubrics/targets.yaml (or "no
current deadline").
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any

from core.rubric import Criterion, Rubric, Service, Unit, unit_for_office
from core.sqlite import sqlite_utils
from core.targets import Targets, overdue

if TYPE_CHECKING:
    from reports.report_model import GapItem

LEVELS = ("ministry", "ward", "department", "province")  # order of the groups on the page
OFFICE_LEVELS = {"WARD": "ward", "PROVINCE": "department", "MINISTRY": "ministry"}


@dataclass(frozen=True)
class Deadline:
    annex: str  # the annex's deadline (history)
    annex_overdue: bool  # the annex's deadline had passed on the run's date
    current: str  # targets.yaml due date, "" = no current deadline known
    source: str  # the document that sets `current`
    current_overdue: bool


def run_date(run: dict[str, Any]) -> date | None:
    try:
        return date.fromisoformat(str(run.get("started_at") or "")[:10])
    except ValueError:
        return None


def deadline_for(service: Service, criterion: Criterion, targets: Targets,
                 on: date | None) -> Deadline:
    target = targets.for_cell(service.id, criterion.id)
    due = target.due if target else ""
    return Deadline(service.annex_deadline, overdue(service.annex_deadline, on), due,
                    target.source.title if target and target.source else "",
                    overdue(due, on) if due else False)


@dataclass
class ActionItem:
    """One criterion a body must fix: its fix and legal basis once, the services it covers."""

    criterion: Criterion
    gaps: list[GapItem] = field(default_factory=list)
    deadlines: dict[str, Deadline] = field(default_factory=dict)  # service id -> deadline

    @property
    def points(self) -> float:
        return sum(g.gain.points for g in self.gaps)


@dataclass
class BodyActions:
    """Everything one body must fix for one unit."""

    level: str  # ministry | ward | department | province
    name: str  # the body ("Bộ Tư pháp"); "" for the unit's own levels (labelled by level)
    items: list[ActionItem] = field(default_factory=list)

    @property
    def key(self) -> str:
        return f"{self.level}:{self.name}"

    @property
    def points(self) -> float:
        return sum(i.points for i in self.items)

    @property
    def gaps(self) -> int:
        return sum(len(i.gaps) for i in self.items)


def office_levels(db: sqlite_utils.Database, run_id: int,
                  rubric: Rubric) -> dict[tuple[str, str], set[str]]:
    """(unit code, procedure code) -> the levels of the unit's offices listing it in the run."""
    out: dict[tuple[str, str], set[str]] = defaultdict(set)
    units: dict[str, Unit | None] = {}
    for code, proc, level in db.execute(
            "SELECT office_code, procedure_code, json_extract(data, '$.office_level') "
            "FROM evidence WHERE run_id = ? AND kind = 'office_row' AND outcome = 'ok'",
            [run_id]).fetchall():
        code = code or ""
        if code not in units:
            units[code] = unit_for_office(rubric, code)
        unit = units[code]
        if unit is not None and level:
            out[(unit.code, proc or "")].add(str(level).upper())
    return dict(out)


def body_of(gap: GapItem, system: str, levels: set[str]) -> tuple[str, str]:
    """(level, name) of the body that must close `gap` (module doc)."""
    if gap.unit.kind != "province":
        return "ministry", gap.unit.name
    if gap.criterion.evidence == "portal" and system:
        return "ministry", system.split(" – ")[0]
    for office, level in (("WARD", "ward"), ("PROVINCE", "department")):
        if office in levels:
            return level, ""
    return "province", ""


def group_gaps(gaps: list[GapItem], systems: dict[str, str],
               levels: dict[tuple[str, str], set[str]], targets: Targets,
               on: date | None) -> list[BodyActions]:
    """The unit's gaps by body, then by criterion (rubric order kept by first gap met)."""
    bodies: dict[tuple[str, str], BodyActions] = {}
    for g in gaps:
        seen = set().union(*(levels.get((g.unit.code, p.code), set())
                             for p in g.service.procedures)) if g.service.procedures else set()
        level, name = body_of(g, systems.get(g.service.id, ""), seen)
        body = bodies.setdefault((level, name), BodyActions(level, name))
        item = next((i for i in body.items if i.criterion.id == g.criterion.id), None)
        if item is None:
            item = ActionItem(g.criterion)
            body.items.append(item)
        item.gaps.append(g)
        item.deadlines[g.service.id] = deadline_for(g.service, g.criterion, targets, on)
    out = sorted(bodies.values(), key=lambda b: (LEVELS.index(b.level), -b.points, b.name))
    for b in out:
        b.items.sort(key=lambda i: -i.points)
    return out
