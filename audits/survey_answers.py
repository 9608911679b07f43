"""The UN survey's indicator answers of one run, from its stored evidence: pure, never fetches.

For every indicator of each set and every unit of the set (LOSI: each province of the rubric;
OSQ: the national portal, core.indicators.NATIONAL_UNIT) one IndicatorAnswerRow:
- `auto`: the detector's finding (audits/detectors.py) over the unit's `site_page` rows (the
  pages searched, their DOM bodies read by `html_sha256`) and its `site_measure` row; a unit
  with no site evidence at all (an older run, or the site crawl did not run) is cannot_test
  `not_gathered`;
- `services`: the 20-service verdicts (audits.survey.services_answer);
- `review`: the answer that holds after the two-assessor rule (audits/review.py), else
  "not_reviewed".
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from urllib.parse import urlsplit

from audits.detectors import MEASURED_KINDS, Finding, Measures, Page, clear_page_caches, judge
from audits.survey import NOT_REVIEWED, services_answer
from core.indicators import NATIONAL_UNIT, Indicator, Indicators, IndicatorSet
from core.rows import IndicatorAnswerRow
from core.vocab import GONE_STATUSES, EvidenceKind, Outcome, Reason, Verdict

# What the national portal calls itself on its pages (the `domain` detector looks for the
# unit's name on the home page); provinces use their place name from the rubric.
NATIONAL_SITE_NAME = "Cổng Dịch vụ công Quốc gia"
_PLACE_PREFIXES = ("Thành phố ", "Tỉnh ")  # "Tỉnh Cao Bằng" is named "Cao Bằng" on its pages
MEASURE_FIELDS = ("https_ok", "http_redirects", "scroll_width", "viewport_meta",
                  "axe_violations", "w3c_errors")


@dataclass
class Site:
    """One unit's site evidence: the pages searched (rows) and its measures row."""

    pages: list[Mapping[str, Any]] = field(default_factory=list)
    measure: Mapping[str, Any] | None = None

    @property
    def declared_host(self) -> str:
        """The official host the site list declares (data "domain"), when served elsewhere."""
        for row in ([self.measure] if self.measure else []) + self.pages:
            domain = str((row.get("data") or {}).get("domain") or "")
            if domain:
                return (urlsplit(domain).hostname or "") if "//" in domain else domain
        return ""


def sites_by_unit(evidence: Iterable[Mapping[str, Any]]) -> dict[str, Site]:
    """The `site_page` / `site_measure` rows grouped by the units their site serves."""
    sites: dict[str, Site] = defaultdict(Site)
    for row in evidence:
        if row["kind"] not in (EvidenceKind.SITE_PAGE, EvidenceKind.SITE_MEASURE):
            continue
        for unit in (row.get("data") or {}).get("units") or []:
            if row["kind"] == EvidenceKind.SITE_MEASURE:
                sites[str(unit)].measure = row
            else:
                sites[str(unit)].pages.append(row)
    return dict(sites)




def within_budget(pages: Sequence[Mapping[str, Any]],
                  search: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The pages the findability budget counts (detectors.yaml `search`): to `depth`, at most
    `max_pages` (failed ones too: they were part of the search), nearest first, each once."""
    depth, most = int(search.get("depth", 2)), int(search.get("max_pages", 40))
    seen: set[str] = set()
    kept = []
    for row in sorted(pages, key=lambda r: (int((r.get("data") or {}).get("depth", 0)),
                                            r.get("id", 0))):
        d = int((row.get("data") or {}).get("depth", 0))
        if d > depth or row["url"] in seen:
            continue
        seen.add(row["url"])
        kept.append(row)
    return kept[:most]


def measures_of(row: Mapping[str, Any] | None) -> Measures:
    if row is None:
        return Measures()
    data = row.get("data") or {}
    return Measures(**{k: data.get(k) for k in MEASURE_FIELDS},
                    failures=dict(data.get("failures") or {}))


def read_pages(rows: Sequence[Mapping[str, Any]], bodies: Mapping[str, bytes]
               ) -> tuple[list[Page], list[Page]]:
    """(pages read, pages that failed to load); a page whose body is not stored was not read.
    A linked page the site says does not exist (404, 410) is a definite answer, not a gap in
    the search: it counts as read, with nothing on it (a home page that does not exist is a
    failure, as the portal is not there)."""
    read, failed = [], []
    for row in rows:
        depth = int((row.get("data") or {}).get("depth", 0))
        body = bodies.get(row.get("html_sha256") or "") if row["outcome"] == Outcome.OK else None
        if body is None and depth > 0 and row.get("status") in GONE_STATUSES:
            read.append(Page(row["url"], depth, ""))
        elif body is None:
            failed.append(Page(row["url"], depth, ""))
        else:
            read.append(Page(row["url"], depth, body.decode("utf-8", errors="replace")))
    return read, failed


def _answer(iset: IndicatorSet, unit: str, ind: Indicator, verdict: str, reason: str = "",
            **extra: Any) -> IndicatorAnswerRow:
    row: IndicatorAnswerRow = {"indicator_set": iset.id, "unit_code": unit,
                               "indicator_id": ind.id, "judged": ind.judged,
                               "verdict": str(verdict), "reason": str(reason)}
    row.update(extra)  # type: ignore[typeddict-item]
    return row


def _from_finding(iset: IndicatorSet, unit: str, ind: Indicator, found: Finding,
                  ids: Mapping[str, int], measure_id: int | None) -> IndicatorAnswerRow:
    """`measure_id`: the site_measure row a measured feature was judged from (else None)."""
    evidence = [measure_id] if measure_id is not None else [ids[u] for u in found.urls
                                                             if u in ids]
    return _answer(iset, unit, ind, found.verdict, found.reason, detector=ind.detector,
                   detail=found.detail, urls=list(found.urls), evidence_ids=evidence)


def _auto_answers(iset: IndicatorSet, unit: str, name: str, site: Site | None,
                  indicators: Indicators, bodies: Mapping[str, bytes],
                  run_at: date | datetime) -> Iterator[IndicatorAnswerRow]:
    autos = [i for i in iset.indicators if i.judged == "auto"]
    if site is None:
        for ind in autos:
            yield _answer(iset, unit, ind, Verdict.CANNOT_TEST, Reason.NOT_GATHERED,
                          detector=ind.detector, detail="the run gathered no page of this site")
        return
    rows = within_budget(site.pages, indicators.search)
    ids = {r["url"]: int(r["id"]) for r in rows if "id" in r}
    measure_id = int(site.measure["id"]) if site.measure and "id" in site.measure else None
    pages, failed = read_pages(rows, bodies)  # this unit's bodies only, read once
    home = next((r for r in rows if (r.get("data") or {}).get("depth", 0) == 0), None)
    if not pages and home is not None and home["outcome"] != Outcome.OK:
        # the site could not be read at all (down, blocked): every feature, measured ones
        # too, is could-not-test for the reason its home page gave
        why = home.get("reason") or Reason.UNREADABLE
        for ind in autos:
            yield _answer(iset, unit, ind, Verdict.CANNOT_TEST, why, detector=ind.detector,
                          detail=f"the portal's home page could not be read ({why})",
                          urls=[home["url"]], evidence_ids=[int(home["id"])] if "id" in home
                          else [])
        return
    measures = measures_of(site.measure)
    host = site.declared_host
    try:
        for ind in autos:
            detector = indicators.detectors[ind.detector]
            found = judge(detector, pages, measures, run_at=run_at, unit_name=name,
                          failed=failed, declared_host=host)
            yield _from_finding(iset, unit, ind, found,
                                ids, measure_id if detector.kind in MEASURED_KINDS else None)
    finally:
        clear_page_caches()  # one unit's parsed pages at a time


Verdicts = Mapping[tuple[str, str], Mapping[str, Any]]  # (service, criterion) -> verdict row


def unit_verdicts(verdicts: Iterable[Mapping[str, Any]]) -> dict[str, dict[tuple[str, str],
                                                                          Mapping[str, Any]]]:
    """The 20-service verdicts per unit, and the national portal's (NATIONAL_UNIT): a service
    meets a criterion nationally when one unit meets it there (the portal offers it), fails it
    when every unit tested fails it; untested units are left out, as everywhere."""
    out: dict[str, dict[tuple[str, str], Mapping[str, Any]]] = defaultdict(dict)
    national: dict[tuple[str, str], list[Mapping[str, Any]]] = defaultdict(list)
    for v in verdicts:
        key = (str(v["service_id"]), str(v["criterion_id"]))
        out[str(v["unit_code"])][key] = v
        national[key].append(v)
    for key, rows in national.items():
        out[NATIONAL_UNIT][key] = _national(rows)
    return dict(out)


def _national(rows: Sequence[Mapping[str, Any]]) -> Mapping[str, Any]:
    for verdict in (Verdict.MET, Verdict.NOT_MET, Verdict.CANNOT_TEST):
        hit = next((r for r in rows if r["verdict"] == verdict), None)
        if hit is not None:
            return hit
    return rows[0]  # every unit not_applicable


def _services_row(iset: IndicatorSet, unit: str, ind: Indicator,
                  verdicts: Verdicts) -> IndicatorAnswerRow:
    c = iset.services_criterion
    verdict = services_answer(ind, {k: v["verdict"] for k, v in verdicts.items()}, c)
    named = [(s, verdicts.get((s, c))) for s in ind.services]
    reason = ""
    if verdict != Verdict.MET:  # the reason of the first named service with that verdict
        reason = next((str(v.get("reason") or "") for _, v in named
                       if v is not None and v["verdict"] == verdict), "") or (
            Reason.INCOMPLETE if verdict == Verdict.CANNOT_TEST else "")
    detail = "; ".join(f"{s}: {v['verdict'] if v else Verdict.CANNOT_TEST}" for s, v in named)
    return _answer(iset, unit, ind, verdict, reason, detail=f"{c} — {detail}")


def services_answers(iset: IndicatorSet, unit: str,
                     verdicts: Iterable[Mapping[str, Any]]) -> dict[str, str]:
    """Indicator id -> the answer of each feature the 20 services decide, for one unit
    (NATIONAL_UNIT: the national view of every unit's verdicts)."""
    mine = unit_verdicts(verdicts).get(unit, {})
    return {ind.id: _services_row(iset, unit, ind, mine)["verdict"]
            for ind in iset.indicators if ind.judged == "services"}


def _review_row(iset: IndicatorSet, unit: str, ind: Indicator,
                held: Mapping[str, str]) -> IndicatorAnswerRow:
    answer = held.get(ind.id)
    if answer is None:
        return _answer(iset, unit, ind, NOT_REVIEWED, detail="no answer that holds")
    reason = {Verdict.NOT_MET: Reason.NOT_FOUND,
              Verdict.NOT_APPLICABLE: Reason.CRITERION_NOT_APPLICABLE}.get(Verdict(answer), "")
    return _answer(iset, unit, ind, Verdict(answer), reason, detail="answered by review")


def set_units(iset: IndicatorSet, provinces: Mapping[str, str]) -> dict[str, str]:
    """The set's units (code -> the name its site shows): OSQ the national portal, LOSI every
    province of the rubric."""
    if iset.unit == "national":
        return {NATIONAL_UNIT: NATIONAL_SITE_NAME}
    return {code: _place(name) for code, name in provinces.items()}


def _place(name: str) -> str:
    for prefix in _PLACE_PREFIXES:
        if name.startswith(prefix):
            return name[len(prefix):]
    return name


def survey_answers(indicators: Indicators, evidence: Iterable[Mapping[str, Any]],
                   bodies: Mapping[str, bytes], verdicts: Iterable[Mapping[str, Any]],
                   reviews: Mapping[tuple[str, str], Mapping[str, str]], *,
                   provinces: Mapping[str, str],
                   run_at: date | datetime) -> list[IndicatorAnswerRow]:
    """Every indicator's answer for every unit of each set.

    `evidence`: the run's rows (only `site_page` / `site_measure` are read); `bodies`: DOM
    bodies by sha256 (read per unit, as the unit is judged: a lazy mapping keeps one unit's
    pages in memory); `verdicts`: the run's 20-service verdict rows; `reviews`:
    (set id, unit) -> {indicator id: the answer that holds}; `provinces`: code -> rubric name;
    `run_at`: the run's day (the `fresh` detector's reference)."""
    sites = sites_by_unit(evidence)
    by_unit = unit_verdicts(verdicts)
    rows: list[IndicatorAnswerRow] = []
    for iset in indicators.sets.values():
        for unit, name in set_units(iset, provinces).items():
            auto = {r["indicator_id"]: r for r in _auto_answers(
                iset, unit, name, sites.get(unit), indicators, bodies, run_at)}
            held = reviews.get((iset.id, unit), {})
            for ind in iset.indicators:
                if ind.judged == "auto":
                    rows.append(auto[ind.id])
                elif ind.judged == "services":
                    rows.append(_services_row(iset, unit, ind, by_unit.get(unit, {})))
                else:
                    rows.append(_review_row(iset, unit, ind, held))
    return rows
