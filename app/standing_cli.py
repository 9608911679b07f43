"""`dvc-audit standing`: check the UN survey data and show where the country would stand.

The lead attaches ``standing`` to the ``dvc-audit`` group; all logic lives in audits.standing.
"""

from __future__ import annotations

import json
import textwrap
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import click

from audits.standing import (
    ESTIMATE_NOTES_VI,
    STANDING_YAML,
    StandingDataError,
    load_standing_config,
    load_un_data,
    national_estimate,
    standing_report,
)
from core import store
from core.indicators import read_indicators
from core.rubric import RUBRIC_DIR


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    widths = [max(len(str(c)) for c in col) for col in zip(headers, *rows, strict=True)]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    return ["  " + fmt.format(*headers).rstrip()] + [
        "  " + fmt.format(*map(str, r)).rstrip() for r in rows
    ]


def _f(x: float | None, nd: int = 5) -> str:
    return "-" if x is None else f"{x:.{nd}f}"


def _asean(pos: int | None, size: int) -> str:
    return "-" if pos is None else f"{pos}/{size}"


def _check_lines(c: dict[str, Any]) -> list[str]:
    ok = "OK" if c["ok"] else "MISMATCH"
    lines = [
        f"CHECK  {ok}",
        f"  EGDI = (OSI + TII + HCI) / 3: max |published - recomputed| "
        f"{c['egdi_max_dev']:.7f} ({c['egdi_max_dev_country']}), "
        f"{len(c['egdi_mismatches'])} over {c['tolerance']}",
        f"  EGDI rank (1 + countries with a higher published EGDI, ties share): "
        f"{len(c['egdi_rank_mismatches'])} mismatch(es) with the published rank",
        f"  OSI min {c['osi_min']:.5f} / max {c['osi_max']:.5f}: min-max normalised "
        f"{'yes' if c['osi_min_max_normalised'] else 'NO'}",
        f"  countries sharing a published rank: {c['shared_ranks']}; ranking the unrounded "
        f"recomputed EGDI would change {c['ranks_changed_if_unrounded']} rank(s)",
    ]
    for label, key in (
        ("EGDI", "egdi_mismatches"),
        ("EGDI rank", "egdi_rank_mismatches"),
        ("OSI rank", "osi_rank_mismatches"),
    ):
        lines += [f"  {label}  {n}: published {p}, computed {r}" for n, p, r in c[key]]
    return lines


def _country_lines(rep: dict[str, Any]) -> list[str]:
    c, n = rep["country"], rep["countries"]
    year = rep["year"] if rep["year"] is not None else "(year unknown)"
    return [
        f"{c['name']} {year}",
        f"  EGDI {_f(c['egdi'])}   rank {c['egdi_rank']}/{n}   "
        f"(published rank {c['published_rank']})",
        f"  OSI  {_f(c['osi'])}   rank {c['osi_rank']}/{n}   (computed: not in the file)",
        f"  TII  {_f(c['tii'])}   HCI {_f(c['hci'])}",
        f"  ASEAN  EGDI {_asean(c['asean_egdi'], c['asean_size'])}   "
        f"OSI {_asean(c['asean_osi'], c['asean_size'])}",
    ]


def _after_cells(a: dict[str, Any], size: int) -> list[str]:
    return [
        _f(a["osi"]),
        _f(a["egdi"], 6),
        str(a["egdi_rank"]),
        str(a["osi_rank"]),
        _asean(a["asean_egdi"], size),
        _asean(a["asean_osi"], size),
    ]


AFTER_HEADERS = ["OSI", "EGDI", "EGDI rank", "OSI rank", "ASEAN EGDI", "ASEAN OSI"]


def _places_lines(rep: dict[str, Any]) -> list[str]:
    size = rep["country"]["asean_size"]
    rows = []
    for s in rep["places"]:
        if s["target"] is None:
            rows.append(
                [f"+{s['places']}", "unreachable: fewer countries above", "-", "-"]
                + ["-"] * len(AFTER_HEADERS)
            )
            continue
        target = f"{s['target']} ({s['target_rank']}, {_f(s['target_egdi'])})"
        if not s["reachable"]:
            rows.append(
                [f"+{s['places']}", target, _f(s["d"], 6), "unreachable: OSI > 1"]
                + ["-"] * len(AFTER_HEADERS)
            )
            continue
        rows.append(
            [f"+{s['places']}", target, _f(s["d"], 6), _f(s["d_tie"], 6)]
            + _after_cells(s["after"], size)
        )
    head = ["places", "pass (rank, EGDI)", "d", "d to tie"] + AFTER_HEADERS
    return ["WHAT-IF (ESTIMATE): smallest OSI rise d to pass the k-th country above"] + _table(
        head, rows
    )


def _delta_lines(rep: dict[str, Any]) -> list[str]:
    size = rep["country"]["asean_size"]
    rows = [
        [_f(w["d"]), _f(w["d_applied"]) + (" (capped)" if w["capped"] else "")]
        + _after_cells(w["after"], size)
        for w in rep["what_if"]
    ]
    return ["WHAT-IF (ESTIMATE): OSI + d"] + _table(["d", "d applied"] + AFTER_HEADERS, rows)


def _vi(x: float | None, nd: int = 4) -> str:
    return "-" if x is None else f"{x:.{nd}f}".replace(".", ",")


def summary_lines(rep: dict[str, Any], lang: str) -> list[str]:
    """A plain-language summary, first: where the country stands and what one place costs."""
    c, n = rep["country"], rep["countries"]
    year = rep["year"] if rep["year"] is not None else "?"
    first = next((s for s in rep["places"] if s["target"] is not None and s["reachable"]), None)
    if lang == "vi":
        lines = [f"TÓM TẮT: Theo Khảo sát Chính phủ điện tử của Liên Hợp Quốc năm {year}, "
                 f"{c['name']} đứng thứ {c['egdi_rank']}/{n} về chỉ số phát triển Chính phủ "
                 f"điện tử (EGDI {_vi(c['egdi'])}), thứ {_asean(c['asean_egdi'], c['asean_size'])}"
                 f" trong ASEAN. Chỉ số dịch vụ trực tuyến (OSI) là {_vi(c['osi'])}, đứng thứ "
                 f"{c['osi_rank']}."]
        if first:
            lines.append(f"Để tăng {first['places']} bậc (vượt {first['target']}), OSI cần tăng "
                         f"khoảng {_vi(first['d'])} điểm. Đây là ƯỚC TÍNH: các nước khác giữ "
                         f"nguyên số liệu.")
        lines.append("Kiểm tra số liệu: " + ("khớp số đã công bố." if rep["check"]["ok"]
                                              else "KHÔNG khớp số đã công bố, xem bên dưới."))
    else:
        lines = [f"SUMMARY: in the UN E-Government Survey {year}, {c['name']} ranks "
                 f"{c['egdi_rank']} of {n} on the E-Government Development Index (EGDI "
                 f"{_f(c['egdi'], 4)}), {_asean(c['asean_egdi'], c['asean_size'])} in ASEAN. "
                 f"Its Online Services Index (OSI) is {_f(c['osi'], 4)}, rank {c['osi_rank']}."]
        if first:
            lines.append(f"To gain {first['places']} place(s) (pass {first['target']}), its OSI "
                         f"must rise by about {_f(first['d'], 4)}. This is an ESTIMATE: every "
                         f"other country stays as published.")
        lines.append("Data check: " + ("matches the published figures." if rep["check"]["ok"]
                                        else "does NOT match the published figures; see below."))
    return [w for line in lines for w in textwrap.wrap(line, 100)]


def _pct(x: float | None, lang: str) -> str:
    if x is None:
        return "-"
    text = f"{x:.0%}"
    return text if lang == "en" else text.replace(".", ",")


# The national ESTIMATE's lines, per language and basis ("survey": the run has OSQ answers;
# "services": the 20 services only); str.format fields filled by national_lines.
NATIONAL_TEXT: dict[str, dict[str, str]] = {
    "vi": {
        "head_survey": "ƯỚC TÍNH QUỐC GIA (lần chạy {run}): OSQ của Khảo sát Liên Hợp Quốc, "
                       "mọi chỉ số thành phần đã đo",
        "head_services": "ƯỚC TÍNH QUỐC GIA (lần chạy {run}): chỉ 20 dịch vụ (lần chạy chưa "
                         "có câu trả lời chỉ tiêu khảo sát Liên Hợp Quốc)",
        "share_survey": "  tỷ lệ OSQ {share} (ước tính; trọng số chỉ số thành phần là ước tính)"
                        " trên {measured_share} OSQ đã đo ({measured}/{total} tiêu chí)",
        "share_services": "  tỷ lệ tính năng dịch vụ đạt {share} ({measured} cặp dịch vụ x "
                          "tính năng đã xác định)",
        "last": "  nếu đạt mọi tiêu chí còn thiếu ({features}): d OSI +{d_osi} -> hạng EGDI "
                "{rank} (+{gained}), ASEAN {asean}",
    },
    "en": {
        "head_survey": "NATIONAL ESTIMATE (run {run}): the UN survey's OSQ, every sub-index "
                       "measured so far",
        "head_services": "NATIONAL ESTIMATE (run {run}): services only (the run has no UN "
                         "survey indicator answers)",
        "share_survey": "  OSQ share {share} (estimate; the sub-index weights are estimates) "
                        "over {measured_share} of the OSQ measured ({measured} of {total} "
                        "features)",
        "share_services": "  share of UN service features met {share} ({measured} service x "
                          "feature pairs decided)",
        "last": "  every gap found closed ({features}): d OSI +{d_osi} -> EGDI rank {rank} "
                "(+{gained}), ASEAN {asean}",
    },
}


def national_lines(rep: dict[str, Any], lang: str) -> list[str]:
    """The run's national ESTIMATE (--db): the OSQ share and how much of the OSQ is measured,
    or the 20 services only for a run without UN survey answers."""
    n = rep.get("national_estimate")
    if n is None:
        return []
    g, size, num = n["every_gap"], rep["country"]["asean_size"], (_f if lang == "en" else _vi)
    text, basis = NATIONAL_TEXT[lang], n["basis"]
    fields = {"run": n.get("run", "?"), "share": num(n["share"], 4),
              "measured_share": _pct(n["measured_share"], lang), "measured": n["measured"],
              "total": n.get("total"), "features": g["features"], "d_osi": num(g["d_osi"], 4),
              "rank": g["after"]["egdi_rank"],
              "gained": rep["country"]["egdi_rank"] - g["after"]["egdi_rank"],
              "asean": _asean(g["after"]["asean_egdi"], size)}
    return ["", text[f"head_{basis}"].format(**fields), text[f"share_{basis}"].format(**fields),
            text["last"].format(**fields)]


def format_text_vi(rep: dict[str, Any]) -> str:
    """The Vietnamese text: summary, check, the country, the what-ifs, the notes."""
    c, n, size = rep["country"], rep["countries"], rep["country"]["asean_size"]
    year = rep["year"] if rep["year"] is not None else "(không rõ năm)"
    chk = rep["check"]
    lines = [*summary_lines(rep, "vi"), "",
             f"Khảo sát Chính phủ điện tử của Liên Hợp Quốc {year}: {rep['file']} ({n} quốc gia)",
             *(f"lưu ý: {x}" for x in rep["notes"]), "",
             f"KIỂM TRA SỐ LIỆU  {'khớp' if chk['ok'] else 'KHÔNG KHỚP'}",
             f"  EGDI = (OSI + TII + HCI) / 3: lệch lớn nhất {_vi(chk['egdi_max_dev'], 7)} "
             f"({chk['egdi_max_dev_country']}), {len(chk['egdi_mismatches'])} nước lệch quá "
             f"{_vi(chk['tolerance'])}",
             f"  hạng EGDI: {len(chk['egdi_rank_mismatches'])} chỗ khác hạng đã công bố", "",
             f"{c['name']} {year}",
             f"  EGDI {_vi(c['egdi'], 5)}   hạng {c['egdi_rank']}/{n}   (hạng công bố "
             f"{c['published_rank']})",
             f"  OSI  {_vi(c['osi'], 5)}   hạng {c['osi_rank']}/{n}   (tính lại: tệp không có)",
             f"  TII  {_vi(c['tii'], 5)}   HCI {_vi(c['hci'], 5)}",
             f"  ASEAN  EGDI {_asean(c['asean_egdi'], size)}   OSI "
             f"{_asean(c['asean_osi'], size)}", *national_lines(rep, "vi"), "",
             "GIẢ ĐỊNH (ƯỚC TÍNH): mức tăng OSI nhỏ nhất (d) để vượt nước thứ k xếp trên"]
    rows = []
    for s in rep["places"]:
        if s["target"] is None or not s["reachable"]:
            rows.append([f"+{s['places']}", s["target"] or "-", "không đạt được", "-", "-", "-"])
            continue
        a = s["after"]
        rows.append([f"+{s['places']}", f"{s['target']} ({s['target_rank']})", _vi(s["d"], 6),
                     _vi(a["osi"], 5), str(a["egdi_rank"]), _asean(a["asean_egdi"], size)])
    lines += _table(["bậc", "vượt (hạng)", "d", "OSI mới", "hạng EGDI mới", "ASEAN"], rows)
    if rep["what_if"]:
        lines += ["", "GIẢ ĐỊNH (ƯỚC TÍNH): OSI + d"] + _table(
            ["d", "OSI mới", "EGDI mới", "hạng EGDI", "hạng OSI", "ASEAN"],
            [[_vi(w["d"], 5), _vi(w["after"]["osi"], 5), _vi(w["after"]["egdi"], 6),
              str(w["after"]["egdi_rank"]), str(w["after"]["osi_rank"]),
              _asean(w["after"]["asean_egdi"], size)] for w in rep["what_if"]])
    w = rep["osi_weights"]
    status = {"UNCONFIRMED": "chưa được xác nhận", "CONFIRMED": "đã được xác nhận"}.get(
        str(w["status"]), str(w["status"]))
    notes = [*ESTIMATE_NOTES_VI,
             f"Trọng số các chỉ số thành phần của OSI ({status}): SP {w['SP']}, EPI {w['EPI']}, "
             f"IF {w['IF']}, CP {w['CP']}, TEC {w['TEC']}; chỉ dùng cho phép quy đổi từ kết quả "
             f"kiểm tra, không dùng ở trên."]
    lines += ["", "GHI CHÚ"]
    for note in notes:
        lines += textwrap.wrap(note, 100, initial_indent="  - ", subsequent_indent="    ")
    return "\n".join(lines)


def format_text(rep: dict[str, Any], lang: str = "en") -> str:
    if lang == "vi":
        return format_text_vi(rep)
    year = rep["year"] if rep["year"] is not None else "(year unknown)"
    lines = [*summary_lines(rep, "en"), ""]
    lines += [f"UN E-Government Survey {year}: {rep['file']} ({rep['countries']} countries)"]
    lines += [f"note: {n}" for n in rep["notes"]]
    lines += [""] + _check_lines(rep["check"]) + [""] + _country_lines(rep)
    lines += national_lines(rep, "en")
    lines += [""] + _places_lines(rep)
    if rep["what_if"]:
        lines += [""] + _delta_lines(rep)
    w = rep["osi_weights"]
    notes = [
        *rep["estimate_notes"],
        f"OSI sub-index weights ({w['status']}): SP {w['SP']}, EPI {w['EPI']}, IF {w['IF']}, "
        f"CP {w['CP']}, TEC {w['TEC']}; used only by the verdict bridge, not above.",
    ]
    lines += ["", "NOTES"]
    for n in notes:
        lines += textwrap.wrap(n, 100, initial_indent="  - ", subsequent_indent="    ")
    return "\n".join(lines)


@click.command("standing")
@click.option(
    "--un-data",
    "un_data",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="UN E-Government Survey CSV (the 193-country data-center export; UTF-8).",
)
@click.option(
    "--year",
    type=int,
    default=None,
    help="Survey year to use when the file holds several (default: the latest); "
    "labels the data when the file has no year column.",
)
@click.option(
    "--country",
    default=None,
    help="Country as the UN writes it; case, spaces and punctuation are ignored "
    '(default: default_country in the rubric, "Viet Nam").',
)
@click.option(
    "--delta",
    "deltas",
    type=float,
    multiple=True,
    metavar="D",
    help="Also show the what-if for an OSI rise of D (normalised OSI points, "
    "e.g. 0.05). Repeatable.",
)
@click.option(
    "--places",
    type=int,
    multiple=True,
    metavar="K",
    help="EGDI places to gain, repeatable (default: what_if.places in the rubric: 1 5 10 15).",
)
@click.option(
    "--rubric",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=STANDING_YAML,
    show_default="rubrics/standing.yaml",
    help="The standing rubric (weights, ASEAN list, what-if settings).",
)
@click.option("--db", "db_path", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              default=None, help="Results database: add a run's national ESTIMATE (the UN "
              "survey's OSQ share and the share of it measured; services only for a run "
              "without survey answers).")
@click.option("--run", "run_id", type=int, default=None,
              help="The run for --db (default: the latest).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for machines instead of text.")
@click.option("--lang", type=click.Choice(["vi", "en"]), default="vi", show_default=True,
              help="Language of the text (a plain-language summary first).")
def standing(
    un_data: Path,
    year: int | None,
    country: str | None,
    deltas: tuple[float, ...],
    places: tuple[int, ...],
    rubric: Path,
    as_json: bool,
    lang: str,
    db_path: Path | None = None,
    run_id: int | None = None,
) -> None:
    """Check the UN data (EGDI = mean of OSI, TII, HCI; ranks) and estimate where the country
    would stand if its OSI rose, every other country fixed. What-ifs are ESTIMATES."""
    try:
        cfg = load_standing_config(rubric)
        if places:
            cfg = replace(cfg, places=places)
        ed = load_un_data(un_data, year)
        name = country or cfg.default_country
        national = _run_estimate(db_path, run_id, ed, name, cfg) if db_path else None
        rep = standing_report(ed, name, cfg, deltas, national)
    except StandingDataError as e:
        raise click.ClickException(str(e)) from e
    click.echo(json.dumps(rep, ensure_ascii=False, indent=2) if as_json
               else format_text(rep, lang))


def _run_estimate(db_path: Path, run_id: int | None, ed: Any, country: str,
                  cfg: Any) -> dict[str, Any]:
    db = store.open_db(db_path)
    run = store.get_run(db, run_id)
    if run is None:
        raise click.ClickException(f"{db_path}: no run {run_id or ''}".rstrip())
    indicators = read_indicators(RUBRIC_DIR)[0]
    osq = indicators.sets.get("osq") if indicators is not None else None
    est = national_estimate(ed, country, cfg, store.load_verdicts(db, run["id"]), osq,
                            store.load_indicator_answers(db, run["id"]))
    return {**est, "run": run["id"]}
