"""Issue 16 item 8: the English report is in English and the Vietnamese one in Vietnamese.

The English pages may carry Vietnamese only as data: proper names of provinces, office names
the portal returned, and document numbers (45/2020/NĐ-CP). Everything else (ministries,
services, legal bases, labels) must be English. The Vietnamese pages carry no English word.
No crawl: a stored run (tests.test_report.make_run) rendered in both languages."""

from __future__ import annotations

import re
import unicodedata
from html.parser import HTMLParser
from pathlib import Path

import pytest
from click.testing import CliRunner
from markupsafe import escape

from app import cli
from core.rubric import load_rubric
from reports.report import write_reports
from tests.test_report import UN_2024, make_run

RUBRIC = load_rubric()
DOC_NUMBER = re.compile(r"\S*(?:NĐ|QĐ|VPCP)-\S*")  # document numbers keep their letters
# English words that must not leak into a Vietnamese page (labels, statuses, raw codes)
ENGLISH = re.compile(r"\b(?:UNCONFIRMED|unconfirmed|CONFIRMED|ESTIMATE|estimate|Not met|"
                     r"Could not test|could not test|complete|incomplete|Provinces|Agencies|"
                     r"screenshot|stored evidence|None\.|[a-z]+_[a-z_]+)\b")


class _Text(HTMLParser):
    """The text a reader sees (no style, no attributes)."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list) -> None:
        self._skip += tag in ("style", "script")

    def handle_endtag(self, tag: str) -> None:
        self._skip -= tag in ("style", "script")

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def visible_text(path: Path) -> str:
    parser = _Text()
    parser.feed(path.read_text(encoding="utf-8"))
    return " ".join(parser.parts)


def vietnamese_words(text: str) -> list[str]:
    """Words with a Vietnamese letter (a Latin letter with a diacritic, or đ)."""
    return [w for w in re.findall(r"[^\W\d_]+", text)
            if any(not ch.isascii() and ch.isalpha() for ch in w)]


@pytest.fixture(scope="module")
def both(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("lang")
    db, run_id = make_run(out / "audit.db")
    assert UN_2024.exists(), f"UN data needed for the standing panel: {UN_2024}"
    for lang in ("vi", "en"):
        write_reports(db, RUBRIC, out, run_id, lang=lang, un_data=UN_2024)
    assert 'id="standing"' in (out / "report.html").read_text(encoding="utf-8")
    return out


def data_names(out: Path) -> list[str]:
    """Proper names allowed in English: provinces (units.yaml) and the office names the
    stored evidence carries (what the portal said)."""
    names = [u.name for u in RUBRIC.units if u.kind == "province"]
    names += ["Sở Tư pháp", "UBND phường <script>alert(1)</script> & \"Bến Nghé\""]
    return sorted(names, key=len, reverse=True)


def english_pages(out: Path) -> list[Path]:
    return [out / "report.en.html", *sorted((out / "units").glob("*.en.html")),
            out / "summary.en.md"]


def test_english_report_has_no_vietnamese_beyond_proper_names(both: Path) -> None:
    names = data_names(both)
    for page in english_pages(both):
        text = visible_text(page) if page.suffix == ".html" else page.read_text("utf-8")
        text = unicodedata.normalize("NFC", text).replace("&lt;", "<").replace("&amp;", "&")
        for name in names:
            text = text.replace(name, " ")
        left = vietnamese_words(DOC_NUMBER.sub(" ", text))
        assert not left, f"{page.name}: Vietnamese left in the English report: {left[:12]}"


def test_english_names_ministries_services_and_legal_basis(both: Path) -> None:
    page = next(p for p in sorted((both / "units").glob("*.en.html"))
                if 'id="gaps-table"' in p.read_text(encoding="utf-8"))
    unit = page.read_text(encoding="utf-8")
    gaps = unit[unit.index('id="gaps-table"'):unit.index("</table>", unit.index('id="gaps-table"'))]
    rows = re.findall(r'<tr data-service="(\w+)" data-criterion="(\w+)">', gaps)
    assert rows
    actions = unit[unit.index('id="unit-actions"'):]  # bodies, fixes and legal bases
    for sid, cid in rows:
        s, c = RUBRIC.service(sid), RUBRIC.criterion(cid)
        assert s.name_en in gaps and all(m in actions for m in s.ministries_en), sid
        assert c.legal_basis_en and str(escape(c.legal_basis_en)) in actions, cid
    dashboard = (both / "report.en.html").read_text(encoding="utf-8")
    agencies = [u for u in RUBRIC.units if u.kind == "agency" and f'"units/{u.code}.en.html"'
                in dashboard]
    assert agencies and all(u.name_en in dashboard for u in agencies)
    vi_unit = (page.parent / page.name.replace(".en.html", ".html")).read_text(encoding="utf-8")
    sid = rows[0][0]
    assert RUBRIC.service(sid).ministries[0] in vi_unit
    assert RUBRIC.service(sid).ministries_en[0] not in vi_unit


def test_vietnamese_report_has_no_english_words(both: Path) -> None:
    for page in [both / "report.html", *sorted((both / "units").glob("[0-9G]*[0-9].html")),
                 both / "summary.md"]:
        text = visible_text(page) if page.suffix == ".html" else page.read_text("utf-8")
        text = re.sub(r"https?://\S+|javascript:\S+", " ", text)  # URLs are data
        found = ENGLISH.findall(text)
        assert not found, f"{page.name}: English in the Vietnamese report: {found[:12]}"


def test_standing_note_status_is_translated() -> None:
    from reports.i18n import Lang

    assert Lang("vi").label("weights_status", "UNCONFIRMED") == "chưa được xác nhận"
    assert Lang("en").label("weights_status", "UNCONFIRMED") == "unconfirmed"


def test_report_en_alone_finds_the_usual_database(both: Path, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cli, "DEFAULT_OUT", both)  # the usual place: results/
    out = tmp_path / "en"
    result = CliRunner().invoke(cli.main, ["report", "--lang", "en", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert (out / "report.en.html").is_file() and (out / "units" / "01.en.html").is_file()
    monkeypatch.setattr(cli, "DEFAULT_OUT", tmp_path / "nowhere")
    missing = CliRunner().invoke(cli.main, ["report", "--lang", "en", "--out", str(out / "x")])
    lines = [line for line in missing.output.splitlines() if line.strip()]
    assert missing.exit_code == 1 and len(lines) == 1 and "--db FILE" in lines[0], lines


def test_ministry_systems_are_named_in_english() -> None:
    from reports.i18n import Lang

    label = "Bộ Tư pháp – dichvucongnganhtuphap.moj.gov.vn"
    assert Lang("en").system(label, RUBRIC) == \
        "Ministry of Justice – dichvucongnganhtuphap.moj.gov.vn"
    assert Lang("vi").system(label, RUBRIC) == label
    assert Lang("en").system("Unknown body – h", RUBRIC) == "Unknown body – h"  # data as is


@pytest.mark.parametrize(("file", "old", "new", "entry", "field", "text"), [
    ("services.yaml", 'ministries_en: ["Ministry of Justice"]',
     'ministries_en: ["Ministry of Justice", "Extra"]', "birth_registration", "ministries_en",
     "gives 2 names for 1 ministries"),
    ("units.yaml", 'name_en: "Ministry of Justice"', "name_en: [1]", "G15", "name_en", ""),
    ("rubric.yaml", "    legal_basis_en: >-", "    legal_basis_en: 3\n    x_legal: >-",
     "offered_online", "legal_basis_en", ""),
])
def test_bad_english_fields_are_named_by_rubric_check(tmp_path: Path, file: str, old: str,
                                                      new: str, entry: str, field: str,
                                                      text: str) -> None:
    import shutil

    from core.rubric import RUBRIC_DIR, check_rubric

    rubric = tmp_path / "rubric"
    shutil.copytree(RUBRIC_DIR, rubric)
    path = rubric / file
    content = path.read_text(encoding="utf-8")
    assert old in content
    path.write_text(content.replace(old, new, 1), encoding="utf-8")
    hits = [e for e in check_rubric(rubric) if (e.file, e.entry, e.field) == (file, entry, field)]
    assert hits and text in hits[0].message, [str(e) for e in check_rubric(rubric)]
