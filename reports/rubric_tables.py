"""The rubric texts a gap needs, stored beside the verdicts for Datasette's `province_gaps` view.

SQL cannot read the rubric's YAML, so each report writes the texts of the rubric it renders
with (`rubric_services`, `rubric_criteria`, migration 007) under that rubric's version. They
are rubric data, not findings: rewriting them for the same version changes no verdict.
"""

from __future__ import annotations

from core import store
from core.rubric import Rubric
from core.sqlite import sqlite_utils


def save_rubric_texts(db: sqlite_utils.Database, rubric: Rubric) -> bool:
    """Store `rubric`'s service and criterion texts; False (nothing written) on a read-only
    database or one from before migration 007."""
    if store.is_read_only(db) or "rubric_services" not in db.table_names():
        return False
    version = rubric.version
    services = [{"rubric_version": version, "service_id": s.id, "annex_no": s.annex_no,
                 "name_vi": s.name_vi, "name_en": s.name_en,
                 "ministries": "; ".join(s.ministries), "annex_deadline": s.annex_deadline}
                for s in rubric.services]
    criteria = [{"rubric_version": version, "criterion_id": c.id, "title_vi": c.title_vi,
                 "title_en": c.title_en, "weight": c.weight, "legal_basis": c.legal_basis,
                 "remediation_vi": c.remediation_vi, "remediation_en": c.remediation_en}
                for c in rubric.criteria]
    with db.conn:
        db.table("rubric_services").upsert_all(services, pk=("rubric_version", "service_id"))
        db.table("rubric_criteria").upsert_all(criteria, pk=("rubric_version", "criterion_id"))
    return True
