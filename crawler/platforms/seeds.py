"""Where the provincial crawl starts: the hosts of the `citizenUrl`s the national crawl of the same
run stored (office rows, mapped to units by office code), plus a configured portal list for
provinces that list nothing nationally.

The configured list for real runs is ``crawler/platforms/portals.yaml``; the replica hands its own
list to the job (``DVC_PORTAL_LIST``). Against a loopback national portal only loopback hosts are
kept, so a demo never leaves the machine; the national portal's own host is never a portal, nor
is a host the offices of several provinces hand off to (a ministry's or an inter-agency system)
unless the list names it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

from audits.rubric import Rubric, unit_for_office
from crawler.profiles import is_loopback

PORTAL_FILE = Path(__file__).with_name("portals.yaml")


@dataclass
class Seed:
    base: str  # scheme://host[:port]
    units: set[str] = field(default_factory=set)
    sources: set[str] = field(default_factory=set)  # "national" and/or "config"
    entry_urls: list[str] = field(default_factory=list)  # citizen URLs seen (a few)

    @property
    def host(self) -> str:
        return urlsplit(self.base).netloc


def _base(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return ""
    return f"{parts.scheme}://{parts.netloc.lower()}"


def load_portal_list(path: Path | str = PORTAL_FILE) -> list[dict[str, str]]:
    """[{unit, url}] from a YAML file ``portals: [{unit: "79", url: ...}, ...]``."""
    doc = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    out = []
    for entry in doc.get("portals") or []:
        if isinstance(entry, dict) and entry.get("url") and entry.get("unit") is not None:
            out.append({"unit": str(entry["unit"]), "url": str(entry["url"])})
    return out


def portal_seeds(evidence: list[dict[str, Any]], rubric: Rubric, national_base: str,
                 portal_list: list[dict[str, str]]) -> list[Seed]:
    national_host = urlsplit(national_base).netloc.lower()
    loopback_only = is_loopback(national_base)
    seeds: dict[str, Seed] = {}

    def add(url: str, unit: str, source: str) -> None:
        base = _base(url)
        if not base or urlsplit(base).netloc == national_host:
            return
        if loopback_only and not is_loopback(base):
            return
        seed = seeds.setdefault(base, Seed(base))
        if unit:
            seed.units.add(unit)
        seed.sources.add(source)
        if source == "national" and len(seed.entry_urls) < 5 and url not in seed.entry_urls:
            seed.entry_urls.append(url)

    for ev in evidence:
        if ev["kind"] != "office_row" or ev["outcome"] != "ok":
            continue
        url = ev["data"].get("citizen_url") or ""
        unit = unit_for_office(rubric, ev["data"].get("office_code") or "")
        if url and unit is not None and unit.kind == "province":
            add(url, unit.code, "national")
    for entry in portal_list:
        add(entry["url"], entry["unit"], "config")
    # A host that offices of several provinces hand off to is a shared system (a ministry's, the
    # inter-agency lienthong one), not a province's own portal, unless the list names it.
    return sorted((s for s in seeds.values() if "config" in s.sources or len(s.units) == 1),
                  key=lambda s: s.base)


def national_pages(evidence: list[dict[str, Any]], codes: set[str]) -> list[tuple[str, str]]:
    """(code, formality id) of the rubric procedures the catalogue listed, once each."""
    seen: dict[str, str] = {}
    for ev in evidence:
        if ev["kind"] == "procedure" and ev["outcome"] == "ok":
            code, fid = ev["procedure_code"], ev["data"].get("id", "")
            if code in codes and fid:
                seen.setdefault(code, fid)
    return sorted(seen.items())
