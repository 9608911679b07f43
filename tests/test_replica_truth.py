"""Ground truth (replica/truth.py): hand-checked cells of the small scenario, plus rules."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from core.rubric import load_rubric
from replica.scenario import load_scenario, parse_scenario
from replica.truth import expected_verdicts
from reports.i18n import load_strings

ROOT = Path(__file__).resolve().parents[1]
MET, NOT_MET, NA, CANNOT = "met", "not_met", "not_applicable", "cannot_test"


@pytest.fixture(scope="module")
def rubric():
    return load_rubric()


@pytest.fixture(scope="module")
def truth(rubric):
    return expected_verdicts(load_scenario(ROOT / "replica/scenarios/small.yaml"), rubric)


def test_every_cell_is_covered(rubric, truth):
    assert len(truth) == len(rubric.units) * len(rubric.services) * len(rubric.criteria)
    assert {v for v, _ in truth.values()} == {MET, NOT_MET, NA, CANNOT}


# Each row was worked out by hand from small.yaml and the verdict semantics table.
HAND_CHECKED = [
    # birth registration: 1.001193 listed, 2.000986 blocked (so no not_met is possible)
    (("01", "birth_registration", "offered_online"), (MET, "")),
    (("01", "birth_registration", "level4_full"), (MET, "")),          # 3 FULL wards win
    (("01", "birth_registration", "national_handoff"), (MET, "")),
    (("79", "birth_registration", "level3_partial"), (MET, "")),
    (("79", "birth_registration", "level4_full"), (NOT_MET, "portal_partial_only")),  # portal
    (("46", "birth_registration", "offered_online"), (MET, "")),       # NONE row, ONLINE method
    (("46", "birth_registration", "level3_partial"), (NOT_MET, "portal_info_only")),
    (("46", "birth_registration", "national_handoff"), (CANNOT, "blocked")),  # url ""
    (("12", "birth_registration", "offered_online"), (CANNOT, "blocked")),  # no row at all
    (("96", "birth_registration", "level4_full"), (CANNOT, "blocked")),
    (("12", "birth_registration", "online_payment"), (CANNOT, "refused")),  # portal down
    (("01", "birth_registration", "online_payment"), (CANNOT, "blocked")),  # fees unknown
    (("01", "birth_registration", "national_sso"), (MET, "")),
    (("04", "birth_registration", "national_sso"), (CANNOT, "no_portal_evidence")),
    # marriage registration: 1.000894 only, no fault
    (("01", "marriage_registration", "offered_online"), (NOT_MET, "not_listed")),  # Hà Nội: no row
    (("79", "marriage_registration", "level4_full"), (MET, "")),
    (("79", "marriage_registration", "online_payment"), (NA, "no_fee")),
    (("12", "marriage_registration", "offered_online"), (MET, "")),     # NONE row
    (("12", "marriage_registration", "level3_partial"), (CANNOT, "refused")),  # portal down
    (("12", "marriage_registration", "national_sso"), (CANNOT, "refused")),
    (("01", "marriage_registration", "level3_partial"), (NOT_MET, "portal_absent")),
    (("96", "marriage_registration", "offered_online"), (NOT_MET, "not_listed")),
    # building permit: 1.013236 has an online fee of 150,000
    (("01", "building_permit", "level4_full"), (MET, "")),
    (("01", "building_permit", "online_payment"), (MET, "")),  # fee 150,000, payment step
    (("79", "building_permit", "online_payment"), (MET, "")),
    (("46", "building_permit", "online_payment"), (NOT_MET, "no_payment_step")),
    (("79", "building_permit", "level4_full"), (MET, "")),  # not listed nationally
    (("12", "building_permit", "level3_partial"), (MET, "")),
    (("12", "building_permit", "level4_full"), (CANNOT, "refused")),  # PARTIAL; portal down
    (("12", "building_permit", "national_handoff"), (NOT_MET, "no_handoff")),    # citizen_url ""
    # land title: Huế ward-only FULL; HCM NONE at both levels
    (("46", "land_title", "level4_full"), (MET, "")),
    (("79", "land_title", "offered_online"), (MET, "")),
    (("79", "land_title", "level3_partial"), (NOT_MET, "portal_info_only")),
    # hand-offs: empty URL / testing rows do not count
    (("01", "school_enrolment", "level4_full"), (MET, "")),
    (("01", "school_enrolment", "national_handoff"), (NOT_MET, "no_handoff")),
    (("01", "social_protection", "level3_partial"), (NOT_MET, "portal_info_only")),
    (("01", "social_protection", "level4_full"), (NOT_MET, "portal_info_only")),
    (("01", "social_protection", "national_handoff"), (NOT_MET, "no_handoff")),  # testing
    (("79", "business_registration", "national_handoff"), (MET, "")),  # 1.001612 ward row
    (("79", "business_registration", "level4_full"), (MET, "")),
    (("01", "civil_service_recruitment", "offered_online"), (MET, "")),
    (("01", "civil_service_recruitment", "level3_partial"), (MET, "")),  # portal: partial
    (("01", "civil_service_recruitment", "online_payment"), (NOT_MET, "no_payment_step")),
    (("01", "business_registration", "level4_full"), (NOT_MET, "portal_partial_only")),
    (("01", "death_registration", "level4_full"), (MET, "")),  # national PARTIAL, portal full
    (("01", "land_title", "level4_full"), (MET, "")),  # not listed nationally
    # fees as the real details write them (small.yaml): the portal's payment step decides a
    # fee the national detail leaves unknown; unknown without one is never no_fee
    (("01", "school_enrolment", "online_payment"), (MET, "")),       # null, no text; pays
    (("04", "school_enrolment", "online_payment"), (CANNOT, "fee_unknown")),  # no portal
    (("46", "school_enrolment", "online_payment"), (CANNOT, "fee_unknown")),  # no step
    (("79", "marriage_registration", "online_payment"), (NA, "no_fee")),  # "Miễn lệ phí."
    (("01", "death_registration", "online_payment"), (NOT_MET, "no_payment_step")),  # HĐND
    (("04", "death_registration", "online_payment"), (CANNOT, "no_portal_evidence")),
    (("01", "business_registration", "online_payment"), (NOT_MET, "no_payment_step")),
    (("01", "land_title", "online_payment"), (NOT_MET, "no_payment_step")),  # null, 150.000 đồng
    (("01", "social_protection", "online_payment"), (CANNOT, "fee_unknown")),
    (("79", "birth_registration", "national_sso"), (MET, "")),
    (("79", "business_registration", "national_sso"), (NOT_MET, "no_national_sso")),
    (("46", "land_title", "national_sso"), (NOT_MET, "no_national_sso")),
    (("46", "birth_registration", "national_sso"), (NOT_MET, "no_national_sso")),  # login
    (("24", "birth_registration", "level4_full"), (MET, "")),  # found via the portal list
    (("24", "marriage_registration", "level4_full"), (NOT_MET, "portal_partial_only")),
    (("24", "land_title", "national_sso"), (MET, "")),
    (("48", "marriage_registration", "level3_partial"), (CANNOT, "blocked")),  # portal 403
    # agencies
    (("G01", "temporary_residence", "level4_full"), (MET, "")),
    (("G01", "temporary_residence", "online_payment"), (CANNOT, "no_portal_evidence")),
    (("G01", "change_of_address", "national_handoff"), (NOT_MET, "no_handoff")),
    (("G01", "personal_id", "national_handoff"), (NOT_MET, "no_handoff")),
    (("G01", "vehicle_registration", "offered_online"), (MET, "")),
    (("G01", "vehicle_registration", "level3_partial"), (NOT_MET, "below_coverage")),
    (("G01", "foreigner_visa_extension", "level3_partial"), (MET, "")),
    # no answer names G08 (no procedure promulgated under it, no row): its code is unproven
    (("G08", "foreigner_visa_extension", "offered_online"), (CANNOT, "unit_code_unverified")),
    (("G10", "environmental_permit", "level4_full"), (MET, "")),
    (("G09", "civil_service_recruitment", "offered_online"), (NOT_MET, "not_listed")),
    (("EVN", "utility_bill_payment", "offered_online"), (MET, "")),  # its tax-code office
    (("EVN", "utility_bill_payment", "online_payment"), (CANNOT, "fee_unknown")),  # 0, no text
    # not applicable
    (("EVN", "utility_bill_payment", "level3_partial"), (NA, "criterion_not_applicable")),
    (("01", "online_fee_payment", "offered_online"), (NA, "criterion_not_applicable")),
    # a capability without procedures: paying online is the service itself
    (("04", "online_fee_payment", "online_payment"), (CANNOT, "no_portal_evidence")),
    (("01", "online_fee_payment", "online_payment"), (MET, "")),  # building permit's step
    (("46", "online_fee_payment", "online_payment"), (NOT_MET, "no_payment_step")),
    (("12", "online_fee_payment", "online_payment"), (CANNOT, "refused")),
    (("G01", "birth_registration", "offered_online"), (NA, "not_delivered_by_unit")),
    (("01", "temporary_residence", "level4_full"), (NA, "not_delivered_by_unit")),
    (("G15", "birth_registration", "level4_full"), (NA, "not_delivered_by_unit")),
    (("46", "environmental_permit", "offered_online"), (NOT_MET, "not_listed")),
]


@pytest.mark.parametrize(("key", "expected"), HAND_CHECKED, ids=lambda x: "/".join(x)
                         if isinstance(x, tuple) and len(x) == 3 else None)
def test_hand_checked_cell(truth, key, expected):
    assert truth[key] == expected


def _mini(offers: dict, faults=(), fees=None, methods=("ONLINE", "DIRECT")):
    procs = []
    for code in ("1.001193", "2.000986"):
        p = {"code": code, "name": code, "department": "Bộ Tư pháp", "agency_code": "G15",
             "service": "birth_registration", "levels": ["ward"], "methods": list(methods)}
        if fees and code in fees:
            p["fees"] = fees[code]
        procs.append(p)
    doc = {"name": "mini", "seed": 1, "procedures": procs, "offers": offers,
           "faults": list(faults)}
    return parse_scenario(yaml.safe_load(yaml.safe_dump(doc)), "mini.yaml")


def test_positive_observation_wins_over_a_failure(rubric):
    s = _mini({"01": [{"procedure": "1.001193", "office": "ward", "level": "PARTIAL"}]},
              faults=[{"kind": "blocked", "procedure": "2.000986"}])
    t = expected_verdicts(s, rubric)
    assert t[("01", "birth_registration", "level3_partial")] == (MET, "")
    assert t[("01", "birth_registration", "level4_full")] == (CANNOT, "blocked")
    assert t[("04", "birth_registration", "offered_online")] == (CANNOT, "blocked")


def test_blocked_procedure_rows_are_not_evidence(rubric):
    s = _mini({"01": [{"procedure": "2.000986", "office": "ward", "level": "FULL"}]},
              faults=[{"kind": "blocked", "procedure": "2.000986"}])
    assert expected_verdicts(s, rubric)[("01", "birth_registration", "level4_full")] == (
        CANNOT, "blocked")


def test_online_fee_and_offline_only(rubric):
    offers = {"01": [{"procedure": "1.001193", "office": "ward", "level": "FULL"}]}
    t = expected_verdicts(_mini(offers, fees={"2.000986": {"ONLINE": [0, 5000]}}), rubric)
    assert t[("01", "birth_registration", "online_payment")] == (CANNOT, "no_portal_evidence")
    assert t[("04", "birth_registration", "online_payment")] == (CANNOT, "no_portal_evidence")
    t = expected_verdicts(_mini(offers, fees={"1.001193": {"DIRECT": [5000]}}), rubric)
    assert t[("01", "birth_registration", "online_payment")] == (CANNOT, "fee_unknown")
    exempt = {"ONLINE": [{"value": 0, "description": "Miễn lệ phí"}]}
    t = expected_verdicts(_mini(offers, fees={"1.001193": exempt, "2.000986": exempt}), rubric)
    assert t[("01", "birth_registration", "online_payment")] == (NA, "no_fee")
    t = expected_verdicts(_mini(offers, methods=("DIRECT",)), rubric)
    assert t[("01", "birth_registration", "offered_online")] == (NOT_MET, "no_online_method")
    assert t[("01", "birth_registration", "level4_full")] == (MET, "")
    assert t[("04", "birth_registration", "offered_online")] == (NOT_MET, "not_listed")


def test_worked_example_in_the_docs(rubric):
    import re

    text = (ROOT / "docs/SCENARIOS.md").read_text(encoding="utf-8")
    example = text[text.index("### Worked example"):]
    block = re.search(r"```yaml\n(.*?)```", example, re.S).group(1)
    t = expected_verdicts(parse_scenario(yaml.safe_load(block), "SCENARIOS.md"), rubric)
    assert t[("01", "birth_registration", "level4_full")] == (MET, "")
    assert t[("04", "birth_registration", "offered_online")] == (CANNOT, "blocked")
    assert t[("01", "birth_registration", "online_payment")] == (CANNOT, "blocked")
    assert t[("G01", "temporary_residence", "level3_partial")] == (NOT_MET, "below_coverage")
    assert t[("G01", "temporary_residence", "national_handoff")] == (NOT_MET, "no_handoff")
    assert t[("G01", "temporary_residence", "online_payment")] == (CANNOT, "no_portal_evidence")
    assert t[("01", "temporary_residence", "offered_online")] == (NA, "not_delivered_by_unit")


@pytest.mark.parametrize("name", ["small", "full", "faults"])
def test_no_not_met_without_a_reason(rubric, name):
    """A reader acting on a "not met" must be told why (issue 16): every not_met has a reason
    with a label, in every shipped scenario."""
    verdicts = expected_verdicts(load_scenario(ROOT / f"replica/scenarios/{name}.yaml"), rubric)
    bare = sorted(k for k, (v, reason) in verdicts.items() if v == NOT_MET and not reason)
    assert not bare, f"{len(bare)} not_met without a reason, e.g. {bare[:3]}"
    labels = load_strings()
    reasons = {reason for v, reason in verdicts.values() if v == NOT_MET}
    assert reasons and all(f"reason.{r}" in labels for r in reasons)
