"""One validation kit for every hand-written data file (rubric, scenario, rule cases, scoring
settings, the UN data the standing estimate reads): one error type, a problem collector and the
field checkers.

Every problem is one `InputError` whose ``str()`` is one line naming where it is:
``<file>[:<line>][: <label> '<entry>'][ field '<field>']: <message>`` (the field follows the
file with ": " when there is no entry). Each loader keeps its own thin subclass (RubricError,
ScenarioError, CaseError, ...) so callers catch what they load, or `InputError` for any.

Two ways to check, both here: *checkers* return ``(ok, value, message)`` so a loader can
collect every problem of a file (`Problems`, the rubric's `rubric check`), and `FieldReader`
raises at the first problem (scenarios: one clear line, nothing served).
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from core.yamlio import YamlFileError, read_yaml_file


class InputError(Exception):
    """One problem in one input file; ``str()`` names the file, line, entry and field."""

    label = "entry"  # what an entry is called in the message ("case", "section", ...)

    def __init__(self, file: str | Path = "", entry: str = "", field: str = "",
                 message: str = "", line: int | None = None, label: str | None = None) -> None:
        self.file = str(file)
        self.entry = entry
        self.field = field
        self.message = message
        self.line = line
        if label is not None:
            self.label = label
        super().__init__(str(self))

    def __str__(self) -> str:
        where = self.file + (f":{self.line}" if self.line is not None else "")
        if self.entry:
            where += f": {self.label} '{self.entry}'"
        if self.field:
            where += f"{' ' if self.entry else ': '}field '{self.field}'"
        return f"{where}: {self.message}" if where else self.message


class MessageError(InputError):
    """An `InputError` whose loader writes the whole line itself ("<file>: <where>: <what>"):
    the standing, scoring and coverage settings keep the messages their users know."""

    def __init__(self, message: str = "") -> None:
        super().__init__(message=message)


class Problems:
    """Collects the problems of one file so checks go on after the first one."""

    def __init__(self, file: str, errors: list[Any],
                 error: type[InputError] = InputError) -> None:
        self.file = file
        self.errors = errors
        self.error = error

    def add(self, entry: str, field: str, message: str, line: int | None = None) -> None:
        self.errors.append(self.error(self.file, entry, field, message, line))


def read_yaml(path: Path, problems: Problems) -> Any:
    """The file's document (core.yamlio's defensive reader), or None with the problem noted."""
    try:
        return read_yaml_file(path)
    except YamlFileError as e:
        problems.add("", "", e.message, e.line)
    return None


# --------------------------------------------------------------------------- field checkers

# A checker returns (ok, value, message): value is the converted value when ok.
Checker = Callable[[Any], tuple[bool, Any, str]]


def nfc_problem(s: str) -> str:
    return "" if unicodedata.is_normalized("NFC", s) else "text is not NFC-normalised Unicode"


def text(allow_empty: bool = False) -> Checker:
    def check(v: Any) -> tuple[bool, Any, str]:
        if not isinstance(v, str):
            return False, None, f"must be a string, got {type(v).__name__}"
        if not allow_empty and not v.strip():
            return False, None, "must not be empty"
        bad = nfc_problem(v)
        return (not bad), v, bad

    return check


def pattern(rx: re.Pattern[str], what: str) -> Checker:
    def check(v: Any) -> tuple[bool, Any, str]:
        if not isinstance(v, str):
            return False, None, f"must be a string ({what}), got {type(v).__name__}"
        return (True, v, "") if rx.match(v) else (False, None, f"must be {what}, got {v!r}")

    return check


def choice(values: tuple[str, ...]) -> Checker:
    def check(v: Any) -> tuple[bool, Any, str]:
        if v in values and isinstance(v, str):
            return True, v, ""
        return False, None, f"must be one of {', '.join(values)}; got {v!r}"

    return check


def int_in(r: range) -> Checker:
    def check(v: Any) -> tuple[bool, Any, str]:
        if isinstance(v, int) and not isinstance(v, bool) and v in r:
            return True, v, ""
        return False, None, f"must be an integer {r.start}..{r.stop - 1}"

    return check


def weight(v: Any) -> tuple[bool, Any, str]:
    """A finite number >= 0, as a float."""
    if isinstance(v, bool) or not isinstance(v, int | float):
        return False, None, f"must be a number, got {type(v).__name__}"
    if not math.isfinite(v) or v < 0:
        return False, None, f"must be a finite number >= 0, got {v!r}"
    return True, float(v), ""


def boolean(v: Any) -> tuple[bool, Any, str]:
    return (True, v, "") if isinstance(v, bool) else (False, None, "must be true or false")


def list_of(item: Checker, non_empty: bool = True, unique: bool = True) -> Checker:
    def check(v: Any) -> tuple[bool, Any, str]:
        if not isinstance(v, list):
            return False, None, f"must be a list, got {type(v).__name__}"
        if non_empty and not v:
            return False, None, "must not be empty"
        out = []
        for i, x in enumerate(v):
            ok, val, msg = item(x)
            if not ok:
                return False, None, f"item {i + 1}: {msg}"
            out.append(val)
        if unique and len(set(out)) != len(out):
            dup = sorted({x for x in out if out.count(x) > 1})
            return False, None, f"duplicate items: {', '.join(map(str, dup))}"
        return True, tuple(out), ""

    return check


# name -> (checker, required, default)
FieldSpec = dict[str, tuple[Checker, bool, Any]]


def check_fields(raw: Any, spec: FieldSpec, rep: Problems, entry: str) -> dict[str, Any] | None:
    """Check one mapping against its spec; returns converted values, or None on any problem."""
    if not isinstance(raw, dict):
        rep.add(entry, "", f"must be a mapping, got {type(raw).__name__}")
        return None
    ok = True
    for key in raw:
        if key not in spec:
            rep.add(entry, str(key), f"unknown field (allowed: {', '.join(spec)})")
            ok = False
    out: dict[str, Any] = {}
    for name, (checker, required, default) in spec.items():
        if name not in raw:
            if required:
                rep.add(entry, name, "required field is missing")
                ok = False
            else:
                out[name] = default
            continue
        good, value, msg = checker(raw[name])
        if not good:
            rep.add(entry, name, msg)
            ok = False
        out[name] = value
    return out if ok else None


def entries(doc: Any, key: str, rep: Problems, others: tuple[str, ...] = ()) -> list[Any]:
    """The list under a file's top-level key (other allowed top-level keys are `others`)."""
    if not isinstance(doc, dict):
        rep.add("", "", f"top level must be a mapping with key '{key}'")
        return []
    for k in doc:
        if k != key and k not in others:
            rep.add("", str(k), "unknown top-level key")
    items = doc.get(key)
    if not isinstance(items, list) or not items:
        rep.add("", key, "required top-level list is missing or empty")
        return []
    return items


def entry_name(raw: Any, key: str, index: int) -> str:
    v = raw.get(key) if isinstance(raw, dict) else None
    return v if isinstance(v, str) and v else f"#{index + 1}"


def duplicates(values: Iterable[Any]) -> set[Any]:
    seen: set[Any] = set()
    dups: set[Any] = set()
    for v in values:
        (dups if v in seen else seen).add(v)
    return dups


# --------------------------------------------------------------------------- raising reader


class FieldReader:
    """Reads fields of one file, raising `error` (file, field, message) at the first problem."""

    error_type: type[InputError] = InputError  # a loader's own subclass

    def __init__(self, file: str | Path):
        self.file = str(file)

    def err(self, fld: str, msg: str) -> InputError:
        return self.error_type(file=self.file, field=fld, message=msg)

    def mapping(self, value: Any, fld: str) -> dict:
        if not isinstance(value, dict):
            raise self.err(fld, f"must be a mapping, got {type(value).__name__}")
        return value

    def seq(self, value: Any, fld: str) -> list:
        if not isinstance(value, list):
            raise self.err(fld, f"must be a list, got {type(value).__name__}")
        return value

    def string(self, d: dict, key: str, fld: str, *, required: bool = True,
               default: str = "") -> str:
        if key not in d or d[key] is None:
            if required:
                raise self.err(fld, "is required")
            return default
        v = d[key]
        if isinstance(v, bool) or not isinstance(v, (str, int, float)):
            raise self.err(fld, f"must be a string, got {type(v).__name__}")
        return str(v)

    def integer(self, d: dict, key: str, fld: str, *, required: bool = True, default: int = 0,
                minimum: int | None = None) -> int:
        if key not in d or d[key] is None:
            if required:
                raise self.err(fld, "is required")
            return default
        v = d[key]
        if isinstance(v, bool) or not isinstance(v, int):
            raise self.err(fld, f"must be an integer, got {v!r}")
        if minimum is not None and v < minimum:
            raise self.err(fld, f"must be >= {minimum}, got {v}")
        return v

    def boolean(self, d: dict, key: str, fld: str, default: bool) -> bool:
        if key not in d or d[key] is None:
            return default
        v = d[key]
        if not isinstance(v, bool):
            raise self.err(fld, f"must be true or false, got {v!r}")
        return v

    def choice(self, d: dict, key: str, fld: str, choices: Iterable[str], *,
               required: bool = True, default: str = "", upper: bool = False) -> str:
        v = self.string(d, key, fld, required=required, default=default)
        if upper:
            v = v.upper()
        if (required or v) and v not in choices:
            raise self.err(fld, f"must be one of {', '.join(choices)}, got {v!r}")
        return v

    def choices(self, d: dict, key: str, fld: str, choices: Iterable[str], *,
                default: Iterable[str] = (), upper: bool = False,
                nonempty: bool = True) -> tuple[str, ...]:
        if key not in d or d[key] is None:
            if default:
                return tuple(default)
            raise self.err(fld, "is required")
        raw = d[key]
        if isinstance(raw, str):
            raw = [raw]
        items = self.seq(raw, fld)
        out: list[str] = []
        for i, v in enumerate(items):
            if not isinstance(v, str):
                raise self.err(f"{fld}[{i}]", f"must be a string, got {v!r}")
            v = v.upper() if upper else v
            if v not in choices:
                raise self.err(f"{fld}[{i}]", f"must be one of {', '.join(choices)}, got {v!r}")
            if v in out:
                raise self.err(f"{fld}[{i}]", f"duplicate value {v!r}")
            out.append(v)
        if nonempty and not out:
            raise self.err(fld, "must not be empty")
        return tuple(out)

    def unknown_keys(self, d: dict, allowed: Iterable[str], fld: str) -> None:
        for k in d:
            if k not in allowed:
                raise self.err(f"{fld}.{k}" if fld else str(k),
                               f"unknown field (allowed: {', '.join(sorted(allowed))})")
