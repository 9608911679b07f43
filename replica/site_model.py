"""The UN survey features of each replica site (docs/SCENARIOS.md "Sites (UN survey features)").

A scenario's `site:` block gives defaults for every site; `national: {site: ...}` overrides them
for the national portal (unit "VN"), `portals: {"79": {site: ...}}` for one province. Features
are the page-level detectors of rubrics/indicators/detectors.yaml (link, text, form, fresh) and
where each sits; the measured ones (https, responsive, axe, w3c, domain) have their own keys.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from core.indicators import NATIONAL_UNIT, Detector, load_indicators
from core.rubric import RUBRIC_DIR
from core.validate import FieldReader

PLACES = ("home", "deep", "beyond", "absent")
HTTPS_MODES = ("valid", "invalid_cert", "none", "hang")
PASS_FAIL = ("pass", "fail")
DEEP_PAGE = ("ok", "http_error")  # http_error: the depth-2 content page answers 503
PAGE_KINDS = ("link", "text", "form", "fresh")
# what sets a measured detector kind (not `features`)
MEASURED_KEY = {"https": "https", "responsive": "responsive", "axe": "wcag", "w3c": "w3c",
                "domain": "domain"}
# every portal's header has them (login link, the procedure catalogue): always on the home page
INHERENT = {"digital_id": "home", "service_catalogue": "home"}
SITE_KEYS = {"features", "https", "http_redirect", "responsive", "wcag", "w3c",
             "updated_days_ago", "domain", "deep_page"}


@dataclass(frozen=True)
class SiteSpec:
    """One site's survey features and its HTTPS, layout, accessibility and markup states."""

    features: Mapping[str, str] = field(default_factory=dict, hash=False)  # id -> place
    https: str = "valid"  # valid | invalid_cert | none | hang (TLS accepts, never answers)
    http_redirect: bool = True  # the plain-HTTP front door answers 301 to the https URL
    responsive: bool = True
    wcag: str = "pass"
    w3c: str = "pass"
    updated_days_ago: int = 3  # the news list's newest date, before the day it is served
    domain: str = ""  # the site's real host name ("" = only its loopback address)
    deep_page: str = "ok"

    def place(self, detector_id: str) -> str:
        """Where a page-level feature is: home | deep | beyond | absent."""
        return INHERENT.get(detector_id) or self.features.get(detector_id, "absent")


def detectors_for(rubric_dir: Path | None) -> Mapping[str, Detector]:
    """The detectors of the scenario's rubric (the project's when it names none or has none)."""
    return _detectors(str(rubric_dir or RUBRIC_DIR))


@functools.cache
def _detectors(rubric_dir: str) -> Mapping[str, Detector]:
    found = load_indicators(Path(rubric_dir))
    if found is None and Path(rubric_dir) != RUBRIC_DIR:
        found = load_indicators(RUBRIC_DIR)
    return dict(found.detectors) if found is not None else {}


def _features(r: FieldReader, raw: Any, fld: str, detectors: Mapping[str, Detector]
              ) -> dict[str, str]:
    out: dict[str, str] = {}
    for did, place in r.mapping(raw, fld).items():
        f = f"{fld}.{did}"
        det = detectors.get(str(did))
        if det is None:
            raise r.err(f, f"unknown detector {did!r} (rubrics/indicators/detectors.yaml)")
        if det.kind not in PAGE_KINDS:
            raise r.err(f, f"{did} ({det.kind}) is set by the site key "
                           f"`{MEASURED_KEY[det.kind]}`, not by features")
        if place not in PLACES:
            raise r.err(f, f"must be one of {', '.join(PLACES)}, got {place!r}")
        if did in INHERENT and place != INHERENT[did]:
            raise r.err(f, f"every portal's header has {did}: only `home` is possible")
        out[str(did)] = str(place)
    return out


def _site(r: FieldReader, raw: Any, fld: str, base: SiteSpec,
          detectors: Mapping[str, Detector]) -> SiteSpec:
    if raw is None:
        return base
    d = r.mapping(raw, fld)
    r.unknown_keys(d, SITE_KEYS, fld)
    days = r.integer(d, "updated_days_ago", f"{fld}.updated_days_ago", required=False,
                     default=base.updated_days_ago, minimum=0)
    features = {**base.features, **_features(r, d.get("features") or {}, f"{fld}.features",
                                               detectors)}
    return replace(
        base, features=features, updated_days_ago=days,
        https=r.choice(d, "https", f"{fld}.https", HTTPS_MODES, required=False,
                       default=base.https),
        http_redirect=r.boolean(d, "http_redirect", f"{fld}.http_redirect", base.http_redirect),
        responsive=r.boolean(d, "responsive", f"{fld}.responsive", base.responsive),
        wcag=r.choice(d, "wcag", f"{fld}.wcag", PASS_FAIL, required=False, default=base.wcag),
        w3c=r.choice(d, "w3c", f"{fld}.w3c", PASS_FAIL, required=False, default=base.w3c),
        domain=r.string(d, "domain", f"{fld}.domain", required=False, default=base.domain),
        deep_page=r.choice(d, "deep_page", f"{fld}.deep_page", DEEP_PAGE, required=False,
                           default=base.deep_page),
    )


def parse_sites(r: FieldReader, doc: dict, rubric_dir: Path | None) -> dict[str, SiteSpec]:
    """unit -> its site: "VN" and every province with a `portals` entry."""
    detectors = detectors_for(rubric_dir)
    base = _site(r, doc.get("site"), "site", SiteSpec(), detectors)
    national: dict[str, Any] = doc["national"] if isinstance(doc.get("national"), dict) else {}
    out = {NATIONAL_UNIT: _site(r, national.get("site"), "national.site", base, detectors)}
    portals: dict[str, Any] = doc["portals"] if isinstance(doc.get("portals"), dict) else {}
    for unit, raw in portals.items():
        own = raw.get("site") if isinstance(raw, dict) else None
        out[str(unit)] = _site(r, own, f"portals.{unit}.site", base, detectors)
    return out
