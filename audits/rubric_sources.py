"""Checks of the rubric's procedure codes against real sources (``dvc-audit rubric check
--catalogue FILE [--office-rows DIR]``).

- the catalogue: a JSONL file, one catalogue row (``list-all-public-formality-by-citizen``
  item, with ``code``) a line, e.g. ../shared/research/portals/dvcqg_new/
  catalog.list-all-public-formality-by-citizen.jsonl. A rubric code it does not list would be
  "unlisted" for every unit: renumbered or withdrawn (land procedures were renumbered after the
  2024 Land Law).
- office rows: a directory of ``<province>.json`` files in the format of
  ../shared/research/portals/office_rows_2026-10/ (``procedures`` {code: {dvc: [{r: [row]}]}},
  ``absent`` [codes looked up with no row], ``not_checked``). A rubric code some province was
  asked for and lists no office for (while it may list other codes of the same service) is
  flagged with where it has rows, and which other codes carry the service there.

Pure reading: a file that is not what it should be is a RubricSourceError naming file and line
or field; nothing is fetched.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.rubric import Rubric

MAX_BYTES = 64 * 1024 * 1024


class RubricSourceError(ValueError):
    """A source file that cannot be read: str() names the file and the line or field."""


@dataclass(frozen=True)
class Flag:
    service: str
    code: str
    kind: str  # not_in_catalogue | no_office_row
    message: str

    def __str__(self) -> str:
        return f"services.yaml: service {self.service!r} code {self.code}: {self.message}"


def read_catalogue(path: Path) -> set[str]:
    """The procedure codes a JSONL catalogue lists."""
    codes: set[str] = set()
    text = _text(path)
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise RubricSourceError(f"{path}: line {n}: not JSON: {exc.msg}") from None
        if not isinstance(row, dict) or not isinstance(row.get("code"), str):
            raise RubricSourceError(f"{path}: line {n}.code: a catalogue row needs a code")
        codes.add(row["code"])
    if not codes:
        raise RubricSourceError(f"{path}: no catalogue row")
    return codes


@dataclass(frozen=True)
class ProvinceRows:
    province: str
    rows: dict[str, int]  # code -> office rows listed
    absent: frozenset[str]  # looked up, no row


def read_office_rows(directory: Path) -> list[ProvinceRows]:
    files = sorted(Path(directory).glob("*.json"))
    if not files:
        raise RubricSourceError(f"{directory}: no <province>.json office-row file")
    return [_province_rows(f) for f in files]


def _province_rows(path: Path) -> ProvinceRows:
    try:
        doc = json.loads(_text(path))
    except json.JSONDecodeError as exc:
        raise RubricSourceError(f"{path}: line {exc.lineno}: not JSON: {exc.msg}") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("province"), str):
        raise RubricSourceError(f"{path}: province: must be a province code string")
    procedures = doc.get("procedures")
    if not isinstance(procedures, dict):
        raise RubricSourceError(f"{path}: procedures: must be a mapping code -> {{dvc: [...]}}")
    rows = {code: _count(path, code, entry) for code, entry in procedures.items()}
    absent = doc.get("absent") or []
    if not isinstance(absent, list) or not all(isinstance(c, str) for c in absent):
        raise RubricSourceError(f"{path}: absent: must be a list of codes")
    return ProvinceRows(doc["province"], {c: n for c, n in rows.items() if n},
                        frozenset(absent) | {c for c, n in rows.items() if not n})


def _count(path: Path, code: str, entry: Any) -> int:
    cases = entry.get("dvc") if isinstance(entry, dict) else None
    if not isinstance(cases, list) or not all(isinstance(c, dict) and isinstance(c.get("r", []),
                                                                                 list)
                                              for c in cases):
        raise RubricSourceError(f"{path}: procedures.{code}.dvc: must be a list of "
                                "{d, n, r: [rows]}")
    return sum(len(c.get("r", [])) for c in cases)


def _text(path: Path) -> str:
    try:
        size = Path(path).stat().st_size
        if size > MAX_BYTES:
            raise RubricSourceError(f"{path}: larger than {MAX_BYTES // 2**20} MiB")
        return Path(path).read_bytes().decode("utf-8-sig")
    except OSError as exc:
        raise RubricSourceError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise RubricSourceError(f"{path}: not UTF-8") from None


def check_sources(rubric: Rubric, catalogue: set[str] | None,
                  office_rows: list[ProvinceRows] | None = None) -> list[Flag]:
    """The rubric codes the catalogue does not list, and those some province lists no office
    row for, with where they and the service's other codes have rows."""
    flags: list[Flag] = []
    for service in rubric.services:
        codes = [p.code for p in service.procedures]
        for code in codes:
            if catalogue is not None and code not in catalogue:
                flags.append(Flag(service.id, code, "not_in_catalogue",
                                  "the real catalogue does not list it (renumbered or "
                                  "withdrawn?)"))
            if office_rows:
                flag = _rows_flag(service.id, code, codes, office_rows)
                if flag is not None:
                    flags.append(flag)
    return flags


def _rows_flag(service: str, code: str, codes: list[str],
               office_rows: list[ProvinceRows]) -> Flag | None:
    missing = [p for p in office_rows if code in p.absent]
    if not missing:
        return None
    found = [p.province for p in office_rows if code in p.rows]
    parts = [f"no office row in {', '.join(p.province for p in missing)}"]
    parts.append(f"rows in {', '.join(found)}" if found else "no row in any province read")
    others = [f"{c} ({', '.join(p.province for p in missing if c in p.rows)})"
              for c in codes if c != code and any(c in p.rows for p in missing)]
    if others:
        parts.append("the service there has rows for " + "; ".join(others))
    return Flag(service, code, "no_office_row", "; ".join(parts))


def source_flags(rubric: Rubric, catalogue: Path | None, office_rows: Path | None) -> list[Flag]:
    """Read the given sources and flag the rubric's codes against them."""
    codes = read_catalogue(catalogue) if catalogue is not None else None
    rows = read_office_rows(office_rows) if office_rows is not None else None
    return check_sources(rubric, codes, rows)
