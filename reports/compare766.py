"""Our evidence against the portal's own Decision 766 figures (issue 4, comparison section).

Decision 766/QĐ-TTg scores every province out of 100 on the national portal. Two of its groups
measure what this audit measures from another side: "Dịch vụ công trực tuyến" (CLGQ, 12 points:
full-process online dossiers) and "Thanh toán trực tuyến" (TTTT, 10 points: online payment).
Their figures are dossier ratios over all procedures; ours are the shares of the 20 services'
answers met. They measure different things, so a difference is not an error on either side:
the report lists the provinces where the two disagree by at least THRESHOLD, for a person to
look at. Pure over stored evidence (kinds written by crawler/spiders/index766.py).
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from core.rubric import Unit
from core.sqlite import sqlite_utils

if TYPE_CHECKING:
    from reports.report import ReportModel

THRESHOLD = 0.3  # |ours - theirs| on a 0..1 scale that is called a disagreement
RESULTS_KIND = "index766_results"  # one row: the service-results response, all provinces
GROUP_KIND = "index766_group"  # one row per (province, group endpoint)
FAILED_KIND = "index766_fetch"  # a 766 request that failed, with its reason
# (766 group code, its maximum, our criterion), from research/portals/derived/index766_metrics.csv
GROUPS = {
    "online": ("CLGQ", 12.0, "level4_full"),
    "payment": ("TTTT", 10.0, "online_payment"),
}
GROUP_ENDPOINTS = {"online": "provide-online-tree", "payment": "formality-online-payment-tree"}


@dataclass(frozen=True)
class Pair:
    theirs: float | None  # 766 group score / its maximum
    ours: float | None  # share of our answers met (None: nothing testable)
    ours_tested: int  # met + not_met answers behind `ours`

    @property
    def disagree(self) -> bool:
        return (self.theirs is not None and self.ours is not None
                and abs(self.ours - self.theirs) >= THRESHOLD)

    @property
    def difference(self) -> float | None:
        if self.theirs is None or self.ours is None:
            return None
        return round(self.ours - self.theirs, 9)


@dataclass(frozen=True)
class CompareRow:
    unit: Unit
    department_name: str
    total: float | None  # the 766 total out of 100
    pairs: dict[str, Pair]  # "online" | "payment"

    @property
    def disagree(self) -> bool:
        return any(p.disagree for p in self.pairs.values())

    @property
    def largest_difference(self) -> float:
        return max((abs(p.difference) for p in self.pairs.values()
                    if p.difference is not None), default=0.0)


@dataclass(frozen=True)
class Comparison:
    period: dict[str, Any]
    url: str
    observed_at: str
    rows: tuple[CompareRow, ...]
    unmatched: tuple[str, ...]  # 766 departments with no province in the rubric
    failures: tuple[tuple[str, str], ...]  # (url, reason) of 766 requests that failed
    threshold: float = THRESHOLD

    @property
    def disagreements(self) -> tuple[CompareRow, ...]:
        return tuple(r for r in self.rows if r.disagree)


def _num(value: Any) -> float | None:
    try:
        return None if value is None or isinstance(value, bool) else float(value)
    except (TypeError, ValueError):
        return None


def our_shares(model: ReportModel, criterion_id: str) -> dict[str, tuple[float | None, int]]:
    """Per unit: share of its `criterion_id` answers met over those tested, and how many."""
    met: dict[str, int] = defaultdict(int)
    tested: dict[str, int] = defaultdict(int)
    for v in model.verdicts:
        if v["criterion_id"] == criterion_id and v["verdict"] in ("met", "not_met"):
            tested[v["unit_code"]] += 1
            met[v["unit_code"]] += v["verdict"] == "met"
    return {u: (met[u] / n if n else None, n) for u, n in tested.items()}


def _evidence(db: sqlite_utils.Database, run_id: int, kinds: tuple[str, ...]) -> list[dict]:
    if "evidence" not in db.table_names():
        return []
    marks = ",".join("?" * len(kinds))
    rows = list(db.query(f"SELECT * FROM evidence WHERE run_id = ? AND kind IN ({marks}) "
                         "ORDER BY id", [run_id, *kinds]))
    for r in rows:
        r["data"] = json.loads(r.get("data") or "{}")
    return rows


def _group_ratios(rows: list[dict]) -> dict[tuple[str, str], float]:
    """(department code, group key) -> ratio, from the per-group endpoints when fetched."""
    out = {}
    for r in rows:
        d = r["data"]
        score, top = _num(d.get("score")), _num(d.get("max_score"))
        if r["outcome"] == "ok" and score is not None and top:
            out[(str(d.get("department_code") or ""), str(d.get("group") or ""))] = score / top
    return out


def compare(db: sqlite_utils.Database, run_id: int, model: ReportModel) -> Comparison | None:
    """None when the run did not fetch the Decision 766 figures."""
    results = _evidence(db, run_id, (RESULTS_KIND, FAILED_KIND))
    ok = [r for r in results if r["kind"] == RESULTS_KIND and r["outcome"] == "ok"]
    failures = tuple((r["url"], r["reason"]) for r in results if r["outcome"] != "ok")
    if not ok:
        return Comparison({}, "", "", (), (), failures) if failures else None
    head = ok[-1]
    per_group = _group_ratios(_evidence(db, run_id, (GROUP_KIND,)))
    ours = {key: our_shares(model, crit) for key, (_, _, crit) in GROUPS.items()}
    by_office = {u.office_code: u for u in model.rubric.provinces}
    rows, unmatched = [], []
    for dep in head["data"].get("rows", []):
        code = str(dep.get("department_code") or "")
        unit = by_office.get(code)
        if unit is None:
            unmatched.append(f"{dep.get('department_name', '')} ({code})")
            continue
        scores = dep.get("group_scores") or {}
        pairs = {}
        for key, (group, top, _) in GROUPS.items():
            theirs = per_group.get((code, GROUP_ENDPOINTS[key]))
            mark = _num(scores.get(group))
            if theirs is None and mark is not None:
                theirs = mark / top
            share, tested = ours[key].get(unit.code, (None, 0))
            pairs[key] = Pair(None if theirs is None else round(theirs, 9), share, tested)
        rows.append(CompareRow(unit, str(dep.get("department_name") or ""),
                               _num(dep.get("total_score")), pairs))
    rows.sort(key=lambda r: (-r.largest_difference, r.unit.name))
    return Comparison(dict(head["data"].get("period") or {}), head["url"] or "",
                      head["observed_at"] or "", tuple(rows), tuple(unmatched), failures)
