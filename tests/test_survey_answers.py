"""A run's UN survey answers from stored site evidence (audits/survey_answers.py), stored and
re-judged (app/survey.py, `rescore`), scored (audits/survey.survey_scores) and used by
`standing` (the fuller national estimate). Evidence rows and DOM bodies are built here, as
the site crawl stores them (notes: EvidenceKind.SITE_PAGE / SITE_MEASURE); nothing is crawled."""

from __future__ import annotations

import hashlib
import shutil
from collections import Counter
from datetime import date
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from click.testing import CliRunner

from app.cli import main
from app.jobs import run_audit
from app.rescore import rescore
from app.survey import StoredBodies, judge_run, save_survey_answers
from audits.detectors import MEASURED_KINDS
from audits.standing import (
    every_gap_closed,
    load_standing_config,
    load_un_data,
    national_answers,
    national_estimate,
    services_closed,
    survey_estimate,
)
from audits.survey import NOT_REVIEWED, survey_scores
from audits.survey_answers import read_pages, survey_answers
from core import store
from core.indicators import NATIONAL_UNIT, load_indicators
from core.rubric import RUBRIC_DIR, load_rubric
from core.vocab import Reason, Verdict
from replica.scenario import load_scenario
from replica.server import ReplicaServer
from reports.standing_panel import build_panel, survey_inputs
from tests.test_detectors import PAGE_CASES, PLAIN
from tests.test_review import _cli, _fill

RUN = date(2026, 12, 2)
MET, NOT_MET, CANNOT = Verdict.MET, Verdict.NOT_MET, Verdict.CANNOT_TEST
FOUND, MISSING, BROKEN, DOWN = "01", "79", "48", "31"  # the four provinces with a site here
UN_2024 = Path(__file__).resolve().parents[2] / "shared" / "research" / "un" / \
    "EGOV_DATA_2024_renamed_headers.csv"


@pytest.fixture(scope="module")
def indicators():
    loaded = load_indicators(RUBRIC_DIR)
    assert loaded is not None
    return loaded


@pytest.fixture(scope="module")
def rubric():
    return load_rubric(RUBRIC_DIR)


@pytest.fixture(scope="module")
def provinces(rubric):
    return {u.code: u.name for u in rubric.units if u.kind == "province"}


class Site:
    """One unit's site as the crawl would store it: page rows, a measure row, bodies."""

    def __init__(self, unit: str, host: str, next_id: int = 1) -> None:
        self.unit, self.host, self.id = unit, host, next_id
        self.rows: list[dict[str, Any]] = []
        self.bodies: dict[str, bytes] = {}

    def page(self, path: str, depth: int, body: str | None, reason: str = "") -> Site:
        html = None if body is None else f"<html><body>{body}</body></html>".encode()
        sha = hashlib.sha256(html).hexdigest() if html is not None else ""
        if html is not None:
            self.bodies[sha] = html
        self.rows.append({
            "id": self._next(), "kind": "site_page", "url": f"https://{self.host}{path}",
            "outcome": "ok" if html is not None else "failed", "reason": reason,
            "status": 200 if html is not None else None, "html_sha256": sha,
            "sha256": sha, "data": {"units": [self.unit], "depth": depth, "home": depth == 0,
                                     "via": "home" if depth == 0 else "link"}})
        return self

    def measure(self, **data: Any) -> Site:
        self.rows.append({"id": self._next(), "kind": "site_measure",
                          "url": f"https://{self.host}/", "outcome": "ok", "reason": "",
                          "data": {"units": [self.unit], **data}})
        return self

    def _next(self) -> int:
        self.id += 1
        return self.id


GOOD = dict(https_ok=True, http_redirects=True, scroll_width=390, viewport_meta=True,
            axe_violations={"minor": 1, "moderate": 0, "serious": 0, "critical": 0},
            w3c_errors={"markup": 0, "css": 0}, failures={})
BAD = dict(https_ok=False, http_redirects=False, scroll_width=1200, viewport_meta=False,
           axe_violations={"minor": 0, "moderate": 0, "serious": 3, "critical": 0},
           w3c_errors={"markup": 7, "css": 2}, failures={})
UNMEASURED = dict(https_ok=None, http_redirects=None, scroll_width=None, viewport_meta=None,
                  axe_violations=None, w3c_errors=None,
                  failures={"https": Reason.TIMEOUT, "responsive": Reason.BROWSER_ERROR,
                            "axe": Reason.BROWSER_ERROR, "w3c_markup": Reason.NO_VALIDATOR,
                            "w3c_css": Reason.NO_VALIDATOR})
EVERYTHING = " ".join(PAGE_CASES.values())


def sites() -> list[Site]:
    """FOUND: every feature, deep in the site, every measure good, named, on .gov.vn.
    MISSING: none of them (the pages searched), bad measures, not named.
    BROKEN: none on the pages read, but a page within the budget failed; nothing measured.
    DOWN: its home page failed. The national portal (VN): like FOUND, served on loopback
    with its declared official domain."""
    found = (Site(FOUND, "portal-01.gov.vn", 100).page("/", 0, f"{PLAIN} UBND Thành phố Hà Nội")
             .page("/menu", 1, '<a href="/noi-dung">Nội dung</a>')
             .page("/noi-dung", 2, EVERYTHING).page("/sau", 3, "").measure(**GOOD))
    missing = (Site(MISSING, "portal-79.gov.vn", 200).page("/", 0, PLAIN)
               .page("/tin-tuc", 1, "<p>Tin tức</p>").measure(**BAD))
    broken = (Site(BROKEN, "portal-48.gov.vn", 300).page("/", 0, f"{PLAIN} Đà Nẵng")
              .page("/tin-tuc", 1, "<p>Tin tức</p>").page("/gioi-thieu", 1, None, "timeout")
              .measure(**UNMEASURED))
    down = Site(DOWN, "portal-31.gov.vn", 400).page("/", 0, None, "refused")
    national = (Site(NATIONAL_UNIT, "127.0.0.1:8123", 500)
                .page("/", 0, f"{PLAIN} Cổng Dịch vụ công Quốc gia").page("/x", 1, EVERYTHING)
                .measure(**GOOD, domain="dichvucong.gov.vn"))
    return [found, missing, broken, down, national]


def judged(indicators, provinces, verdicts=(), reviews=None) -> dict[tuple[str, str, str], Any]:
    all_sites = sites()
    rows = survey_answers(indicators, [r for s in all_sites for r in s.rows],
                          {k: v for s in all_sites for k, v in s.bodies.items()}, verdicts,
                          reviews or {}, provinces=provinces, run_at=RUN)
    return {(r["indicator_set"], r["unit_code"], r["indicator_id"]): r for r in rows}


def test_a_row_for_every_indicator_of_every_unit_of_each_set(indicators, provinces):
    rows = survey_answers(indicators, [], {}, [], {}, provinces=provinces, run_at=RUN)
    osq, losi = indicators.sets["osq"], indicators.sets["losi"]
    keys = Counter((r["indicator_set"], r["unit_code"], r["indicator_id"]) for r in rows)
    assert max(keys.values()) == 1
    assert len(rows) == len(osq.indicators) + 34 * len(losi.indicators)
    assert {u for s, u, _ in keys if s == "losi"} == set(provinces)
    assert {u for s, u, _ in keys if s == "osq"} == {NATIONAL_UNIT}
    # no site evidence at all (an older run): every automatic feature is not_gathered
    autos = [r for r in rows if r["judged"] == "auto"]
    assert autos and all((r["verdict"], r["reason"]) == (CANNOT, Reason.NOT_GATHERED)
                         for r in autos)
    assert {r["verdict"] for r in rows if r["judged"] == "review"} == {NOT_REVIEWED}


def _page_kind(indicators, ind_id: str, set_id: str = "losi") -> str:
    ind = next(i for i in indicators.sets[set_id].indicators if i.id == ind_id)
    return indicators.detectors[ind.detector].kind


def test_every_detector_met_not_met_and_untestable_through_the_answers(indicators, provinces):
    got = judged(indicators, provinces)
    losi = indicators.sets["losi"]
    for ind in (i for i in losi.indicators if i.judged == "auto"):
        kind = indicators.detectors[ind.detector].kind
        met, gap, broken = (got[("losi", u, ind.id)] for u in (FOUND, MISSING, BROKEN))
        assert met["verdict"] == MET, (ind.id, met)
        assert met["detector"] == ind.detector and met["evidence_ids"], ind.id
        assert (gap["verdict"], gap["reason"]) == (NOT_MET, Reason.NOT_FOUND), (ind.id, gap)
        # a site whose home page failed: every feature untestable, for the home page's reason
        down = got[("losi", DOWN, ind.id)]
        assert (down["verdict"], down["reason"]) == (CANNOT, Reason.REFUSED), (ind.id, down)
        assert down["urls"] == ["https://portal-31.gov.vn/"]
        if kind == "domain":  # judged on the home page alone
            continue
        assert broken["verdict"] == CANNOT, (ind.id, broken)
        if kind in MEASURED_KINDS:  # why it was not measured is the measure's own reason
            assert broken["reason"] in (Reason.BROWSER_ERROR, Reason.NO_VALIDATOR), ind.id
            assert met["evidence_ids"] == [next(
                r["id"] for r in sites()[0].rows if r["kind"] == "site_measure")]
        else:
            assert broken["reason"] == Reason.SEARCH_INCOMPLETE, (ind.id, broken)
            assert broken["urls"] == ["https://portal-48.gov.vn/gioi-thieu"]
            assert "1 failed to load" in broken["detail"]
            assert broken["evidence_ids"] == [303]  # the failed page's row
            assert gap["evidence_ids"] == [201, 202]  # the pages searched
            assert met["urls"] == ["https://portal-01.gov.vn/noi-dung"]
    # the domain needs no deep page: Đà Nẵng's home names it, on .gov.vn
    assert got[("losi", BROKEN, "official_website")]["verdict"] == MET
    for ind in (i for i in losi.indicators if i.judged == "auto"):
        assert got[("losi", DOWN, ind.id)]["reason"] != Reason.NOT_GATHERED


def test_pages_beyond_the_search_depth_are_not_searched(indicators, provinces):
    got = judged(indicators, provinces)
    searched = got[("losi", MISSING, "org_chart")]["urls"]
    assert searched == ["https://portal-79.gov.vn/", "https://portal-79.gov.vn/tin-tuc"]
    found_pages = {u for r in got.values() if r["unit_code"] == FOUND for u in r.get("urls", [])}
    assert "https://portal-01.gov.vn/sau" not in found_pages  # depth 3: outside the budget


def test_the_national_portal_is_judged_with_its_declared_domain(indicators, provinces):
    got = judged(indicators, provinces)
    osq = indicators.sets["osq"]
    for ind in (i for i in osq.indicators if i.judged == "auto"):
        assert got[("osq", NATIONAL_UNIT, ind.id)]["verdict"] == MET, ind.id
    assert got[("losi", FOUND, "responsive_design")]["detail"].startswith("390 px")


def test_services_and_review_answers(indicators, provinces):
    losi, osq = indicators.sets["losi"], indicators.sets["osq"]
    c = losi.services_criterion
    licence = next(i for i in losi.indicators if i.id == "driving_licence")
    verdicts = [{"unit_code": FOUND, "service_id": "driving_licence", "criterion_id": c,
                 "verdict": "met", "reason": ""},
                {"unit_code": MISSING, "service_id": "driving_licence", "criterion_id": c,
                 "verdict": "not_met", "reason": "no_online_method"}]
    review = next(i for i in losi.indicators if i.judged == "review")
    held = {("losi", FOUND): {review.id: Verdict.MET},
            ("losi", MISSING): {review.id: Verdict.NOT_MET}}
    got = judged(indicators, provinces, verdicts, held)
    assert got[("losi", FOUND, licence.id)]["verdict"] == MET
    assert (got[("losi", MISSING, licence.id)]["verdict"],
            got[("losi", MISSING, licence.id)]["reason"]) == (NOT_MET, "no_online_method")
    assert got[("losi", BROKEN, licence.id)]["verdict"] == CANNOT  # never judged: not "not met"
    assert got[("losi", FOUND, review.id)]["verdict"] == MET
    assert got[("losi", MISSING, review.id)]["verdict"] == NOT_MET
    assert got[("losi", BROKEN, review.id)]["verdict"] == NOT_REVIEWED
    # the national portal: a service one unit offers online is offered nationally
    national = [i for i in osq.indicators if i.judged == "services"]
    rows = [{"unit_code": FOUND, "service_id": s, "criterion_id": osq.services_criterion,
             "verdict": "met", "reason": ""} for i in national for s in i.services]
    rows += [{**r, "unit_code": MISSING, "verdict": "not_met"} for r in rows]
    got = judged(indicators, provinces, rows)
    assert all(got[("osq", NATIONAL_UNIT, i.id)]["verdict"] == MET for i in national)


def test_survey_scores_rank_the_provinces_and_score_the_nation_alone(indicators, provinces):
    rows = list(judged(indicators, provinces).values())
    scores = survey_scores(indicators, rows)
    losi, osq = scores["losi"], scores["osq"]
    assert set(losi) == set(provinces)
    assert losi[FOUND].score.share == 1.0 and losi[FOUND].rank == 1
    assert losi[MISSING].score.share == 0.0 and losi[MISSING].normalised == 0.0
    assert losi[BROKEN].score.share == 1.0  # only its measured domain; the rest untested
    assert losi[DOWN].score.share is None and losi[DOWN].rank is None
    assert losi[FOUND].score.coverage.scored("auto") > losi[BROKEN].score.coverage.scored("auto")
    assert set(osq) == {NATIONAL_UNIT}
    assert osq[NATIONAL_UNIT].normalised is None and osq[NATIONAL_UNIT].rank is None
    assert 0 < osq[NATIONAL_UNIT].score.coverage.measured_share < 1


# --------------------------------------------------------------------------- the store


def _store_run(db, with_sites: bool = True) -> int:
    run = store.start_run(db, target="t", rubric_version=load_rubric().version,
                          engine_version="e")
    for site in sites() if with_sites else []:
        for row in site.rows:
            item = {k: v for k, v in row.items() if k != "id"}
            item.update(method="GET", observed_at=store.utcnow(), procedure_code="",
                        office_code="", status=item.get("status"), sha256=item.get("sha256", ""))
            store.add_evidence(db, run, item)
        for body in site.bodies.values():
            store.add_response(db, "x", body)
    store.finish_run(db, run, "complete")
    return run


def test_stored_bodies_read_on_demand(tmp_path):
    db = store.open_db(tmp_path / "audit.db")
    digest = store.add_response(db, "u", b"<p>x</p>")
    bodies = StoredBodies(db)
    assert bodies[digest] == b"<p>x</p>" and bodies.get("0" * 64) is None
    assert len(bodies) == 1 and list(bodies) == [digest]


def test_answers_are_saved_and_rescore_rejudges_after_an_indicator_change(tmp_path, rubric):
    db = store.open_db(tmp_path / "audit.db")
    run = _store_run(db)
    assert save_survey_answers(db, run, rubric, RUBRIC_DIR, verdicts=[]) > 0
    stored = {(r["indicator_set"], r["unit_code"], r["indicator_id"]): r
              for r in store.load_indicator_answers(db, run)}
    assert stored[("losi", FOUND, "org_chart")]["verdict"] == MET
    assert stored[("losi", FOUND, "org_chart")]["urls"] == ["https://portal-01.gov.vn/noi-dung"]
    assert stored[("losi", "01", "org_chart")]["evidence_ids"]  # ids of the stored rows
    # the org chart's link texts change in the rubric: rescore re-judges the stored pages
    changed = tmp_path / "rubrics"
    shutil.copytree(RUBRIC_DIR, changed)
    det = changed / "indicators" / "detectors.yaml"
    text = det.read_text(encoding="utf-8")
    det.write_text(text.replace('text: ["cơ cấu tổ chức", "sơ đồ tổ chức", "tổ chức bộ máy", '
                                '"organi[sz]ation(al)? (structure|chart)"]',
                                'text: ["organigram"]'), encoding="utf-8")
    result = rescore(db, run, load_rubric(changed), changed)
    assert result.answers == len(stored)
    again = {(r["indicator_set"], r["unit_code"], r["indicator_id"]): r
             for r in store.load_indicator_answers(db, run)}
    assert again[("losi", FOUND, "org_chart")]["verdict"] == NOT_MET
    assert again[("losi", FOUND, "sitemap")]["verdict"] == MET


def test_a_rubric_without_indicators_skips_with_a_warning(tmp_path, rubric):
    db = store.open_db(tmp_path / "audit.db")
    run = _store_run(db, with_sites=False)
    bare = tmp_path / "rubrics"
    shutil.copytree(RUBRIC_DIR, bare)
    shutil.rmtree(bare / "indicators")
    said: list[str] = []
    assert save_survey_answers(db, run, rubric, bare, echo=said.append) is None
    assert said and "indicators" in said[0]
    assert store.load_indicator_answers(db, run) == []
    result = rescore(db, run, load_rubric(bare), bare)  # never crashes
    assert result.answers is None and any("indicators" in w for w in result.warnings)


def test_an_older_run_without_site_evidence_is_not_gathered(tmp_path, rubric, indicators):
    db = store.open_db(tmp_path / "audit.db")
    run = _store_run(db, with_sites=False)
    rows = judge_run(db, run, rubric, indicators, verdicts=[])
    assert {(r["verdict"], r["reason"]) for r in rows if r["judged"] == "auto"} == {
        (CANNOT, Reason.NOT_GATHERED)}


# --------------------------------------------------------------------------- standing


def test_the_osq_estimate_counts_a_feature_against_its_whole_sub_index(indicators):
    osq = indicators.sets["osq"]
    some = [i for i in osq.indicators if i.group == "IF"][:2]
    before = {some[0].id: MET, some[1].id: NOT_MET}
    est = survey_estimate(osq, before, every_gap_closed(before), raw_range=0.5)
    weights = {g.id: g.weight for g in osq.groups if not g.score_with}
    in_if = sum(i.weight for i in osq.indicators if i.group == "IF")
    assert est.share == 0.5 and est.groups["IF"] == 0.5  # measured: IF alone
    assert est.measured == 2 and est.total == len(osq.indicators)
    assert est.measured_share == pytest.approx(2 / len(osq.indicators))
    assert est.raised == 1
    assert est.d_raw == pytest.approx(weights["IF"] / sum(weights.values()) / in_if)
    assert est.d_osi == pytest.approx(est.d_raw / 0.5) and est.label == "ESTIMATE"
    assert survey_estimate(osq, before).d_raw == 0.0
    # an untested feature has no starting point: closing it adds nothing
    assert survey_estimate(osq, {some[0].id: CANNOT}, {some[0].id: MET}).raised == 0


def test_closing_service_gaps_moves_the_features_the_services_decide(indicators):
    osq = indicators.sets["osq"]
    ind = next(i for i in osq.indicators if i.judged == "services")
    rows = [{"unit_code": "01", "service_id": s, "criterion_id": osq.services_criterion,
             "verdict": "not_met", "reason": ""} for s in ind.services]
    before = {ind.id: NOT_MET}
    after = services_closed(osq, before, [{**r, "verdict": "met"} for r in rows])
    assert after[ind.id] == MET
    assert survey_estimate(osq, before, after).raised == 1


def _un_data():
    if not UN_2024.is_file():
        pytest.skip(f"UN data file {UN_2024} absent (not shipped; docs/STANDING.md)")
    return load_un_data(UN_2024)


def test_standing_uses_the_osq_when_the_run_has_answers_else_services_only(indicators,
                                                                           provinces):
    ed, cfg = _un_data(), load_standing_config()
    answers = list(judged(indicators, provinces).values())
    verdicts = [{"unit_code": "01", "service_id": "birth_registration",
                 "criterion_id": "level4_full", "verdict": "not_met"}]
    fuller = national_estimate(ed, "Viet Nam", cfg, verdicts, indicators.sets["osq"], answers)
    assert fuller["basis"] == "survey" and fuller["estimate"] is True
    osq_now = national_answers(answers)
    assert fuller["measured"] == sum(v in (MET, NOT_MET) for v in osq_now.values())
    assert fuller["measured_share"] == pytest.approx(fuller["measured"] / fuller["total"])
    assert fuller["every_gap"]["features"] == 0  # the national portal here has every feature
    older = national_estimate(ed, "Viet Nam", cfg, verdicts, indicators.sets["osq"], [])
    assert older["basis"] == "services" and older["measured_share"] is None
    assert older["every_gap"]["features"] == 1


def test_standing_command_says_what_share_of_the_osq_is_measured(tmp_path, rubric):
    un = _un_data().path
    db_path = tmp_path / "audit.db"
    db = store.open_db(db_path)
    run = _store_run(db)
    runner = CliRunner()
    before = runner.invoke(main, ["standing", "--un-data", str(un), "--db", str(db_path),
                                  "--lang", "en"])
    assert before.exit_code == 0, before.output
    assert "services only" in before.output
    save_survey_answers(db, run, rubric, RUBRIC_DIR, verdicts=[])
    after = runner.invoke(main, ["standing", "--un-data", str(un), "--db", str(db_path),
                                 "--lang", "en"])
    assert after.exit_code == 0, after.output
    assert "NATIONAL ESTIMATE (run 1): the UN survey's OSQ" in after.output
    assert "of the OSQ measured" in after.output and "estimate" in after.output
    vi = runner.invoke(main, ["standing", "--un-data", str(un), "--db", str(db_path)])
    assert "OSQ đã đo" in vi.output
    plain = runner.invoke(main, ["standing", "--un-data", str(un), "--lang", "en"])
    assert "NATIONAL ESTIMATE" not in plain.output  # without --db: as before


def test_the_dashboard_panel_uses_the_osq_when_the_run_has_answers(tmp_path, rubric,
                                                                   indicators, provinces):
    un = _un_data().path
    # the panel reads a report model's verdicts, weights and services only
    gaps = [{"unit_code": "01", "service_id": s.id, "criterion_id": c.id, "verdict": "not_met",
             "reason": ""} for s in rubric.services[:3] for c in rubric.criteria]
    model = SimpleNamespace(verdicts=gaps, rubric=rubric,
                            weights={c.id: c.weight for c in rubric.criteria})
    older = build_panel(un, model)
    assert older.basis == "services" and older.survey is None and older.survey_all is None
    assert all(r.basis == "services" and r.chosen is r.what_if for r in older.rows)
    db = store.open_db(tmp_path / "audit.db")
    run = _store_run(db)
    save_survey_answers(db, run, rubric, RUBRIC_DIR, verdicts=gaps)
    inputs = survey_inputs(db, run)
    fuller = build_panel(un, model, **inputs)
    assert fuller.basis == "survey" and fuller.survey is not None
    assert 0 < fuller.survey.measured_share < 1 and fuller.survey.label == "ESTIMATE"
    assert fuller.survey_all is not None and fuller.survey_all.estimate.raised >= 0
    for row in fuller.rows:
        assert row.basis == "survey" and row.chosen is row.survey_what_if
        assert row.d_osi == row.survey.d_osi
        assert row.estimate.d_osi == next(r for r in older.rows if r.n == row.n).estimate.d_osi
    # all three services closed: the visa and building-permit features turn met (civil status
    # also needs death and marriage registration, never judged here: it stays out)
    widest = max(fuller.rows, key=lambda r: r.n)
    assert widest.survey.raised == 2 and widest.survey.d_osi > 0
    assert widest.chosen.after.osi > widest.chosen.before.osi


@pytest.mark.slow
@pytest.mark.browser
def test_an_audit_stores_an_answer_for_every_indicator_and_unit(tmp_path, indicators, rubric,
                                                                 provinces):
    """The demo's scoring (app/jobs.score_run) judges and stores the survey's answers."""
    scenario = Path(__file__).resolve().parents[1] / "replica" / "scenarios" / "small.yaml"
    with ReplicaServer(load_scenario(scenario)) as server:
        result = run_audit(server.base_url, tmp_path, scenario=str(scenario),
                           echo=lambda _: None, quiet=True, portal_list=server.portal_list())
    db = store.open_db(result.db_path)
    rows = store.load_indicator_answers(db, result.run_id)
    osq, losi = indicators.sets["osq"], indicators.sets["losi"]
    assert len(rows) == len(osq.indicators) + len(provinces) * len(losi.indicators)
    with_sites = {u for r in store.load_evidence(db, result.run_id, ("site_page",))
                  for u in r["data"].get("units", [])}
    for r in rows:
        if r["judged"] == "auto":  # no site evidence: never judged, never "not met"
            gathered = r["unit_code"] in with_sites
            assert (r["reason"] == Reason.NOT_GATHERED) is not gathered, r
    # the services' features follow the stored verdicts
    def services(answers):
        return {(r["indicator_set"], r["unit_code"], r["indicator_id"]): r["verdict"]
                for r in answers if r["judged"] == "services"}
    assert services(rows) == services(judge_run(db, result.run_id, rubric, indicators))
    assert Counter(services(rows).values())[MET] > 0  # the small scenario offers some online


def test_a_review_import_shows_at_once_in_the_latest_runs_answers(tmp_path, rubric):
    db_path = tmp_path / "audit.db"
    db = store.open_db(db_path)
    run = _store_run(db)
    save_survey_answers(db, run, rubric, RUBRIC_DIR, verdicts=[])
    before = store.load_indicator_answers(db, run)
    out = tmp_path / "ws"
    _cli("review", "export", "--db", str(db_path), "--out", str(out), "--set", "losi",
         "--unit", FOUND)
    sheet = out / f"review-losi-{FOUND}.xlsx"
    _fill(sheet, ("nv.an", "nv.binh"), lambda i, who: "không" if i == 0 else "có")
    _cli("review", "import", "--db", str(db_path), str(sheet))
    after = store.load_indicator_answers(db, run)
    assert len(after) == len(before)
    mine = [r for r in after if (r["indicator_set"], r["unit_code"], r["judged"])
            == ("losi", FOUND, "review")]
    assert Counter(r["verdict"] for r in mine) == {MET: len(mine) - 1, NOT_MET: 1}
    untouched = [(b, a) for b, a in zip(before, after, strict=True)
                 if (a["unit_code"], a["judged"]) != (FOUND, "review")]
    assert all(b == a for b, a in untouched)  # pages are not judged again


def test_a_linked_page_that_does_not_exist_leaves_the_search_complete() -> None:
    gone = {"id": 1, "kind": "site_page", "url": "https://x.gov.vn/cu", "outcome": "failed",
            "reason": "http_4xx", "status": 404, "html_sha256": "", "data": {"depth": 1}}
    busy = {**gone, "id": 2, "url": "https://x.gov.vn/ban", "status": 503, "reason": "http_5xx"}
    home_gone = {**gone, "id": 3, "url": "https://x.gov.vn/", "data": {"depth": 0}}
    read, failed = read_pages([gone, busy, home_gone], {})
    assert [p.url for p in read] == ["https://x.gov.vn/cu"]  # searched, nothing on it
    assert [p.url for p in failed] == ["https://x.gov.vn/ban", "https://x.gov.vn/"]
