"""The report model: a stored run's verdicts, scores, gaps and evidence, language-neutral.

`build_model` reads only the store and the rubric (weights come from the rubric, so a weight
change re-scores the report). The templates and exports render this model; nothing here
formats text for a reader.
"""

from __future__ import annotations

import json
import os
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from audits import scoring
from core import store
from core.rows import StoredFinding, StoredVerdict
from core.rubric import Criterion, Rubric, Service, Unit, unit_for_office
from core.sqlite import sqlite_utils
from core.targets import Targets, load_targets
from reports import actions
from reports import since as since_view
from reports.i18n import Lang

UNITS_DIR = "units"
EVIDENCE_SHOWN = 3  # evidence links shown per verdict; the rest are counted
LEVEL_KEYS = ("offered_online", "level3_partial", "level4_full")
# Heatmap states, best first. The cell text is language-neutral: the level reached (4 = toàn
# trình, 3 = một phần, i = information only), ✓/✗ for capabilities, ? = could not test.
CELL_STATES = ("full", "partial", "listed", "available", "none", "cannot", "na")
CELL_MARKS = {"full": "4", "partial": "3", "listed": "i", "available": "✓", "none": "✗",
              "cannot": "?", "na": ""}


@dataclass(frozen=True)
class EvidenceLink:
    id: int
    kind: str
    url: str
    href: str | None  # only http(s) URLs become links
    method: str
    observed_at: str
    status: int | None
    sha256: str
    outcome: str
    reason: str
    office: str
    screenshot: str | None  # href to the screenshot file, relative to the unit page
    system: str = ""  # the ministry system it was observed on ("Bộ Tư pháp – host"), if any


@dataclass(frozen=True)
class CriterionStatus:
    criterion: Criterion
    verdict: str
    reason: str
    evidence: tuple[EvidenceLink, ...]
    more: int  # cited evidence rows not shown
    detail: str = ""  # level criteria: offices offering the level / the unit's offices ("97/126")


@dataclass(frozen=True)
class ServiceStatus:
    service: Service
    state: str
    criteria: tuple[CriterionStatus, ...]  # the criteria that apply (not not_applicable)

    @property
    def system(self) -> str:
        """The ministry system the citizen meets for this service ("" = the unit's own portal
        or none): named by the evidence its verdicts cite (audits.evaluate puts it first)."""
        return next((e.system for cs in self.criteria for e in cs.evidence if e.system), "")


@dataclass(frozen=True)
class GapItem:
    """A not_met answer, what closing it alone is worth, and who must close it."""

    unit: Unit
    service: Service
    criterion: Criterion
    reason: str
    gain: scoring.GapGain


@dataclass(frozen=True)
class TopGap:
    """A (service, criterion) gap summed over every unit that has it."""

    service: Service
    criterion: Criterion
    units: tuple[Unit, ...]
    points: float
    national_after: float | None  # national share if every one of these gaps were closed


@dataclass(frozen=True)
class FindingItem:
    """Where the national portal and the unit's own portal disagree (audits.evaluate.findings)."""

    service: Service
    kind: str  # national_overstates | national_understates | not_listed_nationally | ...
    national: str  # the national portal's level: FULL | PARTIAL | NONE | "" (not listed)
    portal: str  # the unit's portal: absent | info | partial | full
    detail: str
    evidence: tuple[EvidenceLink, ...]


@dataclass(frozen=True)
class UnattributedOffice:
    code: str
    name: str
    rows: int
    procedures: tuple[str, ...]


@dataclass(frozen=True)
class UnattributedRows:
    """Office rows of the run that no unit claims (generic codes such as BCA_CAX, unknown
    agencies): stored as evidence, counted here; while a service has some, a unit without a
    row of its own for it is "could not test" (unattributed_rows)."""

    count: int
    by_service: tuple[tuple[Service, int], ...]
    examples: tuple[UnattributedOffice, ...]  # the offices with most rows first
    offices: int  # distinct office codes


@dataclass
class UnitPage:
    unit: Unit
    score: scoring.UnitScore | None
    peers: int  # units of the same kind with a score (who the unit is compared with)
    services: list[ServiceStatus]
    not_delivered: list[Service]
    gaps: list[GapItem]
    all_closed: scoring.UnitChange | None  # what-if every gap of the unit were closed
    cannot: list[tuple[Service, CriterionStatus]]
    findings: list[FindingItem] = field(default_factory=list)
    bodies: list[actions.BodyActions] = field(default_factory=list)  # gaps by responsible body
    since: since_view.Since | None = None  # this unit's changes since the previous complete run
    trend: list[since_view.TrendPoint] = field(default_factory=list)  # share over its last runs

    def body_of(self, gap: GapItem) -> actions.BodyActions | None:
        return next((b for b in self.bodies for i in b.items if gap in i.gaps), None)

    def file(self, lang: Lang) -> str:
        return f"{UNITS_DIR}/{self.unit.code}{lang.suffix}.html"


@dataclass
class ReportModel:
    run: dict[str, Any]
    rubric: Rubric
    config: scoring.ScoringConfig
    weights: dict[str, float]
    verdicts: list[StoredVerdict]
    units: list[Unit]  # units audited for at least one service, rubric order
    cells: dict[tuple[str, str], str]
    board: scoring.Scoreboard
    national: scoring.NationalFigure
    pages: dict[str, UnitPage]
    top_gaps: list[TopGap]
    totals: Counter
    cell_totals: Counter
    cannot: Counter  # (criterion_id, reason) -> cells
    standing: Any = None  # reports.standing_panel.StandingPanel when UN data is given
    comparison: Any = None  # reports.compare766.Comparison when the run fetched Decision 766
    stopped_hosts: list[dict[str, Any]] = field(default_factory=list)  # hosts the crawl gave up
    reused: dict[str, Any] | None = None  # observations reused from earlier runs (load_reused)
    unattributed: UnattributedRows | None = None  # office rows no unit claims
    survey: Any = None  # reports.survey_model.SurveyModel: the UN survey's LOSI and OSQ (issue 18)

    rank_min_tested: float = 0.0  # audits/coverage.py: a unit tested less is not ranked
    targets: Targets = field(default_factory=lambda: Targets(()))  # rubrics/targets.yaml
    since: since_view.Since | None = None  # changes since the previous complete run (all units)
    trends: dict[str, list[since_view.TrendPoint]] = field(default_factory=dict)

    def trend_svg(self, unit_code: str, lang: Lang) -> Any:
        """The unit's share over its last complete runs as a small inline SVG (no script)."""
        points = self.trends.get(unit_code, [])
        name = lang.unit_name(self.rubric.unit(unit_code))
        return since_view.sparkline(
            points, title=lang.t("since.trend_title", name=name, n=len(points)),
            label=lambda p: lang.t("since.trend_point", run=p.run_id, date=p.started_at[:10],
                                   share=lang.pct(p.share)))

    def deadline(self, service: Service, criterion: Criterion) -> actions.Deadline:
        """The annex deadline (history, overdue on the run's date?) and the current target."""
        return actions.deadline_for(service, criterion, self.targets,
                                    actions.run_date(self.run))

    def coverage(self, unit_code: str) -> Any:
        """The unit's tested cells of those a rule applies to (audits.coverage.Share)."""
        from audits.coverage import Share

        try:
            u = self.board.unit(unit_code)
        except KeyError:
            return Share(0, 0)
        return Share(u.met + u.not_met, u.met + u.not_met + u.cannot_test)

    def unranked(self, unit_code: str) -> Any:
        """The unit's coverage when too little of it was tested to show a rank, else None."""
        share = self.coverage(unit_code)
        return share if share.cells and share.share < self.rank_min_tested else None

    def group_counts(self, kind: str) -> Counter:
        ks = self.board.kinds.get(kind)
        return Counter(u.group for u in ks.ranked) if ks else Counter()

    def kinds(self) -> list[str]:
        return [k for k in ("province", "agency") if k in self.board.kinds]


def cell_state(verdicts: dict[str, str]) -> str:
    """Level a unit reached for a service, from its verdicts (criterion id -> verdict)."""
    applicable = {c: v for c, v in verdicts.items() if v != "not_applicable"}
    if not applicable:
        return "na"
    for key, state in (("level4_full", "full"), ("level3_partial", "partial"),
                       ("offered_online", "listed")):
        if applicable.get(key) == "met":
            return state
    levels = [v for c, v in applicable.items() if c in LEVEL_KEYS]
    if levels:  # a positive answer would have returned above: not shown is not "not offered"
        return "cannot" if "cannot_test" in levels else "none"
    # A capability with no level (online fee payment): its own criteria decide.
    values = set(applicable.values())
    if values == {"met"}:
        return "available"
    return "cannot" if "cannot_test" in values else "none"


def _safe_href(url: str) -> str | None:
    return url if url.startswith(("http://", "https://")) else None


def _db_dir(db: sqlite_utils.Database) -> Path:
    for row in db.execute("PRAGMA database_list").fetchall():
        if row[1] == "main" and row[2]:
            return Path(row[2]).parent
    return Path.cwd()


def _screenshot_href(path: str, base: Path, page_dir: Path) -> str:
    """Screenshots are stored as paths (relative to the results directory); link them from
    the unit page by a relative path so the report folder can be moved as a whole."""
    target = Path(path) if Path(path).is_absolute() else base / path
    try:
        return Path(os.path.relpath(target, page_dir)).as_posix()
    except ValueError:  # another drive (Windows)
        return target.as_uri()


def load_evidence_links(db: sqlite_utils.Database, run_id: int, ids: set[int],
                        page_dir: Path) -> dict[int, EvidenceLink]:
    """The cited evidence rows, as links; the screenshot path when the row has one."""
    if not ids or "evidence" not in db.table_names():
        return {}
    has_shot = "screenshot" in db["evidence"].columns_dict
    base, out, wanted = _db_dir(db), {}, sorted(ids)
    for start in range(0, len(wanted), 500):
        chunk = wanted[start:start + 500]
        marks = ",".join("?" * len(chunk))
        for row in db.query(f"SELECT * FROM evidence WHERE run_id = ? AND id IN ({marks})",
                            [run_id, *chunk]):
            data = json.loads(row.get("data") or "{}")
            shot = (row.get("screenshot") if has_shot else None) or data.get("screenshot") or ""
            out[row["id"]] = EvidenceLink(
                id=row["id"], kind=row["kind"] or "", url=row["url"] or "",
                href=_safe_href(row["url"] or ""), method=row["method"] or "",
                observed_at=row["observed_at"] or "", status=row["status"],
                sha256=row["sha256"] or "", outcome=row["outcome"] or "",
                reason=row["reason"] or "", office=str(data.get("office_name") or ""),
                screenshot=_screenshot_href(shot, base, page_dir) if shot else None,
                system=system_label(data.get("system")))
    return out


def system_label(system: Any) -> str:
    """ "Bộ Tư pháp – dichvucongnganhtuphap.moj.gov.vn" from evidence's data.system."""
    if not isinstance(system, dict):
        return ""
    return " – ".join(str(x) for x in (system.get("ministry"), system.get("host")) if x)


def _criterion_status(rubric: Rubric, v: StoredVerdict,
                      links: dict[int, EvidenceLink]) -> CriterionStatus:
    ids = list(v.get("evidence_ids") or [])
    shown = tuple(links[i] for i in ids[:EVIDENCE_SHOWN] if i in links)
    return CriterionStatus(rubric.criterion(v["criterion_id"]), v["verdict"], v["reason"] or "",
                           shown, len(ids) - len(shown), v.get("detail") or "")


def _unit_page(unit: Unit, model: ReportModel, own: list[scoring.VerdictRow],
               grid: dict[tuple[str, str], dict[str, StoredVerdict]],
               links: dict[int, EvidenceLink], peers: scoring.Peers) -> UnitPage:
    """`own`: the unit's verdict rows; `peers`: every unit's score."""
    rubric = model.rubric
    score = model.board.get(unit.code)
    services, not_delivered, cannot = [], [], []
    for s in rubric.services:
        by_c = grid.get((unit.code, s.id), {})
        applicable = [by_c[c.id] for c in rubric.criteria
                      if c.id in by_c and by_c[c.id]["verdict"] != "not_applicable"]
        if not applicable:
            not_delivered.append(s)
            continue
        statuses = tuple(_criterion_status(rubric, v, links) for v in applicable)
        services.append(ServiceStatus(s, model.cells[(unit.code, s.id)], statuses))
        cannot += [(s, st) for st in statuses if st.verdict == "cannot_test"]
    gaps: list[GapItem] = []
    all_closed = None
    if score is not None and score.not_met:
        for g in scoring.gaps_by_gain(own, model.weights, unit.code, model.config, peers):
            gaps.append(GapItem(unit, rubric.service(g.service_id),
                                rubric.criterion(g.criterion_id), g.reason, g))
        if score.share is not None:  # gaps of weight 0 only: nothing to compare
            all_closed = scoring.all_gaps_closed(unit.code, peers, model.config)
    ks = model.board.kinds.get(unit.kind)
    return UnitPage(unit, score, len(ks.ranked) if ks else 0, services, not_delivered, gaps,
                    all_closed, cannot)


def _top_gaps(model: ReportModel, rows: list[scoring.VerdictRow]) -> list[TopGap]:
    units: dict[tuple[str, str], list[str]] = defaultdict(list)
    for r in rows:
        if r.verdict == "not_met":
            units[(r.service_id, r.criterion_id)].append(r.unit_code)
    overall = model.national.overall
    order = {c.id: i for i, c in enumerate(model.rubric.criteria)}
    by_code = {u.code: u for u in model.rubric.units}
    out = []
    for (sid, cid), codes in units.items():
        points = model.weights[cid] * len(codes)
        after = (None if overall.max_possible <= 0
                 else round((overall.raw + points) / overall.max_possible, scoring.DIGITS))
        out.append(TopGap(model.rubric.service(sid), model.rubric.criterion(cid),
                          tuple(by_code[c] for c in sorted(codes)), points, after))
    out.sort(key=lambda g: (-g.points, g.service.annex_no, order[g.criterion.id]))
    return out


def build_model(db: sqlite_utils.Database, rubric: Rubric, run: dict[str, Any],
                verdicts: list[StoredVerdict], out_dir: Path,
                config: scoring.ScoringConfig | None = None) -> ReportModel:
    """Everything the reports show, language-neutral. Weights come from `rubric`."""
    config = config or scoring.load_scoring_config()
    weights = scoring.weights_from_rubric(rubric)
    rows = scoring.as_rows(verdicts)
    grid: dict[tuple[str, str], dict[str, StoredVerdict]] = defaultdict(dict)
    for v in verdicts:
        grid[(v["unit_code"], v["service_id"])][v["criterion_id"]] = v
    cells = {key: cell_state({c: v["verdict"] for c, v in by_c.items()})
             for key, by_c in grid.items()}
    units = [u for u in rubric.units
             if any(cells.get((u.code, s.id), "na") != "na" for s in rubric.services)]
    model = ReportModel(
        run=run, rubric=rubric, config=config, weights=weights, verdicts=verdicts, units=units,
        cells=cells, board=scoring.score_run(rows, weights, config),
        national=scoring.national_figure(rows, weights), pages={}, top_gaps=[],
        totals=Counter(v["verdict"] for v in verdicts),
        cell_totals=Counter(cells[(u.code, s.id)] for u in units for s in rubric.services
                            if (u.code, s.id) in cells),
        cannot=Counter((v["criterion_id"], v["reason"]) for v in verdicts
                       if v["verdict"] == "cannot_test"),
    )
    found = load_findings(db, run["id"])
    cited = {i for v in [*verdicts, *found] for i in (v.get("evidence_ids") or [])[:EVIDENCE_SHOWN]}
    links = load_evidence_links(db, run["id"], cited, Path(out_dir) / UNITS_DIR)
    # A unit's what-ifs need its own rows and its peers' scores (normalisation is per kind):
    # each kind's shares are sorted once for all its units (scoring.Peers).
    unit_rows: dict[str, list[scoring.VerdictRow]] = defaultdict(list)
    for r in rows:
        unit_rows[r.unit_code].append(r)
    peers = scoring.Peers({u.unit_code: u for u in model.board.units()})
    model.pages = {u.code: _unit_page(u, model, unit_rows.get(u.code, []), grid, links, peers)
                   for u in units}
    for f in found:
        page = model.pages.get(f["unit_code"])
        if page is not None and f["service_id"] in {s.id for s in rubric.services}:
            ids = (f.get("evidence_ids") or [])[:EVIDENCE_SHOWN]
            page.findings.append(FindingItem(
                rubric.service(f["service_id"]), f["kind"] or "", f.get("national") or "",
                f.get("portal") or "", f.get("detail") or "",
                tuple(links[i] for i in ids if i in links)))
    model.top_gaps = _top_gaps(model, rows)
    add_actions(db, model)
    add_history(db, model)
    model.stopped_hosts = load_stopped_hosts(db, run["id"])
    model.reused = load_reused(db, run["id"])
    model.unattributed = load_unattributed(db, run["id"], rubric)
    return model


def with_run_end(db: sqlite_utils.Database, model: ReportModel, run: dict[str, Any]) -> None:
    """A model built while its run still crawled (reports.report.report_ahead), brought to the
    run's end: the run row itself (status, end), what depends on its status (the changes since
    the previous complete run, the trends of complete runs) and the hosts stopped since."""
    model.run = run
    add_history(db, model)
    model.stopped_hosts = load_stopped_hosts(db, run["id"])


def add_actions(db: sqlite_utils.Database, model: ReportModel) -> None:
    """Group every unit's gaps by responsible body, with deadlines on the run's date."""
    model.targets = load_targets()
    levels = actions.office_levels(db, model.run["id"], model.rubric)
    on = actions.run_date(model.run)
    for page in model.pages.values():
        systems = {ss.service.id: ss.system for ss in page.services}
        page.bodies = actions.group_gaps(page.gaps, systems, levels, model.targets, on)


def add_history(db: sqlite_utils.Database, model: ReportModel) -> None:
    """Since the last run and trends, from the stored history of the run's rubric version."""
    if "verdict_sets" not in db.table_names():
        return
    version = model.run["rubric_version"]
    model.since = since_view.since_last(db, model.run, version)
    model.trends = since_view.trends(db, model.run, version, model.weights)
    for code, page in model.pages.items():
        page.since = model.since.for_unit(code)
        page.trend = model.trends.get(code, [])


UNATTRIBUTED_EXAMPLES = 5


def load_unattributed(db: sqlite_utils.Database, run_id: int,
                      rubric: Rubric) -> UnattributedRows | None:
    """The run's office rows that no unit of the rubric claims; None when there are none."""
    claims: dict[str, bool] = {}
    offices: dict[str, dict[str, Any]] = {}
    per_code: Counter = Counter()
    for code, proc, name in db.execute(
            "SELECT office_code, procedure_code, json_extract(data, '$.office_name') "
            "FROM evidence WHERE run_id = ? AND kind = 'office_row' AND outcome = 'ok'",
            [run_id]).fetchall():
        code = code or ""
        if code not in claims:
            claims[code] = unit_for_office(rubric, code) is not None
        if claims[code]:
            continue
        office = offices.setdefault(code, {"name": name or "", "rows": 0, "procs": set()})
        office["rows"] += 1
        office["procs"].add(proc or "")
        per_code[proc or ""] += 1
    if not offices:
        return None
    by_service = []
    for s in rubric.services:
        n = sum(per_code[p.code] for p in s.procedures)
        if n:
            by_service.append((s, n))
    ranked = sorted(offices.items(), key=lambda kv: (-kv[1]["rows"], kv[0]))
    examples = tuple(UnattributedOffice(code, o["name"], o["rows"], tuple(sorted(o["procs"])))
                     for code, o in ranked[:UNATTRIBUTED_EXAMPLES])
    return UnattributedRows(sum(per_code.values()), tuple(by_service), examples, len(offices))


def load_reused(db: sqlite_utils.Database, run_id: int) -> dict[str, Any] | None:
    """How many of the run's observations were reused from earlier runs (`--reuse-within`:
    data.reused_at / data.reused_from), of how many, and the oldest; None when none were."""
    row = db.execute(
        "SELECT COUNT(*), SUM(reused), MIN(CASE WHEN reused THEN observed_at END) FROM "
        "(SELECT observed_at, json_extract(data, '$.reused_at') IS NOT NULL "
        "OR json_extract(data, '$.reused_from') IS NOT NULL AS reused "
        "FROM evidence WHERE run_id = ?)", [run_id]).fetchone()
    if not row or not row[1]:
        return None
    return {"count": row[1], "total": row[0], "oldest": row[2]}


def load_stopped_hosts(db: sqlite_utils.Database, run_id: int) -> list[dict[str, Any]]:
    """Hosts the crawl stopped asking after repeated blocks (the crawler's host guard)."""
    rows = db["evidence"].rows_where("run_id = ? and kind = 'host_stopped'", [run_id],
                                     order_by="id")
    return [json.loads(r["data"] or "{}") for r in rows]


def load_findings(db: sqlite_utils.Database, run_id: int) -> list[StoredFinding]:
    """The run's national-vs-portal findings; none in a store from before provincial portals."""
    if "findings" not in db.table_names():
        return []
    return store.load_findings(db, run_id)
