"""Where Vietnam would stand: OSI, EGDI and rank estimates against the UN survey data (issue 7).

Pure functions over a UN E-Government Survey CSV (the 193-country export, read in place, never
shipped with the project) and the data in ``rubrics/standing.yaml``:

- ``load_un_data`` / ``check_edition`` (audits/un_data.py, re-exported here): read the CSV,
  map the known header variants to canonical columns; recompute EGDI and the EGDI/OSI ranks.
- ``what_if`` / ``places_steps``: the country's OSI rises by d, every other country fixed.
- ``bridge_estimate``: the project's verdicts -> share of UN service features met -> d (estimate).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

from audits.survey import NOT_REVIEWED, score_unit
from audits.survey_answers import services_answers
from audits.un_data import CheckReport, Edition, StandingDataError, check_edition, country_key
from audits.un_data import competition_rank as competition_rank  # re-exported (tests)
from audits.un_data import load_un_data as load_un_data  # re-exported (the CLI, the report)
from core.indicators import NATIONAL_UNIT, IndicatorSet
from core.vocab import Verdict
from core.yamlio import YamlFileError, read_yaml_file

STANDING_YAML = Path(__file__).resolve().parents[1] / "rubrics" / "standing.yaml"
VERDICTS = tuple(map(str, Verdict))  # plain strings: named in messages
MET, NOT_MET = Verdict.MET, Verdict.NOT_MET
NA, CANNOT = Verdict.NOT_APPLICABLE, Verdict.CANNOT_TEST


# --------------------------------------------------------------------------- what-if


@dataclass(frozen=True)
class Position:
    osi: float
    egdi: float
    egdi_rank: int
    osi_rank: int
    asean_egdi: int | None  # position among the ASEAN members in the file; None if not a member
    asean_osi: int | None


@dataclass(frozen=True)
class WhatIf:
    """ESTIMATE: the country's OSI rises by d, every other country's values fixed."""

    country: str
    d: float  # asked
    d_applied: float  # after the 0..1 cap on the OSI
    capped: bool
    before: Position
    after: Position
    asean_size: int


def _position(ed: Edition, country: str, osi: float, egdi: float, asean: Iterable[str]) -> Position:
    others = [r for r in ed.rows if r.country != country]
    egdi_rank = 1 + sum(1 for r in others if r.egdi > egdi)
    osi_rank = 1 + sum(1 for r in others if r.osi > osi)
    members = {country_key(a) for a in asean}
    if country_key(country) not in members:
        return Position(osi, egdi, egdi_rank, osi_rank, None, None)
    peers = [r for r in others if country_key(r.country) in members]
    return Position(
        osi,
        egdi,
        egdi_rank,
        osi_rank,
        asean_egdi=1 + sum(1 for r in peers if r.egdi > egdi),
        asean_osi=1 + sum(1 for r in peers if r.osi > osi),
    )


def asean_size(ed: Edition, asean: Iterable[str]) -> int:
    members = {country_key(a) for a in asean}
    return sum(1 for r in ed.rows if country_key(r.country) in members)


def what_if(ed: Edition, country: str, d: float, asean: Iterable[str] = ()) -> WhatIf:
    """The country's OSI + d (capped to 0..1), others fixed; new EGDI = published EGDI + d/3.

    Starting from the published EGDI (not the recomputed one) keeps d = 0 on the published
    rank. The cap at 1.0 stands for the min-max normalisation: a raw score past the current
    leader's would make this country 1.0 and push every other OSI down, which is not modelled.
    """
    asean = tuple(asean)
    row = ed.row(country)
    new_osi = min(1.0, max(0.0, row.osi + d))
    applied = new_osi - row.osi
    return WhatIf(
        country=row.country,
        d=d,
        d_applied=applied,
        capped=abs(applied - d) > 1e-12,
        before=_position(ed, row.country, row.osi, row.egdi, asean),
        after=_position(ed, row.country, new_osi, row.egdi + applied / 3, asean),
        asean_size=asean_size(ed, asean),
    )


@dataclass(frozen=True)
class PlacesStep:
    """The smallest OSI rise d that passes the k-th country above (gains at least k places)."""

    places: int
    target: str | None  # the country to pass; None when fewer than k countries are above
    target_egdi: float | None
    target_rank: int | None
    d_tie: float | None  # 3 x EGDI gap: equal EGDI, shared rank
    d: float | None  # d_tie + epsilon: strictly above
    reachable: bool  # d exists and keeps OSI <= 1.0
    result: WhatIf | None


def places_steps(
    ed: Edition,
    country: str,
    places: Iterable[int] = (1, 5, 10, 15),
    epsilon: float = 1e-6,
    asean: Iterable[str] = (),
) -> list[PlacesStep]:
    """Exact from the file: EGDI moves by d/3, so d = 3 x (EGDI of the k-th above - own) + eps."""
    asean = tuple(asean)
    row = ed.row(country)
    above = sorted((r for r in ed.rows if r.egdi > row.egdi), key=lambda r: r.egdi)
    steps = []
    for k in places:
        if k < 1 or k > len(above):
            steps.append(PlacesStep(k, None, None, None, None, None, False, None))
            continue
        target = above[k - 1]  # above[0] is the nearest country above
        d_tie = 3 * (target.egdi - row.egdi)
        d = d_tie + epsilon
        reachable = row.osi + d <= 1.0
        result = what_if(ed, row.country, d, asean) if reachable else None
        steps.append(
            PlacesStep(
                k, target.country, target.egdi, target.egdi_rank, d_tie, d, reachable, result
            )
        )
    return steps


# --------------------------------------------------------------------------- rubric


@dataclass(frozen=True)
class FeatureRule:
    id: str
    criterion: str
    rule: str  # "any" | "share"
    threshold: float = 0.0
    label: str = ""
    note: str = ""


@dataclass(frozen=True)
class StandingConfig:
    version: str
    default_country: str
    weights: Mapping[str, float]
    weights_status: str
    asean: tuple[str, ...]
    places: tuple[int, ...]
    epsilon: float
    features: tuple[FeatureRule, ...]
    sp_coverage: float
    raw_range: float

    @property
    def sp_weight(self) -> float:
        return self.weights["SP"]

    @property
    def factor(self) -> float:
        """Raw-to-normalised factor: coverage of SP by the features / (max raw - min raw)."""
        return self.sp_coverage / self.raw_range


def _get(data: Any, key: str, path: Path, where: str = "") -> Any:
    if not isinstance(data, Mapping):
        raise StandingDataError(f"{path}: {where.rstrip('.') or 'top level'}: must be a mapping")
    if key not in data:
        raise StandingDataError(f"{path}: {where}{key}: missing")
    return data[key]


def _float(data: Any, key: str, path: Path, where: str = "") -> float:
    value = _get(data, key, path, where)
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise StandingDataError(f"{path}: {where}{key}: must be a number, not {value!r}")
    return float(value)


def _list(data: Any, key: str, path: Path, where: str = "") -> list[Any]:
    value = _get(data, key, path, where)
    if not isinstance(value, list):
        raise StandingDataError(f"{path}: {where}{key}: must be a list, not {value!r}")
    return value


def _feature(fid: str, spec: Any, path: Path) -> FeatureRule:
    where = f"bridge.features.{fid}."
    rule = _get(spec, "rule", path, where)
    if rule not in ("any", "share"):
        raise StandingDataError(f"{path}: {where}rule must be 'any' or 'share', not {rule!r}")
    threshold = _float(spec, "threshold", path, where) if "threshold" in spec else 0.0
    if rule == "share" and not 0.0 < threshold <= 1.0:
        raise StandingDataError(f"{path}: {where}threshold must be in (0, 1], not {threshold}")
    return FeatureRule(
        fid,
        str(_get(spec, "criterion", path, where)),
        rule,
        threshold,
        str(spec.get("label", fid)),
        str(spec.get("note", "")),
    )


def _places(wi: Any, path: Path) -> tuple[int, ...]:
    places = _list(wi, "places", path, "what_if.")
    for i, p in enumerate(places):
        if isinstance(p, bool) or not isinstance(p, int) or p < 1:
            raise StandingDataError(f"{path}: what_if.places[{i}]: must be a whole number of "
                                    f"places, 1 or more, not {p!r}")
    return tuple(places)


def load_standing_config(path: str | Path = STANDING_YAML) -> StandingConfig:
    """Read ``rubrics/standing.yaml`` with the rubric's defensive YAML reader. Raises
    StandingDataError naming the file and the line or field (``bridge.raw_range: ...``)."""
    path = Path(path)
    try:
        data = read_yaml_file(path)
    except YamlFileError as e:
        raise StandingDataError(f"{path}: {e}") from None
    w = _get(data, "osi_weights", path)
    weights = {k: _float(w, k, path, "osi_weights.") for k in ("SP", "EPI", "IF", "CP", "TEC")}
    if abs(sum(weights.values()) - 1.0) > 1e-9:
        raise StandingDataError(f"{path}: osi_weights sum to {sum(weights.values())}, not 1")
    wi, br = _get(data, "what_if", path), _get(data, "bridge", path)
    feats = _get(br, "features", path, "bridge.")
    if not isinstance(feats, Mapping):
        raise StandingDataError(f"{path}: bridge.features: must map feature names to rules")
    raw_range = _float(br, "raw_range", path, "bridge.")
    if raw_range <= 0:
        raise StandingDataError(f"{path}: bridge.raw_range must be > 0")
    return StandingConfig(
        version=str(data.get("version", "")),
        default_country=str(_get(data, "default_country", path)),
        weights=weights,
        weights_status=str(w.get("status", "")),
        asean=tuple(str(a) for a in _list(data, "asean", path)),
        places=_places(wi, path),
        epsilon=_float(wi, "epsilon", path, "what_if."),
        features=tuple(_feature(str(fid), spec, path) for fid, spec in feats.items()),
        sp_coverage=_float(br, "sp_coverage", path, "bridge."),
        raw_range=raw_range,
    )


# --------------------------------------------------------------------------- bridge

Key = tuple[str, str, str]  # unit_code, service_id, criterion_id


@dataclass(frozen=True)
class ServiceFeature:
    service_id: str
    feature: str
    status: str  # met | not_met | cannot_test | not_applicable
    units_met: int
    units_tested: int  # met + not_met
    units_cannot_test: int


@dataclass(frozen=True)
class BridgeEstimate:
    """ESTIMATE of the OSI change if the given gaps were closed."""

    share_before: float | None
    share_after: float | None
    counted: int  # (service, feature) pairs decided before; the base of both shares
    met_before: int
    met_after: int
    excluded: int  # pairs not decided before (cannot_test): they never move the estimate
    sp_weight: float
    factor: float
    d_osi: float
    before: tuple[ServiceFeature, ...]
    after: tuple[ServiceFeature, ...]
    ignored_gaps: tuple[tuple[Key, str], ...] = field(default=())  # gap, reason
    label: str = "ESTIMATE"


def index_verdicts(rows: Iterable[Mapping[str, Any]]) -> dict[Key, str]:
    out: dict[Key, str] = {}
    for i, r in enumerate(rows):
        try:
            key = (str(r["unit_code"]), str(r["service_id"]), str(r["criterion_id"]))
            verdict = str(r["verdict"])
        except KeyError as e:
            raise ValueError(f"verdict row {i}: missing key {e.args[0]!r}") from None
        if verdict not in VERDICTS:
            raise ValueError(f"verdict row {i} {key}: verdict {verdict!r} not in {VERDICTS}")
        if key in out:
            raise ValueError(f"verdict row {i}: duplicated {key}")
        out[key] = verdict
    return out


def _feature_status(
    service_id: str, verdicts: list[str], rule: FeatureRule, has_rows: bool
) -> ServiceFeature:
    met, not_met = verdicts.count(MET), verdicts.count(NOT_MET)
    cannot, tested = verdicts.count(CANNOT), met + not_met
    if not has_rows:
        status = CANNOT  # a service asked for with no verdict at all: no evidence
    elif tested == 0:
        status = CANNOT if cannot else NA
    elif rule.rule == "any":
        status = MET if met else NOT_MET
    else:
        status = MET if met and met / tested >= rule.threshold else NOT_MET
    return ServiceFeature(service_id, rule.id, status, met, tested, cannot)


def national_features(
    verdicts: Mapping[Key, str],
    features: Iterable[FeatureRule],
    services: Iterable[str] | None = None,
) -> tuple[ServiceFeature, ...]:
    """Per (service, feature): does the service offer the UN feature at the national level?

    Units whose verdict is not_applicable (not delivered there) or cannot_test (no evidence)
    are left out of the count, never scored 0 (project rule). No tested unit: cannot_test, or
    not_applicable when no unit applies; a service in ``services`` with no row at all: cannot_test.
    """
    features = tuple(features)
    service_ids = sorted(set(services) if services is not None else {k[1] for k in verdicts})
    by_pair: dict[tuple[str, str], list[str]] = {}
    for (_, sid, cid), v in verdicts.items():
        by_pair.setdefault((sid, cid), []).append(v)
    with_rows = {k[1] for k in verdicts}
    return tuple(
        _feature_status(sid, by_pair.get((sid, rule.criterion), []), rule, sid in with_rows)
        for sid in service_ids
        for rule in features
    )


def close_gaps(
    verdicts: Mapping[Key, str], gaps: Iterable[Key | Mapping[str, Any]]
) -> tuple[dict[Key, str], list[tuple[Key, str]]]:
    """Treat the gaps as met. Gaps with no row or a not_applicable row are returned as ignored."""
    after, ignored = dict(verdicts), []
    for g in gaps:
        key = (
            (str(g["unit_code"]), str(g["service_id"]), str(g["criterion_id"]))
            if isinstance(g, Mapping)
            else cast(Key, tuple(map(str, g)))
        )
        if key not in after:
            ignored.append((key, "no verdict row"))
        elif after[key] == NA:
            ignored.append((key, str(NA)))
        else:
            after[key] = MET
    return after, ignored


def bridge_estimate(
    rows: Iterable[Mapping[str, Any]],
    gaps: Iterable[Key | Mapping[str, Any]],
    features: Iterable[FeatureRule],
    sp_weight: float,
    factor: float = 1.0,
    services: Iterable[str] | None = None,
) -> BridgeEstimate:
    """d_OSI = sp_weight x (share_after - share_before) x factor   (an ESTIMATE).

    share = met / counted over the (service, feature) pairs decided (met or not_met) before
    the gaps are closed; the same base is used after, so closing a cannot_test row adds
    nothing: its starting point is unknown.
    """
    features = tuple(features)
    services = None if services is None else tuple(services)
    verdicts = index_verdicts(rows)
    after_verdicts, ignored = close_gaps(verdicts, gaps)
    before = national_features(verdicts, features, services)
    after = national_features(after_verdicts, features, services)
    base = [i for i, f in enumerate(before) if f.status in (MET, NOT_MET)]
    met_b = sum(1 for i in base if before[i].status == MET)
    met_a = sum(1 for i in base if after[i].status == MET)
    share_b = met_b / len(base) if base else None
    share_a = met_a / len(base) if base else None
    d = sp_weight * (share_a - share_b) * factor \
        if share_a is not None and share_b is not None else 0.0  # both are None without a base
    return BridgeEstimate(
        share_before=share_b,
        share_after=share_a,
        counted=len(base),
        met_before=met_b,
        met_after=met_a,
        excluded=sum(1 for f in before if f.status == CANNOT),
        sp_weight=sp_weight,
        factor=factor,
        d_osi=d,
        before=before,
        after=after,
        ignored_gaps=tuple(ignored),
    )


# --------------------------------------------------------------------------- report

ESTIMATE_NOTES = (
    "What-if values are ESTIMATES: only this country's OSI changes; its TII and HCI and every "
    "other country's values stay as published.",
    "New EGDI = published EGDI + d/3 (EGDI is the mean of OSI, TII, HCI). Ranks: 1 + number "
    "of countries with a strictly higher value (ties share a rank, as the published ranks do).",
    "OSI is min-max normalised each edition (leader 1, last 0). The estimate keeps the others' "
    "OSI fixed and caps this OSI at 1.0: past the current leader's raw score every other OSI "
    "would be re-normalised downward, which is not modelled.",
    "d is in normalised OSI points (0..1). 'd to tie' = 3 x EGDI gap: equal EGDI, shared rank; "
    "d adds a small epsilon to pass. The UN publishes EGDI rounded to 4-5 decimals, so a d "
    "within a rounding unit of a threshold may end in a tie once rounded.",
)


def standing_report(
    ed: Edition, country: str, cfg: StandingConfig, deltas: Iterable[float] = (),
    national: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Everything the command prints, as plain data (the --json output). `national`: a
    run's estimate (`national_estimate`), shown when the command is given a results DB."""
    chk = check_edition(ed)
    row = ed.row(country)
    base = what_if(ed, row.country, 0.0, cfg.asean)
    steps = places_steps(ed, row.country, cfg.places, cfg.epsilon, cfg.asean)
    return {
        "file": str(ed.path),
        "year": ed.year,
        "years_in_file": list(ed.years_in_file),
        "countries": len(ed.rows),
        "notes": list(ed.notes),
        "check": _check_dict(chk),
        "country": {
            "name": row.country,
            "tii": row.tii,
            "hci": row.hci,
            "published_rank": row.egdi_rank,
            **_position_dict(base.before),
            "asean_size": base.asean_size,
        },
        "places": [_step_dict(s) for s in steps],
        "what_if": [_whatif_dict(what_if(ed, row.country, d, cfg.asean)) for d in deltas],
        "estimate_notes": list(ESTIMATE_NOTES),
        "osi_weights": {**cfg.weights, "status": cfg.weights_status},
        **({"national_estimate": dict(national)} if national is not None else {}),
    }


def _check_dict(c: CheckReport) -> dict[str, Any]:
    return {
        "ok": c.ok,
        "countries": c.n,
        "tolerance": c.tolerance,
        "egdi_max_dev": c.egdi_max_dev,
        "egdi_max_dev_country": c.egdi_max_dev_country,
        "egdi_mismatches": [list(m) for m in c.egdi_mismatches],
        "egdi_rank_mismatches": [list(m) for m in c.rank_mismatches],
        "osi_rank_mismatches": [list(m) for m in c.osi_rank_mismatches],
        "shared_ranks": c.shared_ranks,
        "ranks_changed_if_unrounded": c.ranks_changed_if_unrounded,
        "osi_min": c.osi_min,
        "osi_max": c.osi_max,
        "osi_min_max_normalised": c.osi_min_max_normalised,
    }


def _position_dict(p: Position) -> dict[str, Any]:
    return {
        "osi": p.osi,
        "egdi": p.egdi,
        "egdi_rank": p.egdi_rank,
        "osi_rank": p.osi_rank,
        "asean_egdi": p.asean_egdi,
        "asean_osi": p.asean_osi,
    }


def _whatif_dict(w: WhatIf) -> dict[str, Any]:
    return {
        "estimate": True,
        "d": w.d,
        "d_applied": w.d_applied,
        "capped": w.capped,
        "before": _position_dict(w.before),
        "after": _position_dict(w.after),
    }


def _step_dict(s: PlacesStep) -> dict[str, Any]:
    return {
        "estimate": True,
        "places": s.places,
        "target": s.target,
        "target_egdi": s.target_egdi,
        "target_rank": s.target_rank,
        "d_tie": s.d_tie,
        "d": s.d,
        "reachable": s.reachable,
        "after": _position_dict(s.result.after) if s.result else None,
    }


# The estimate notes in Vietnamese (`dvc-audit standing` speaks Vietnamese by default).
ESTIMATE_NOTES_VI = (
    "Các giá trị giả định là ƯỚC TÍNH: chỉ OSI của quốc gia này thay đổi; TII, HCI của quốc gia "
    "này và số liệu của mọi quốc gia khác giữ nguyên như đã công bố.",
    "EGDI mới = EGDI đã công bố + d/3 (EGDI là trung bình của OSI, TII, HCI). Hạng = 1 + số "
    "quốc gia có giá trị cao hơn hẳn (bằng nhau thì cùng hạng, như hạng đã công bố).",
    "OSI được chuẩn hóa min-max mỗi kỳ (cao nhất 1, thấp nhất 0). Ước tính giữ nguyên OSI của "
    "các nước khác và giới hạn OSI của quốc gia này ở 1,0: vượt điểm thô của nước dẫn đầu thì "
    "mọi OSI khác sẽ được chuẩn hóa lại, điều này không được mô phỏng.",
    "d tính bằng điểm OSI chuẩn hóa (0..1). \"d để bằng\" = 3 × chênh lệch EGDI: EGDI bằng "
    "nhau, cùng hạng; d cộng thêm một lượng rất nhỏ để vượt. Liên Hợp Quốc công bố EGDI làm "
    "tròn 4-5 chữ số thập phân, nên một d sát ngưỡng có thể thành bằng nhau sau khi làm tròn.",
)


# --------------------------------------------------------------------------- survey (issue 18)


@dataclass(frozen=True)
class SurveyEstimate:
    """ESTIMATE of the national OSQ from the audit's indicator answers (all sub-indices
    measured so far, not only the 20 services), and of the OSI change if some answers changed.

    `share` is the weighted mean of the sub-index shares over the features measured (met or
    not met); `measured_share` says how much of the OSQ that is. `d_raw` counts each feature
    moved from not_met to met against ALL the features of its sub-index (measured or not), as
    the UN's score would: the unmeasured ones keep whatever value they have."""

    share: float | None
    measured_share: float
    measured: int  # features that entered the share
    total: int  # features of the OSQ list
    groups: Mapping[str, float | None]  # sub-index id -> share over its measured features
    raised: int  # features moved from not_met to met by the what-if
    d_raw: float  # change of the raw OSQ score
    d_osi: float  # d_raw / raw_range (normalised OSI points)
    weights_are_estimates: bool
    label: str = "ESTIMATE"


def _group_weights(iset: IndicatorSet) -> dict[str, float]:
    """Scoring group -> its share of the OSQ (weights normalised; none given: by features)."""
    scored = [g for g in iset.groups if not g.score_with]
    if all(g.weight is None for g in scored):
        into = {g.id: g.score_with or g.id for g in iset.groups}
        total = sum(i.weight for i in iset.indicators)
        per = {g.id: sum(i.weight for i in iset.indicators if into[i.group] == g.id)
               for g in scored}
        return {gid: w / total for gid, w in per.items()} if total else {}
    total = sum(g.weight or 0.0 for g in scored)
    return {g.id: (g.weight or 0.0) / total for g in scored} if total else {}


def survey_estimate(iset: IndicatorSet, before: Mapping[str, str | None],
                    after: Mapping[str, str | None] | None = None,
                    raw_range: float = 1.0) -> SurveyEstimate:
    """The OSQ share now (`before`: indicator id -> verdict, None when not reviewed), and the
    OSI change if the answers were `after` (only not_met -> met moves count: a feature that
    could not be tested has no known starting point)."""
    score = score_unit(iset, NATIONAL_UNIT, before)
    into = {g.id: g.score_with or g.id for g in iset.groups}
    group_total: dict[str, float] = {}
    for ind in iset.indicators:
        group_total[into[ind.group]] = group_total.get(into[ind.group], 0.0) + ind.weight
    weights = _group_weights(iset)
    raised, d_raw = 0, 0.0
    for ind in iset.indicators:
        if after is not None and before.get(ind.id) == NOT_MET and after.get(ind.id) == MET:
            g = into[ind.group]
            raised += 1
            d_raw += weights.get(g, 0.0) * ind.weight / group_total[g]
    cov = score.coverage
    return SurveyEstimate(
        share=score.share, measured_share=cov.measured_share, measured=cov.scored(),
        total=cov.total(), groups={gid: g.share for gid, g in score.groups.items()},
        raised=raised, d_raw=d_raw, d_osi=d_raw / raw_range,
        weights_are_estimates=iset.weights_are_estimates)


def national_answers(rows: Iterable[Mapping[str, Any]],
                     set_id: str = "osq") -> dict[str, str | None]:
    """The national portal's answers (indicator id -> verdict; None: not reviewed) among a
    run's stored indicator answers; empty for a run judged before issue 18."""
    return {str(r["indicator_id"]): (None if r["verdict"] == NOT_REVIEWED else str(r["verdict"]))
            for r in rows if r["indicator_set"] == set_id and r["unit_code"] == NATIONAL_UNIT}


def every_gap_closed(answers: Mapping[str, str | None]) -> dict[str, str | None]:
    """Every feature found missing (not_met) met; the untested stay untested."""
    return {k: (str(MET) if v == NOT_MET else v) for k, v in answers.items()}


def services_closed(iset: IndicatorSet, answers: Mapping[str, str | None],
                    verdicts_after: Iterable[Mapping[str, Any]]) -> dict[str, str | None]:
    """The national answers once the 20-service verdicts are `verdicts_after` (gaps closed):
    the features the services decide are judged again, the others kept."""
    again = services_answers(iset, NATIONAL_UNIT, verdicts_after)
    return {**answers, **{k: str(v) for k, v in again.items()}}


def national_estimate(ed: Edition, country: str, cfg: StandingConfig,
                      verdicts: Iterable[Mapping[str, Any]], osq: IndicatorSet | None,
                      answers: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """A run's national ESTIMATE, as data: where the audit puts the national portal and what
    closing every gap it found would mean. With the run's OSQ answers (`basis` "survey"): the
    OSQ share over every sub-index measured so far and the measured share; every OSQ feature
    found missing met. Without them (a run judged before issue 18; `basis` "services"): the
    20-service bridge, every not_met verdict closed."""
    verdicts = list(verdicts)
    national = national_answers(answers) if osq is not None else {}
    row = ed.row(country)
    if osq is not None and national:
        est = survey_estimate(osq, national, every_gap_closed(national), cfg.raw_range)
        return {"estimate": True, "basis": "survey", "share": est.share,
                "measured_share": est.measured_share, "measured": est.measured,
                "total": est.total, "groups": dict(est.groups),
                "weights_are_estimates": est.weights_are_estimates,
                "every_gap": {"features": est.raised, "d_osi": est.d_osi,
                              **_whatif_dict(what_if(ed, row.country, est.d_osi, cfg.asean))}}
    gaps = [(str(v["unit_code"]), str(v["service_id"]), str(v["criterion_id"]))
            for v in verdicts if v["verdict"] == NOT_MET]
    bridge = bridge_estimate(verdicts, gaps, cfg.features, cfg.sp_weight, cfg.factor)
    return {"estimate": True, "basis": "services", "share": bridge.share_before,
            "measured_share": None, "measured": bridge.counted, "total": None, "groups": {},
            "weights_are_estimates": True,
            "every_gap": {"features": len(gaps), "d_osi": bridge.d_osi,
                          **_whatif_dict(what_if(ed, row.country, bridge.d_osi, cfg.asean))}}
