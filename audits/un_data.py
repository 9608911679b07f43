"""The UN E-Government Survey data (issue 7): read a 193-country CSV export in place (never
shipped with the project), map its known header variants to canonical columns, and check an
edition (recompute EGDI = (OSI + TII + HCI) / 3 and the EGDI/OSI ranks).

audits/standing.py builds the what-if and the bridge estimate on it (and re-exports these names).
"""

from __future__ import annotations

import csv
import difflib
import io
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from core.validate import MessageError

EGDI_TOLERANCE = 0.0001  # the files publish 4 (2022) or 5 (2024) decimals
REQUIRED = ("country", "osi", "tii", "hci", "egdi", "egdi_rank")
OPTIONAL = ("year", "region", "epi", "osi_rank")

# Header variants seen in UN exports and their common re-uploads, after _norm_header().
HEADER_ALIASES: dict[str, tuple[str, ...]] = {
    "country": ("country", "country name", "country or area", "country or territory"),
    "egdi": (
        "egdi",
        "e government index",
        "e government development index",
        "e gov index",
        "e index",
        "egdi value",
    ),
    "egdi_rank": (
        "egdi rank",
        "e government rank",
        "e gov rank",
        "rank",
        "e government development index rank",
    ),
    "osi": ("osi", "online service index", "online services index", "online service"),
    "hci": ("hci", "human capital index", "human capital"),
    "tii": (
        "tii",
        "telecommunication infrastructure index",
        "telecommunications infrastructure index",
        "telecommunication infrastructure",
        "tele infra",
    ),
    "epi": ("epi", "e participation index", "e participation", "e pat index"),
    "year": ("survey year", "year"),
    "region": ("region",),
    "osi_rank": ("osi rank", "online service index rank", "online service rank"),
}


class StandingDataError(MessageError):
    """A UN data file or the standing rubric that cannot be used; the message names the problem."""


# --------------------------------------------------------------------------- loading


@dataclass(frozen=True)
class CountryRow:
    country: str
    osi: float
    tii: float
    hci: float
    egdi: float
    egdi_rank: int
    line: int  # line in the CSV, for messages
    year: int | None = None
    epi: float | None = None
    osi_rank: int | None = None
    region: str | None = None  # carried, never used: the renamed 2024 file's regions are wrong


@dataclass(frozen=True)
class Edition:
    """One survey year of one file."""

    path: Path
    year: int | None
    years_in_file: tuple[int, ...]
    rows: tuple[CountryRow, ...]
    columns: Mapping[str, str]  # canonical -> header as written in the file
    notes: tuple[str, ...] = ()

    def row(self, country: str) -> CountryRow:
        """The row of ``country``; case, spaces and punctuation ignored ("Vietnam" = "Viet Nam")."""
        key = country_key(country)
        for r in self.rows:
            if country_key(r.country) == key:
                return r
        close = difflib.get_close_matches(country, [r.country for r in self.rows], n=3)
        hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""
        raise StandingDataError(f"{self.path}: country {country!r} not found{hint}")


def country_key(name: str) -> str:
    return re.sub(r"[^0-9a-z]+", "", name.casefold())


def _norm_header(h: str) -> str:
    return re.sub(r"[^0-9a-z]+", " ", h.replace("\ufeff", "").casefold()).strip()


def map_headers(headers: list[str], path: Path) -> dict[str, str]:
    """Canonical column -> the file's header. Unknown headers are ignored."""
    lookup = {alias: canon for canon, aliases in HEADER_ALIASES.items() for alias in aliases}
    found: dict[str, str] = {}
    for h in headers:
        canon = lookup.get(_norm_header(h))
        if canon is None:
            continue
        if canon in found:
            raise StandingDataError(
                f"{path}: columns {found[canon]!r} and {h!r} both look like {canon!r}"
            )
        found[canon] = h
    missing = [c for c in REQUIRED if c not in found]
    if missing:
        raise StandingDataError(
            f"{path}: missing column {', '.join(repr(m) for m in missing)} "
            f"(headers found: {', '.join(repr(h) for h in headers)}; "
            f"accepted for {missing[0]!r}: {', '.join(HEADER_ALIASES[missing[0]])})"
        )
    return found


def _read_text(path: Path) -> str:
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise StandingDataError(f"{path}: cannot read ({e.strerror or e})") from e
    try:
        return raw.decode("utf-8-sig")  # plain UTF-8 too; the BOM is dropped when present
    except UnicodeDecodeError as e:
        raise StandingDataError(f"{path}: not UTF-8 (byte {e.start}); re-save as UTF-8") from e


def _number(text: str, col: str, header: str, where: str, *, integer: bool = False) -> float:
    t = text.strip()
    if not t:
        raise StandingDataError(f"{where}: empty value in number column {header!r} ({col})")
    try:
        value = float(t)
        if not math.isfinite(value):
            raise ValueError(t)
    except ValueError:
        raise StandingDataError(
            f"{where}: text {t!r} in number column {header!r} ({col})"
        ) from None
    if integer and value != int(value):
        raise StandingDataError(
            f"{where}: {t!r} in column {header!r} ({col}) is not a whole number"
        )
    if col in ("osi", "tii", "hci", "egdi", "epi") and not 0.0 <= value <= 1.0:
        raise StandingDataError(f"{where}: {col} {t!r} outside 0..1 in column {header!r}")
    return value


def _parse_row(rec: dict[str, str], cols: Mapping[str, str], path: Path, line: int) -> CountryRow:
    country = (rec.get(cols["country"]) or "").strip()
    if not country:
        raise StandingDataError(f"{path}: line {line}: empty country name")
    where = f"{path}: line {line} ({country})"

    def num(col: str, integer: bool = False) -> float:
        return _number(rec.get(cols[col]) or "", col, cols[col], where, integer=integer)

    def opt(col: str, integer: bool = False) -> float | None:
        if col not in cols or not (rec.get(cols[col]) or "").strip():
            return None
        return num(col, integer)

    year, osi_rank = opt("year", True), opt("osi_rank", True)
    region = None
    if "region" in cols:
        region = (rec.get(cols["region"]) or "").strip() or None
    return CountryRow(
        country=country,
        osi=num("osi"),
        tii=num("tii"),
        hci=num("hci"),
        egdi=num("egdi"),
        egdi_rank=int(num("egdi_rank", True)),
        line=line,
        year=None if year is None else int(year),
        epi=opt("epi"),
        osi_rank=None if osi_rank is None else int(osi_rank),
        region=region,
    )


def _check_duplicates(rows: list[CountryRow], path: Path) -> None:
    seen: dict[tuple[int | None, str], CountryRow] = {}
    for r in rows:
        key = (r.year, country_key(r.country))
        if key in seen:
            year = f" in year {r.year}" if r.year is not None else ""
            raise StandingDataError(
                f"{path}: duplicated country {r.country!r}{year} "
                f"(lines {seen[key].line} and {r.line})"
            )
        seen[key] = r


def _select_year(
    rows: list[CountryRow], year: int | None, path: Path
) -> tuple[int | None, tuple[int, ...], list[CountryRow], list[str]]:
    """Pick one survey year. Several years and no --year: the latest, said in the notes."""
    years = tuple(sorted({r.year for r in rows if r.year is not None}))
    if any(r.year is None for r in rows) and years:
        missing = next(r for r in rows if r.year is None)
        raise StandingDataError(f"{path}: line {missing.line} ({missing.country}): empty year")
    if not years:
        note = (
            f"file has no year column; taken as {year} (--year)"
            if year
            else "file has no year column; survey year unknown (give --year to label it)"
        )
        return year, (), rows, [note]
    if year is None:
        chosen = years[-1]
        notes = (
            []
            if len(years) == 1
            else [
                f"file holds years {', '.join(map(str, years))}; using the latest, {chosen} "
                "(choose with --year)"
            ]
        )
        return chosen, years, [r for r in rows if r.year == chosen], notes
    if year not in years:
        raise StandingDataError(
            f"{path}: no rows for year {year}; the file holds {', '.join(map(str, years))}"
        )
    return year, years, [r for r in rows if r.year == year], []


def load_un_data(path: str | Path, year: int | None = None) -> Edition:
    """Read a UN E-Government Survey CSV (UTF-8, with or without BOM) and select one year."""
    path = Path(path)
    reader = csv.DictReader(io.StringIO(_read_text(path), newline=""))
    if not reader.fieldnames:
        raise StandingDataError(f"{path}: empty file, no header row")
    cols = map_headers(list(reader.fieldnames), path)
    rows: list[CountryRow] = []
    for rec in reader:
        if not any((v or "").strip() for v in rec.values() if isinstance(v, str)):
            continue  # blank line
        rows.append(_parse_row(rec, cols, path, reader.line_num))
    if not rows:
        raise StandingDataError(f"{path}: header only, no country rows")
    _check_duplicates(rows, path)
    chosen, years, selected, notes = _select_year(rows, year, path)
    if len(selected) != 193:
        notes.append(
            f"{len(selected)} countries, not the survey's 193: ranks computed here are among "
            "these only"
        )
    return Edition(path, chosen, years, tuple(selected), cols, tuple(notes))


# --------------------------------------------------------------------------- check


def competition_rank(values: Mapping[str, float]) -> dict[str, int]:
    """1 + number of strictly higher values: ties share a rank, the next rank is skipped.

    This is how the published EGDI ranks treat ties (2022: Iceland and Sweden both 5th at
    0.9410, then 7th), computed on the published, rounded EGDI.
    """
    ordered = sorted(values.values(), reverse=True)
    first: dict[float, int] = {}
    for i, v in enumerate(ordered, start=1):
        first.setdefault(v, i)
    return {k: first[v] for k, v in values.items()}


def recomputed_egdi(r: CountryRow) -> float:
    return (r.osi + r.tii + r.hci) / 3


@dataclass(frozen=True)
class CheckReport:
    n: int
    tolerance: float
    egdi_max_dev: float
    egdi_max_dev_country: str
    egdi_mismatches: tuple[tuple[str, float, float], ...]  # country, published, recomputed
    rank_mismatches: tuple[tuple[str, int, int], ...]  # country, published, computed
    osi_rank_mismatches: tuple[tuple[str, int, int], ...]  # only when the file has OSI ranks
    shared_ranks: int  # countries sharing a published EGDI rank with another
    ranks_changed_if_unrounded: int  # ranking the recomputed EGDI instead would change these
    osi_min: float
    osi_max: float

    @property
    def ok(self) -> bool:
        return not (self.egdi_mismatches or self.rank_mismatches or self.osi_rank_mismatches)

    @property
    def osi_min_max_normalised(self) -> bool:
        return self.osi_min == 0.0 and self.osi_max == 1.0


def check_edition(ed: Edition, tolerance: float = EGDI_TOLERANCE) -> CheckReport:
    devs = [(abs(recomputed_egdi(r) - r.egdi), r) for r in ed.rows]
    max_dev, max_row = max(devs, key=lambda x: x[0])
    egdi_bad = tuple(
        (r.country, r.egdi, round(recomputed_egdi(r), 6)) for d, r in devs if d > tolerance
    )
    ranks = competition_rank({r.country: r.egdi for r in ed.rows})
    rank_bad = tuple(
        (r.country, r.egdi_rank, ranks[r.country])
        for r in ed.rows
        if ranks[r.country] != r.egdi_rank
    )
    osi_ranks = competition_rank({r.country: r.osi for r in ed.rows})
    osi_bad = tuple(
        (r.country, r.osi_rank, osi_ranks[r.country])
        for r in ed.rows
        if r.osi_rank is not None and osi_ranks[r.country] != r.osi_rank
    )
    published = [r.egdi_rank for r in ed.rows]
    unrounded = competition_rank({r.country: recomputed_egdi(r) for r in ed.rows})
    return CheckReport(
        n=len(ed.rows),
        tolerance=tolerance,
        egdi_max_dev=max_dev,
        egdi_max_dev_country=max_row.country,
        egdi_mismatches=egdi_bad,
        rank_mismatches=rank_bad,
        osi_rank_mismatches=osi_bad,
        shared_ranks=sum(1 for p in published if published.count(p) > 1),
        ranks_changed_if_unrounded=sum(1 for r in ed.rows if unrounded[r.country] != r.egdi_rank),
        osi_min=min(r.osi for r in ed.rows),
        osi_max=max(r.osi for r in ed.rows),
    )
