"""Report language: UI strings from templates/strings.yaml, rubric texts from the rubric.

Vietnamese is the default; English is for reports sent abroad. Rubric texts (criterion titles,
remediation, service names) come from the rubric's *_vi / *_en fields, never from this table.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from core.indicators import Indicator
from core.rubric import Criterion, Service, Unit, load_rubric
from core.targets import BodyName, load_bodies

STRINGS_FILE = Path(__file__).resolve().parents[1] / "templates" / "strings.yaml"
LANGS = ("vi", "en")
DEFAULT_LANG = "vi"

_ROMAN_QUARTER = {"I": "Q1", "II": "Q2", "III": "Q3", "IV": "Q4"}
_QUARTER = re.compile(r"Quý\s+(IV|III|II|I)\s*/\s*(\d{4})")


def nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


@cache
def load_strings(path: Path = STRINGS_FILE) -> dict[str, dict[str, str]]:
    """``{key: {"vi": ..., "en": ...}}``; every key must have every language."""
    with path.open(encoding="utf-8") as fh:
        data = yaml.safe_load(fh) or {}
    for key, texts in data.items():
        missing = [lang for lang in LANGS if not isinstance(texts, dict) or lang not in texts]
        if missing:
            raise ValueError(f"{path.name}: string {key!r} has no {', '.join(missing)} text")
    return {k: {lang: nfc(str(v[lang])) for lang in LANGS} for k, v in data.items()}


@dataclass(frozen=True)
class Lang:
    code: str = DEFAULT_LANG

    def __post_init__(self) -> None:
        if self.code not in LANGS:
            raise ValueError(f"language must be one of {LANGS}, got {self.code!r}")

    @property
    def suffix(self) -> str:
        """File-name suffix: none for the default language (report.html, report.en.html)."""
        return "" if self.code == DEFAULT_LANG else f".{self.code}"

    def t(self, key: str, **values: Any) -> str:
        text = load_strings()[key][self.code]  # KeyError names a missing key: a bug, fail loud
        return text.format(**values) if values else text

    def has(self, key: str) -> bool:
        return key in load_strings()

    # -- rubric texts ---------------------------------------------------------------------
    def criterion_title(self, c: Criterion) -> str:
        return c.title_en if self.code == "en" else c.title_vi

    def question(self, c: Criterion) -> str:
        return c.question_en if self.code == "en" else c.question_vi

    def remediation(self, c: Criterion) -> str:
        return c.remediation_en if self.code == "en" else c.remediation_vi

    def pick(self, obj: Any, field: str) -> str:
        """`obj.<field>_en` in English (the Vietnamese text when it has none), else
        `<field>_vi`: the indicator sets' questions, fixes and group names."""
        vi = getattr(obj, f"{field}_vi")
        return (getattr(obj, f"{field}_en") or vi) if self.code == "en" else vi

    def service_name(self, s: Service) -> str:
        return s.name_en if self.code == "en" else s.name_vi

    def unit_name(self, u: Unit) -> str:
        """Agencies have English names (units.yaml `name_en`); province names are proper names."""
        return (u.name_en or u.name) if self.code == "en" else u.name

    def unit_name_of(self, rubric: Any, code: str, fallback: str) -> str:
        """A unit's name by code (a score row): `fallback` (the stored name) when the rubric
        does not know the code or has no English name."""
        unit = next((u for u in rubric.units if u.code == code), None)
        return fallback if unit is None else self.unit_name(unit)

    def system(self, label: str, rubric: Any) -> str:
        """A ministry system's label ("Bộ Tư pháp – host"): its ministry named in English from
        the rubric (agencies' `name_en`, services' `ministries_en`) when there is one."""
        ministry, sep, host = label.partition(" – ")
        if self.code != "en" or not ministry:
            return label
        return f"{rubric_english_names(rubric).get(ministry, ministry)}{sep}{host}"

    def legal_basis(self, c: Criterion | Indicator) -> str:
        """A criterion's or a UN survey feature's legal basis; in English `legal_basis_en`
        (the Vietnamese text when it has none)."""
        return (c.legal_basis_en or c.legal_basis) if self.code == "en" else c.legal_basis

    def group_label(self, group: Any) -> str:
        return group.label_en if self.code == "en" else group.label_vi

    def annex_deadline(self, s: Service) -> str:
        """The annex's deadline of a service; in English from `annex_deadline_en` when the
        annex wrote words, not a quarter."""
        if self.code == "en" and s.annex_deadline_en:
            return s.annex_deadline_en
        return self.deadline(s.annex_deadline)

    def deadline(self, text: str) -> str:
        """Annex deadlines read "Quý IV/2020"; English readers get "Q4 2020"."""
        if self.code != "en":
            return text
        if text in _english_deadlines():  # the annex wrote words, not a quarter
            return _english_deadlines()[text]
        return _QUARTER.sub(lambda m: f"{_ROMAN_QUARTER[m[1]]} {m[2]}", text)

    def reason(self, code: str) -> str:
        key = f"reason.{code}"
        return self.t(key) if code and self.has(key) else code

    def label(self, prefix: str, code: str) -> str:
        """The string `prefix.code`, or the code itself when the table has none."""
        key = f"{prefix}.{code or 'empty'}"
        return self.t(key) if self.has(key) else code

    def verdict(self, code: str) -> str:
        return self.t(f"verdict.{code}")

    def status(self, code: str) -> str:
        return self.t(f"status.{code}") if self.has(f"status.{code}") else code

    def kind(self, code: str) -> str:
        return self.t(f"kind.{code}")

    def body_name(self, name: str) -> str:
        """A body named by the rubric (a ministry, an agency), in English when it has one."""
        return _english_names().get(name, name) if self.code == "en" and name else name

    def body(self, body: BodyName) -> str:
        """A body by its current name, the annex's former name in brackets (rubrics/bodies.yaml)."""
        if not body.formers:
            return body.current
        return self.t("body.formerly", current=body.current, former=", ".join(body.formers))

    def ministries(self, service: Service) -> list[str]:
        """The annex's ministries of a service by their current names (2025 reorganisation);
        in English from the rubric's English names (services' `ministries_en`, units'
        `name_en`) where it has them."""
        bodies = load_bodies().of_service(service.ministries, service.id)
        if self.code == "en":
            names = {**dict(zip(service.ministries, service.ministries_en, strict=False)),
                     **_english_names()}
            bodies = [BodyName(names.get(b.current, b.current),
                               tuple(names.get(f, f) for f in b.formers)) for b in bodies]
        return [self.body(b) for b in bodies]

    def responsible(self, service: Service, unit: Unit) -> str:
        """Who must close a gap: the annex's ministries (today's names), and the province's
        People's Committee."""
        parts = list(self.ministries(service))
        if unit.kind == "province":
            parts.append(self.t("people_committee", name=unit.name))
        return "; ".join(parts)

    def num(self, value: float | None, digits: int = 3) -> str:
        """A number as this language writes it (Vietnamese: decimal comma)."""
        if value is None:
            return "—"
        text = f"{value:.{digits}f}"
        return text.replace(".", ",") if self.code == "vi" else text

    def pct(self, value: float | None, digits: int = 1) -> str:
        return "—" if value is None else f"{self.num(value * 100, digits)}%"


def rubric_english_names(rubric: Any) -> dict[str, str]:
    """Vietnamese body names -> English as a rubric gives them (agencies' `name_en`, services'
    `ministries_en`)."""
    names = {u.name: u.name_en for u in rubric.units if u.name_en}
    for s in rubric.services:
        names.update(zip(s.ministries, s.ministries_en, strict=False))
    return names


@cache
def _english_names() -> dict[str, str]:
    """Vietnamese body names -> English, from the project's rubric and bodies.yaml (as
    load_bodies reads it)."""
    return {**rubric_english_names(load_rubric()), **load_bodies().english}


@cache
def _english_deadlines() -> dict[str, str]:
    """Annex deadlines written in words -> their English (services' `annex_deadline_en`)."""
    return {s.annex_deadline: s.annex_deadline_en for s in load_rubric().services
            if s.annex_deadline_en}
