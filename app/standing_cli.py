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
    STANDING_YAML,
    StandingDataError,
    load_standing_config,
    load_un_data,
    standing_report,
)


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


def format_text(rep: dict[str, Any]) -> str:
    year = rep["year"] if rep["year"] is not None else "(year unknown)"
    lines = [f"UN E-Government Survey {year}: {rep['file']} ({rep['countries']} countries)"]
    lines += [f"note: {n}" for n in rep["notes"]]
    lines += [""] + _check_lines(rep["check"]) + [""] + _country_lines(rep)
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
@click.option("--json", "as_json", is_flag=True, help="Print JSON for machines instead of text.")
def standing(
    un_data: Path,
    year: int | None,
    country: str | None,
    deltas: tuple[float, ...],
    places: tuple[int, ...],
    rubric: Path,
    as_json: bool,
) -> None:
    """Check the UN data (EGDI = mean of OSI, TII, HCI; ranks) and estimate where the country
    would stand if its OSI rose, every other country fixed. What-ifs are ESTIMATES."""
    try:
        cfg = load_standing_config(rubric)
        if places:
            cfg = replace(cfg, places=places)
        ed = load_un_data(un_data, year)
        rep = standing_report(ed, country or cfg.default_country, cfg, deltas)
    except StandingDataError as e:
        raise click.ClickException(str(e)) from e
    click.echo(json.dumps(rep, ensure_ascii=False, indent=2) if as_json else format_text(rep))
