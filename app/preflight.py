"""The checks `run` and `nightly` make before they crawl (crawler/probe.py): when an answer's
shape the verdicts depend on has changed, the run is stored as `incompatible` with the change
as its note, and nothing is crawled, scored or published. A portal that cannot be reached is
not incompatible: the crawl goes on and ends the usual way (incomplete)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from app import exitcodes
from core.rubric import Rubric

INCOMPATIBLE = "incompatible"  # a run status beside running, complete and incomplete
EXIT_INCOMPATIBLE = exitcodes.INCOMPATIBLE  # `run`, `nightly`, `probe` (app/exitcodes.py)


def probe_codes(rubric: Rubric) -> list[str]:
    """The rubric's procedure codes, those of services provinces deliver first: the probe
    looks at one procedure, best one with office rows in many provinces (birth registration)."""
    first = [s for s in rubric.services if "province" in s.delivery]
    rest = [s for s in rubric.services if s not in first]
    return list(dict.fromkeys(p.code for s in first + rest for p in s.procedures))


def preflight(base_url: str, rubric: Rubric, *, overrides: dict[str, Any] | None = None,
              portal_list: list[dict[str, str]] | None = None,
              echo: Callable[[str], None] = print) -> str:
    """Probe the portal and print the table; returns the change that makes the run
    incompatible ("" when there is none)."""
    from crawler.probe import run_probe

    report = run_probe(base_url, codes=probe_codes(rubric), overrides=overrides,
                       portal_list=portal_list)
    for line in report.table().splitlines():
        echo(line)
    return report.incompatible
