"""The generated full scenario: deterministic, small, realistic in its mix of states."""

from __future__ import annotations

import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from core.rubric import load_rubric
from core.vocab import IMPLEMENTATION_RANK as RANK
from replica.catalogue import build_portal
from replica.generate import REAL_TOTAL, generate, render_yaml
from replica.scenario import load_scenario
from replica.truth import expected_verdicts

ROOT = Path(__file__).resolve().parents[1]
FULL = ROOT / "replica/scenarios/full.yaml"


@pytest.fixture(scope="module")
def rubric():
    return load_rubric()


@pytest.fixture(scope="module")
def full():
    return load_scenario(FULL)


@pytest.fixture(scope="module")
def portal(rubric, full):
    """The full scenario's national portal, built once (a second of CPU; the tests only read)."""
    return build_portal(full, rubric)


@pytest.mark.slow  # generates the full scenario twice
def test_generate_is_deterministic(tmp_path):
    outs = []
    for name in ("a.yaml", "b.yaml"):
        out = tmp_path / name
        subprocess.run([sys.executable, "-m", "replica", "generate", "--rubric", "rubrics",
                        "--out", str(out), "--seed", "2026"], cwd=ROOT, check=True,
                       capture_output=True)
        outs.append(out.read_bytes())
    assert outs[0] == outs[1]
    assert outs[0] == FULL.read_bytes(), (
        "replica/scenarios/full.yaml is stale: regenerate with `uv run python -m replica "
        "generate --rubric rubrics --out replica/scenarios/full.yaml --seed 2026`")


def test_other_seed_differs(rubric):
    assert render_yaml(generate(rubric, seed=1)) != render_yaml(generate(rubric, seed=2))


def test_full_is_commit_size_friendly():
    assert FULL.stat().st_size < 1_000_000


def test_full_has_every_rubric_procedure_and_the_real_total(rubric, full, portal):
    assert rubric.all_codes() == full.codes()
    assert len(portal.items) == REAL_TOTAL
    assert max(len(r) for r in portal.rows_by_formality.values()) > 200  # office paging
    assert [f.kind for f in full.faults] == ["blocked", "portal_down", "portal_blocked"]


def test_full_state_mix(rubric, full):
    states = Counter()
    for unit in (u for u in rubric.units if u.kind == "province"):
        for service in (s for s in rubric.services if "province" in s.delivery and s.procedures):
            codes = {p.code for p in service.procedures}
            rows = [o for o in full.offers if o.unit == unit.code and o.procedure in codes]
            best = max((RANK[o.level] for o in rows), default=-1)
            states[{2: "FULL", 1: "PARTIAL", 0: "NONE", -1: "UNLISTED"}[best]] += 1
    n = sum(states.values())
    share = {k: v / n for k, v in states.items()}
    assert 0.40 < share["FULL"] < 0.60
    assert 0.15 < share["PARTIAL"] < 0.35
    assert 0.04 < share["NONE"] < 0.20
    assert 0.08 < share["UNLISTED"] < 0.25
    assert any(not o.citizen_url for o in full.offers)
    assert any(o.testing for o in full.offers)
    provinces = {o.unit for o in full.offers if o.unit.isdigit()}
    assert len(provinces) == 34


def test_full_truth_has_every_verdict(rubric, full):
    truth = expected_verdicts(full, rubric)
    seen = Counter(truth.values())
    for cell in [("met", ""), ("not_met", "no_handoff"), ("cannot_test", "blocked"),
                 ("cannot_test", "no_portal_evidence"), ("not_applicable", "no_fee"),
                 ("not_applicable", "not_delivered_by_unit"),
                 ("not_applicable", "criterion_not_applicable")]:
        assert seen[cell] > 0, cell


def test_filler_names_avoid_service_keywords(rubric, full, portal):
    keywords = {k.casefold() for s in rubric.services for k in s.keywords}
    codes = full.codes()
    for item in portal.items:
        if item["code"] in codes:
            continue
        name = item["name"].casefold()
        assert not [k for k in keywords if k in name], item["name"]


def test_full_portals_mix(rubric, full):
    from collections import Counter

    from replica.server import ReplicaServer

    provinces = {u.code for u in rubric.units if u.kind == "province"}
    assert {p.unit for p in full.portals} == provinces
    families = Counter(p.platform for p in full.portals)
    assert set(families) == {"igate", "eform", "legacy"}
    assert full.portal("79").platform == "igate" and full.portal("12").platform == "eform"
    offers = Counter(s.offer for p in full.portals for s in p.services)
    assert set(offers) == {"info", "partial", "full"} and offers["full"] > offers["info"]
    assert any(s.payment for p in full.portals for s in p.services)
    assert {p.sso for p in full.portals} == {True, False}
    assert set(full.portal_faults().values()) == {"refused", "blocked"}
    silent = ReplicaServer(full, rubric=rubric).unlinked_portals()  # not started: rows only
    assert len(silent) >= 2  # provinces that hand off nothing nationally
