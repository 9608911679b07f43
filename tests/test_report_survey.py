"""Issue 18 item 6: the UN survey in the report: a LOSI page per province, the national OSQ
panel by sub-index, losi.csv / osq.csv, both languages, and the "not gathered" message.

Fast tests: a stored run (tests.test_report.make_run, no crawl) plus indicator answers made
here from the project's indicator sets for every province and the national portal, mixing
met, not_met, cannot_test and not_reviewed. Scores are checked against sums computed here
from the answers (not through audits.survey). One slow test renders a demo of small.yaml.
"""

from __future__ import annotations

import csv
import hashlib
import html as htmllib
import re
import unicodedata
from pathlib import Path
from typing import Any

import pytest
from markupsafe import escape

from audits.survey import survey_scores
from core import store
from core.indicators import NATIONAL_UNIT, Indicators, load_indicators
from core.rows import IndicatorAnswerRow
from core.rubric import RUBRIC_DIR, load_rubric
from reports.i18n import Lang
from reports.report import write_reports
from reports.survey_model import URLS_SHOWN, build_survey
from tests.test_report import make_run
from tests.test_report_language import DOC_NUMBER, ENGLISH, vietnamese_words, visible_text

RUBRIC = load_rubric()
PROVINCES = [u.code for u in RUBRIC.provinces]
HOSTILE_DETAIL = "d=2 n=12 <img src=x onerror=alert(1)>"
BAD_URL = "javascript:alert(1)"


def shipped_indicators() -> Indicators:
    """The project's own sets, with their fixes and legal bases (rubrics/indicators/)."""
    ind = load_indicators(RUBRIC_DIR)
    assert ind is not None and {"losi", "osq"} <= set(ind.sets)
    return ind


INDICATORS = shipped_indicators()
LOSI_BY_ID = {i.id: i for i in INDICATORS.sets["losi"].indicators}


def _state(unit_no: int, code: str, iid: str, judged: str) -> tuple[str, str]:
    """A deterministic mix per unit, so the provinces' scores differ."""
    k = int(hashlib.sha256(f"{code}/{iid}".encode()).hexdigest(), 16) % 11
    if judged == "review":
        return ("not_reviewed", "") if k < 4 else (("met", "") if k < 8 else ("not_met", ""))
    if k < 5 + unit_no % 3:
        return "met", ""
    if k < 9:
        return "not_met", "not_found"
    return "cannot_test", ("search_incomplete" if k == 9 else "timeout")


def answer_rows(units: list[str] | None = None) -> list[IndicatorAnswerRow]:
    rows: list[IndicatorAnswerRow] = []
    plan = [("losi", code) for code in (units or PROVINCES)] + [("osq", NATIONAL_UNIT)]
    for unit_no, (set_id, code) in enumerate(plan):
        for i, ind in enumerate(INDICATORS.sets[set_id].indicators):
            verdict, reason = _state(unit_no, code, ind.id, ind.judged)
            urls = [f"http://127.0.0.1:9/{code}/", f"http://127.0.0.1:9/{code}/menu/{i}"]
            if verdict == "not_met" and i % 4 == 0:  # a long search: more than shown
                urls += [f"http://127.0.0.1:9/{code}/p/{n}" for n in range(URLS_SHOWN + 2)]
            if verdict == "not_met" and i % 5 == 1:
                urls.append(BAD_URL)  # stored as data, never a link
            rows.append(IndicatorAnswerRow(
                indicator_set=set_id, unit_code=code, indicator_id=ind.id, judged=ind.judged,
                verdict=verdict, reason=reason, detector=ind.detector,
                detail=HOSTILE_DETAIL if verdict == "not_met" and i % 3 == 0 else "",
                urls=urls if ind.judged == "auto" else [], evidence_ids=[]))
    return rows


def expected_share(set_id: str, answers: dict[str, str]) -> float | None:
    """By hand from the answers: LOSI = points met / points testable; OSQ = the group
    shares weighted by the set's weights, groups with `score_with` counted in their host."""
    iset = INDICATORS.sets[set_id]
    into = {g.id: g.score_with or g.id for g in iset.groups}
    earned: dict[str, float] = {}
    possible: dict[str, float] = {}
    for ind in iset.indicators:
        v = answers[ind.id]
        if v in ("met", "not_met"):
            g = into[ind.group]
            possible[g] = possible.get(g, 0.0) + ind.weight
            earned[g] = earned.get(g, 0.0) + (ind.weight if v == "met" else 0.0)
    if set_id == "losi":
        return sum(earned.values()) / sum(possible.values()) if possible else None
    weights = {g.id: g.weight for g in iset.groups if not g.score_with}
    parts = [(earned[g] / possible[g], weights[g]) for g in possible if possible[g]]
    return sum(s * w for s, w in parts) / sum(w for _, w in parts)


def by_unit(rows: list[IndicatorAnswerRow], set_id: str) -> dict[str, dict[str, str]]:
    out: dict[str, dict[str, str]] = {}
    for r in rows:
        if r["indicator_set"] == set_id:
            out.setdefault(r["unit_code"], {})[r["indicator_id"]] = r["verdict"]
    return out


# --------------------------------------------------------------------------- model (fast)


def test_model_scores_ranks_and_missing_features_match_the_answers() -> None:
    rows = answer_rows()
    model = build_survey(rows, INDICATORS, RUBRIC)
    losi = model.losi
    assert losi is not None and sorted(losi.units) == sorted(PROVINCES)
    answers = by_unit(rows, "losi")
    shares = {c: expected_share("losi", a) for c, a in answers.items()}
    assert len(set(shares.values())) > 3, "the mix must make the provinces differ"
    for code, su in losi.units.items():
        assert su.score.share == pytest.approx(shares[code]), code
        assert {a.indicator.id for a in su.missing} == \
            {i for i, v in answers[code].items() if v == "not_met"}
        assert {a.indicator.id for a in su.not_reviewed} == \
            {i for i, v in answers[code].items() if v == "not_reviewed"}
        assert sum(g.score.possible for g in su.groups) == \
            sum(1 for v in answers[code].values() if v in ("met", "not_met"))
    lo, hi = min(shares.values()), max(shares.values())
    ranked = losi.ranked()
    assert ranked[0].score.share == pytest.approx(hi) and ranked[0].ranked.rank == 1
    assert ranked[0].ranked.normalised == pytest.approx(1.0)
    assert ranked[-1].ranked.normalised == pytest.approx(0.0) and ranked[-1].score.share == lo
    assert [u.ranked.rank for u in ranked] == sorted(u.ranked.rank for u in ranked)
    osq = model.osq
    assert osq is not None
    assert osq.score.share == pytest.approx(expected_share("osq", by_unit(rows, "osq")["VN"]))
    # EGL is scored with Technology: five sub-index rows, the literacy features under TEC
    assert [g.group.id for g in osq.groups] == ["IF", "CP", "SP", "EPI", "TEC"]
    tec = next(g for g in osq.groups if g.group.id == "TEC")
    assert [m.id for m in tec.members] == ["EGL"]
    assert {a.indicator.group for a in tec.features} == {"TEC", "EGL"}


def test_adapter_scores_every_set_and_ignores_unknown_indicators() -> None:
    rows = answer_rows(["01", "79"])
    rows.append(IndicatorAnswerRow(indicator_set="losi", unit_code="01",
                                   indicator_id="gone_from_rubric", judged="auto",
                                   verdict="met", reason=""))
    scores = survey_scores(INDICATORS, rows)
    assert set(scores) == {"losi", "osq"} and set(scores["losi"]) == {"01", "79"}
    answers = by_unit(rows, "losi")
    assert scores["losi"]["01"].score.share == pytest.approx(
        expected_share("losi", {k: v for k, v in answers["01"].items()
                                if k != "gone_from_rubric"}))


def test_a_feature_without_a_stored_answer_counts_as_not_judged() -> None:
    rows = [r for r in answer_rows(["01"]) if r["unit_code"] == "01"]
    dropped = {rows[0]["indicator_id"], next(r["indicator_id"] for r in rows
                                             if r["judged"] == "review")}
    su = build_survey([r for r in rows if r["indicator_id"] not in dropped], INDICATORS,
                      RUBRIC).losi.units["01"]
    states = {a.indicator.id: (a.verdict, a.stored) for a in su.answers}
    for iid in dropped:
        judged = next(i.judged for i in INDICATORS.sets["losi"].indicators if i.id == iid)
        assert states[iid] == ("not_reviewed" if judged == "review" else "cannot_test", False)


def test_no_answers_or_no_indicator_sets_gather_nothing() -> None:
    assert not build_survey([], INDICATORS, RUBRIC).gathered
    assert not build_survey(answer_rows(["01"]), None, RUBRIC).gathered


# --------------------------------------------------------------------------- rendered


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[IndicatorAnswerRow]]:
    out = tmp_path_factory.mktemp("survey")
    db, run_id = make_run(out / "audit.db")
    rows = answer_rows()
    store.save_indicator_answers(db, run_id, rows)
    for lang in ("vi", "en"):
        write_reports(db, RUBRIC, out, run_id, lang=lang, indicators=INDICATORS)
    return out, rows


def _text(html: str) -> str:
    return htmllib.unescape(re.sub(r"<[^>]+>", " ", html))


def _section(page: str, marker: str) -> str:
    start = page.index(marker)
    return page[start:page.index("</table>", start)]


def test_a_losi_page_per_province_with_its_score_bars_and_missing_features(
        rendered: tuple[Path, list[IndicatorAnswerRow]]) -> None:
    out, rows = rendered
    answers = by_unit(rows, "losi")
    vi = Lang("vi")
    urls = {(r["unit_code"], r["indicator_id"]): r["urls"] for r in rows}
    groups = [g for g in INDICATORS.sets["losi"].groups if not g.score_with]
    for code in PROVINCES:
        page = (out / "units" / f"{code}-losi.html").read_text(encoding="utf-8")
        assert (out / "units" / f"{code}-losi.en.html").is_file()
        share = re.search(r'id="losi-share">([^<]+)<', page)[1]
        assert share == vi.num(expected_share("losi", answers[code]), 3), code
        assert "<svg" in page and "<script" not in page
        table = _section(page, 'id="losi-criteria-table"')
        assert re.findall(r'<tr data-group="(\w+)">', table) == [g.id for g in groups]
        expected = sorted(i for i, v in answers[code].items() if v == "not_met")
        assert expected, "the mix gives every province missing features"
        missing = _section(page, 'id="losi-missing-table"')
        listed = re.findall(r'<tr data-indicator="(\w+)">', missing)
        assert sorted(listed) == expected
        for iid in listed:
            row = missing[missing.index(f'data-indicator="{iid}"'):]
            row = row[:row.index("</tr>")]
            assert str(escape(LOSI_BY_ID[iid].fix_vi)) in row  # the fix
            shown = [u for u in urls[(code, iid)] if u.startswith("http")][:URLS_SHOWN]
            assert all(f'href="{u}"' in row for u in shown), (code, iid)
            assert 'href="javascript:' not in row and "<img" not in row
        cannot = _section(page, 'id="losi-cannot-table"')
        assert vi.reason("search_incomplete") in cannot or vi.reason("timeout") in cannot


def _missing_rows(page: str, table_id: str) -> dict[str, str]:
    """Each row of a missing-features table, by indicator id."""
    table = _section(page, f'id="{table_id}"')
    return {m[1]: table[m.start():table.index("</tr>", m.start())]
            for m in re.finditer(r'<tr data-indicator="(\w+)">', table)}


def test_each_missing_feature_shows_its_fix_and_legal_basis_in_both_languages(
        rendered: tuple[Path, list[IndicatorAnswerRow]]) -> None:
    """Issue 18: a missing UN feature says what the portal must do, from the indicator files,
    in the page's language (legal_basis_en in English), never "no fix yet"."""
    out, rows = rendered
    answers = by_unit(rows, "losi")
    pages = [(f"units/{code}-losi", "losi-missing-table", "losi", answers[code])
             for code in PROVINCES]
    pages.append(("report", "osq-missing-table", "osq", by_unit(rows, "osq")[NATIONAL_UNIT]))
    seen_judged: set[str] = set()
    with_legal = 0
    for stem, table_id, set_id, unit_answers in pages:
        by_id = {i.id: i for i in INDICATORS.sets[set_id].indicators}
        for lang, suffix in (("vi", ""), ("en", ".en")):
            L = Lang(lang)
            page = (out / f"{stem}{suffix}.html").read_text(encoding="utf-8")
            assert str(escape(L.t("survey.no_fix"))) not in page, (stem, lang)
            found = _missing_rows(page, table_id)
            assert sorted(found) == sorted(i for i, v in unit_answers.items() if v == "not_met")
            for iid, row in found.items():
                ind = by_id[iid]
                fix = ind.fix_en if lang == "en" else ind.fix_vi
                assert fix and str(escape(fix)) in row, (stem, lang, iid)
                other = ind.fix_vi if lang == "en" else ind.fix_en
                assert str(escape(other)) not in row, (stem, lang, iid)
                if ind.legal_basis:
                    legal = ind.legal_basis_en if lang == "en" else ind.legal_basis
                    assert str(escape(legal)) in row, (stem, lang, iid)
                    with_legal += 1
                seen_judged.add(ind.judged)
    assert seen_judged == {"auto", "review", "services"} and with_legal, (seen_judged, with_legal)


def test_losi_page_links_the_20_services_and_the_unit_page_links_it(
        rendered: tuple[Path, list[IndicatorAnswerRow]]) -> None:
    out, _ = rendered
    page = (out / "units" / "01-losi.html").read_text(encoding="utf-8")
    services = _section(page, 'id="losi-services-table"')
    sp = [i.id for i in INDICATORS.sets["losi"].indicators if i.judged == "services"]
    assert sorted(re.findall(r'data-indicator="(\w+)"', services)) == sorted(sp)
    assert 'href="../units/01.html"' in page  # the 20 services in detail
    criteria = _section(page, 'id="losi-criteria-table"')
    sp_row = criteria[criteria.index('data-group="SP"'):]
    assert 'class="services-link" href="../units/01.html"' in sp_row[:sp_row.index("</tr>")]
    assert 'href="01-losi.html"' in (out / "units" / "01.html").read_text(encoding="utf-8")
    assert 'href="01-losi.en.html"' in (out / "units" / "01.en.html").read_text(encoding="utf-8")
    # a province audited for no service has no unit page: its LOSI page points at the heatmap
    other = (out / "units" / "04-losi.html").read_text(encoding="utf-8")
    assert 'href="../report.html#heatmap"' in other


def test_dashboard_losi_table_sorted_by_rank_and_osq_panel(
        rendered: tuple[Path, list[IndicatorAnswerRow]]) -> None:
    out, rows = rendered
    page = (out / "report.html").read_text(encoding="utf-8")
    assert page.index('id="scores"') < page.index('id="survey"')
    table = _section(page, 'id="losi-table"')
    order = re.findall(r'<tr data-unit="(\w+)">', table)
    assert sorted(order) == sorted(PROVINCES)
    answers = by_unit(rows, "losi")
    shares = [expected_share("losi", answers[c]) for c in order]
    assert shares == sorted(shares, reverse=True)
    assert 'href="units/79-losi.html"' in table
    osq = page[page.index('id="osq-panel"'):page.index('id="losi-panel"')]
    assert re.search(r'id="osq-share">([^<]+)<', osq)[1] == Lang("vi").num(
        expected_share("osq", by_unit(rows, "osq")["VN"]), 3)
    sub = _section(osq, 'id="osq-table"')
    assert re.findall(r'<tr data-group="(\w+)">', sub) == ["IF", "CP", "SP", "EPI", "TEC"]
    assert "(ước tính)" in sub and 'id="osq-estimate"' in osq
    assert 'href="#services"' in sub  # Services Provision: the 20 services on the dashboard
    missing = re.findall(r'<tr data-indicator="(\w+)">', _section(osq, 'id="osq-missing-table"'))
    assert sorted(missing) == sorted(i for i, v in by_unit(rows, "osq")["VN"].items()
                                     if v == "not_met")
    en = (out / "report.en.html").read_text(encoding="utf-8")
    assert "(estimate)" in _section(en, 'id="osq-table"') and "Sub-index" in en


def test_exports_have_a_row_per_unit_and_indicator(
        rendered: tuple[Path, list[IndicatorAnswerRow]]) -> None:
    out, rows = rendered
    stored = {(r["indicator_set"], r["unit_code"], r["indicator_id"]): r for r in rows}
    for set_id, n_units in (("losi", len(PROVINCES)), ("osq", 1)):
        raw = (out / f"{set_id}.csv").read_bytes()
        assert raw.startswith(b"\xef\xbb\xbf")
        with (out / f"{set_id}.csv").open(encoding="utf-8-sig", newline="") as fh:
            got = list(csv.DictReader(fh))
        iset = INDICATORS.sets[set_id]
        assert len(got) == n_units * len(iset.indicators)
        for r in got:
            s = stored[(set_id, r["unit_code"], r["indicator_id"])]
            ind = next(i for i in iset.indicators if i.id == r["indicator_id"])
            assert (r["verdict"], r["reason"], r["detail"]) == \
                (s["verdict"], s["reason"], s["detail"])
            assert r["urls"].split() == s["urls"]  # all of them, not only those shown
            assert r["un_codes"].split() == list(ind.un_codes) and r["group"] == ind.group
    import json

    doc = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert len(doc["survey"]["losi"]["units"]) == len(PROVINCES)
    assert doc["survey"]["osq"]["weights_are_estimates"] is True


def test_both_languages(rendered: tuple[Path, list[IndicatorAnswerRow]]) -> None:
    out, _ = rendered
    names = sorted([u.name for u in RUBRIC.provinces] + ["Sở Tư pháp"], key=len, reverse=True)
    # fixes and legal bases are English (legal_basis_en): only names and document numbers stay
    for page in [out / "report.en.html", *sorted((out / "units").glob("*-losi.en.html"))]:
        text = unicodedata.normalize("NFC", visible_text(page))
        for name in names:
            text = text.replace(name, " ")
        left = vietnamese_words(DOC_NUMBER.sub(" ", text))
        assert not left, f"{page.name}: Vietnamese in the English report: {left[:12]}"
    for page in [out / "report.html", *sorted((out / "units").glob("*-losi.html"))]:
        text = re.sub(r"https?://\S+|javascript:\S+", " ", visible_text(page))
        found = ENGLISH.findall(text)
        assert not found, f"{page.name}: English in the Vietnamese report: {found[:12]}"
    en = (out / "units" / "01-losi.en.html").read_text(encoding="utf-8")
    assert "Local Online Service Index" in en


def test_a_run_without_answers_says_not_gathered_and_is_otherwise_unchanged(
        tmp_path: Path) -> None:
    db, run_id = make_run(tmp_path / "audit.db")
    write_reports(db, RUBRIC, tmp_path, run_id, indicators=INDICATORS)
    write_reports(db, RUBRIC, tmp_path, run_id, lang="en", indicators=INDICATORS)
    page = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert 'id="survey-not-gathered"' in page and Lang("vi").t("survey.not_gathered") in page
    assert Lang("en").t("survey.not_gathered") in (tmp_path / "report.en.html").read_text(
        encoding="utf-8")
    assert "UN survey features were not gathered" in Lang("en").t("survey.not_gathered")
    assert 'id="osq-panel"' not in page and not list((tmp_path / "units").glob("*-losi*"))
    assert 'id="unit-losi"' not in (tmp_path / "units" / "01.html").read_text(encoding="utf-8")
    for set_id in ("losi", "osq"):
        lines = (tmp_path / f"{set_id}.csv").read_text(encoding="utf-8-sig").splitlines()
        assert len(lines) == 1 and lines[0].startswith("indicator_set,unit_code")
    # the rest of the dashboard: the same as without the survey section
    assert 'id="scores-table"' in page and 'id="matrix"' in page


def test_an_incomplete_run_keeps_its_banner_on_top_of_the_losi_page(tmp_path: Path) -> None:
    db, run_id = make_run(tmp_path / "audit.db", status="interrupted")
    store.save_indicator_answers(db, run_id, answer_rows(["01"]))
    write_reports(db, RUBRIC, tmp_path, run_id, indicators=INDICATORS)
    page = (tmp_path / "units" / "01-losi.html").read_text(encoding="utf-8")
    body = page[page.index("<body>"):]
    assert body.index('class="banner"') < body.index('<header class="top">')
    assert sorted(p.name for p in (tmp_path / "units").glob("*-losi.html")) == ["01-losi.html"]


# --------------------------------------------------------------------------- end to end


@pytest.mark.slow
def test_demo_of_small_scenario_renders_the_survey(tmp_path: Path) -> None:
    """The small scenario through the replica and the audit, then answers for every
    province and VN stored on that run and the report re-rendered (dvc-audit report)."""
    from click.testing import CliRunner

    from app.cli import main

    out = tmp_path / "out"
    small = Path(__file__).resolve().parents[1] / "replica" / "scenarios" / "small.yaml"
    res = CliRunner().invoke(main, ["demo", "--scenario", str(small), "--out", str(out),
                                    "--quiet"])
    assert res.exit_code == 0, res.output
    db = store.open_db(out / "audit.db")
    run_id = store.get_run(db)["id"]
    rows = answer_rows()
    store.save_indicator_answers(db, run_id, rows)
    write_reports(db, RUBRIC, out, run_id, indicators=INDICATORS)
    dashboard = (out / "report.html").read_text(encoding="utf-8")
    assert len(re.findall(r'<tr data-unit="\w+">', _section(dashboard, 'id="losi-table"'))) \
        == len(PROVINCES)
    assert 'id="osq-table"' in dashboard
    unit_pages = {p.name for p in (out / "units").glob("[0-9][0-9].html")}
    for code in PROVINCES:
        assert (out / "units" / f"{code}-losi.html").is_file()
        if f"{code}.html" in unit_pages:
            assert f'href="{code}-losi.html"' in (out / "units" / f"{code}.html").read_text(
                encoding="utf-8")
    assert unit_pages, "the demo wrote unit pages"
    rendered: Any = (out / "losi.csv").read_text(encoding="utf-8-sig").splitlines()
    assert len(rendered) == 1 + len(PROVINCES) * len(INDICATORS.sets["losi"].indicators)


# --------------------------------------------------------------------------- in Chromium


@pytest.mark.slow
@pytest.mark.browser
def test_losi_page_and_survey_panel_fit_a_phone_and_pass_axe(
        rendered: tuple[Path, list[IndicatorAnswerRow]], tmp_path: Path) -> None:
    """As the other report pages (tests/test_report_browser.py): no page wider than a phone,
    chart text readable, no serious or critical axe violation, at desk and phone width."""
    from tests.browser import chromium_page
    from tests.test_report_browser import DESK, LAYOUT, MIN_CHART_TEXT_PX, PHONE, axe_violations

    out, _ = rendered
    checked = [out / "report.html", out / "units" / "79-losi.html",
               out / "units" / "79-losi.en.html"]
    with chromium_page() as first:
        browser = first.context.browser
        for path in checked:
            page = browser.new_page(viewport={"width": PHONE, "height": 900})
            page.goto(path.as_uri())
            facts = page.evaluate(LAYOUT)
            page.screenshot(path=str(tmp_path / f"{path.stem}.png"), full_page=False)
            page.close()
            assert facts["scrollWidth"] <= PHONE, (path.name, facts)
            assert facts["charts"] and facts["smallestChartText"] >= MIN_CHART_TEXT_PX, facts
            for width in (DESK, PHONE):
                assert not axe_violations(browser, path, width), (path.name, width)
