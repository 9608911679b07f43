"""Hostile content (issue 6): markup in rubric and portal names never runs in the reports.

A real audit of the small scenario's replica, with a unit name, a service name and a procedure
name (rubric and national catalogue, which the provincial portals list too) set to a script
payload; the HTML reports are opened in real Chromium. The exports carry the text as data, and
spreadsheet formulas in names are defused."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from markupsafe import escape

from app.jobs import AuditResult, run_audit
from core.rubric import RUBRIC_DIR
from replica.scenario import load_scenario
from replica.server import ReplicaServer
from reports.exports import defuse
from tests.browser import chromium_page

pytestmark = [pytest.mark.slow, pytest.mark.browser]

PROJECT = Path(__file__).resolve().parents[1]
SMALL = PROJECT / "replica" / "scenarios" / "small.yaml"
XSS = ("<script>window.__xss=1;document.title='pwned'</script>"
       '<img src=x onerror="window.__xss=2">')
FORMULA = '=HYPERLINK("http://evil.example/","click")'
# (file, old text, new text): YAML double-quoted strings, so json.dumps quotes them validly.
RUBRIC_EDITS = [
    ("units.yaml", 'name: "Thành phố Hà Nội"', f"name: {json.dumps('Hà Nội ' + XSS)}"),
    ("units.yaml", 'name: "Tỉnh Cao Bằng"', f"name: {json.dumps(FORMULA)}"),
    ("services.yaml", 'name: "Thủ tục đăng ký khai sinh"', f"name: {json.dumps(XSS)}"),
]
SCENARIO_EDIT = ('name: "Thủ tục đăng ký khai sinh"', f"name: {json.dumps(XSS)}")
PROBE = """() => ({
    xss: typeof window.__xss,
    title: document.title,
    scripts: [...document.scripts].map(s => s.textContent),
    handlers: document.querySelectorAll('[onerror]').length,
    text: document.body.innerText,
})"""


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert text.count(old) >= 1, f"{path.name}: {old!r} not found"
    path.write_text(text.replace(old, new), encoding="utf-8")


def hostile_inputs(tmp: Path) -> tuple[Path, Path]:
    rubric = tmp / "rubric"
    shutil.copytree(RUBRIC_DIR, rubric)
    for name, old, new in RUBRIC_EDITS:
        edit(rubric / name, old, new)
    scenario = tmp / "small-xss.yaml"
    shutil.copy(SMALL, scenario)
    edit(scenario, *SCENARIO_EDIT)
    return rubric, scenario


@pytest.fixture(scope="module")
def audited(tmp_path_factory: pytest.TempPathFactory) -> AuditResult:
    tmp = tmp_path_factory.mktemp("xss")
    rubric, scenario = hostile_inputs(tmp)
    loaded = load_scenario(scenario)
    assert XSS in {p.name for p in loaded.procedures}  # the portals serve the payload
    with ReplicaServer(loaded) as server:
        result = run_audit(server.base_url, tmp / "out", rubric_dir=rubric,
                           scenario=str(scenario), echo=lambda _: None, quiet=True,
                           portal_list=server.portal_list())
    assert result.status == "complete"
    return result


def probe(urls: list[str]) -> list[dict[str, Any]]:
    """Open each page in Chromium (scripts enabled) and read what the live DOM holds."""
    facts = []
    with chromium_page() as page:
        for url in urls:
            page.goto(url, wait_until="load")
            page.wait_for_timeout(100)  # let a (failed) image's onerror fire
            facts.append(page.evaluate(PROBE))
    return facts


def test_payload_never_runs_and_shows_as_text(audited: AuditResult) -> None:
    out = audited.db_path.parent
    dashboard, unit = out / "report.html", out / "units" / "01.html"
    # Control: the same page with the payload unescaped does run, so the probe is not vacuous.
    control = out / "control.html"
    page = dashboard.read_text(encoding="utf-8")
    assert str(escape(XSS)) in page  # Jinja's escaping (quotes too)
    control.write_text(page.replace(str(escape(XSS)), XSS), encoding="utf-8")
    facts = probe([p.as_uri() for p in (dashboard, unit, control)])
    for page, seen in zip(("dashboard", "unit 01"), facts[:2], strict=True):
        assert seen["xss"] == "undefined", page
        assert seen["title"] != "pwned" and seen["handlers"] == 0, page
        assert not any("__xss" in s for s in seen["scripts"]), page
        assert XSS in seen["text"], f"{page}: the name is not shown literally"
    assert XSS in facts[1]["title"]  # the unit page's title holds the name, as text
    assert facts[2]["xss"] != "undefined", "control page: the unescaped payload did not run"


def strings(doc: Any) -> set[str]:
    """Every string value in a JSON document."""
    if isinstance(doc, dict):
        return set().union(*map(strings, doc.values()))
    if isinstance(doc, list):
        return set().union(*map(strings, doc))
    return {doc} if isinstance(doc, str) else set()


def test_exports_carry_the_names_as_data(audited: AuditResult) -> None:
    out = audited.db_path.parent
    with (out / "verdicts.csv").open(encoding="utf-8-sig", newline="") as fh:
        names = {r["unit_code"]: r["unit_name"] for r in csv.DictReader(fh)}
    assert names["01"] == "Hà Nội " + XSS
    assert names["04"] == "'" + FORMULA  # defused: a spreadsheet shows it, never runs it
    values = strings(json.loads((out / "report.json").read_text(encoding="utf-8")))
    assert "Hà Nội " + XSS in values and FORMULA in values  # JSON is data: kept as is
    md = (out / "summary.md").read_text(encoding="utf-8")
    assert "<script" not in md and "<img" not in md
    sheet_values = {c.value for ws in openpyxl.load_workbook(out / "report.xlsx")
                    for row in ws.iter_rows() for c in row}
    assert "'" + FORMULA in sheet_values and FORMULA not in sheet_values


@pytest.mark.parametrize(("value", "expected"), [
    ("=1+1", "'=1+1"), ("+cmd", "'+cmd"), ("-2+3", "'-2+3"), ("@SUM(A1)", "'@SUM(A1)"),
    ("\t=1", "'\t=1"), ("-0.5", "-0.5"), ("+12", "+12"), ("1e-3", "1e-3"), (-3, -3),
    ("Hà Nội", "Hà Nội"), ("", ""),
])
def test_defuse_spreadsheet_formulas(value: Any, expected: Any) -> None:
    assert defuse(value) == expected


# --------------------------------------------------------------------------- evidence pages
# Issue 16 item 7: every verdict links a page of the stored observation (reports/evidence_pages.py)


def evidence_facts(urls: list[str]) -> list[dict[str, Any]]:
    """As `probe`, plus every request the page made and whether its screenshot loaded."""
    facts, requests = [], []
    with chromium_page() as page:
        page.on("request", lambda r: requests.append(r.url))
        for url in urls:
            first = len(requests)
            page.goto(url, wait_until="load")
            page.wait_for_timeout(100)
            seen = page.evaluate(PROBE)
            seen["requests"] = requests[first:]
            seen["shots"] = page.evaluate(
                "() => [...document.querySelectorAll('img.shot')].map(i => i.naturalWidth)")
            facts.append(seen)
    return facts


def linked_pages(out: Path) -> set[Path]:
    """The evidence pages the unit pages link (href ../evidence/N.html)."""
    found = set()
    for unit in (out / "units").glob("*.html"):
        text = unit.read_text(encoding="utf-8")
        for part in text.split('href="../evidence/')[1:]:
            found.add(out / "evidence" / part.split('"', 1)[0])
    return found


def test_evidence_pages_are_linked_from_every_verdict(audited: AuditResult) -> None:
    out = audited.db_path.parent
    pages = set((out / "evidence").glob("*.html"))
    linked = linked_pages(out)
    assert linked and linked <= pages, sorted(str(p) for p in linked - pages)[:3]
    with (out / "verdicts.csv").open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    in_csv = set()
    for r in rows:
        listed = r["evidence_pages"].split()
        ids = r["evidence_ids"].split()
        assert listed == [f"evidence/{i}.html" for i in ids[:3]], r  # the first cited, as shown
        assert all((out / p).is_file() for p in listed), r
        in_csv |= {out / p for p in listed}
    assert in_csv <= pages and pages <= in_csv | linked  # a page per cited observation only


def test_evidence_pages_keep_hostile_answers_inert(audited: AuditResult) -> None:
    out = audited.db_path.parent
    # The stored answers hold the payload as JSON (quotes escaped) or HTML: look for its script
    script = XSS.split("<img")[0]
    escaped = str(escape(script))
    hostile = sorted(p for p in (out / "evidence").glob("*.html")
                     if escaped in p.read_text(encoding="utf-8"))
    assert hostile, "no evidence page holds the served payload"
    shots = sorted(p for p in (out / "evidence").glob("*.html")
                   if 'class="shot"' in p.read_text(encoding="utf-8"))
    assert shots, "no evidence page with a screenshot (the small scenario has browser portals)"
    sample = hostile[:3] + shots[:1]
    # Controls: the payload unescaped runs without the page's CSP and stays blocked with it.
    text = hostile[0].read_text(encoding="utf-8").replace(escaped, script)
    csp_only = out / "control-csp.html"
    csp_only.write_text(text, encoding="utf-8")
    bare = out / "control-bare.html"
    bare.write_text(text.replace('http-equiv="Content-Security-Policy"', 'name="x"'),
                    encoding="utf-8")
    facts = evidence_facts([p.as_uri() for p in (*sample, csp_only, bare)])
    for page, seen in zip(sample, facts, strict=False):
        assert seen["xss"] == "undefined" and seen["handlers"] == 0, page.name
        assert seen["title"] != "pwned", page.name
        assert not any("__xss" in s for s in seen["scripts"]), page.name
        assert all(u.startswith(("file:", "data:")) for u in seen["requests"]), seen["requests"]
        assert all(w > 0 for w in seen["shots"]), f"{page.name}: screenshot did not load"
    for seen in facts[:len(hostile[:3])]:
        assert script in seen["text"]  # shown literally, as text
    assert facts[-2]["xss"] == "undefined", "the CSP did not stop the unescaped payload"
    assert facts[-1]["xss"] != "undefined", "control page: the unescaped payload did not run"
