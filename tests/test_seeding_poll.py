"""The provincial crawl's poll of the national crawl's progress (issue 17): each poll reads only
the rows stored since the last one, and tells what reading them all would tell."""

from __future__ import annotations

from pathlib import Path

from core import store
from core.rubric import load_rubric
from crawler.platforms.seeds import SEEDING_KINDS, Sources, national_seeded


def item(kind: str, code: str = "", **data: object) -> dict:
    return {"kind": kind, "url": "u", "method": "POST", "observed_at": "t", "status": 200,
            "sha256": "", "outcome": "ok", "reason": "", "procedure_code": code, "data": data}


def test_seeded_reads_only_new_rows_and_equals_reading_them_all(tmp_path: Path) -> None:
    db = store.open_db(tmp_path / "audit.db")
    run = store.start_run(db, target="x", rubric_version="v", engine_version="e", scenario="")
    sources = Sources(str(tmp_path / "audit.db"), run, "http://127.0.0.1:9", load_rubric(), [],
                      False)
    read: list[tuple[int, tuple[str, ...]]] = []
    rows_after = sources.rows_after
    sources.rows_after = lambda last, *kinds: read.append((last, kinds)) or rows_after(last, *kinds)
    batches = [
        [item("procedure", "1.1"), item("office_row", "1.1"), item("procedure", "1.2")],
        [item("office_list", "1.1", complete=True), item("catalogue", page=1, partial=True)],
        [item("catalogue", complete=True), item("office_row", "1.2")],
        [],
        [item("office_list", "1.2", complete=True)],
    ]
    seen = []
    for batch in batches:
        for it in batch:
            store.add_evidence(db, run, it)
        seen.append(sources.seeded())
        assert seen[-1] == national_seeded(store.load_evidence(db, run, SEEDING_KINDS))
    assert seen == [False, False, False, False, True]
    # each poll asks from the last seeding row it read: 0, then ids 3, 5, 6 (an office row
    # after it is not one of them), 6 again (nothing new)
    assert [last for last, _ in read] == [0, 3, 5, 6, 6]
    assert all(kinds == SEEDING_KINDS for _, kinds in read)
