"""Real ward counts (replica/data/wards.yaml) and the real-scale scenario (replica/wards.py).

The audit test runs a crawl of thousands of office rows: run it under the heavy-work lock
(`flock /tmp/dvc-heavy.lock uv run --frozen pytest -q tests/test_real_scale.py`)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
import yaml

from app.jobs import run_audit
from core import store
from core.rubric import load_rubric
from replica.scenario import ScenarioError, load_scenario
from replica.server import ReplicaServer
from replica.truth import expected_findings, expected_verdicts
from replica.wards import (
    REAL_TOTAL,
    WARDS_FILE,
    load_ward_counts,
    real_scale_document,
    real_scale_scenario,
    render_real_scale,
    scale_ward_offers,
)

PROJECT = Path(__file__).resolve().parents[1]
REAL_SCALE = PROJECT / "replica" / "scenarios" / "real_scale.yaml"
FULL = PROJECT / "replica" / "scenarios" / "full.yaml"


@pytest.fixture(scope="module")
def rubric():
    return load_rubric()


def provinces(rubric) -> list[str]:
    return [u.code for u in rubric.units if u.kind == "province"]


def test_every_province_has_its_real_ward_count(rubric):
    counts = load_ward_counts(provinces=provinces(rubric))
    assert sum(counts.values()) == REAL_TOTAL == 3321
    assert (counts["01"], counts["79"], counts["12"]) == (126, 168, 38)  # Hà Nội, HCM, Lai Châu
    assert max(counts, key=counts.get) == "79" and min(counts, key=counts.get) == "12"


@pytest.mark.parametrize(("edit", "field"), [
    (lambda d: d["provinces"].pop("46"), "provinces"),
    (lambda d: d["provinces"].update({"01": 0}), "provinces.01"),
    (lambda d: d.update(total=3000), "total"),
    (lambda d: d["provinces"].update({"1": 5}), "provinces.1"),
])
def test_a_bad_ward_file_names_file_and_field(tmp_path, rubric, edit, field):
    doc = yaml.safe_load(WARDS_FILE.read_text(encoding="utf-8"))
    edit(doc)
    if field == "provinces":  # a province missing: the total must still add up to be caught
        doc["total"] = sum(doc["provinces"].values())
    bad = tmp_path / "wards.yaml"
    bad.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    with pytest.raises(ScenarioError) as exc:
        load_ward_counts(bad, provinces=provinces(rubric))
    assert str(exc.value).startswith(str(bad)) and f"field '{field}'" in str(exc.value)


def test_scaling_keeps_every_declared_state_and_reaches_the_real_counts():
    offers = {"01": [{"procedure": "1.1", "office": "ward", "level": "FULL", "count": 9},
                     {"procedure": "1.1", "office": "ward", "level": "NONE", "count": 1},
                     {"procedure": "1.1", "office": "province", "level": "FULL"},
                     {"procedure": "1.2", "office": "ward", "level": "PARTIAL"}],
              "G01": [{"procedure": "1.3", "office": "agency", "level": "FULL"}]}
    scaled = scale_ward_offers(offers, {"01": 126}, factor=1)
    rows = scaled["01"]
    assert [r["level"] for r in rows] == ["FULL", "NONE", "FULL", "PARTIAL"]
    assert rows[0]["count"] + rows[1]["count"] == 126 and rows[1]["count"] >= 1
    assert rows[0]["count"] > rows[1]["count"]  # in proportion
    assert rows[3]["count"] == 126 and "count" not in rows[2]
    assert scaled["G01"] == offers["G01"]
    assert offers["01"][0]["count"] == 9  # the input is left alone
    tripled = scale_ward_offers(offers, {"01": 126}, factor=3)["01"]
    assert tripled[0]["count"] + tripled[1]["count"] == 378


def test_real_scale_scenario_is_generated_and_fresh(rubric):
    assert REAL_SCALE.read_text(encoding="utf-8") == render_real_scale(rubric), (
        "replica/scenarios/real_scale.yaml is stale: regenerate with `uv run python -m replica "
        "generate --real-scale --out replica/scenarios/real_scale.yaml`")


@pytest.mark.slow  # 20,469 office rows
def test_real_scale_has_the_real_wards_and_catalogue(rubric):
    scenario = load_scenario(REAL_SCALE)
    counts = load_ward_counts()
    wards = Counter()
    for o in scenario.offers:
        if o.office == "ward" and not o.office_code:  # an explicit code (BCA_CAX) is one office
            wards[(o.unit, o.procedure)] += o.count
    assert wards and all(n == counts[unit] for (unit, _), n in wards.items())
    with ReplicaServer(scenario, rubric=rubric) as srv:
        assert len(srv.portal.items) == 5670
        per_procedure = [len(v) for v in srv.portal.rows_by_formality.values()]
        assert sum(per_procedure) > 20_000 and max(per_procedure) > 2_000  # 10+ pages


@pytest.mark.slow  # 20,469 office rows
def test_real_scale_truth_is_the_full_scenarios(rubric):
    """Scaling changes how many offices list a procedure, never which states exist. The level
    criteria are judged by the share of a province's offices (coverage_threshold), and more
    wards beside the same department rows move that share: those cells may differ (the slow
    test holds the audit at real scale to its own truth)."""
    full, real = load_scenario(FULL), load_scenario(REAL_SCALE)
    levels = ("level3_partial", "level4_full")
    real_truth, full_truth = expected_verdicts(real, rubric), expected_verdicts(full, rubric)
    assert real_truth.keys() == full_truth.keys()
    assert {k: v for k, v in real_truth.items() if k[2] not in levels} == \
        {k: v for k, v in full_truth.items() if k[2] not in levels}
    assert expected_findings(real, rubric) == expected_findings(full, rubric)


def test_a_scale_factor_multiplies_the_rows(rubric):
    doc = real_scale_document(rubric, factor=3)
    base = real_scale_document(rubric)
    total = sum(r.get("count", 1) for rows in doc["offers"].values() for r in rows
                if r["office"] == "ward")
    base_total = sum(r.get("count", 1) for rows in base["offers"].values() for r in rows
                     if r["office"] == "ward")
    assert total == pytest.approx(3 * base_total, rel=0.01)


@pytest.mark.slow
def test_the_audit_at_real_scale_equals_the_truth(tmp_path, rubric):
    """The whole real-scale scenario: every province's real wards (about 20,000 office rows,
    paged 200 at a time), all portals, audited end to end."""
    scenario = real_scale_scenario(rubric)
    with ReplicaServer(scenario, rubric=rubric) as srv:
        result = run_audit(srv.base_url, tmp_path, scenario="real_scale", echo=lambda _: None,
                           quiet=True, portal_list=srv.portal_list())
        # every row but those of the blocked procedure (its office list answers the block)
        rows = sum(len(v) for fid, v in srv.portal.rows_by_formality.items()
                   if fid not in srv.portal.faulted_ids)
        assert rows > 19_000
    assert result.status == "complete"
    db = store.open_db(result.db_path)
    stored = sum(1 for e in store.load_evidence(db, result.run_id) if e["kind"] == "office_row")
    assert stored == rows  # every office row of every page
    got = {(v["unit_code"], v["service_id"], v["criterion_id"]): (v["verdict"], v["reason"])
           for v in store.load_verdicts(db, result.run_id)}
    truth = expected_verdicts(scenario, rubric)
    wrong = {k: (got.get(k), v) for k, v in truth.items() if got.get(k) != v}
    assert not wrong, f"{len(wrong)} verdicts differ, e.g. {list(wrong.items())[:5]}"


def test_seeds_are_read_a_batch_at_a_time(tmp_path, rubric):
    """The provincial crawl looks for new office rows twice a second while the national crawl
    stores them: each look reads only the rows stored since the last, and ends with the seeds
    a reading of every row at once gives."""
    from crawler.platforms.seeds import Sources, portal_seeds

    db_path = tmp_path / "audit.db"
    db = store.open_db(db_path)
    run = store.start_run(db, target="x", rubric_version="v", engine_version="e", scenario="")

    def row(url: str, office: str) -> dict:
        return {"kind": "office_row", "url": "u", "method": "POST", "observed_at": "t",
                "status": 201, "sha256": "", "outcome": "ok", "reason": "",
                "procedure_code": "1.001193", "office_code": office,
                "data": {"citizen_url": url, "office_code": office}}

    first = [row(f"http://127.0.1.79:5/apply?ma={i}", f"000.{i:02d}.30.H29") for i in range(7)]
    second = [row("http://127.0.1.1:5/apply?ma=1", "000.00.12.H26"),
              row("http://127.0.1.200:5/shared", "000.00.12.H26"),  # shared: dropped later
              row("http://127.0.1.200:5/shared", "000.00.12.H29")]
    sources = Sources(str(db_path), run, "http://127.0.0.1:9", rubric,
                      [{"unit": "24", "url": "http://127.0.1.24:7/"}], False)
    for r in first:
        store.add_evidence(db, run, r)
    early = sources.seed_list()
    assert [s.base for s in early] == ["http://127.0.1.24:7", "http://127.0.1.79:5"]
    assert len(early[1].entry_urls) == 5
    read: list[int] = []
    rows_after = sources.rows_after
    sources.rows_after = lambda last, kind: read.append(last) or rows_after(last, kind)
    for r in second:
        store.add_evidence(db, run, r)
    late = sources.seed_list()
    assert read == [7]  # only the rows after the last one read
    everything = portal_seeds(store.load_evidence(db, run), rubric, "http://127.0.0.1:9",
                              sources.portal_list)
    assert [(s.base, s.units, s.sources, s.entry_urls) for s in late] == \
        [(s.base, s.units, s.sources, s.entry_urls) for s in everything]
    assert sources.seed_list() is late  # nothing new: the same list
    assert early[1].units == {"79"}  # a list handed out is not changed by later rows
