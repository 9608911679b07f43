"""Rule regression cases (`rubrics/cases/`), in the style of axe-core's per-rule fixtures.

One YAML file per criterion (rule). Its sections `met`, `not_met`, `not_applicable` and
`cannot_test` list cases whose expected verdict is the section's name: evidence rows in, the
verdict of one (unit, service) out, through the real `audits.evaluate.evaluate`. A case may pin
the `reason` too. Evidence rows may name a fixture (a list of rows) from `_fixtures.yaml` or the
file's own `fixtures:`. Format: `rubrics/cases/README.md`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from audits.evaluate import evaluate
from core.rows import EvidenceRow, VerdictRow
from core.rubric import RUBRIC_DIR, Rubric
from core.validate import InputError
from core.vocab import EvidenceKind as K
from core.vocab import Verdict
from core.yamlio import YamlFileError, read_yaml_file

SECTIONS = tuple(map(str, Verdict))  # a case file's sections: one per verdict
FIXTURES_FILE = "_fixtures.yaml"
CASE_KEYS = {"id", "description", "unit", "service", "evidence", "reason"}
ROW_KEYS = {"kind", "code", "office", "outcome", "reason", "endpoint", "data"}
KINDS = {str(k) for k in (K.PROVINCE_LIST, K.CATALOGUE, K.PROCEDURE, K.PROCEDURE_DETAIL,
                          K.OFFICE_ROW, K.OFFICE_LIST, K.FETCH)}  # the national API's
DEFAULT_CASES_DIR = RUBRIC_DIR / "cases"

Evaluator = Callable[[Iterable[EvidenceRow], Rubric], list[VerdictRow]]


class CaseError(InputError):
    """A malformed case file: names the file, case and field."""

    label = "case"


Where = tuple[str, str]  # (file name, case id): where a problem is


def _problem(where: Where, field: str, message: str) -> CaseError:
    return CaseError(where[0], where[1], field, message)


@dataclass(frozen=True)
class Case:
    file: str
    criterion: str
    id: str
    expect: str
    reason: str | None  # None: any reason
    unit: str
    service: str
    evidence: tuple[EvidenceRow, ...]
    description: str = ""


@dataclass(frozen=True)
class Outcome:
    case: Case
    verdict: str
    reason: str

    @property
    def ok(self) -> bool:
        return self.verdict == self.case.expect and (self.case.reason is None
                                                     or self.reason == self.case.reason)

    @staticmethod
    def show(verdict: str, reason: str | None) -> str:
        return f"{verdict} ({reason})" if reason else verdict

    def describe(self) -> str:
        c = self.case
        expected, got = self.show(c.expect, c.reason), self.show(self.verdict, self.reason)
        return (f"rule {c.criterion}, case {c.id} ({c.file}: {c.unit} / {c.service}): "
                f"expected {expected}, got {got}")


def _read(path: Path) -> Any:
    """The rubric's defensive reader: no duplicate key, alias bomb, non-UTF-8 or unsafe tag."""
    try:
        return read_yaml_file(path)
    except YamlFileError as exc:
        raise CaseError(path.name, message=str(exc)) from None


def _row(raw: Any, where: Where, field: str, index: int) -> EvidenceRow:
    if not isinstance(raw, dict) or not set(raw) <= ROW_KEYS or str(raw.get("kind")) not in KINDS:
        raise _problem(where, field, f"a row needs a kind in {sorted(KINDS)} and only the keys "
                                     f"{sorted(ROW_KEYS)}, got {raw!r}")
    if not isinstance(raw.get("data") or {}, dict):
        raise _problem(where, f"{field}.data", f"must be a mapping, got {raw['data']!r}")
    code, office = str(raw.get("code", "")), str(raw.get("office", ""))
    data = dict(raw.get("data") or {})
    failed = raw["kind"] == "fetch" or raw.get("outcome") == "failed"
    if raw["kind"] == "office_row":  # the parsed row carries its procedure and office codes
        data.setdefault("procedure_code", code)
        data.setdefault("office_code", office)
        data.setdefault("implement_level", "NONE")
    if raw["kind"] == "fetch":
        data.setdefault("endpoint", raw.get("endpoint", ""))
    return {"id": index + 1, "kind": raw["kind"], "url": "case:", "method": "POST",
            "observed_at": "", "status": 200 if failed else 201, "sha256": "",
            "outcome": "failed" if failed else raw.get("outcome", "ok"),
            "reason": str(raw.get("reason", "error" if failed else "")),
            "procedure_code": code, "office_code": office, "data": data}


def _expand(rows: Any, fixtures: dict[str, list], where: Where) -> list[EvidenceRow]:
    if not isinstance(rows, list):
        raise _problem(where, "evidence", "must be a list")
    flat: list[tuple[str, Any]] = []  # (field as written in the file, row)
    for i, item in enumerate(rows):
        if isinstance(item, str):
            if item not in fixtures:
                raise _problem(where, f"evidence[{i}]", f"unknown fixture {item!r}")
            flat.extend((f"evidence[{i}] (fixture {item})", row) for row in fixtures[item])
        else:
            flat.append((f"evidence[{i}]", item))
    return [_row(raw, where, field, n) for n, (field, raw) in enumerate(flat)]


def _fixtures(doc: Any, name: str) -> dict[str, list]:
    fixtures = (doc or {}).get("fixtures", {}) if isinstance(doc, dict) else {}
    if not isinstance(fixtures, dict) or not all(isinstance(v, list) for v in fixtures.values()):
        raise CaseError(name, field="fixtures", message="must map names to lists of rows")
    return fixtures


def _case(raw: Any, name: str, criterion: str, section: str, rubric: Rubric,
          fixtures: dict[str, list]) -> Case:
    if not isinstance(raw, dict) or not raw.get("id"):
        raise CaseError(name, section, message="every case needs an id", label="section")
    where = (name, str(raw["id"]))
    unknown = set(map(str, raw)) - CASE_KEYS
    if unknown:
        raise _problem(where, sorted(unknown)[0], "unknown key")
    unit, service = str(raw.get("unit", "")), str(raw.get("service", ""))
    if unit not in {u.code for u in rubric.units}:
        raise _problem(where, "unit", f"unknown unit {unit!r}")
    if service not in {s.id for s in rubric.services}:
        raise _problem(where, "service", f"unknown service {service!r}")
    evidence = _expand(raw.get("evidence", []), fixtures, where)
    reason = raw.get("reason")
    return Case(name, criterion, str(raw["id"]), section,
                None if reason is None else str(reason), unit, service, tuple(evidence),
                str(raw.get("description", "")))


def load_cases(cases_dir: Path, rubric: Rubric) -> list[Case]:
    """Every case of every `<criterion>.yaml` in `cases_dir` (raises CaseError)."""
    cases_dir = Path(cases_dir)
    shared_path = cases_dir / FIXTURES_FILE
    shared = _fixtures(_read(shared_path), FIXTURES_FILE) if shared_path.exists() else {}
    criteria = {c.id for c in rubric.criteria}
    cases: list[Case] = []
    for path in sorted(cases_dir.glob("*.yaml")):
        if path.name.startswith("_"):
            continue
        doc = _read(path)
        if not isinstance(doc, dict) or str(doc.get("criterion")) not in criteria:
            raise CaseError(path.name, field="criterion",
                            message=f"must be one of {sorted(criteria)}")
        unknown = set(map(str, doc)) - {"criterion", "description", "fixtures", *SECTIONS}
        if unknown:
            raise CaseError(path.name, field=sorted(unknown)[0], message="unknown key")
        fixtures = {**shared, **_fixtures(doc, path.name)}
        for section in SECTIONS:
            if not isinstance(doc.get(section) or [], list):
                raise CaseError(path.name, field=section, message="must be a list of cases")
            for raw in doc.get(section) or []:
                cases.append(_case(raw, path.name, doc["criterion"], section, rubric, fixtures))
    ids = [(c.criterion, c.id) for c in cases]
    dupes = sorted({i for i in ids if ids.count(i) > 1})
    if dupes:
        raise CaseError(message=f"duplicate case id {dupes[0][1]!r} for rule {dupes[0][0]}")
    return cases


def uncovered(cases: Iterable[Case], rubric: Rubric) -> list[str]:
    """Criteria of the rubric without any case."""
    covered = {c.criterion for c in cases}
    return [c.id for c in rubric.criteria if c.id not in covered]


def run_case(case: Case, rubric: Rubric, evaluator: Evaluator = evaluate) -> Outcome:
    for v in evaluator(case.evidence, rubric):
        if (v["unit_code"], v["service_id"], v["criterion_id"]) == (case.unit, case.service,
                                                                    case.criterion):
            return Outcome(case, v["verdict"], v["reason"])
    return Outcome(case, "missing", "no verdict for this cell")


def run_cases(cases: Iterable[Case], rubric: Rubric,
              evaluator: Evaluator | None = None) -> list[Outcome]:
    """Each case through the evaluator (default: `audits.evaluate.evaluate`, looked up at call
    time so a patched rule is what gets tested, judging only the case's cell)."""
    import audits.evaluate as evaluation

    if evaluator is not None:
        return [run_case(c, rubric, evaluator) for c in cases]
    return [run_case(c, rubric, partial(evaluation.evaluate, only=(c.unit, c.service)))
            for c in cases]
