"""Decision 766 spider: the national portal's own province index, for the report's comparison.

Read-only POSTs to /api/v1/reporting/evaluation/: `service-results` (every province with its six
group scores), then for each province the two group endpoints the comparison uses (online
service, online payment). Body {timeType, year, month|quarter, departmentType} as the portal's
own dashboard sends it. Yields evidence; never scores (reports/compare766.py compares).

Evidence kinds (own kinds, so the national evaluator never sees them):
  index766_results  one row: period + every department's code, name, total and group scores
  index766_group    per (province, group): score, maximum, ratio as the group endpoint gives
  index766_fetch    a request that failed (blocked, timeout, bad envelope), with its reason
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from typing import Any

import scrapy
from scrapy.crawler import Crawler
from scrapy.http import JsonRequest, Response
from twisted.python.failure import Failure

from core.store import sha256, utcnow
from core.vocab import EvidenceKind, Outcome
from crawler import parsers, phases
from crawler.failures import failed_request, failure_reason

PREFIX = "/api/v1/reporting/evaluation/"
RESULTS = "service-results"
GROUPS = ("provide-online-tree", "formality-online-payment-tree")
GROUP_CODES = ("CKMB", "TDGQ", "CLGQ", "TTTT", "MDHL", "MDSH")


def item(kind: EvidenceKind, *, url: str, status: int | None = None,
         outcome: Outcome = Outcome.OK,
         reason: str = "", office_code: str = "", data: dict[str, Any] | None = None,
         raw: bytes | None = None) -> dict[str, Any]:
    """An evidence row in the store's shape, without a response's hash unless `raw` is given."""
    row: dict[str, Any] = {
        "kind": str(kind), "url": url, "method": "POST", "observed_at": utcnow(),
        "status": status, "sha256": sha256(raw) if raw is not None else "",
        "outcome": str(outcome), "reason": str(reason),
        "procedure_code": "", "office_code": office_code, "data": data or {},
    }
    if raw is not None:
        row["raw"] = raw
    return row


def _num(value: Any) -> float | None:
    try:
        return None if value is None or isinstance(value, bool) else float(value)
    except (TypeError, ValueError):
        return None


def department(row: dict[str, Any]) -> dict[str, Any]:
    given = row.get("groupScores")
    scores: dict[str, Any] = given if isinstance(given, dict) else {}
    return {
        "department_id": parsers.nfc(row.get("departmentId")),
        "department_code": parsers.nfc(row.get("departmentCode")),
        "department_name": parsers.nfc(row.get("departmentName")),
        "total_score": _num(row.get("totalScore")),
        "group_scores": {g: _num(scores.get(g)) for g in GROUP_CODES if g in scores},
    }


def group_record(data: Any) -> dict[str, Any]:
    """The root department of a group answer: tree groups have `parent`, metric groups
    `overview` (shapes seen in public scrapers of the portal)."""
    if not isinstance(data, dict):
        raise parsers.ApiError("malformed: no data")
    record = data.get("parent") or data.get("overview")
    if not isinstance(record, dict):
        raise parsers.ApiError("malformed: no parent or overview")
    score = record.get("totalScore", record.get("score"))
    top = record.get("totalMaxScore", record.get("maxScore"))
    return {"score": _num(score), "max_score": _num(top), "ratio": _num(record.get("ratio")),
            "department_code": parsers.nfc(record.get("departmentCode"))}


class Index766Spider(scrapy.Spider):
    name = "index766"

    def __init__(self, base_url: str = "", period: dict[str, Any] | None = None,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.base_url = base_url.rstrip("/")
        self.period = period or {"timeType": "year", "year": datetime.now(UTC).year}

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> Index766Spider:
        kwargs.setdefault("base_url", crawler.settings.get("DVC_BASE_URL"))
        kwargs.setdefault("period", crawler.settings.getdict("DVC_766_PERIOD") or None)
        return super().from_crawler(crawler, *args, **kwargs)

    async def start(self) -> AsyncIterator[scrapy.Request]:
        if self.crawler.settings.getbool("DVC_AWAIT_NATIONAL"):  # started beside that crawl
            waited = await phases.wait_for(phases.NATIONAL_DONE)
            self.crawler.stats.set_value("index766/national_waited", round(waited, 1))
        yield self.api(RESULTS, {**self.period, "departmentType": "ADMINISTRATIVE_UNIT"},
                       self.parse_results)

    def api(self, endpoint: str, body: dict[str, Any], callback: Any, **meta: Any
            ) -> JsonRequest:
        return JsonRequest(
            self.base_url + PREFIX + endpoint, data=body, method="POST",
            headers={"Origin": self.base_url,
                     "Referer": self.base_url + "/danh-gia-chat-luong-phuc-vu"},
            callback=callback, errback=self.failed, dont_filter=True,
            meta={"endpoint": endpoint, **meta})

    def parse_results(self, response: Response) -> Iterator[Any]:
        try:
            data = parsers.parse_envelope(response.body)
            rows = data.get("evaluation") if isinstance(data, dict) else None
            if not isinstance(rows, list):
                raise parsers.ApiError("malformed: no evaluation list")
        except parsers.ApiError as exc:
            yield self.failure(response.url, str(exc).split(":", 1)[0], response.status,
                               RESULTS)
            return
        deps = [department(r) for r in rows if isinstance(r, dict)]
        yield item(EvidenceKind.INDEX766_RESULTS, url=response.url, status=response.status,
                   raw=response.body, data={"period": self.period, "rows": deps})
        for dep in deps:
            if not dep["department_id"]:
                continue
            for group in GROUPS:
                yield self.api(group, {**self.period, "departmentType": "ADMINISTRATIVE_UNIT",
                                       "rootDepartmentId": dep["department_id"]},
                               self.parse_group, department=dep)

    def parse_group(self, response: Response) -> Iterator[Any]:
        dep, group = response.meta["department"], response.meta["endpoint"]
        try:
            record = group_record(parsers.parse_envelope(response.body))
        except parsers.ApiError as exc:
            yield self.failure(response.url, str(exc).split(":", 1)[0], response.status, group,
                               dep["department_code"])
            return
        yield item(EvidenceKind.INDEX766_GROUP, url=response.url, status=response.status,
                   raw=response.body, office_code=dep["department_code"],
                   data={**record, "group": group, "department_id": dep["department_id"],
                         "department_code": record["department_code"]
                         or dep["department_code"]})

    def failed(self, failure: Failure) -> Iterator[dict[str, Any]]:
        reason, status = failure_reason(failure)
        request = failed_request(failure)
        meta = request.meta
        code = (meta.get("department") or {}).get("department_code", "")
        yield self.failure(request.url, reason, status, meta.get("endpoint", ""), code)

    def failure(self, url: str, reason: str, status: int | None, endpoint: str,
                office_code: str = "") -> dict[str, Any]:
        self.logger.warning("could not fetch 766 %s %s: %s", endpoint, office_code, reason)
        return item(EvidenceKind.INDEX766_FETCH, url=url, status=status,
                    outcome=Outcome.FAILED, reason=reason, office_code=office_code,
                    data={"endpoint": endpoint})
