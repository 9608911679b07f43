""""Since the last run": what changed between this run and the previous complete run, stale
cells, and each unit's score over its last runs, read from the stored history.

Nothing here crawls or re-evaluates: `audits.history.compare` reads the two runs' stored
verdicts (the same comparison `nightly` saves and `changes.csv` lists) and
`audits.history.stale_rows` the last known values. The reports call `since_last` and `trends`
from `reports.report_model.build_model`.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from markupsafe import Markup, escape

from audits import history, scoring
from core.sqlite import sqlite_utils
from reports.charts import FONT

TREND_RUNS = 10  # runs shown in a unit's trend


def _reference(c: history.Change) -> str:
    """The value a change is judged against: the base run's, or its last known testable one."""
    return c.known_before if c.before == history.CANNOT else c.before


def gap_opened(c: history.Change) -> bool:
    """Not met now, and not (known) not met before: a gap appeared."""
    return c.after == history.NOT_MET and _reference(c) != history.NOT_MET


def gap_closed(c: history.Change) -> bool:
    """Not met before (or last known not met), met or out of scope now: a gap went away."""
    return _reference(c) == history.NOT_MET and c.after in (history.MET, history.NA)


@dataclass
class Since:
    """The changes of one run against the previous complete run (all units, or one unit)."""

    base: dict[str, Any] | None  # the previous complete run (None: not compared)
    run: dict[str, Any]
    why: str = ""  # why there is no comparison: first | incomplete | not_comparable
    detail: str = ""  # the history module's message when not comparable
    changes: list[history.Change] = field(default_factory=list)
    stale: list[dict[str, Any]] = field(default_factory=list)  # history.stale_rows
    warnings: list[str] = field(default_factory=list)

    def of(self, *kinds: str) -> list[history.Change]:
        return [c for c in self.changes if c.change in kinds]

    @property
    def regressions(self) -> list[history.Change]:
        return self.of(history.REGRESSION)

    @property
    def improvements(self) -> list[history.Change]:
        return self.of(history.IMPROVEMENT)

    @property
    def flapping(self) -> list[history.Change]:
        return self.of(history.FLAPPING)

    @property
    def opened(self) -> list[history.Change]:
        return [c for c in self.changes if gap_opened(c)]

    @property
    def closed(self) -> list[history.Change]:
        return [c for c in self.changes if gap_closed(c)]

    def counts(self) -> dict[str, int]:
        return {"regressions": len(self.regressions), "improvements": len(self.improvements),
                "flapping": len(self.flapping), "opened": len(self.opened),
                "closed": len(self.closed), "stale": len(self.stale)}

    def any(self) -> bool:
        return any(self.counts().values())

    def for_unit(self, code: str) -> Since:
        return Since(self.base, self.run, self.why, self.detail,
                     [c for c in self.changes if c.unit_code == code],
                     [s for s in self.stale if s["unit_code"] == code], self.warnings)

    def units(self) -> list[str]:
        """Unit codes with any change or stale cell, in code order."""
        return sorted({c.unit_code for c in self.changes} | {s["unit_code"] for s in self.stale})


def since_last(db: sqlite_utils.Database, run: dict[str, Any], version: str) -> Since:
    """This run against the previous complete run of the same target, under `version`."""
    stale = history.stale_rows(db, run["id"], version)
    if run.get("status") != "complete":
        return Since(None, run, "incomplete", stale=stale)
    base = history.previous_complete(db, run)
    if base is None:
        return Since(None, run, "first", stale=stale)
    try:
        cmp = history.compare(db, base["id"], run["id"], version=version)
    except history.NotComparable as exc:
        return Since(base, run, "not_comparable", str(exc), stale=stale)
    return Since(base, run, changes=cmp.changes, stale=stale, warnings=cmp.warnings)


# --------------------------------------------------------------------------- trends


@dataclass(frozen=True)
class TrendPoint:
    run_id: int
    started_at: str
    share: float | None  # None: nothing testable in that run


def trends(db: sqlite_utils.Database, run: dict[str, Any], version: str,
           weights: dict[str, float], limit: int = TREND_RUNS) -> dict[str, list[TrendPoint]]:
    """Each unit's share over the last `limit` complete runs of the run's target up to this run
    (this run included only when complete: history trends complete runs only)."""
    runs = history.complete_runs(db, like=run, upto=run["id"], version=version)[-limit:]
    if not runs:
        return {}
    marks = ", ".join("?" for _ in runs)
    rows = db.execute(
        f"SELECT run_id, unit_code, unit_name, unit_kind, service_id, criterion_id, verdict "
        f"FROM verdicts WHERE rubric_version = ? AND run_id IN ({marks})",
        [version, *(r["id"] for r in runs)]).fetchall()
    by_run: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for rid, unit, name, kind, sid, cid, verdict in rows:
        by_run[rid].append({"unit_code": unit, "unit_name": name, "unit_kind": kind,
                            "service_id": sid, "criterion_id": cid, "verdict": verdict})
    out: dict[str, list[TrendPoint]] = defaultdict(list)
    for r in runs:
        for code, score in scoring.unit_scores(by_run.get(r["id"], []), weights).items():
            out[code].append(TrendPoint(r["id"], r["started_at"], score.share))
    return dict(out)


def sparkline(points: list[TrendPoint], *, title: str, label: Any,
              width: int = 160, height: int = 36) -> Markup:
    """A unit's share (0–1) over its runs as a small inline SVG: a line, one dot per run with
    its run, date and share as a tooltip (<title>), no script. `label(point)` is the tooltip."""
    pad, shown = 4, [p for p in points if p.share is not None]
    head = (f'<svg xmlns="http://www.w3.org/2000/svg" class="trend" role="img" width="{width}" '
            f'height="{height}" viewBox="0 0 {width} {height}" {FONT} font-size="10">'
            f'<title>{escape(title)}</title>'
            f'<rect x="0" y="0" width="{width}" height="{height}" fill="#fafafa" '
            f'stroke="#ddd"/>')
    if not shown:
        return Markup(head + "</svg>")
    step = (width - 2 * pad) / max(len(shown) - 1, 1)

    def xy(i: int, p: TrendPoint) -> tuple[float, float]:
        return pad + i * step, pad + (1 - (p.share or 0.0)) * (height - 2 * pad)

    coords = [xy(i, p) for i, p in enumerate(shown)]
    line = " ".join(f"{x:.1f},{y:.1f}" for x, y in coords)
    body = [f'<polyline points="{line}" fill="none" stroke="#3b6fb6" stroke-width="1.5"/>']
    for (x, y), p in zip(coords, shown, strict=True):
        body.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="2.5" fill="#3b6fb6" '
                    f'data-run="{p.run_id}" data-share="{p.share:.6f}">'
                    f'<title>{escape(label(p))}</title></circle>')
    return Markup(head + "".join(body) + "</svg>")
