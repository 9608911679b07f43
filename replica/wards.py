"""Real scale: every province's real number of commune-level units (replica/data/wards.yaml).

The full scenario gives a province a handful of ward offices per ward-level procedure; the real
portal lists every ward (Hà Nội: 126 wards and communes). ``scale_ward_offers`` spreads each
province's real ward count (times a factor, for growth measurements) over the ward offers it
already has for a procedure, in proportion, so every state the scenario declares (levels,
testing, citizen URL) keeps its offers and the truth's best levels stay as they were, while a
ward-level procedure gets thousands of office rows and its office list pages.

    python -m replica generate --real-scale [--scale N] --out replica/scenarios/real_scale.yaml
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from replica.scenario import PROVINCE_CODE_RE, ScenarioError

WARDS_FILE = Path(__file__).parent / "data" / "wards.yaml"
REAL_TOTAL = 3321


def load_ward_counts(path: Path = WARDS_FILE, provinces: list[str] | None = None
                     ) -> dict[str, int]:
    """province code -> commune-level units, validated (one clear error naming file and field):
    codes quoted, counts positive integers, the stated total right, and, given the rubric's
    provinces, each of them exactly once."""
    from core.yamlio import YamlFileError, read_yaml_file

    try:
        doc = read_yaml_file(path)
    except YamlFileError as exc:
        raise ScenarioError(path, "(yaml)", str(exc)) from None
    if not isinstance(doc, dict) or set(doc) != {"total", "provinces"}:
        raise ScenarioError(path, "(top level)", "must have exactly the keys total, provinces")
    counts = doc["provinces"]
    if not isinstance(counts, dict):
        raise ScenarioError(path, "provinces", "must be a mapping of province code to count")
    out: dict[str, int] = {}
    for code, n in counts.items():
        if not isinstance(code, str) or not PROVINCE_CODE_RE.match(code):
            raise ScenarioError(path, f"provinces.{code}", "must be a quoted 2-digit code")
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise ScenarioError(path, f"provinces.{code}", f"must be an integer >= 1, got {n!r}")
        out[code] = n
    if sum(out.values()) != doc["total"]:
        raise ScenarioError(path, "total", f"is {doc['total']!r} but the counts sum to "
                            f"{sum(out.values())}")
    if provinces is not None:
        missing = sorted(set(provinces) - set(out))
        extra = sorted(set(out) - set(provinces))
        if missing or extra:
            raise ScenarioError(path, "provinces", f"must list every rubric province once; "
                                f"missing {missing}, not provinces {extra}")
    return out


def _spread(total: int, weights: list[int]) -> list[int]:
    """`total` split in proportion to `weights` (largest remainder), each part >= 1."""
    total = max(total, len(weights))
    whole = sum(weights)
    base = [max(1, total * w // whole) for w in weights]
    rest = total - sum(base)
    order = sorted(range(len(weights)), key=lambda i: -(total * weights[i] % whole))
    for i in order[:max(rest, 0)]:
        base[i] += 1
    while sum(base) > total:  # only when the floor of 1 took more than the share
        i = max(range(len(base)), key=lambda j: base[j])
        base[i] -= 1
    return base


def scale_ward_offers(offers: dict[str, list[dict[str, Any]]], counts: dict[str, int],
                      factor: float = 1.0) -> dict[str, list[dict[str, Any]]]:
    """Scenario `offers` (as in a scenario document) with each province's ward offers of a
    procedure standing for round(its real ward count x factor) offices in all."""
    out: dict[str, list[dict[str, Any]]] = {}
    for unit, rows in offers.items():
        rows = [dict(r) for r in rows]
        groups: dict[str, list[dict[str, Any]]] = {}
        for row in rows:
            if row.get("office") == "ward" and not row.get("office_code"):  # explicit: one office
                groups.setdefault(row["procedure"], []).append(row)
        wards = round(counts.get(unit, 0) * factor)
        for group in groups.values():
            if not wards:
                continue
            for row, n in zip(group, _spread(wards, [r.get("count", 1) for r in group]),
                              strict=True):
                row.pop("count", None)
                if n > 1:
                    row["count"] = n
        out[unit] = rows
    return out


def real_scale_document(rubric: Any, factor: float = 1.0, seed: int = 2026) -> dict[str, Any]:
    """The full scenario's document with every province's real number of wards (x factor)."""
    from replica.generate import generate

    doc = generate(rubric, seed=seed)
    provinces = [u.code for u in rubric.units if u.kind == "province"]
    doc["offers"] = scale_ward_offers(doc["offers"], load_ward_counts(provinces=provinces),
                                      factor)
    scale = "" if factor == 1 else f" x {factor:g}"
    doc["name"] = "real_scale" if factor == 1 else f"real_scale_x{factor:g}"
    doc["description"] = (
        f"The full scenario (seed {seed}) with every province's real number of commune-level "
        f"units{scale} (replica/data/wards.yaml) spread over its ward offers: `python -m replica "
        f"generate --real-scale{' --scale ' + format(factor, 'g') if factor != 1 else ''}`.")
    return doc


def real_scale_scenario(rubric: Any, factor: float = 1.0, seed: int = 2026,
                        path: str = "real_scale.yaml") -> Any:
    """The real-scale scenario in memory (bench/run.py's x3 and x10 runs)."""
    from replica.scenario import parse_scenario

    return parse_scenario(real_scale_document(rubric, factor, seed), path)


def render_real_scale(rubric: Any, factor: float = 1.0, seed: int = 2026) -> str:
    """The real-scale scenario file's text (deterministic, like the full one)."""
    from replica.generate import render_yaml

    return render_yaml(real_scale_document(rubric, factor, seed)).replace(
        "`python -m replica generate` (replica/generate.py)",
        "`python -m replica generate --real-scale` (replica/wards.py)", 1)


def write_real_scale(rubric: Any, out: Path, factor: float = 1.0, seed: int = 2026) -> str:
    import yaml

    from replica.scenario import parse_scenario

    text = render_real_scale(rubric, factor, seed)
    parse_scenario(yaml.safe_load(text), out)  # round-trip check
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    return text
