"""Unit tests for audits/scoring.py with hand-computed values (no real rubric needed)."""

from __future__ import annotations

from dataclasses import replace
from types import SimpleNamespace

import pytest
import yaml

from audits.scoring import (
    DEFAULT_CONFIG,
    DEFAULT_CONFIG_PATH,
    ScoringConfigError,
    VerdictRow,
    as_rows,
    by_agency,
    by_criterion,
    by_service,
    by_unit,
    close_gaps,
    competition_ranks,
    gaps,
    gaps_by_gain,
    group_of,
    load_scoring_config,
    load_weights,
    member_quartile_classes,
    minmax,
    national_figure,
    parse_scoring_config,
    range_class,
    score_run,
    tally,
    unit_scores,
    weights_from_rubric,
    what_if,
)

W = {
    "offered_online": 1.0,
    "level3_partial": 1.0,
    "level4_full": 2.0,
    "online_payment": 4.0,
}
A, B = "svc_a", "svc_b"
CRITERIA = ("offered_online", "level3_partial", "level4_full", "online_payment")


def unit_rows(code: str, kind: str, service: str, verdicts: tuple[str, ...]) -> list[dict]:
    return [
        {
            "unit_code": code,
            "unit_name": f"Unit {code}",
            "unit_kind": kind,
            "service_id": service,
            "criterion_id": crit,
            "verdict": verdict,
            "reason": "no_portal_evidence" if verdict == "cannot_test" else "",
        }
        for crit, verdict in zip(CRITERIA, verdicts, strict=True)
    ]


M, N, NA, CT = "met", "not_met", "not_applicable", "cannot_test"


def fixture_rows() -> list[dict]:
    """Provinces 01..07 and agencies G01..G03; hand-computed shares in the comments.

    Weights: offered 1, level3 1, level4 2, payment 4.
    """
    return [
        *unit_rows("01", "province", A, (M, M, M, CT)),  # 4/4 = 1.0  (every answer yes)
        *unit_rows("01", "province", B, (NA, NA, NA, NA)),
        *unit_rows("02", "province", A, (N, N, N, CT)),  # 0/4 = 0.0  (every answer no)
        *unit_rows("03", "province", A, (M, M, N, NA)),  # 2/4 = 0.5
        *unit_rows("04", "province", A, (M, N, N, CT)),  # 1/4 = 0.25 (not 1/8)
        *unit_rows("05", "province", A, (M, N, M, NA)),  # 3/4 = 0.75
        *unit_rows("06", "province", A, (M, M, N, NA)),  # 2/4 = 0.5  (tie with 03)
        *unit_rows("07", "province", A, (CT, CT, CT, CT)),  # nothing testable -> excluded
        *unit_rows("G01", "agency", A, (M, M, M, N)),  # 4/8 = 0.5
        *unit_rows("G02", "agency", A, (M, N, N, N)),  # 1/8 = 0.125
        *unit_rows("G03", "agency", A, (M, M, N, N)),  # 2/8 = 0.25
    ]


@pytest.fixture
def rows() -> list[dict]:
    return fixture_rows()


# ---------------------------------------------------------------- raw scores and shares


def test_raw_max_share_and_counts(rows):
    units = unit_scores(rows, W)
    shares = {code: u.share for code, u in units.items()}
    assert shares == {
        "01": 1.0,
        "02": 0.0,
        "03": 0.5,
        "04": 0.25,
        "05": 0.75,
        "06": 0.5,
        "07": None,
        "G01": 0.5,
        "G02": 0.125,
        "G03": 0.25,
    }
    u1 = units["01"]
    assert (u1.raw, u1.max_possible) == (4.0, 4.0)
    assert (u1.met, u1.not_met, u1.not_applicable, u1.cannot_test) == (3, 0, 4, 1)
    g1 = units["G01"]
    assert (g1.raw, g1.max_possible, g1.testable) == (4.0, 8.0, 4)
    assert units["02"].raw == 0.0 and units["02"].max_possible == 4.0


def test_cannot_test_is_excluded_not_scored_zero(rows):
    u4 = unit_scores(rows, W)["04"]
    # if cannot_test (online_payment, weight 4) were scored as 0 the share would be 1/8
    assert u4.share == 0.25
    assert u4.max_possible == 4.0
    assert u4.cannot_test == 1


def test_unit_with_nothing_testable_is_excluded_and_reported(rows):
    board = score_run(rows, W)
    provinces = board.kinds["province"]
    assert [u.unit_code for u in provinces.excluded] == ["07"]
    excluded = provinces.excluded[0]
    assert excluded.share is None and excluded.normalised is None and excluded.rank is None
    assert excluded.cannot_test == 4
    assert "07" not in [u.unit_code for u in provinces.ranked]


def test_rows_can_be_dicts_dataclasses_or_objects(rows):
    as_dc = [VerdictRow(**r) for r in rows]
    as_obj = [SimpleNamespace(**r) for r in rows]
    assert unit_scores(as_dc, W) == unit_scores(rows, W) == unit_scores(as_obj, W)


def test_bad_rows_are_rejected(rows):
    with pytest.raises(ValueError, match="verdict"):
        as_rows([{**rows[0], "verdict": "yes"}])
    with pytest.raises(ValueError, match="duplicate"):
        as_rows([rows[0], dict(rows[0])])
    with pytest.raises(ValueError, match="no weight"):
        unit_scores(rows, {k: v for k, v in W.items() if k != "level4_full"})


def test_weights_only_needed_for_scored_rows():
    only_na = unit_rows("01", "province", A, (NA, NA, NA, CT))
    assert tally(only_na, {}).share is None


# ---------------------------------------------------------------- normalisation


def test_minmax_un_formula():
    assert minmax({"a": 0.5, "b": 0.125, "c": 0.25}) == {"a": 1.0, "b": 0.0, "c": 0.333333333}


def test_minmax_all_equal_is_defined():
    assert minmax({"a": 0.5, "b": 0.5}) == {"a": 1.0, "b": 1.0}
    assert minmax({"a": 0.5, "b": 0.5}, all_equal_value=0.0) == {"a": 0.0, "b": 0.0}
    assert minmax({"only": 0.2}) == {"only": 1.0}
    assert minmax({}) == {}


def test_normalised_values_per_kind(rows):
    board = score_run(rows, W)
    prov = {u.unit_code: u.normalised for u in board.kinds["province"].ranked}
    # provinces: min 0.0, max 1.0 -> normalised equals share; ties stay tied
    assert prov == {"01": 1.0, "05": 0.75, "03": 0.5, "06": 0.5, "04": 0.25, "02": 0.0}
    agencies = {u.unit_code: u.normalised for u in board.kinds["agency"].ranked}
    # agencies normalised among themselves: (x - 0.125) / (0.5 - 0.125)
    assert agencies == {"G01": 1.0, "G03": 0.333333333, "G02": 0.0}
    assert (board.kinds["agency"].min_share, board.kinds["agency"].max_share) == (0.125, 0.5)


def test_all_equal_kind(rows):
    one_agency = [r for r in rows if r["unit_code"] in ("01", "G02")]
    board = score_run(one_agency, W)
    g2 = board.unit("G02")
    assert board.kinds["agency"].all_equal
    assert (g2.share, g2.normalised, g2.group, g2.rank) == (0.125, 1.0, "very_high", 1)
    assert g2.share_group == "low"


# ---------------------------------------------------------------- groups, classes, ranks


@pytest.mark.parametrize(
    ("value", "group"),
    [
        (1.0, "very_high"),
        (0.7500001, "very_high"),
        (0.75, "high"),  # "greater than 0.75" is very high, so 0.75 itself is high
        (0.75 + 1e-12, "high"),  # float noise does not cross a boundary
        (0.5, "high"),
        (0.4999999, "middle"),
        (0.25, "middle"),  # "less than 0.25" is low, so 0.25 itself is middle
        (0.2499999, "low"),
        (0.0, "low"),
    ],
)
def test_group_boundaries(value, group):
    assert group_of(value).id == group


def test_group_labels():
    assert [(g.label_en, g.label_vi) for g in DEFAULT_CONFIG.groups] == [
        ("Very high", "Rất cao"),
        ("High", "Cao"),
        ("Middle", "Trung bình"),
        ("Low", "Thấp"),
    ]


@pytest.mark.parametrize(
    ("value", "klass"),
    [
        (1.0, "VH"),
        (0.9375, "VH"),
        (0.9, "V3"),
        (0.8125, "V2"),
        (0.8, "V1"),
        (0.75, "HV"),
        (0.6875, "HV"),
        (0.68, "H3"),
        (0.5, "H1"),
        (0.49, "MH"),
        (0.333333333, "M2"),
        (0.25, "M1"),
        (0.2, "LM"),
        (0.0625, "L2"),
        (0.0, "L1"),
    ],
)
def test_rating_class_range_quartiles(value, klass):
    assert range_class(value) == klass


def test_rating_class_member_quartiles():
    config = replace(DEFAULT_CONFIG, class_method="member_quartiles")
    values = {"a": 1.0, "b": 0.9, "c": 0.8, "d": 0.76, "e": 0.1}
    assert member_quartile_classes(values, config) == {
        "a": "VH",
        "b": "V3",
        "c": "V2",
        "d": "V1",
        "e": "LM",
    }
    tied = {"a": 1.0, "b": 1.0, "c": 0.8, "d": 0.76}
    assert member_quartile_classes(tied, config) == {"a": "VH", "b": "VH", "c": "V2", "d": "V1"}


def test_competition_ranks():
    assert competition_ranks({"a": 3, "b": 2, "c": 2, "d": 1}) == {"a": 1, "b": 2, "c": 2, "d": 4}


def test_board_groups_classes_ranks(rows):
    board = score_run(rows, W)
    got = [(u.unit_code, u.rank, u.group, u.rating_class) for u in board.kinds["province"].ranked]
    assert got == [
        ("01", 1, "very_high", "VH"),
        ("05", 2, "high", "HV"),
        ("03", 3, "high", "H1"),
        ("06", 3, "high", "H1"),
        ("04", 5, "middle", "M1"),
        ("02", 6, "low", "L1"),
    ]
    agencies = [
        (u.unit_code, u.rank, u.group, u.rating_class, u.share_group)
        for u in board.kinds["agency"].ranked
    ]
    assert agencies == [
        ("G01", 1, "very_high", "VH", "high"),
        ("G03", 2, "middle", "M2", "middle"),
        ("G02", 3, "low", "L1", "low"),
    ]


# ---------------------------------------------------------------- national figure


def test_national_figure(rows):
    nat = national_figure(rows, W)
    # provinces 12/24 points, agencies 7/24 points
    assert (nat.overall.raw, nat.overall.max_possible) == (19.0, 48.0)
    assert nat.overall.share == 0.395833333
    o = nat.overall
    assert (o.met, o.not_met, o.not_applicable, o.cannot_test) == (16, 14, 7, 7)
    assert nat.by_kind["province"].share == 0.5
    assert nat.by_kind["agency"].share == 0.291666667
    assert nat.by_service[A].share == 0.395833333
    assert nat.by_service[B].share is None  # only not_applicable rows
    assert nat.by_service[B].not_applicable == 4


# ---------------------------------------------------------------- what-if


def test_what_if_closing_one_gap(rows):
    result = what_if(rows, W, {("03", A, "level4_full")})
    assert result.closed == (("03", A, "level4_full"),)
    c3 = result.change("03")
    assert (c3.points_gained, c3.share_before, c3.share_after) == (2.0, 0.5, 1.0)
    assert (c3.rank_before, c3.rank_after) == (3, 1)
    assert (c3.group_before, c3.group_after) == ("high", "very_high")
    assert result.after.unit("03").rating_class == "VH"
    # others keep their share; ranks below shift
    c5, c6 = result.change("05"), result.change("06")
    assert (c5.share_after, c5.rank_before, c5.rank_after) == (0.75, 2, 3)
    assert (c6.share_after, c6.rank_before, c6.rank_after) == (0.5, 3, 4)
    assert result.change("01").rank_after == 1  # tied with 03
    assert result.after.kinds["agency"] == result.before.kinds["agency"]


def test_what_if_normalised_value_is_relative(rows):
    # G02 closes one gap: 1/8 -> 2/8, ties G03 at the bottom; G03 drops to 0 without changing
    result = what_if(rows, W, {("G02", A, "level3_partial")})
    g3 = result.change("G03")
    assert (g3.share_before, g3.share_after) == (0.25, 0.25)
    assert (g3.normalised_before, g3.normalised_after) == (0.333333333, 0.0)
    assert (g3.rank_after, result.change("G02").rank_after) == (2, 2)


def test_what_if_ignores_non_gaps(rows):
    result = what_if(rows, W, {("01", A, "offered_online"), ("04", A, "online_payment")})
    assert result.closed == ()
    assert result.ignored == (("01", A, "offered_online"), ("04", A, "online_payment"))
    assert result.after == result.before


def test_what_if_with_predicates(rows):
    result = what_if(rows, W, by_unit("02"))
    assert result.change("02").share_after == 1.0
    assert result.after.unit("04").cannot_test == 1  # cannot_test is never closed
    assert len(result.closed) == 3
    only_level4 = what_if(rows, W, lambda r: by_service(A)(r) and by_criterion("level4_full")(r))
    assert {k[0] for k in only_level4.closed} == {"02", "03", "04", "06", "G02", "G03"}


def test_gap_selectors(rows):
    assert gaps(rows, by_unit("04")) == [("04", A, "level3_partial"), ("04", A, "level4_full")]
    assert gaps(rows, by_agency("G02")) == [
        ("G02", A, "level3_partial"),
        ("G02", A, "level4_full"),
        ("G02", A, "online_payment"),
    ]
    runs = by_agency("G01", {A: ["G01"], B: ["G09"]})
    assert gaps(rows, runs) == gaps(rows, by_service(A))
    assert len(gaps(rows)) == 14
    closed = close_gaps(rows, {("04", A, "level4_full")})
    changed = [r for r in closed if r.reason == "what_if"]
    assert [(r.key, r.verdict) for r in changed] == [(("04", A, "level4_full"), "met")]


# ---------------------------------------------------------------- gaps by gain


def test_gaps_by_gain_order_and_values(rows):
    gains = gaps_by_gain(rows, W, "02")
    assert [(g.service_id, g.criterion_id, g.points) for g in gains] == [
        (A, "level4_full", 2.0),
        (A, "level3_partial", 1.0),  # tie on points: by service, then criterion id
        (A, "offered_online", 1.0),
    ]
    top = gains[0]
    # 0/4 -> 2/4; peers' min becomes 0.25 (unit 04), max 1.0 -> (0.5 - 0.25) / 0.75
    assert (top.share_before, top.share_after) == (0.0, 0.5)
    assert (top.normalised_before, top.normalised_after) == (0.0, 0.333333333)
    assert top.normalised_change == 0.333333333
    assert (top.rank_before, top.rank_after) == (6, 3)
    # one point: 1/4 ties 04 at the bottom -> normalised stays 0 although the share rose
    assert (gains[1].share_after, gains[1].normalised_change, gains[1].rank_after) == (
        0.25,
        0.0,
        5,
    )


def test_gaps_by_gain_from_known_scores_and_the_units_own_rows(rows):
    """A report passes every unit's scores once and each unit's own rows: same gains."""
    own = [r for r in rows if r["unit_code"] == "02"]
    assert gaps_by_gain(own, W, "02", units=unit_scores(rows, W)) == gaps_by_gain(rows, W, "02")
    assert gaps_by_gain(own, W, "02") != gaps_by_gain(rows, W, "02")  # peers matter


def test_gaps_by_gain_ties_broken_by_service_then_criterion():
    rows = [
        *unit_rows("X", "province", B, (N, NA, NA, NA)),
        *unit_rows("X", "province", A, (N, M, N, NA)),
        *unit_rows("Y", "province", A, (M, NA, NA, NA)),
    ]
    gains = gaps_by_gain(rows, W, "X")
    assert [(g.service_id, g.criterion_id) for g in gains] == [
        (A, "level4_full"),
        (A, "offered_online"),
        (B, "offered_online"),
    ]
    assert gaps_by_gain(rows, W, "Y") == []
    with pytest.raises(KeyError):
        gaps_by_gain(rows, W, "nobody")


# ---------------------------------------------------------------- files


def write_rubric(path, weights):
    data = {"version": "test", "criteria": [{"id": k, "weight": v} for k, v in weights.items()]}
    path.write_text(yaml.safe_dump(data), encoding="utf-8")


def test_changing_a_weight_in_yaml_changes_the_score(tmp_path, rows):
    rubric = tmp_path / "rubric.yaml"
    write_rubric(rubric, W)
    weights = load_weights(rubric)
    assert weights == W
    assert unit_scores(rows, weights)["03"].share == 0.5
    write_rubric(rubric, {**W, "level4_full": 6.0})
    heavier = load_weights(tmp_path)  # a directory holding rubric.yaml works too
    units = unit_scores(rows, heavier)
    assert units["03"].share == 0.25  # 2 / (2 + 6)
    assert units["05"].share == 0.875  # (1 + 6) / (1 + 1 + 6)


def test_load_weights_rejects_bad_files(tmp_path):
    bad = tmp_path / "rubric.yaml"
    bad.write_text("criteria:\n  - id: a\n    weight: heavy\n", encoding="utf-8")
    with pytest.raises(ValueError, match="numeric weight"):
        load_weights(bad)
    bad.write_text("criteria:\n  - {id: a, weight: 1}\n  - {id: a, weight: 2}\n", encoding="utf-8")
    with pytest.raises(ValueError, match="duplicate"):
        load_weights(bad)
    bad.write_text("version: x\n", encoding="utf-8")
    with pytest.raises(ValueError, match="criteria"):
        load_weights(bad)


def test_weights_from_rubric_like_object():
    rubric = SimpleNamespace(
        criteria=[SimpleNamespace(id="a", weight=2), SimpleNamespace(id="b", weight=0.5)]
    )
    assert weights_from_rubric(rubric) == {"a": 2.0, "b": 0.5}


def test_shipped_scoring_yaml_matches_default():
    config = load_scoring_config(DEFAULT_CONFIG_PATH)
    assert config == DEFAULT_CONFIG
    assert config.osi_subindex["id"] == "SP"
    assert config.osi_subindex["name_en"] == "Services Provision"
    assert config.class_method == "range_quartiles"
    assert config.all_equal_value == 1.0


def test_invalid_scoring_config(tmp_path):
    data = yaml.safe_load(DEFAULT_CONFIG_PATH.read_text(encoding="utf-8"))
    data["groups"][0]["classes"] = ["VH", "V3", "V2"]
    with pytest.raises(ScoringConfigError, match="4 rating classes"):
        parse_scoring_config(data)
    data = yaml.safe_load(DEFAULT_CONFIG_PATH.read_text(encoding="utf-8"))
    data["rating_classes"]["method"] = "deciles"
    with pytest.raises(ScoringConfigError, match="method"):
        parse_scoring_config(data)
    data = yaml.safe_load(DEFAULT_CONFIG_PATH.read_text(encoding="utf-8"))
    data["groups"].reverse()
    with pytest.raises(ScoringConfigError, match="highest first"):
        parse_scoring_config(data)
    cfg = tmp_path / "scoring.yaml"
    data = yaml.safe_load(DEFAULT_CONFIG_PATH.read_text(encoding="utf-8"))
    data["normalisation"]["all_equal_value"] = 0.0
    cfg.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    config = load_scoring_config(cfg)
    assert (
        score_run(unit_rows("G1", "agency", A, (M, N, N, N)), W, config).unit("G1").normalised
        == 0.0
    )
