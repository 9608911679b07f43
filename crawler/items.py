"""Evidence items: what was observed, where, when, and the hash of the raw response."""

from __future__ import annotations

from typing import Any

from scrapy.http import Response

from core.store import sha256, utcnow
from core.vocab import EVIDENCE_KINDS, EvidenceKind, Outcome


def evidence(kind: EvidenceKind, *, url: str, method: str = "POST", status: int | None = None,
             digest: str = "", outcome: Outcome = Outcome.OK, reason: str = "",
             procedure_code: str = "", office_code: str = "",
             data: dict[str, Any] | None = None, raw: bytes | None = None) -> dict[str, Any]:
    """One observation. Kind, outcome and reason are the vocabulary's (core/vocab.py), stored
    as their plain strings."""
    if kind not in EVIDENCE_KINDS:
        raise ValueError(f"unknown evidence kind {kind!r}")
    item: dict[str, Any] = {
        "kind": str(kind), "url": url, "method": method, "observed_at": utcnow(),
        "status": status, "sha256": digest, "outcome": str(Outcome(outcome)),
        "reason": str(reason),
        "procedure_code": procedure_code, "office_code": office_code, "data": data or {},
    }
    if raw is not None:
        item["raw"] = raw
        item["sha256"] = sha256(raw)
    return item


def from_response(kind: EvidenceKind, response: Response, *, first: bool = False,
                  **fields: Any) -> dict[str, Any]:
    """Evidence observed in `response`; `first` attaches the raw body (stored once)."""
    return evidence(
        kind, url=response.url, status=response.status,
        method=response.request.method if response.request is not None else "GET",
        digest=_digest(response.body), raw=response.body if first else None, **fields,
    )


_last_digest: tuple[bytes, str] = (b"", sha256(b""))


def _digest(body: bytes) -> str:
    """sha256 of `body`, hashed once for all the items of one answer (an office list page
    yields 200 rows: hashing its body for each cost seconds at real scale)."""
    global _last_digest
    if _last_digest[0] is not body:
        _last_digest = (body, sha256(body))
    return _last_digest[1]


def page_evidence(kind: EvidenceKind, *, url: str, status: int | None, raw_sha256: str,
                  dom: bytes, excerpt: str = "", screenshot: str = "",
                  outcome: Outcome = Outcome.OK,
                  reason: str = "", procedure_code: str = "",
                  data: dict[str, Any] | None = None) -> dict[str, Any]:
    """An observation of a web page. `sha256` is the raw HTML the server sent; `html_sha256` the
    DOM the facts were read from (a browser's rendering; for plain pages the same bytes), which
    is the body stored in `responses`; `excerpt` the relevant DOM fragment; `screenshot` a path
    relative to the run's output directory (browser pages only)."""
    item = evidence(kind, url=url, method="GET", status=status, digest=raw_sha256,
                    outcome=outcome, reason=reason, procedure_code=procedure_code, data=data)
    item["raw"] = dom  # stored once, by its own hash (= html_sha256)
    item["html_sha256"] = sha256(dom)
    item["excerpt"] = excerpt
    item["screenshot"] = screenshot
    return item
