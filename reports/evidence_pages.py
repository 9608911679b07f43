"""One page per cited observation (issue 16 item 7): `OUT/evidence/<id>.html`, openable offline.

A verdict's evidence links point at the live portal, which changes or goes away; this page
keeps what the audit saw: URL, time, HTTP status, hashes, the parsed facts, the stored answer
as escaped text (never rendered: a hostile page stays inert) and the screenshot when there is
one. Only observations a report links get a page (the first EVIDENCE_SHOWN a verdict or finding
cites), so the full scenario writes about a thousand pages (9 MB), not one per office row.
The page carries a Content-Security-Policy that forbids scripts and any request but its own
screenshot, a second wall behind the escaping.
"""

from __future__ import annotations

import json
import os
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jinja2

from core.sqlite import sqlite_utils
from reports.i18n import Lang
from reports.report_model import EVIDENCE_SHOWN

if TYPE_CHECKING:
    from reports.report import ReportModel

EVIDENCE_DIR = "evidence"
BODY_LIMIT = 50_000  # characters of the stored answer shown; the rest is counted, not shown
CHUNK = 500  # ids per query (SQLite's variable limit is far above; keeps queries short)


def results_dir_of(db: sqlite_utils.Database) -> Path:
    """The database's folder: stored screenshot paths are relative to it."""
    for row in db.execute("PRAGMA database_list").fetchall():
        if row[1] == "main" and row[2]:
            return Path(row[2]).parent
    return Path.cwd()


def page_name(evidence_id: int, lang: Lang) -> str:
    """The page's path relative to the report folder: `evidence/12.html`, `evidence/12.en.html`."""
    return f"{EVIDENCE_DIR}/{evidence_id}{lang.suffix}.html"


@dataclass(frozen=True)
class StoredAnswer:
    text: str  # the body decoded (JSON re-indented), cut at BODY_LIMIT
    size: int  # bytes stored
    cut: int  # characters not shown
    sha256: str  # the stored body's hash (the DOM's for a browser page)
    rows: tuple[int, int] | None = None  # an office list: (rows of this office shown, of all)


@dataclass(frozen=True)
class EvidencePage:
    row: dict[str, Any]
    data: str  # the parsed facts, as indented JSON
    answer: StoredAnswer | None
    screenshot: str | None  # relative to the page
    href: str | None  # the URL as a link, http(s) only


def shown_ids(model: ReportModel) -> set[int]:
    """The evidence ids the reports link: the first EVIDENCE_SHOWN of every verdict (unit
    pages and verdicts.csv; a not_applicable verdict's too) and of every finding shown."""
    ids = {i for v in model.verdicts for i in (v.get("evidence_ids") or [])[:EVIDENCE_SHOWN]}
    ids |= {e.id for page in model.pages.values() for f in page.findings for e in f.evidence}
    return ids


def _records(doc: Any) -> list[dict[str, Any]]:
    """The rows of a JSON answer: the dicts of its outermost lists (office lists keep their
    rows in `data.rows`); a row's own nested lists are part of the row."""
    if isinstance(doc, dict):
        return [r for v in doc.values() for r in _records(v)]
    if isinstance(doc, list):
        return [r for x in doc for r in ([x] if isinstance(x, dict) else _records(x))]
    return []


class _Rows:
    """The rows of an answer, found by any value they hold (an office row's page shows the
    rows naming its office)."""

    def __init__(self, records: list[dict[str, Any]]) -> None:
        self.count = len(records)
        self.by_value: dict[str, list[dict[str, Any]]] = {}
        for record in records:
            for value in {str(v) for v in record.values()}:
                self.by_value.setdefault(value, []).append(record)

    def naming(self, value: str) -> list[dict[str, Any]]:
        return self.by_value.get(value, [])


class _Answers:
    """The stored answers of the pages being built, each body decoded once: an office list's
    page (hundreds of rows) is the answer of every office row it holds."""

    def __init__(self, bodies: dict[str, bytes]) -> None:
        self.bodies = bodies
        self.decoded: dict[str, tuple[str, Any, _Rows | None]] = {}
        self.made: dict[tuple[str, str], StoredAnswer | None] = {}

    def get(self, digest: str, office: str) -> StoredAnswer | None:
        key = (digest, office)
        if key not in self.made:
            body = self.bodies.get(digest)
            self.made[key] = None if body is None else self._answer(body, digest, office)
        return self.made[key]

    def _answer(self, body: bytes, digest: str, office: str) -> StoredAnswer:
        """The stored body as text. An office row's answer is the whole office list of its
        procedure: only the rows naming this office are shown, counted."""
        text, doc, records = self._decode(body, digest, office)
        rows = None
        if doc is not None:
            mine = records.naming(office) if records is not None else []
            if mine and records is not None:
                doc, rows = mine, (len(mine), records.count)
            text = json.dumps(doc, ensure_ascii=False, indent=1)
        text = unicodedata.normalize("NFC", text)
        return StoredAnswer(text[:BODY_LIMIT], len(body), max(0, len(text) - BODY_LIMIT),
                            digest, rows)

    def _decode(self, body: bytes, digest: str, office: str) -> tuple[str, Any, _Rows | None]:
        text, doc, records = self.decoded.get(digest) or (None, None, None)
        if text is None:
            text = body.decode("utf-8", errors="replace")
            try:
                doc = json.loads(text)
            except ValueError:
                doc = None
        if office and doc is not None and records is None:
            records = _Rows(_records(doc))
        self.decoded[digest] = (text, doc, records)
        return text, doc, records


def _bodies(db: sqlite_utils.Database, digests: set[str]) -> dict[str, bytes]:
    out: dict[str, bytes] = {}
    wanted = sorted(d for d in digests if d)
    for start in range(0, len(wanted), CHUNK):
        chunk = wanted[start:start + CHUNK]
        marks = ",".join("?" * len(chunk))
        out.update(db.execute(f"SELECT sha256, body FROM responses WHERE sha256 IN ({marks})",
                              chunk).fetchall())
    return out


def _rows(db: sqlite_utils.Database, run_id: int, ids: Iterable[int]) -> list[dict[str, Any]]:
    wanted, rows = sorted(ids), list[dict[str, Any]]()
    for start in range(0, len(wanted), CHUNK):
        chunk = wanted[start:start + CHUNK]
        rows += db.query(f"SELECT * FROM evidence WHERE run_id = ? AND id IN "
                         f"({','.join('?' * len(chunk))})", [run_id, *chunk])
    return rows


def _screenshot(row: dict[str, Any], data: dict[str, Any], results_dir: Path,
                page_dir: Path) -> str | None:
    shot = row.get("screenshot") or data.get("screenshot") or ""
    if not shot:
        return None
    target = Path(shot) if Path(shot).is_absolute() else results_dir / shot
    try:
        return Path(os.path.relpath(target, page_dir)).as_posix()
    except ValueError:  # another drive (Windows)
        return target.as_uri()


def _digest(row: dict[str, Any]) -> str:
    """The stored body of an observation: the DOM read for a browser page, else the raw one."""
    return row.get("html_sha256") or row.get("sha256") or ""


def build_pages(db: sqlite_utils.Database, run_id: int, ids: set[int], results_dir: Path,
                out_dir: Path) -> list[EvidencePage]:
    rows = _rows(db, run_id, ids)
    answers = _Answers(_bodies(db, {_digest(r) for r in rows}))
    page_dir = out_dir / EVIDENCE_DIR
    pages = []
    for row in rows:
        data = json.loads(row.get("data") or "{}")
        url = row.get("url") or ""
        pages.append(EvidencePage(
            row=row, data=json.dumps(data, ensure_ascii=False, indent=1, sort_keys=True),
            answer=answers.get(_digest(row), row.get("office_code") or ""),
            screenshot=_screenshot(row, data, results_dir, page_dir),
            href=url if url.startswith(("http://", "https://")) else None))
    return pages


def write_evidence_pages(db: sqlite_utils.Database, model: ReportModel, lang: Lang,
                         template: jinja2.Template, out_dir: Path, results_dir: Path) -> int:
    """Write the evidence pages the report links with `template` (the report's autoescaping
    environment's `evidence.html.j2`); the number written."""
    (out_dir / EVIDENCE_DIR).mkdir(parents=True, exist_ok=True)
    pages = build_pages(db, model.run["id"], shown_ids(model), results_dir, out_dir)
    for page in pages:
        html = template.render(m=model, e=page, root="../")
        (out_dir / page_name(page.row["id"], lang)).write_text(
            unicodedata.normalize("NFC", html), encoding="utf-8")
    return len(pages)
