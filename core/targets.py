"""Today's responsible bodies and today's deadlines: two small rubric data files.

* ``rubrics/bodies.yaml``: the 2025 reorganisation of the ministries. The annex of
  6146/VPCP-KSTT (2020) names ministries that no longer exist (Bộ Kế hoạch và Đầu tư, ...);
  reports name each body by its current name with the annex's name in brackets. Codes
  (units.yaml) are unchanged: only names are mapped.
* ``rubrics/targets.yaml``: current target dates per service (or per service and criterion)
  with the document that sets them. The annex's 2020–2021 deadlines stay in services.yaml as
  history. A service without a known current document says so (``current: none``): a date is
  never invented.

Self-contained (core/rubric.py is not changed): `check_targets` is called by
`dvc-audit rubric check`; the reports call `load_bodies` / `load_targets`.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any

from core.rubric import RUBRIC_DIR, Rubric, RubricError
from core.yamlio import YamlFileError, read_yaml_file

BODIES_FILE = "bodies.yaml"
TARGETS_FILE = "targets.yaml"
_QUARTER = re.compile(r"^Quý\s+(IV|III|II|I)\s*/\s*(\d{4})$")
_ROMAN = {"I": 1, "II": 2, "III": 3, "IV": 4}
_QUARTER_END = {1: (3, 31), 2: (6, 30), 3: (9, 30), 4: (12, 31)}


def _nfc(text: Any) -> str:
    return unicodedata.normalize("NFC", str(text or "")).strip()


def deadline_end(text: str) -> date | None:
    """The last day a deadline allows: "Quý IV/2020" -> 2020-12-31, "2026-06-30" -> itself;
    None for a text that is no date ("Theo lộ trình ...")."""
    text = _nfc(text)
    m = _QUARTER.match(text)
    if m:
        year, q = int(m[2]), _ROMAN[m[1]]
        return date(year, *_QUARTER_END[q])
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


def overdue(text: str, on: date | None) -> bool:
    """The deadline `text` had passed on day `on` (the run's date)."""
    end = deadline_end(text)
    return end is not None and on is not None and on > end


# --------------------------------------------------------------------------- bodies


@dataclass(frozen=True)
class BodyChange:
    former: str  # as the annex writes it
    current: str
    source: str  # the document that made the change
    services: dict[str, str] = field(default_factory=dict)  # service id -> another body


@dataclass(frozen=True)
class BodyName:
    """A responsible body by its current name; `formers` = the annex's names it replaces."""

    current: str
    formers: tuple[str, ...] = ()


@dataclass(frozen=True)
class Bodies:
    changes: dict[str, BodyChange]  # by former name
    english: dict[str, str] = field(default_factory=dict)  # a body's name -> its English name

    def current(self, name: str, service_id: str = "") -> BodyName:
        change = self.changes.get(_nfc(name))
        if change is None:
            return BodyName(_nfc(name))
        return BodyName(change.services.get(service_id, change.current), (change.former,))

    def of_service(self, names: tuple[str, ...] | list[str], service_id: str) -> list[BodyName]:
        """The annex's bodies of a service by current name, merged bodies named once."""
        out: dict[str, list[str]] = {}
        for name in names:
            body = self.current(name, service_id)
            formers = out.setdefault(body.current, [])
            formers += [f for f in body.formers if f not in formers]
        return [BodyName(cur, tuple(formers)) for cur, formers in out.items()]


# --------------------------------------------------------------------------- targets


@dataclass(frozen=True)
class Source:
    id: str
    title: str


@dataclass(frozen=True)
class Target:
    service: str
    criterion: str  # "" = every criterion of the service
    due: str  # "Quý IV/2026" or an ISO date; "" = no current deadline known
    source: Source | None
    note: str = ""


@dataclass(frozen=True)
class Targets:
    items: tuple[Target, ...]

    def for_cell(self, service_id: str, criterion_id: str) -> Target | None:
        """The criterion's own target, else the service's (None: the file has neither)."""
        exact = [t for t in self.items if t.service == service_id and t.criterion == criterion_id]
        whole = [t for t in self.items if t.service == service_id and not t.criterion]
        found = exact or whole
        return found[0] if found else None


# --------------------------------------------------------------------------- reading


def _read(path: Path, errors: list[RubricError]) -> Any:
    try:
        return read_yaml_file(path)
    except YamlFileError as exc:
        errors.append(RubricError(path.name, "", "", exc.message, exc.line))
        return None


def _sources(data: dict, file: str, errors: list[RubricError]) -> dict[str, Source]:
    out: dict[str, Source] = {}
    raw = data.get("sources") or []
    if not isinstance(raw, list):
        errors.append(RubricError(file, "", "sources", "must be a list"))
        return out
    for i, s in enumerate(raw):
        sid = _nfc(s.get("id")) if isinstance(s, dict) else ""
        title = _nfc(s.get("title")) if isinstance(s, dict) else ""
        if not sid or not title:
            errors.append(RubricError(file, f"sources[{i}]", "id" if not sid else "title",
                                      "every source needs an id and a title"))
        elif sid in out:
            errors.append(RubricError(file, sid, "id", "duplicate source id"))
        else:
            out[sid] = Source(sid, title)
    return out


def parse_bodies(data: Any, rubric: Rubric | None, file: str = BODIES_FILE
                 ) -> tuple[Bodies, list[RubricError]]:
    errors: list[RubricError] = []
    if not isinstance(data, dict) or not isinstance(data.get("bodies"), list):
        return Bodies({}), [RubricError(file, "", "bodies", "must be a list of changes")]
    sources = _sources(data, file, errors)
    services = {s.id for s in rubric.services} if rubric else None
    changes: dict[str, BodyChange] = {}
    for i, b in enumerate(data["bodies"]):
        entry = f"bodies[{i}]"
        if not isinstance(b, dict):
            errors.append(RubricError(file, entry, "", "must be a mapping"))
            continue
        former, current, src = (_nfc(b.get(k)) for k in ("former", "current", "source"))
        for key, value in (("former", former), ("current", current)):
            if not value:
                errors.append(RubricError(file, entry, key, "missing"))
        if src not in sources:
            errors.append(RubricError(file, former or entry, "source",
                                      f"unknown source {src!r} (declare it under sources)"))
        per = b.get("services") or {}
        if not isinstance(per, dict):
            errors.append(RubricError(file, former or entry, "services",
                                      "must map service ids to a body"))
            per = {}
        for sid in per:
            if services is not None and sid not in services:
                errors.append(RubricError(file, former or entry, f"services.{sid}",
                                          "no such service in services.yaml"))
        if former in changes:
            errors.append(RubricError(file, former, "former", "listed twice"))
        if former and current:
            changes[former] = BodyChange(former, current, sources[src].title if src in sources
                                         else src, {k: _nfc(v) for k, v in per.items()})
    return Bodies(changes, _english(data, file, errors)), errors


def _english(data: dict[str, Any], file: str, errors: list[RubricError]) -> dict[str, str]:
    """`names_en`: the English name of each body named here (English reports)."""
    names = data.get("names_en") or {}
    if not isinstance(names, dict) or not all(
            isinstance(k, str) and isinstance(v, str) and v.strip() for k, v in names.items()):
        errors.append(RubricError(file, "", "names_en", "must map a body's name to its "
                                  "English name"))
        return {}
    return {_nfc(k): _nfc(v) for k, v in names.items()}


def parse_targets(data: Any, rubric: Rubric | None, file: str = TARGETS_FILE
                  ) -> tuple[Targets, list[RubricError]]:
    """Every service of the rubric must be listed: with a target and its source, or with
    ``current: none`` (no current deadline known). Without a rubric, ids are not checked."""
    errors: list[RubricError] = []
    if not isinstance(data, dict) or not isinstance(data.get("targets"), list):
        return Targets(()), [RubricError(file, "", "targets", "must be a list")]
    sources = _sources(data, file, errors)
    services = {s.id for s in rubric.services} if rubric else None
    criteria = {c.id for c in rubric.criteria} if rubric else None
    items: list[Target] = []
    seen: set[tuple[str, str]] = set()
    for i, t in enumerate(data["targets"]):
        if not isinstance(t, dict):
            errors.append(RubricError(file, f"targets[{i}]", "", "must be a mapping"))
            continue
        sid, cid = _nfc(t.get("service")), _nfc(t.get("criterion"))
        entry = f"{sid}/{cid}" if cid else sid or f"targets[{i}]"
        if services is not None and sid not in services:
            errors.append(RubricError(file, entry, "service", "no such service in services.yaml"))
        if cid and criteria is not None and cid not in criteria:
            errors.append(RubricError(file, entry, "criterion", "no such criterion in rubric.yaml"))
        if (sid, cid) in seen:
            errors.append(RubricError(file, entry, "service", "listed twice"))
        seen.add((sid, cid))
        none = _nfc(t.get("current")) == "none"
        due, src = _nfc(t.get("due")), _nfc(t.get("source"))
        if none and (due or src):
            errors.append(RubricError(file, entry, "current",
                                      "'none' means no current deadline: no due, no source"))
        elif not none:
            if deadline_end(due) is None:
                errors.append(RubricError(file, entry, "due", f"{due!r} is not 'Quý I..IV/YYYY' "
                                          "nor a date YYYY-MM-DD (or write current: none)"))
            if src not in sources:
                errors.append(RubricError(file, entry, "source",
                                          f"unknown source {src!r} (declare it under sources)"))
        items.append(Target(sid, cid, "" if none else due, sources.get(src),
                            _nfc(t.get("note"))))
    for sid in sorted((services or set()) - {s for s, _ in seen}):
        errors.append(RubricError(file, sid, "service", "not listed: give its current target "
                                  "with a source, or current: none"))
    return Targets(tuple(items)), errors


def check_targets(rubric_dir: Path, rubric: Rubric) -> list[RubricError]:
    """Problems in bodies.yaml and targets.yaml (for `dvc-audit rubric check`)."""
    errors: list[RubricError] = []
    for name, parse in ((BODIES_FILE, parse_bodies), (TARGETS_FILE, parse_targets)):
        path = Path(rubric_dir) / name
        data = _read(path, errors)
        if data is not None:
            errors += parse(data, rubric, name)[1]
    return errors


@cache
def _load(rubric_dir: Path) -> tuple[Bodies, Targets]:
    """Both files of a rubric directory, read once (the reports ask per gap). Ids are checked
    by `check_targets`; a file that does not parse is an error here too."""
    bodies, targets = Bodies({}), Targets(())
    errors: list[RubricError] = []
    path = rubric_dir / BODIES_FILE
    if path.exists():
        data = _read(path, errors)
        if data is not None:
            bodies, more = parse_bodies(data, None)
            errors += more
    path = rubric_dir / TARGETS_FILE
    if path.exists():
        data = _read(path, errors)
        if data is not None:
            targets, more = parse_targets(data, None)
            errors += more
    if errors:
        raise errors[0]
    return bodies, targets


def load_bodies(rubric_dir: Path = RUBRIC_DIR) -> Bodies:
    """The body changes (none when the rubric directory has no bodies.yaml)."""
    return _load(_resolved(rubric_dir))[0]


def load_targets(rubric_dir: Path = RUBRIC_DIR) -> Targets:
    """The current targets (none when the rubric directory has no targets.yaml)."""
    return _load(_resolved(rubric_dir))[1]


@cache
def _resolved(rubric_dir: Path | str) -> Path:
    """The directory's real path, worked out once (the reports ask per gap: 20,000 times)."""
    return Path(rubric_dir).resolve()
