"""The per-office list of one procedure (`list-department-url-by-citizen`), asked the way the
real portal is known to answer, and checked before anything from it counts (docs/ARCHITECTURE.md
"Office lists").

Pure state, no Scrapy: the national spider feeds it pages and asks it what to do next.

- One ask per target type the procedure has (the catalogue row's `formalityTargetType[]`,
  mapped by `request_targets`); rows returned for two target types are one row (merged by id).
- Every returned row must carry the `formalityId` asked: a row of another procedure means the
  server ignored the filter, and the whole answer is a failure (`api_filter_ignored`), never
  evidence.
- A page that fails (malformed, 5xx, timeout after the retries, too large) is asked again with
  a smaller page size (200 -> 100 -> 50); only then is the list given up with the reason.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from core.vocab import Reason

PAGE_SIZES = (200, 100, 50)
# Failures a smaller page may cure: a server that chokes on big answers. Blocks, challenges and
# 4xx are about the request or the client, not the page size: asking again only hammers.
STEP_DOWN_REASONS = frozenset({Reason.MALFORMED, Reason.HTTP_5XX, Reason.TIMEOUT, Reason.TOO_LARGE})
FILTER_IGNORED = Reason.API_FILTER_IGNORED
NO_TARGET = ""  # ask without formalityTargetType (a procedure whose targets we cannot map)

# Catalogue target names (`formalityTargetType[]`, Vietnamese display names) -> the request's
# enum. The real API is known to take VIETNAMESE_CITIZEN and ENTERPRISE (the public scraper
# pages with those two); FOREIGNER is the replica's third type, unverified on the real host (a
# 4xx there is a failure, never "not listed"). Longest prefix first; unknown names ask nothing.
TARGET_PREFIXES = (
    ("Người Việt Nam định cư", "VIETNAMESE_CITIZEN"),
    ("Người nước ngoài", "FOREIGNER"),
    ("Công dân Việt Nam", "VIETNAMESE_CITIZEN"),
    ("Cán bộ, công chức", "VIETNAMESE_CITIZEN"),
    ("Đảng viên", "VIETNAMESE_CITIZEN"),
    ("Doanh nghiệp", "ENTERPRISE"),
    ("Hợp tác xã", "ENTERPRISE"),
    ("Tổ chức", "ENTERPRISE"),
)
REQUEST_ORDER = ("VIETNAMESE_CITIZEN", "ENTERPRISE", "FOREIGNER")


def request_targets(names: tuple[str, ...] | list[str]) -> tuple[str, ...]:
    """The target types to ask for, in a fixed order; (NO_TARGET,) when none is known."""
    found = set()
    for name in names:
        for prefix, target in TARGET_PREFIXES:
            if str(name).strip().startswith(prefix):
                found.add(target)
                break
    return tuple(t for t in REQUEST_ORDER if t in found) or (NO_TARGET,)


def smaller(size: int) -> int | None:
    """The next page size to try after a page of `size` failed (None: none left)."""
    later = [s for s in PAGE_SIZES if s < size]
    return later[0] if later else None


def step_down(size: int, reason: str) -> int | None:
    return smaller(size) if reason in STEP_DOWN_REASONS else None


def foreign_rows(rows: list[dict[str, Any]], procedure_id: str) -> tuple[int, int]:
    """(rows of another procedure, rows without a formalityId) among `rows`."""
    other = missing = 0
    for row in rows:
        fid = row.get("formalityId") if isinstance(row, dict) else None
        if fid is None or fid == "":
            missing += 1
        elif str(fid) != procedure_id:
            other += 1
    return other, missing


def check_rows(rows: list[dict[str, Any]], procedure_id: str) -> str:
    """"" when every row is of the procedure asked; else the failure reason."""
    other, missing = foreign_rows(rows, procedure_id)
    if other:
        return FILTER_IGNORED
    if missing:
        return Reason.MALFORMED  # a row we cannot check is not evidence either
    return ""


def row_key(row: dict[str, Any]) -> str:
    """The row's identity across target types: its id (else its office and case)."""
    rid = row.get("id")
    if rid:
        return f"id:{rid}"
    return f"row:{row.get('departmentCode')}|{row.get('formalityCaseCode')}"


@dataclass
class OfficeList:
    """What has been read of one procedure's office list, over its target types."""

    procedure_id: str
    targets: tuple[str, ...]
    held: list[Any] = field(default_factory=list)  # items of kept rows, released at the end
    keys: set[str] = field(default_factory=set)
    done: set[str] = field(default_factory=set)  # target types read to the end
    pages: int = 0
    totals: dict[str, int | None] = field(default_factory=dict)
    stepped: list[dict[str, Any]] = field(default_factory=list)
    failed: str = ""

    def new_rows(self, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The rows of a page not seen before (for any target type); marks them seen."""
        out = []
        for row in rows:
            key = row_key(row)
            if key not in self.keys:
                self.keys.add(key)
                out.append(row)
        return out

    def finish(self, target: str, total: int | None) -> bool:
        """Target `target` read to its last page; True when every target is."""
        self.done.add(target)
        self.totals[target] = total
        return self.complete

    @property
    def complete(self) -> bool:
        return not self.failed and set(self.targets) <= self.done

    def fail(self, reason: str) -> list[Any]:
        """Give the list up: returns the held items that may still be stored (none when the
        filter was ignored: nothing from such an answer is evidence)."""
        self.failed = self.failed or reason
        held, self.held = self.held, []
        return [] if reason == FILTER_IGNORED else held

    def summary(self) -> dict[str, Any]:
        return {"rows": len(self.keys), "complete": self.complete, "procedure_id":
                self.procedure_id, "target_types": [t or None for t in self.targets],
                "totals": {t or "": n for t, n in self.totals.items()}, "pages": self.pages,
                "stepped_down": self.stepped,
                "total": max((n or 0 for n in self.totals.values()), default=0)}
