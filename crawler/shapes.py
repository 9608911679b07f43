"""Expected shapes of the national API's answers (crawler/shapes.yaml) and the pure comparison
of an answer with them: which keys the parsers depend on are missing or of another type, and
which keys are new. No fetching here (crawler/probe.py fetches)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from crawler.exceptions import ShapesError

SHAPES_FILE = Path(__file__).with_name("shapes.yaml")
TYPES = ("string", "number", "bool", "list", "object", "null")


@dataclass(frozen=True)
class Shape:
    keys: dict[str, tuple[str, ...]]  # path -> allowed types
    known: dict[str, frozenset[str]]  # object path ("" = data) -> every key the answer had


@dataclass
class Diff:
    """How an answer differs from its shape. `missing` and `retyped` break the parsers;
    `new` keys are only reported."""

    missing: list[str] = field(default_factory=list)
    retyped: list[str] = field(default_factory=list)  # "path: number (expected string)"
    new: list[str] = field(default_factory=list)

    @property
    def breaking(self) -> bool:
        return bool(self.missing or self.retyped)

    def describe(self) -> str:
        parts = []
        if self.missing:
            parts.append("missing " + ", ".join(self.missing))
        if self.retyped:
            parts.append("retyped " + ", ".join(self.retyped))
        if self.new:
            parts.append("new " + ", ".join(self.new))
        return "; ".join(parts) or "as expected"


def type_of(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "list"
    return "object"


def load_shapes(path: Path = SHAPES_FILE) -> dict[str, Shape]:
    from core.yamlio import YamlFileError, read_yaml_file  # the defensive reader

    try:
        doc = read_yaml_file(path)
    except YamlFileError as exc:
        raise ShapesError(f"{path.name}: {exc}") from None
    endpoints = doc.get("endpoints") if isinstance(doc, dict) else None
    if not isinstance(endpoints, dict) or not endpoints:
        raise ShapesError(f"{path.name}: field 'endpoints': must map endpoint names to shapes")
    return {str(name): _shape(path.name, str(name), raw) for name, raw in endpoints.items()}


def _shape(file: str, name: str, raw: Any) -> Shape:
    where = f"{file}: field 'endpoints.{name}"
    if not isinstance(raw, dict) or not isinstance(raw.get("keys"), dict):
        raise ShapesError(f"{where}.keys': must map key paths to types")
    keys: dict[str, tuple[str, ...]] = {}
    for path, types in raw["keys"].items():
        allowed = tuple(types) if isinstance(types, list) else (types,)
        if not allowed or any(t not in TYPES for t in allowed):
            raise ShapesError(f"{where}.keys.{path}': types must be among {', '.join(TYPES)}, "
                              f"got {types!r}")
        keys[str(path)] = tuple(str(t) for t in allowed)
    known_raw = raw.get("known") or {}
    if not isinstance(known_raw, dict) or not all(isinstance(v, list)
                                                  for v in known_raw.values()):
        raise ShapesError(f"{where}.known': must map object paths to lists of keys")
    known = {str(k): frozenset(map(str, v)) for k, v in known_raw.items()}
    return Shape(keys, known)


def _split(path: str) -> tuple[str, str]:
    """("executionMethods[]", "fees") for "executionMethods[].fees"; ("", "id") for "id"."""
    parent, _, key = path.rpartition(".")
    return parent, key


def objects_at(data: Any, path: str) -> list[Any]:
    """The objects an object path names: "" is data; "a[]" every element of list a; "a[].b[]"
    every element of b of every element of a. Missing or mistyped steps give nothing."""
    found = [data]
    for step in path.split(".") if path else ():
        key = step.removesuffix("[]")
        nxt: list[Any] = []
        for obj in found:
            value = obj.get(key) if isinstance(obj, dict) else None
            if step.endswith("[]"):
                nxt.extend(value if isinstance(value, list) else ())
            elif value is not None:
                nxt.append(value)
        found = nxt
    return found


def compare(shape: Shape, data: Any) -> Diff:
    """How `data` (an envelope's `data`) differs from `shape`. A key is missing only where its
    parent objects exist (an empty list says nothing about its elements' keys)."""
    diff = Diff()
    for written, allowed in shape.keys.items():
        path = written.removesuffix("?")  # "key?": may be absent; checked when present
        optional = written.endswith("?")
        parent, key = _split(path)
        holders = [o for o in objects_at(data, parent) if isinstance(o, dict)]
        if not holders:
            if optional:
                continue
            if parent and not parent.endswith("[]"):
                diff.missing.append(path)  # its parent object itself is gone
            elif not parent:
                diff.missing.append(path)  # data is not an object at all
            continue
        if not optional and any(key not in o for o in holders):
            diff.missing.append(path)
            continue
        wrong = sorted({type_of(o[key]) for o in holders if key in o} - set(allowed))
        if wrong:
            diff.retyped.append(f"{path}: {'/'.join(wrong)} (expected {'/'.join(allowed)})")
    for parent, known in shape.known.items():
        expected = known | {_split(p.removesuffix("?"))[1] for p in shape.keys
                            if _split(p.removesuffix("?"))[0] == parent}
        seen: set[str] = set()
        for obj in objects_at(data, parent):
            if isinstance(obj, dict):
                seen |= set(obj)
        prefix = f"{parent}." if parent else ""
        diff.new += [prefix + k for k in sorted(seen - expected)]
    return diff
