"""The gap report in real Chromium, as a provincial official reads it on a phone and as a
screen reader or a low-vision reader meets it (issue 16, items 5 and 10).

A real report: the small scenario through replica -> spiders -> store -> evaluate ->
write_reports (both languages). Then, at a 390 px viewport, no page is wider than the screen
(the heatmap scrolls in its own box, gap tables are stacked cards, chart text stays readable);
and axe-core (WCAG 2.1 A/AA rules, axe-playwright-python) finds no serious or critical
violation on the dashboard and a unit page, at desk and phone width.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from axe_playwright_python.sync_playwright import Axe

from app.jobs import AuditResult, run_audit
from core import store
from core.rubric import load_rubric
from replica.scenario import load_scenario
from replica.server import ReplicaServer
from reports.report import write_reports
from tests.browser import chromium_page

pytestmark = [pytest.mark.slow, pytest.mark.browser]

PROJECT = Path(__file__).resolve().parents[1]
SMALL = PROJECT / "replica" / "scenarios" / "small.yaml"
PHONE, DESK = 390, 1280
MIN_CHART_TEXT_PX = 9.0  # chart text as drawn on the screen, after the SVG is scaled down

# Read from the live DOM: widths, how the tables are laid out, the smallest chart text.
LAYOUT = """() => {
  const root = document.documentElement;
  const matrix = document.querySelector('#matrix');
  const box = matrix ? matrix.closest('.scroll') : null;
  const gapRows = [...document.querySelectorAll('#gaps-table tbody tr, #top-gaps-table tbody tr')];
  const chartText = [...document.querySelectorAll('svg.chart text')].map(t => {
    const svg = t.ownerSVGElement;
    const scale = svg.getBoundingClientRect().width / svg.viewBox.baseVal.width;
    return parseFloat(getComputedStyle(t).fontSize) * scale;
  });
  return {
    viewport: root.clientWidth,
    scrollWidth: root.scrollWidth,
    bodyWidth: document.body.scrollWidth,
    matrixScrolls: box ? box.scrollWidth > box.clientWidth : null,
    matrixBoxWidth: box ? box.getBoundingClientRect().right : null,
    gapRows: gapRows.length,
    gapRowsAsCards: gapRows.filter(r => getComputedStyle(r).display === 'block').length,
    labelled: [...document.querySelectorAll('#gaps-table td[data-label]')].length,
    charts: chartText.length,
    smallestChartText: chartText.length ? Math.min(...chartText) : null,
  };
}"""


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> AuditResult:
    out = tmp_path_factory.mktemp("phone")
    with ReplicaServer(load_scenario(SMALL)) as server:
        result = run_audit(server.base_url, out, scenario=str(SMALL), echo=lambda _: None,
                           quiet=True, portal_list=server.portal_list())
    db = store.open_db(result.db_path)
    write_reports(db, load_rubric(), out, result.run_id, lang="en")
    return result


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """One Chromium for the module; each check opens its own page at its own width."""
    with chromium_page() as page:
        yield page.context.browser


def layout(browser: Any, path: Path, width: int) -> dict[str, Any]:
    page = browser.new_page(viewport={"width": width, "height": 900})
    try:
        page.goto(path.as_uri())
        return page.evaluate(LAYOUT)
    finally:
        page.close()


def pages(report: AuditResult) -> dict[str, Path]:
    out = report.reports["html"].parent
    return {"dashboard": out / "report.html", "dashboard (en)": out / "report.en.html",
            "province": out / "units" / "01.html", "agency": out / "units" / "G01.html",
            "province (en)": out / "units" / "01.en.html"}


def test_no_page_is_wider_than_a_phone(report: AuditResult, browser: Any) -> None:
    for name, path in pages(report).items():
        facts = layout(browser, path, PHONE)
        assert facts["viewport"] == PHONE, name
        assert facts["scrollWidth"] <= PHONE, (name, facts)
        assert facts["charts"] == 0 or facts["smallestChartText"] >= MIN_CHART_TEXT_PX, \
            (name, facts)
        assert facts["gapRows"] > 0 and facts["gapRowsAsCards"] == facts["gapRows"], \
            (name, facts)
        if name.startswith("dashboard"):  # the heatmap scrolls inside its own box
            assert facts["matrixScrolls"] and facts["matrixBoxWidth"] <= PHONE, facts
        else:
            assert facts["labelled"] > 0  # each card line says which column it is


def test_every_unit_page_fits_a_phone(report: AuditResult, browser: Any) -> None:
    """All of them: a long ministry or legal-basis text must not widen one page."""
    units = sorted((report.reports["html"].parent / "units").glob("*.html"))
    assert len(units) > 2 * 34
    wide = {p.name: w for p in units
            if (w := layout(browser, p, PHONE)["scrollWidth"]) > PHONE}
    assert not wide


def test_desk_width_keeps_tables(report: AuditResult, browser: Any) -> None:
    """At desk width the gap tables stay tables and the heatmap needs no scrolling."""
    facts = layout(browser, pages(report)["dashboard"], DESK)
    assert facts["scrollWidth"] <= DESK and facts["gapRowsAsCards"] == 0
    assert facts["matrixScrolls"] is False
    assert facts["smallestChartText"] >= 10


def axe_violations(browser: Any, path: Path, width: int) -> list[str]:
    """axe-core's serious and critical violations on the page, one line each."""
    page = browser.new_page(viewport={"width": width, "height": 900})
    try:
        page.goto(path.as_uri())
        results = Axe().run(page, options={"resultTypes": ["violations"], "runOnly": {
            "type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}})
    finally:
        page.close()
    return [f"{v['impact']} {v['id']}: {v['help']} ({len(v['nodes'])} nodes, e.g. "
            f"{v['nodes'][0]['target']}: {v['nodes'][0].get('failureSummary', '')[:200]})"
            for v in results.response["violations"] if v["impact"] in ("serious", "critical")]


@pytest.mark.parametrize("width", [DESK, PHONE])
def test_axe_finds_no_serious_violation(report: AuditResult, browser: Any, width: int) -> None:
    found = {name: v for name in ("dashboard", "province")
             if (v := axe_violations(browser, pages(report)[name], width))}
    assert not found


def test_axe_is_really_checking(report: AuditResult, browser: Any, tmp_path: Path) -> None:
    """The same check fails on a copy of the dashboard with low-contrast heatmap cells and no
    page language: the assertion above is not vacuous."""
    page = pages(report)["dashboard"].read_text(encoding="utf-8")
    bad = page.replace("</style>", ".none { background: #e07070; color: #fff; }</style>", 1)
    bad = bad.replace('<html lang="vi">', "<html>", 1)
    copy = tmp_path / "report.html"
    copy.write_text(bad, encoding="utf-8")
    found = " ".join(axe_violations(browser, copy, DESK))
    assert "color-contrast" in found and "html-has-lang" in found
