"""Where the provincial crawl starts: the hosts of the `citizenUrl`s the national crawl of the same
run stored (office rows, mapped to units by office code), plus a configured portal list for
provinces that list nothing nationally.

The configured list for real runs is ``crawler/platforms/portals.yaml``; the replica hands its own
list to the job (``DVC_PORTAL_LIST``). A bad list file is an error naming the file and the line or
field (``PortalListError``), never an entry silently skipped. Against a loopback national portal
only loopback hosts are kept, so a demo never leaves the machine; the national portal's own host
is never a portal. A host the offices of several provinces hand off to, or one whose home page
is a ministry system's (``SYSTEM_FAMILIES``) or whose name is a known ministry system's, is a
*shared system* unless the list names it: it is crawled once like a portal, and its evidence
names the system and, per procedure code, the provinces (and rows) handing off to it
(``data.system``, ``data.handoffs``; ``data.units`` empty: it is no province's own portal).

`Sources` reads them from the results database while the national crawl is still storing them;
`Seeding` holds a portal's evidence until they are final.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from core import store
from core.rows import EvidenceRow
from core.rubric import (
    RUBRIC_DIR,
    Rubric,
    YamlFileError,
    load_rubric,
    read_yaml_file,
    unit_for_office,
)
from core.vocab import EvidenceKind, Outcome
from crawler.exceptions import PortalListError, known_mapping
from crawler.platforms import SYSTEM_FAMILIES
from crawler.profiles import is_loopback

if TYPE_CHECKING:
    from scrapy.settings import BaseSettings

PORTAL_FILE = Path(__file__).with_name("portals.yaml")
PORTAL_KEYS = ("unit", "url", "family", "note")  # family, note: for people, not read
_PROVINCE_CODE = re.compile(r"^\d{2}$")


@dataclass
class Seed:
    base: str  # scheme://host[:port]
    units: set[str] = field(default_factory=set)
    sources: set[str] = field(default_factory=set)  # "national" and/or "config"
    entry_urls: list[str] = field(default_factory=list)  # citizen URLs seen (a few)
    # procedure code -> province code -> office rows handing off to this host
    handoffs: dict[str, dict[str, int]] = field(default_factory=dict, compare=False)

    @property
    def host(self) -> str:
        return urlsplit(self.base).netloc

    @property
    def shared(self) -> bool:
        """Offices of several provinces hand off to it, and no list names it a portal."""
        return len(self.units) > 1 and "config" not in self.sources


# Ministry systems real office rows hand off to (office_rows_2026-10): named when their pages
# cannot be read (their family, when recognised, names them otherwise).
KNOWN_SYSTEMS = {"dichvucongnganhtuphap.moj.gov.vn": "Bộ Tư pháp",
                 "dvc.moc.gov.vn": "Bộ Xây dựng", "sso.mof.gov.vn": "Bộ Tài chính"}
SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")


def with_scheme(url: str) -> str:
    """Real rows name ministry systems without a scheme ("dichvucongnganhtuphap.moj.gov.vn/...");
    such a URL is https, except on loopback (the replica serves plain http)."""
    url = url.strip()
    if not url or SCHEME.match(url):
        return url
    host = url.split("/", 1)[0].split(":", 1)[0].lower()
    return ("http://" if host in ("localhost", "::1") or host.startswith("127.")
            else "https://") + url


def system_of(seed: Seed, family: str) -> dict[str, str] | None:
    """What names `seed` a shared system, or None when it is a province's own portal."""
    if "config" in seed.sources:  # the list names it a province's portal
        return None
    hostname = seed.host.split(":")[0]
    ministry = SYSTEM_FAMILIES.get(family) or KNOWN_SYSTEMS.get(hostname, "")
    if not ministry and not seed.shared:
        return None
    return {"host": seed.host, "family": family, "ministry": ministry}


def _base(url: str) -> str:
    try:
        parts = urlsplit(url)
    except ValueError:  # e.g. "http://[oops": an unbalanced IPv6 bracket
        return ""
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return ""
    return f"{parts.scheme}://{parts.netloc.lower()}"


def load_portal_list(path: Path | str = PORTAL_FILE) -> list[dict[str, str]]:
    """[{unit, url}] from a YAML file ``portals: [{unit: "79", url: ...}, ...]``.

    Read with the rubric's defensive reader; raises PortalListError, e.g.
    ``portals.yaml: portals[3].url: not an http(s) URL: 'ftp://x'``."""
    try:
        doc = read_yaml_file(path)
    except YamlFileError as e:
        raise PortalListError(f"{path}: {e}") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("portals"), list):
        raise PortalListError(f"{path}: portals: must be a list of {{unit, url}} entries")
    extra = sorted(str(k) for k in doc if k != "portals")
    if extra:
        raise PortalListError(f"{path}: {extra[0]}: unknown key (only 'portals')")
    return [_portal(entry, f"{path}: portals[{i}]") for i, entry in enumerate(doc["portals"])]


def _portal(entry: Any, where: str) -> dict[str, str]:
    entry = known_mapping(entry, where, PORTAL_KEYS)
    unit, url = entry.get("unit"), entry.get("url")
    # in quotes: YAML reads an unquoted 01 as the number 1 (but 08 as the string "08")
    if not isinstance(unit, str) or not _PROVINCE_CODE.match(unit):
        raise PortalListError(f'{where}.unit: must be a province code in quotes, like "01", '
                              f"not {unit!r}")
    if not isinstance(url, str) or not _base(url):
        raise PortalListError(f"{where}.url: not an http(s) URL: {url!r}")
    return {"unit": unit, "url": url}


def configured_portal_list(file: str | Path = "") -> list[dict[str, str]]:
    """The list a real run's provincial crawl reads: `file` (the DVC_PORTAL_FILE setting;
    relative to the project directory, where crawls run), which must exist, else portals.yaml
    when it exists. `dvc-audit run` and `nightly` read it up front too, so that a bad file stops
    the run before it starts rather than in the crawl's own process."""
    if file:
        return load_portal_list(PORTAL_FILE.parents[2] / file)  # an absolute path stays as is
    return load_portal_list(PORTAL_FILE) if PORTAL_FILE.exists() else []


class SeedBuilder:
    """Seeds from office rows fed in order, a batch at a time: the provincial crawl looks for new
    rows twice a second while the national crawl stores thousands, so each look reads only the
    rows stored since the last (`Sources.seed_list`) instead of all of them again."""

    def __init__(self, rubric: Rubric, national_base: str) -> None:
        self.rubric = rubric
        self.national_host = urlsplit(national_base).netloc.lower()
        self.loopback_only = is_loopback(national_base)
        self.national: dict[str, Seed] = {}
        self.units: dict[str, Any] = {}  # office code -> unit (or None): rows repeat offices

    def add(self, seeds: dict[str, Seed], url: str, unit: str, source: str,
            code: str = "") -> None:
        base = _base(url)
        if not base or urlsplit(base).netloc == self.national_host:
            return
        if self.loopback_only and not is_loopback(base):
            return
        seed = seeds.setdefault(base, Seed(base))
        if unit:
            seed.units.add(unit)
        seed.sources.add(source)
        if source == "national" and len(seed.entry_urls) < 5 and url not in seed.entry_urls:
            seed.entry_urls.append(url)
        if code and unit:
            rows = seed.handoffs.setdefault(code, {})
            rows[unit] = rows.get(unit, 0) + 1

    def add_rows(self, evidence: Iterable[dict[str, Any]]) -> None:
        for ev in evidence:
            if ev["kind"] != EvidenceKind.OFFICE_ROW or ev["outcome"] != Outcome.OK:
                continue
            url = ev["data"].get("citizen_url") or ""
            if not url:
                continue
            code = ev["data"].get("office_code") or ""
            if code not in self.units:
                self.units[code] = unit_for_office(self.rubric, code)
            unit = self.units[code]
            if unit is not None and unit.kind == "province":
                self.add(self.national, with_scheme(url), unit.code, "national",
                         ev.get("procedure_code") or "")

    def seeds(self, portal_list: list[dict[str, str]]) -> list[Seed]:
        """The seeds so far (fresh objects: a later batch does not change them)."""
        seeds = {b: Seed(b, set(s.units), set(s.sources), list(s.entry_urls),
                         {code: dict(rows) for code, rows in s.handoffs.items()})
                 for b, s in self.national.items()}
        for entry in portal_list:
            self.add(seeds, entry["url"], entry["unit"], "config")
        # A host that offices of several provinces hand off to is a shared system (a
        # ministry's, the inter-agency lienthong one), not a province's own portal, unless
        # the list names it: it is visited too, and its evidence says so (system_of,
        # Seeding.release).
        return sorted(seeds.values(), key=lambda s: s.base)


def portal_seeds(evidence: list[dict[str, Any]], rubric: Rubric, national_base: str,
                 portal_list: list[dict[str, str]]) -> list[Seed]:
    builder = SeedBuilder(rubric, national_base)
    builder.add_rows(evidence)
    return builder.seeds(portal_list)


def national_pages(evidence: Sequence[Mapping[str, Any]], codes: set[str]) -> list[tuple[str, str]]:
    """(code, formality id) of the rubric procedures the catalogue listed, once each."""
    seen: dict[str, str] = {}
    for ev in evidence:
        if ev["kind"] == EvidenceKind.PROCEDURE and ev["outcome"] == Outcome.OK:
            code, fid = ev["procedure_code"], ev["data"].get("id", "")
            if code in codes and fid:
                seen.setdefault(code, fid)
    return sorted(seen.items())


SEEDING_KINDS = (EvidenceKind.CATALOGUE, EvidenceKind.PROCEDURE, EvidenceKind.OFFICE_LIST)


def national_seeded(evidence: list[dict[str, Any]]) -> bool:
    """True once the national crawl has stored every office row it will: its catalogue is read
    to the end (or has failed) and each rubric procedure it listed has its office list (read,
    or failed). Rows of SEEDING_KINDS are enough to tell."""
    done = any(ev["kind"] == EvidenceKind.CATALOGUE
               and (ev["outcome"] != Outcome.OK or ev["data"].get("complete")) for ev in evidence)
    listed = {ev["procedure_code"] for ev in evidence if ev["kind"] == EvidenceKind.PROCEDURE}
    offices = {ev["procedure_code"] for ev in evidence if ev["kind"] == EvidenceKind.OFFICE_LIST}
    return done and listed <= offices


# The evidence one visit of a provincial portal (or a ministry system) writes: what Seeding holds
# and what an earlier run may lend (not the national pages, nor a host stop).
PORTAL_VISIT_KINDS = frozenset({EvidenceKind.PORTAL, EvidenceKind.PORTAL_LIST,
                                EvidenceKind.PORTAL_LOGIN, EvidenceKind.PORTAL_PAGE,
                                EvidenceKind.PORTAL_APPLY})


@dataclass
class Seeding:
    """The provincial crawl's seeds while the national crawl is still storing office rows.

    A host is visited as soon as it is a seed (a province's portal, a shared system, or on the
    list). What it yields is held until the seeds are final (`settle`): then it carries the
    host's final units and sources, or, for a shared system (offices of several provinces hand
    off to it, or its home page is a ministry system's: `system_of`), the system and its
    hand-offs instead of units. So the evidence is what a crawl started after the national one
    would have stored."""

    started: dict[str, Seed] = field(default_factory=dict)  # by base
    final: dict[str, Seed] | None = None
    held: list[dict[str, Any]] = field(default_factory=list)
    families: dict[str, str] = field(default_factory=dict)  # base -> family its home page showed

    @classmethod
    def settled(cls, final: list[Seed]) -> Seeding:
        """For a crawl started with its final seeds: evidence is labelled as it comes."""
        seeding = cls()
        seeding.new(final)
        seeding.settle(final)
        return seeding

    def new(self, current: list[Seed]) -> list[Seed]:
        """The seeds of `current` not started yet (now started)."""
        fresh = [s for s in current if s.base not in self.started]
        self.started.update((s.base, s) for s in fresh)
        return fresh

    def keeps(self, base: str) -> bool:
        return self.final is None or base in self.final

    def settle(self, final: list[Seed]) -> tuple[list[Seed], list[dict[str, Any]]]:
        """The seeds are final: (started hosts that are not seeds after all, held items now
        released)."""
        self.final = {s.base: s for s in final}
        gone = [s for base, s in self.started.items() if base not in self.final]
        released = [out for item in self.held for out in self.release(item)]
        self.held.clear()
        return gone, released

    def hold(self, item: Any) -> list[Any]:
        """[item] to pass on now; [] while it is held (or when it is dropped)."""
        if not isinstance(item, dict) or item.get("kind") not in PORTAL_VISIT_KINDS:
            return [item]
        if item["kind"] == EvidenceKind.PORTAL:  # the home page: the first of a host's observations
            self.families[item["data"].get("base", "")] = item["data"].get("family") or ""
        if self.final is None:
            self.held.append(item)
            return []
        return self.release(item)

    def release(self, item: dict[str, Any]) -> list[dict[str, Any]]:
        data = item["data"]
        seed = (self.final or {}).get(data.get("base", ""))
        if seed is None:
            return []
        system = system_of(seed, self.families.get(seed.base, ""))
        data["units"] = [] if system else sorted(seed.units)  # a system is no one's portal
        if system:
            data["system"] = system
        if item["kind"] == EvidenceKind.PORTAL:
            data["sources"] = sorted(seed.sources)
            data["entry_urls"] = list(seed.entry_urls)
            if system:
                data["handoffs"] = {code: dict(sorted(rows.items()))
                                    for code, rows in sorted(seed.handoffs.items())}
        return [item]


def reused_item(row: Mapping[str, Any], run_id: int) -> dict[str, Any]:
    """A stored evidence row of run `run_id` as an item of the current run (data.reused_from)."""
    item = {k: v for k, v in row.items() if k not in ("id", "run_id")}
    item["data"] = {**row["data"], "reused_from": run_id}
    return item


@dataclass
class Sources:
    """Where the crawl's seeds come from: the run's national evidence and the portal list."""

    db: str
    run_id: int
    base: str
    rubric: Rubric
    portal_list: list[dict[str, str]]
    national_pages: bool
    conn: Any = None  # the results database, opened on first read
    seed_cache: tuple[int, list[Seed]] | None = None  # (last office row id read, seeds)
    builder: SeedBuilder | None = None  # the seeds of the office rows read so far
    reuse_run: int = 0  # an earlier run whose portal evidence may stand for tonight's visit
    reuse_within: float = 0  # seconds: how old that evidence may be
    reuse_rows: list[EvidenceRow] | None = None  # its portal evidence, read once
    seeding: tuple[int, list[dict[str, Any]]] = (0, [])  # (last id read, SEEDING_KINDS rows)

    @classmethod
    def from_settings(cls, s: BaseSettings) -> Sources:
        portal_list = s.get("DVC_PORTAL_LIST")
        if isinstance(portal_list, str) and portal_list:  # a Scrapyd job's settings are text
            portal_list = json.loads(portal_list)
        if portal_list is None or portal_list == "":
            portal_list = configured_portal_list(s.get("DVC_PORTAL_FILE") or "")
        return cls(s.get("DVC_DB") or "", s.getint("DVC_RUN_ID"), s.get("DVC_BASE_URL"),
                   load_rubric(s.get("DVC_RUBRIC_DIR") or RUBRIC_DIR), list(portal_list),
                   s.getbool("DVC_NATIONAL_PAGES"), reuse_run=s.getint("DVC_REUSE_RUN"),
                   reuse_within=s.getfloat("DVC_REUSE_WITHIN"))

    def reused_portal(self, base: str) -> list[dict[str, Any]]:
        """The reuse run's evidence of the portal at `base`, as items standing for tonight's
        visit, when every observation it holds of the portal was good and is younger than the
        reuse window; else [] (the portal is visited). The items keep their `observed_at`."""
        if not (self.reuse_run and self.reuse_within > 0 and self.db):
            return []
        if self.reuse_rows is None:
            self.reuse_rows = store.load_evidence(self.database(), self.reuse_run,
                                                  PORTAL_VISIT_KINDS)
        rows = [r for r in self.reuse_rows if r["data"].get("base") == base]
        cutoff = store.utc_before(self.reuse_within)
        if not any(r["kind"] == EvidenceKind.PORTAL for r in rows) \
                or any(r["outcome"] != Outcome.OK or r["observed_at"] < cutoff for r in rows):
            return []
        return [reused_item(r, self.reuse_run) for r in rows]

    def database(self) -> Any:
        self.conn = self.conn or store.open_db(self.db)
        return self.conn

    def rows(self, kinds: tuple[str, ...]) -> list[EvidenceRow]:
        return store.load_evidence(self.database(), self.run_id, kinds) if self.db else []

    def seeded(self) -> bool:
        """Asked twice a second until the national crawl is done: each call reads only the
        rows of SEEDING_KINDS stored since the last one."""
        last, rows = self.seeding
        new = self.rows_after(last, *SEEDING_KINDS)
        if new:
            self.seeding = (new[-1]["id"], rows + new)
        return national_seeded(self.seeding[1])

    def seed_list(self) -> list[Seed]:
        """The seeds from the office rows stored so far: each call reads only the rows stored
        since the last one (evidence ids grow as rows are stored)."""
        if self.builder is None:
            self.builder = SeedBuilder(self.rubric, self.base)
        last = self.seed_cache[0] if self.seed_cache is not None else 0
        rows = self.rows_after(last, "office_row")
        if self.seed_cache is None or rows:
            self.builder.add_rows(rows)
            last = rows[-1]["id"] if rows else last
            self.seed_cache = (last, self.builder.seeds(self.portal_list))
        return self.seed_cache[1]

    def rows_after(self, last_id: int, *kinds: str) -> list[dict[str, Any]]:
        """The run's rows of `kinds` with an id above `last_id`, in order (one query: rows
        are stored in id order, so none stored meanwhile falls below the last id read)."""
        if not self.db:
            return []
        rows = []
        marks = ", ".join("?" * len(kinds))
        for row in self.database()["evidence"].rows_where(
                f"run_id = ? AND kind IN ({marks}) AND id > ?", [self.run_id, *kinds, last_id],
                order_by="id"):
            row["data"] = json.loads(row["data"] or "{}")
            rows.append(row)
        return rows

    def count(self, kind: str) -> int:
        if not self.db:
            return 0
        return self.database().execute(
            "SELECT COUNT(*) FROM evidence WHERE run_id = ? AND kind = ?",
            [self.run_id, kind]).fetchone()[0]

    def national(self) -> list[tuple[str, str]]:
        if not self.national_pages:
            return []
        return national_pages(self.rows(("procedure",)), self.rubric.all_codes())


def seeds_json(seed_list: list[Seed], national: list[tuple[str, str]]) -> str:
    """The provincial crawl's final seeds and national pages as JSON (DVC_SEEDS): what a crawl
    that shares no database with the national one starts from (app/engines.py)."""
    return json.dumps({
        "seeds": [{"base": s.base, "units": sorted(s.units), "sources": sorted(s.sources),
                   "entry_urls": s.entry_urls, "handoffs": s.handoffs} for s in seed_list],
        "national": [list(pair) for pair in national]}, ensure_ascii=False, sort_keys=True)


def given_seeds(s: BaseSettings) -> tuple[list[Seed], list[tuple[str, str]]] | None:
    """(seeds, national pages) from DVC_SEEDS, or None when it is not set (they are read from
    the results database)."""
    raw = s.get("DVC_SEEDS") or ""
    if not raw:
        return None
    doc = json.loads(raw) if isinstance(raw, str) else raw
    seed_list = [Seed(d["base"], set(d["units"]), set(d["sources"]), list(d["entry_urls"]),
                      {code: dict(rows) for code, rows in d["handoffs"].items()})
                 for d in doc["seeds"]]
    return seed_list, [(code, fid) for code, fid in doc["national"]]
