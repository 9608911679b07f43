"""The scoring settings (rubrics/scoring.yaml): UN groups, rating-class method, normalisation.

Here, below the rubric loader, because `rubric check` validates scoring.yaml and the scoring
functions in audits/scoring.py read the same settings.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.validate import MessageError
from core.yamlio import YamlFileError, read_yaml_file

DEFAULT_CONFIG_PATH = Path(__file__).resolve().parent.parent / "rubrics" / "scoring.yaml"
CLASS_METHODS: tuple[str, ...] = ("range_quartiles", "member_quartiles")


class ScoringConfigError(MessageError, ValueError):
    """A bad scoring.yaml (or settings built in code); str() names the file and field."""


@dataclass(frozen=True)
class Group:
    id: str
    label_en: str
    label_vi: str
    min: float
    min_inclusive: bool
    classes: tuple[str, ...]  # four rating classes, highest first (e.g. VH, V3, V2, V1)


@dataclass(frozen=True)
class ScoringConfig:
    groups: tuple[Group, ...]  # highest first
    class_method: str = "range_quartiles"
    all_equal_value: float = 1.0
    osi_subindex: Mapping[str, str] = field(default_factory=dict, compare=False, hash=False)

    def group(self, group_id: str) -> Group:
        for g in self.groups:
            if g.id == group_id:
                return g
        raise KeyError(group_id)

    def upper(self, group: Group) -> float:
        """The group's upper bound: the next group's min, 1.0 for the top group."""
        i = self.groups.index(group)
        return 1.0 if i == 0 else self.groups[i - 1].min


def _validate_config(config: ScoringConfig) -> ScoringConfig:
    gs = config.groups
    if not gs:
        raise ScoringConfigError("scoring config: no groups")
    for i, g in enumerate(gs):
        if len(g.classes) != 4:
            raise ScoringConfigError(f"group {g.id!r}: needs exactly 4 rating classes")
        if not 0.0 <= g.min < 1.0:
            raise ScoringConfigError(f"group {g.id!r}: min must be in [0, 1)")
        if i and g.min >= gs[i - 1].min:
            raise ScoringConfigError(f"group {g.id!r}: groups must be listed highest first")
    if gs[-1].min != 0.0 or not gs[-1].min_inclusive:
        raise ScoringConfigError(f"group {gs[-1].id!r}: the lowest group must start at 0 inclusive")
    if config.class_method not in CLASS_METHODS:
        raise ScoringConfigError(f"rating class method must be one of {CLASS_METHODS}")
    if not 0.0 <= config.all_equal_value <= 1.0:
        raise ScoringConfigError("all_equal_value must be in [0, 1]")
    return config


DEFAULT_CONFIG = _validate_config(
    ScoringConfig(
        groups=(
            Group("very_high", "Very high", "Rất cao", 0.75, False, ("VH", "V3", "V2", "V1")),
            Group("high", "High", "Cao", 0.50, True, ("HV", "H3", "H2", "H1")),
            Group("middle", "Middle", "Trung bình", 0.25, True, ("MH", "M3", "M2", "M1")),
            Group("low", "Low", "Thấp", 0.0, True, ("LM", "L3", "L2", "L1")),
        ),
        osi_subindex={"id": "SP", "name_en": "Services Provision"},
    )
)


GROUP_KEYS = ("id", "label_en", "label_vi", "min", "min_inclusive", "classes")


def _number(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ScoringConfigError(f"{where}: must be a number, not {value!r}")
    return float(value)


def _section(data: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = data.get(key) or {}
    if not isinstance(value, Mapping):
        raise ScoringConfigError(f"{key}: must be a mapping, not {value!r}")
    return value


def _parse_group(entry: Any, where: str) -> Group:
    if not isinstance(entry, Mapping):
        raise ScoringConfigError(f"{where}: must be a mapping with {', '.join(GROUP_KEYS)}")
    missing = [k for k in GROUP_KEYS if k not in entry]
    if missing:
        raise ScoringConfigError(f"{where}.{missing[0]}: missing")
    if not isinstance(entry["min_inclusive"], bool):  # bool("false") would be True
        raise ScoringConfigError(f"{where}.min_inclusive: must be true or false, not "
                                 f"{entry['min_inclusive']!r}")
    if not isinstance(entry["classes"], list):  # a string would pass as its letters
        raise ScoringConfigError(f"{where}.classes: must be a list, not {entry['classes']!r}")
    return Group(
        id=str(entry["id"]),
        label_en=str(entry["label_en"]),
        label_vi=str(entry["label_vi"]),
        min=_number(entry["min"], f"{where}.min"),
        min_inclusive=entry["min_inclusive"],
        classes=tuple(str(c) for c in entry["classes"]),
    )


def parse_scoring_config(data: Mapping[str, Any]) -> ScoringConfig:
    """Build and validate a :class:`ScoringConfig` from parsed YAML; a ScoringConfigError names
    the field (``groups[1].min: ...``)."""
    if not isinstance(data, Mapping) or not isinstance(data.get("groups"), list):
        raise ScoringConfigError("scoring config: a 'groups' list is required")
    classes = _section(data, "rating_classes")
    norm = _section(data, "normalisation")
    return _validate_config(
        ScoringConfig(
            groups=tuple(_parse_group(g, f"groups[{i}]") for i, g in enumerate(data["groups"])),
            class_method=str(classes.get("method", "range_quartiles")),
            all_equal_value=_number(norm.get("all_equal_value", 1.0),
                                    "normalisation.all_equal_value"),
            osi_subindex={str(k): str(v) for k, v in _section(data, "osi_subindex").items()},
        )
    )


def _read_yaml(path: Path | str, error: type[ValueError]) -> Any:
    try:
        return read_yaml_file(path)
    except YamlFileError as exc:
        raise error(f"{path}: {exc}") from None


def load_scoring_config(path: Path | str = DEFAULT_CONFIG_PATH) -> ScoringConfig:
    """Read ``rubrics/scoring.yaml`` (or another file of the same shape) with the rubric's
    defensive YAML reader. Raises ScoringConfigError naming the file and the line or field."""
    data = _read_yaml(path, ScoringConfigError)
    try:
        return parse_scoring_config(data)
    except ScoringConfigError as exc:
        raise ScoringConfigError(f"{path}: {exc}") from None
