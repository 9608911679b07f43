"""The fee rule: is a procedure's online fee charged, exempt or unknown? Pure.

The real portal writes most charges in words (`value` 0 or null, the amount or the body that
sets it in `description`), so a fee is read from both, with the words and patterns of
rubrics/fees.yaml (`core.rubric.FeeRule`). Rules: rubrics/README.md "fees.yaml";
docs/ARCHITECTURE.md, online_payment.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from typing import Any

from core.rubric import RUBRIC_DIR, FeeRule, load_rubric

CHARGED, EXEMPT, UNKNOWN = "charged", "exempt", "unknown"
_LEAD = re.compile(r"^[\W_]+")  # leading spaces, dashes, bullets, brackets


@dataclass(frozen=True)
class FeeReading:
    """One fee as read. `amount` is what is charged when known: the text's amount wins over a
    disagreeing value (100 beside "100.000 đồng"), and both are kept."""

    kind: str  # charged | exempt | unknown
    basis: str  # value | text_amount | exemption | conditional_exemption | reference | unread
    amount: int | None = None
    value: float | None = None
    text_amounts: tuple[int, ...] = ()

    @property
    def disagrees(self) -> bool:
        """A positive value the text contradicts with its own amount(s)."""
        return bool(self.value and self.text_amounts and self.value not in self.text_amounts)


def _number(digits: str) -> int:
    return int(re.sub(r"[.,]", "", digits))


def text_amounts(text: str, rule: FeeRule) -> tuple[int, ...]:
    """Every amount in đồng the text states, in order."""
    low = unicodedata.normalize("NFC", text).casefold()
    found: list[tuple[int, int]] = []
    for pattern in rule.amount_patterns:
        found += [(m.start(), _number(m.group(1))) for m in re.finditer(pattern, low)]
    return tuple(n for _, n in sorted(set(found)))


def _exemption(low: str, rule: FeeRule) -> str:
    """"exemption" (the text says no fee), "conditional_exemption" (for some) or ""."""
    head = _LEAD.sub("", low)
    if not any(head.startswith(w) for w in rule.exempt_starts):
        return ""
    clause = re.split(rule.clause_end, head, maxsplit=1)[0]
    return "conditional_exemption" if any(w in clause for w in rule.conditional) else "exemption"


def read_fee(value: Any, description: str, rule: FeeRule) -> FeeReading:
    """One fee row: value > 0 -> charged; else its text decides (module doc)."""
    number = float(value) if isinstance(value, int | float) and not isinstance(value, bool) \
        else None
    text = unicodedata.normalize("NFC", description or "").strip()
    amounts = text_amounts(text, rule)
    positive = tuple(a for a in amounts if a > 0)
    if number and number > 0:
        amount = int(number) if not positive or number in positive else positive[0]
        return FeeReading(CHARGED, "value", amount, number, amounts)
    if positive:
        return FeeReading(CHARGED, "text_amount", positive[0], number, amounts)
    low = text.casefold()
    exemption = _exemption(low, rule)
    if exemption == "exemption" or (amounts and not positive):  # "Miễn phí", "0 đồng"
        return FeeReading(EXEMPT, "exemption", 0, number, amounts)
    if exemption:
        return FeeReading(CHARGED, exemption, None, number, amounts)
    if any(w in low for w in rule.references):
        return FeeReading(CHARGED, "reference", None, number, amounts)
    return FeeReading(UNKNOWN, "unread", None, number, amounts)


def combine(kinds: Iterable[str]) -> str:
    """A set of fees: charged if any is; exempt only if every one is (and there is one)."""
    kinds = list(kinds)
    if CHARGED in kinds:
        return CHARGED
    return EXEMPT if kinds and all(k == EXEMPT for k in kinds) else UNKNOWN


def online_rows(detail: dict[str, Any]) -> list[dict[str, Any]] | None:
    """The ONLINE method's fee rows of stored detail facts; None when it has no ONLINE method.
    Evidence stored before `online_fee_rows` existed has only `online_fees` (values): a value
    there has no text, so a 0 reads as unknown."""
    if "online_fee_rows" in detail:
        rows = detail.get("online_fee_rows") or []
        if rows or "ONLINE" in (detail.get("methods") or ()):
            return list(rows)
        return None
    values = detail.get("online_fees") or []
    methods = detail.get("methods")
    has_online = "ONLINE" in methods if methods is not None else bool(detail.get("online"))
    if not values and not has_online:
        return None
    return [{"type": "", "value": v, "description": ""} for v in values]


def procedure_fee(detail: dict[str, Any], rule: FeeRule) -> str | None:
    """charged | exempt | unknown for a procedure's ONLINE fees (no fee row at all: unknown);
    None when it has no ONLINE method."""
    rows = online_rows(detail)
    if rows is None:
        return None
    return combine(read_fee(r.get("value"), r.get("description") or "", rule).kind
                   for r in rows)


@cache
def default_rule() -> FeeRule:
    """The shipped rubric's fee rule, for callers holding no rubric."""
    rule = load_rubric(RUBRIC_DIR).fees
    assert rule is not None
    return rule
