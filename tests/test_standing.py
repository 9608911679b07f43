"""Issue 7: where Vietnam would stand against the UN's 193-country data.

The UN files are never shipped with the project: they are read in place from the shared
research folder, and the tests that need them skip when it is absent.
"""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from app.standing_cli import standing
from audits.standing import (
    FeatureRule,
    StandingDataError,
    bridge_estimate,
    check_edition,
    competition_rank,
    index_verdicts,
    load_standing_config,
    load_un_data,
    national_features,
    places_steps,
    what_if,
)

UN_DIR = Path(__file__).resolve().parents[2] / "shared" / "research" / "un"
FILES = {
    2022: "EGOV_DATA_2022.csv",  # original UN headers, names with trailing spaces
    2024: "EGOV_DATA_2024_renamed_headers.csv",  # a third party's renamed headers
}
VN = "Viet Nam"


def un_file(name: str) -> Path:
    path = UN_DIR / name
    if not path.is_file():
        pytest.skip(f"UN data file {path} absent (not shipped; see docs/STANDING.md to get it)")
    return path


@pytest.fixture(scope="module")
def cfg():
    return load_standing_config()


@pytest.fixture(scope="module")
def ed2024():
    return load_un_data(un_file(FILES[2024]))


@pytest.fixture(scope="module")
def ed2022():
    return load_un_data(un_file(FILES[2022]))


# --------------------------------------------------------------------------- real files


@pytest.mark.parametrize("year", [2022, 2024])
def test_egdi_recomputes_within_tolerance_for_all_193(year):
    ed = load_un_data(un_file(FILES[year]))
    assert ed.year == year and len(ed.rows) == 193
    chk = check_edition(ed)
    assert chk.n == 193
    assert chk.egdi_mismatches == ()
    assert chk.egdi_max_dev <= 0.0001
    for r in ed.rows:
        assert abs((r.osi + r.tii + r.hci) / 3 - r.egdi) <= 0.0001, r.country
    assert chk.rank_mismatches == ()  # competition ranking on the published EGDI
    assert chk.osi_min_max_normalised
    assert chk.ok


def test_both_header_styles_map_to_canonical_columns(ed2022, ed2024):
    assert ed2022.columns["osi"] == "Online Service Index"
    assert ed2022.columns["egdi_rank"] == "E-Government Rank"
    assert ed2024.columns["osi"] == "Online_Service"
    assert ed2024.columns["tii"] == "Tele_Infra"
    assert ed2024.columns["region"] == "Region"
    assert ed2022.row(VN).country == VN  # "Viet Nam " in the file: trailing space stripped


def test_published_ties_share_a_rank_2022(ed2022):
    # Iceland and Sweden: both 0.9410, both 5th; recomputed from components they differ.
    assert ed2022.row("Iceland").egdi_rank == ed2022.row("Sweden").egdi_rank == 5
    assert check_edition(ed2022).shared_ranks == 8
    assert competition_rank({"a": 0.9, "b": 0.8, "c": 0.8, "d": 0.7}) == {
        "a": 1,
        "b": 2,
        "c": 2,
        "d": 4,
    }


def test_vietnam_2024_rank_is_71(ed2024, cfg):
    w = what_if(ed2024, VN, 0.0, cfg.asean)
    assert ed2024.row(VN).egdi_rank == 71
    assert w.before.egdi_rank == w.after.egdi_rank == 71
    assert w.before.osi_rank == 75  # vn_asean_egdi_2018-2024.csv osi_rank_computed
    assert (w.before.asean_egdi, w.before.asean_osi, w.asean_size) == (5, 6, 11)
    assert what_if(ed2024, "vietnam", 0.0).country == VN  # spelling-tolerant lookup


def test_vietnam_2022_rank_is_86(ed2022, cfg):
    assert what_if(ed2022, VN, 0.0, cfg.asean).before.egdi_rank == 86


def test_hand_computed_d_passes_moldova_and_a_little_less_does_not(ed2024):
    # 2024 file: Republic of Moldova 70th, EGDI 0.77195; Viet Nam 71st, EGDI 0.77092.
    moldova, vn = ed2024.row("Republic of Moldova"), ed2024.row(VN)
    assert (moldova.egdi_rank, moldova.egdi, vn.egdi) == (70, 0.77195, 0.77092)
    d = 3 * (0.77195 - 0.77092)  # EGDI moves by d/3
    passed = what_if(ed2024, VN, d + 1e-6)
    assert passed.after.egdi > moldova.egdi and passed.after.egdi_rank == 70
    short = what_if(ed2024, VN, d - 1e-5)
    assert short.after.egdi < moldova.egdi and short.after.egdi_rank == 71

    step = places_steps(ed2024, VN, [1], epsilon=1e-6)[0]
    assert step.target == "Republic of Moldova" and step.target_rank == 70
    assert step.d_tie == pytest.approx(d, abs=1e-12)
    assert step.d == pytest.approx(d + 1e-6, abs=1e-12)


@pytest.mark.parametrize("k", [1, 5, 10, 15])
def test_places_steps_gain_k_and_not_before(ed2024, cfg, k):
    step = places_steps(ed2024, VN, [k], cfg.epsilon, cfg.asean)[0]
    assert step.reachable and step.result is not None
    assert step.result.after.egdi_rank <= 71 - k
    assert what_if(ed2024, VN, step.d_tie - 1e-6).after.egdi_rank > 71 - k


def test_cap_at_one_and_unreachable(ed2024, tmp_path):
    w = what_if(ed2024, VN, 0.5)
    assert w.capped and w.after.osi == 1.0 and w.d_applied == pytest.approx(1 - 0.70811)
    top = min(ed2024.rows, key=lambda r: r.egdi_rank)
    assert places_steps(ed2024, top.country, [1])[0].target is None
    # OSI already near 1: passing the country above would need OSI > 1.
    path = write_csv(
        tmp_path / "cap.csv",
        HEADER,
        [
            ["A", 0.5, 1.0, 1.0, 0.83333, 1],
            ["B", 0.99, 0.3, 0.3, 0.53, 2],
        ],
    )
    step = places_steps(load_un_data(path), "B", [1])[0]
    assert step.target == "A" and not step.reachable and step.result is None


def test_asean_members_all_in_both_files(ed2022, ed2024, cfg):
    assert len(cfg.asean) == 11 and VN in cfg.asean
    for ed in (ed2022, ed2024):
        for name in cfg.asean:
            ed.row(name)


def test_other_files_in_the_research_folder_load():
    ed = load_un_data(un_file("egdi_2018_unu-egov.csv"), year=2018)
    assert ed.year == 2018 and ed.years_in_file == () and "no year column" in ed.notes[0]
    assert ed.row(VN).egdi_rank == 88 and check_edition(ed).ok
    multi = un_file("vn_asean_egdi_2018-2024.csv")
    latest = load_un_data(multi)
    assert latest.year == 2024 and latest.years_in_file == (2018, 2020, 2022, 2024)
    assert any("using the latest, 2024" in n for n in latest.notes)
    assert len(load_un_data(multi, year=2022).rows) == 11
    with pytest.raises(StandingDataError, match="no rows for year 2019.*2018, 2020, 2022, 2024"):
        load_un_data(multi, year=2019)


def test_several_years_in_one_file(ed2022, ed2024, tmp_path):
    rows = [
        [r.year, r.country, r.egdi_rank, r.egdi, r.osi, r.hci, r.tii]
        for ed in (ed2022, ed2024)
        for r in ed.rows
    ]
    path = write_csv(
        tmp_path / "both.csv",
        [
            "Survey Year",
            "Country Name",
            "E-Government Rank",
            "E-Government Index",
            "Online Service Index",
            "Human Capital Index",
            "Telecommunication Infrastructure Index",
        ],
        rows,
    )
    assert what_if(load_un_data(path, year=2022), VN, 0).before.egdi_rank == 86
    latest = load_un_data(path)
    assert latest.year == 2024 and len(latest.rows) == 193
    assert what_if(latest, VN, 0).before.egdi_rank == 71


# --------------------------------------------------------------------------- bad files

HEADER = ["Country", "OSI", "TII", "HCI", "EGDI", "EGDI Rank"]
GOOD = [["Aland", 1.0, 0.9, 0.8, 0.9, 1], ["Borduria", 0.0, 0.3, 0.3, 0.2, 2]]


def write_csv(path: Path, header, rows, encoding: str = "utf-8") -> Path:
    with path.open("w", newline="", encoding=encoding) as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)
    return path


def test_missing_column_named(tmp_path):
    path = write_csv(
        tmp_path / "nohci.csv",
        [h for h in HEADER if h != "HCI"],
        [[r[0], r[1], r[2], r[4], r[5]] for r in GOOD],
    )
    with pytest.raises(StandingDataError, match=r"nohci\.csv: missing column 'hci'"):
        load_un_data(path)


def test_text_in_number_column_named(tmp_path):
    rows = [GOOD[0], ["Borduria", "n/a", 0.3, 0.3, 0.2, 2]]
    path = write_csv(tmp_path / "text.csv", HEADER, rows)
    with pytest.raises(
        StandingDataError,
        match=r"line 3 \(Borduria\): text 'n/a' in number "
        r"column 'OSI' \(osi\)",
    ):
        load_un_data(path)


def test_duplicate_country_named(tmp_path):
    path = write_csv(tmp_path / "dup.csv", HEADER, GOOD + [["Aland ", 1.0, 0.9, 0.8, 0.9, 1]])
    with pytest.raises(StandingDataError, match=r"duplicated country 'Aland' \(lines 2 and 4\)"):
        load_un_data(path)


@pytest.mark.parametrize(
    "bad, message",
    [
        (["Borduria", "", 0.3, 0.3, 0.2, 2], "empty value in number column 'OSI'"),
        (["Borduria", 1.7, 0.3, 0.3, 0.2, 2], "osi '1.7' outside 0..1"),
        (["Borduria", 0.0, 0.3, 0.3, 0.2, 2.5], "not a whole number"),
        (["", 0.0, 0.3, 0.3, 0.2, 2], "empty country name"),
    ],
)
def test_other_bad_values(tmp_path, bad, message):
    path = write_csv(tmp_path / "bad.csv", HEADER, [GOOD[0], bad])
    with pytest.raises(StandingDataError, match=message):
        load_un_data(path)


def test_encodings(tmp_path):
    bom = write_csv(tmp_path / "bom.csv", HEADER, GOOD, encoding="utf-8-sig")
    assert load_un_data(bom).row("Aland").egdi == 0.9
    latin = tmp_path / "latin.csv"
    latin.write_bytes("Country,OSI,TII,HCI,EGDI,EGDI Rank\nCôte,1,1,1,1,1\n".encode("latin-1"))
    with pytest.raises(StandingDataError, match="not UTF-8"):
        load_un_data(latin)


def test_unknown_country_suggests(tmp_path):
    ed = load_un_data(write_csv(tmp_path / "ok.csv", HEADER, GOOD))
    assert "193" in ed.notes[-1]
    with pytest.raises(StandingDataError, match="'Alandia' not found; did you mean 'Aland'"):
        ed.row("Alandia")


def test_rank_mismatch_is_reported(tmp_path):
    ed = load_un_data(write_csv(tmp_path / "r.csv", HEADER, [GOOD[0], GOOD[1][:5] + [5]]))
    chk = check_edition(ed)
    assert not chk.ok and chk.rank_mismatches == (("Borduria", 5, 2),)


# --------------------------------------------------------------------------- bridge

RULES = (
    FeatureRule("information", "offered_online", "any"),
    FeatureRule("full_application", "level4_full", "share", 0.5),
    FeatureRule("payment", "online_payment", "share", 0.5),
)


def v(unit: str, service: str, criterion: str, verdict: str) -> dict[str, str]:
    return {"unit_code": unit, "service_id": service, "criterion_id": criterion, "verdict": verdict}


def hand_rows() -> list[dict[str, str]]:
    # Service "birth" is delivered by 3 provinces; "passport" by agency G01 only.
    rows = []
    for unit, info, full, pay in (
        ("01", "met", "met", "cannot_test"),
        ("02", "met", "not_met", "cannot_test"),
        ("03", "not_met", "not_met", "cannot_test"),
    ):
        rows += [
            v(unit, "birth", "offered_online", info),
            v(unit, "birth", "level4_full", full),
            v(unit, "birth", "online_payment", pay),
        ]
        rows += [
            v(unit, "passport", c, "not_applicable")
            for c in ("offered_online", "level4_full", "online_payment")
        ]
    rows += [
        v("G01", "passport", "offered_online", "met"),
        v("G01", "passport", "level4_full", "not_met"),
        v("G01", "passport", "online_payment", "not_applicable"),
    ]
    return rows


def test_national_features_by_hand():
    got = {
        (f.service_id, f.feature): f for f in national_features(index_verdicts(hand_rows()), RULES)
    }
    assert got["birth", "information"].status == "met"  # 2 of 3 provinces, rule any
    assert got["birth", "full_application"].status == "not_met"  # 1/3 < 0.5
    assert (
        got["birth", "full_application"].units_met,
        got["birth", "full_application"].units_tested,
    ) == (1, 3)
    assert got["birth", "payment"].status == "cannot_test"  # excluded, never 0
    assert got["passport", "information"].status == "met"  # provinces not_applicable: left out
    assert got["passport", "full_application"].status == "not_met"
    assert got["passport", "payment"].status == "not_applicable"


def test_bridge_estimate_by_hand():
    gaps = [
        ("02", "birth", "level4_full"),  # birth full: 2/3 >= 0.5 -> met
        {"unit_code": "G01", "service_id": "passport", "criterion_id": "level4_full"},
        ("01", "birth", "online_payment"),  # cannot_test before: no credit
        ("01", "passport", "offered_online"),  # not_applicable: ignored
        ("99", "birth", "offered_online"),
    ]  # no row: ignored
    est = bridge_estimate(hand_rows(), gaps, RULES, sp_weight=0.45, factor=1.0)
    # Decided before: birth info, birth full, passport info, passport full -> 2 of 4 met.
    assert (est.counted, est.met_before, est.met_after, est.excluded) == (4, 2, 4, 1)
    assert (est.share_before, est.share_after) == (0.5, 1.0)
    assert est.d_osi == pytest.approx(0.45 * 0.5 * 1.0)
    assert [reason for _, reason in est.ignored_gaps] == ["not_applicable", "no verdict row"]
    assert est.label == "ESTIMATE"
    scaled = bridge_estimate(hand_rows(), gaps, RULES, sp_weight=0.45, factor=0.339)
    assert scaled.d_osi == pytest.approx(0.45 * 0.5 * 0.339)


def test_bridge_threshold_boundary_and_no_gaps():
    rows = [v("01", "s", "level4_full", "met"), v("02", "s", "level4_full", "not_met")]
    est = bridge_estimate(rows, [], RULES[1:2], sp_weight=0.45)
    assert est.share_before == est.share_after == 1.0 and est.d_osi == 0.0  # 1/2 >= 0.5
    missing = bridge_estimate(rows, [], RULES[1:2], 0.45, services=["s", "other"])
    assert missing.counted == 1 and missing.excluded == 1  # no rows for "other": cannot_test


def test_bridge_rejects_bad_rows():
    with pytest.raises(ValueError, match="verdict 'ok'"):
        index_verdicts([v("01", "s", "level4_full", "ok")])
    with pytest.raises(ValueError, match="duplicated"):
        index_verdicts([v("01", "s", "level4_full", "met")] * 2)
    with pytest.raises(ValueError, match="missing key 'verdict'"):
        index_verdicts([{"unit_code": "01", "service_id": "s", "criterion_id": "c"}])


def test_bridge_with_rubric_config_feeds_what_if(cfg, ed2024):
    assert cfg.weights_status == "UNCONFIRMED" and cfg.sp_weight == 0.45
    assert sum(cfg.weights.values()) == pytest.approx(1.0)
    assert {f.criterion for f in cfg.features} >= {"offered_online", "level4_full"}
    est = bridge_estimate(
        hand_rows(), [("02", "birth", "level4_full")], cfg.features, cfg.sp_weight, cfg.factor
    )
    assert est.d_osi == pytest.approx(0.45 * 0.25 * cfg.sp_coverage / cfg.raw_range)
    assert what_if(ed2024, VN, est.d_osi).after.egdi_rank <= 71


# --------------------------------------------------------------------------- CLI


def test_cli_prints_check_and_what_if():
    path = un_file(FILES[2024])
    res = CliRunner().invoke(standing, ["--un-data", str(path), "--delta", "0.05",
                                        "--lang", "en"])
    assert res.exit_code == 0, res.output
    out = res.output
    assert out.startswith("SUMMARY: in the UN E-Government Survey 2024, Viet Nam ranks 71 of")
    assert "CHECK  OK" in out and "0 over 0.0001" in out
    assert "rank 71/193" in out and "ASEAN  EGDI 5/11" in out
    assert "WHAT-IF (ESTIMATE)" in out and "Republic of Moldova (70, 0.77195)" in out
    assert "0.05000" in out and "UNCONFIRMED" in out


def test_cli_speaks_vietnamese_by_default_summary_first():
    path = un_file(FILES[2024])
    res = CliRunner().invoke(standing, ["--un-data", str(path), "--delta", "0.05"])
    assert res.exit_code == 0, res.output
    out = res.output
    assert out.startswith("TÓM TẮT: Theo Khảo sát Chính phủ điện tử của Liên Hợp Quốc năm 2024, "
                          "Viet Nam đứng thứ 71/193")
    assert "thứ 5/11 trong ASEAN" in out and "ƯỚC TÍNH" in out and "khớp số đã công bố" in out
    assert "KIỂM TRA SỐ LIỆU  khớp" in out and "0,05000" in out and "chưa được xác nhận" in out
    # no English label or note; country names (UN data) are the only English left
    text = out
    for name in ("Viet Nam", "Republic of Moldova"):
        text = text.replace(name, "")
    english = re.findall(r"\b(?:rank|CHECK|SUMMARY|ESTIMATE|UNCONFIRMED|what-if|WHAT-IF|NOTES|"
                         r"countries|unreachable|published|capped)\b", text)
    assert not english, english


def test_cli_json_and_year():
    path = un_file(FILES[2022])
    res = CliRunner().invoke(
        standing,
        [
            "--un-data",
            str(path),
            "--year",
            "2022",
            "--country",
            "vietnam",
            "--json",
            "--places",
            "3",
        ],
    )
    assert res.exit_code == 0, res.output
    rep = json.loads(res.output)
    assert rep["year"] == 2022 and rep["check"]["ok"]
    assert rep["country"]["name"] == VN and rep["country"]["egdi_rank"] == 86
    assert [s["places"] for s in rep["places"]] == [3]
    assert rep["places"][0]["after"]["egdi_rank"] <= 83


def test_cli_errors_are_clear(tmp_path):
    path = write_csv(tmp_path / "dup.csv", HEADER, GOOD + [GOOD[0]])
    res = CliRunner().invoke(standing, ["--un-data", str(path), "--country", "Aland"])
    assert res.exit_code == 1 and "duplicated country 'Aland'" in res.output
    res = CliRunner().invoke(standing, ["--un-data", str(path.with_name("nope.csv"))])
    assert res.exit_code == 2 and "does not exist" in res.output


def test_cli_help():
    res = CliRunner().invoke(standing, ["--help"])
    assert res.exit_code == 0
    for opt in ("--un-data", "--year", "--country", "--delta", "--places", "--rubric", "--json"):
        assert opt in res.output
    assert "ESTIMATES" in res.output
