"""How much of a run could be tested: the gates that keep an unreadable run from passing as
complete, and a unit with little evidence from being ranked.

* A run whose national catalogue could not be read, or whose tested share (met + not met over
  met + not met + could not test) is under `min_tested`, is stored `incomplete` with the reason
  `no_coverage` (its command exits non-zero, its reports open with a banner).
* A unit whose own tested share is under `rank_min_tested` is shown "not ranked (N of M cells
  could not be tested)" instead of a rank.

Both thresholds are data: the `coverage` section of rubrics/scoring.yaml (defaults below).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.validate import MessageError
from core.vocab import SCORED, Verdict

NO_COVERAGE = "no_coverage"  # run reason (store.run_reason)
DEFAULT_MIN_TESTED = 0.5
DEFAULT_RANK_MIN_TESTED = 0.75


class CoverageConfigError(MessageError, ValueError):
    """A bad `coverage` section; str() names the file and field."""


@dataclass(frozen=True)
class Coverage:
    min_tested: float = DEFAULT_MIN_TESTED
    rank_min_tested: float = DEFAULT_RANK_MIN_TESTED


@dataclass(frozen=True)
class Share:
    """Cells a rule applies to (met, not met, could not test) and those that were tested."""
    tested: int
    cells: int

    @property
    def untested(self) -> int:
        return self.cells - self.tested

    @property
    def share(self) -> float:
        return self.tested / self.cells if self.cells else 1.0


def _fraction(data: Mapping[str, Any], key: str, default: float, where: str) -> float:
    value = data.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
        raise CoverageConfigError(f"{where}.{key}: must be a number from 0 to 1, got {value!r}")
    return float(value)


def load_coverage(rubric_dir: Path | str) -> Coverage:
    """The `coverage` section of RUBRIC/scoring.yaml; the defaults when there is none."""
    from core.yamlio import read_yaml_file  # the defensive reader (size cap, no tags)

    path = Path(rubric_dir) / "scoring.yaml"
    if not path.exists():
        return Coverage()
    data = read_yaml_file(path)
    section = data.get("coverage", {}) if isinstance(data, Mapping) else {}
    if not isinstance(section, Mapping):
        raise CoverageConfigError(f"{path}: coverage: must be a mapping")
    where = f"{path}: coverage"
    return Coverage(_fraction(section, "min_tested", DEFAULT_MIN_TESTED, where),
                    _fraction(section, "rank_min_tested", DEFAULT_RANK_MIN_TESTED, where))


def share_of(verdicts: Iterable[Mapping[str, Any]]) -> Share:
    """Tested share of verdict rows (not applicable cells do not count either way)."""
    tested = cells = 0
    for v in verdicts:
        if v["verdict"] in SCORED:
            tested += 1
            cells += 1
        elif v["verdict"] == Verdict.CANNOT_TEST:
            cells += 1
    return Share(tested, cells)


def shares_by_unit(verdicts: Iterable[Mapping[str, Any]]) -> dict[str, Share]:
    rows: dict[str, list[Mapping[str, Any]]] = {}
    for v in verdicts:
        rows.setdefault(v["unit_code"], []).append(v)
    return {unit: share_of(r) for unit, r in rows.items()}


def _catalogue_failure(evidence: Iterable[Mapping[str, Any]]) -> str | None:
    """None when a catalogue page was read whole; else what went wrong, for the banner."""
    tried = [e for e in evidence if e["kind"] == "catalogue"]
    if any(e["outcome"] == "ok" and (e.get("data") or {}).get("complete") for e in tried):
        return None
    failed = next((e for e in reversed(tried) if e["outcome"] != "ok"), None)
    if failed is not None:
        return f"{failed['url']} ({failed['reason'] or failed['outcome']})"
    return "no catalogue page was answered"


def gate(evidence: Iterable[Mapping[str, Any]], verdicts: Iterable[Mapping[str, Any]],
         min_tested: float, base_url: str = "") -> str | None:
    """Why a run has too little coverage to be complete (one sentence), or None."""
    where = f" of {base_url}" if base_url else ""
    catalogue = _catalogue_failure(evidence)
    if catalogue is not None:
        return f"the national catalogue{where} could not be read: {catalogue}"
    share = share_of(verdicts)
    if share.share < min_tested:
        return (f"only {share.tested} of {share.cells} cells could be tested "
                f"({share.share:.0%}, under the minimum {min_tested:.0%})")
    return None
