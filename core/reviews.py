"""Stored answers to the UN survey's review indicators (table `review_answers`, migration
008): one row per assessor per indicator, with the page the answer cites and its hash."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from core.sqlite import sqlite_utils
from core.store import utcnow

ANSWER_KEYS = ("indicator_set", "unit_code", "indicator_id", "assessor", "answer", "comment",
               "cited_url", "cited_sha256")


def save_answers(db: sqlite_utils.Database, answers: Iterable[dict[str, Any]],
                 source: str = "") -> int:
    """Store answers; a newer answer of the same assessor to the same question replaces the
    older one (an assessor correcting a worksheet re-imports it)."""
    rows = [{**{k: str(a.get(k) or "") for k in ANSWER_KEYS}, "answered_at": utcnow(),
             "source": source} for a in answers]
    with db.conn:
        for r in rows:
            db.execute("DELETE FROM review_answers WHERE indicator_set = ? AND unit_code = ? "
                       "AND indicator_id = ? AND assessor = ?",
                       [r["indicator_set"], r["unit_code"], r["indicator_id"], r["assessor"]])
        if rows:
            db.table("review_answers").insert_all(rows)
    return len(rows)


def load_answers(db: sqlite_utils.Database, indicator_set: str,
                 unit_code: str | None = None) -> list[dict[str, Any]]:
    where, args = "indicator_set = ?", [indicator_set]
    if unit_code is not None:
        where += " AND unit_code = ?"
        args.append(unit_code)
    return list(db.table("review_answers").rows_where(where, args, order_by="id"))
