"""Generate the full scenario deterministically from the rubric and a seed.

    python -m replica generate --rubric rubrics --out replica/scenarios/full.yaml --seed 2026

Every rubric procedure is in the catalogue; the 34 provinces get offers for every
province-delivered service with mixed states (about 50% FULL, 25% PARTIAL, 10% NONE, 15%
unlisted), some ward-only, some without citizen URL, some in testing; agencies get offers for the
services they run; filler brings the catalogue to the real total (5,670); one procedure is
blocked. Every province gets its own portal (`portals`): the platform family observed for it in
../shared/research/portals/derived/provincial_portals_observed.csv, else a drawn one; what the
portal offers follows the national level mostly, and disagrees with it sometimes; two provinces
hand off nothing nationally (found through the portal list); one portal is down, one blocked.
As the real rows of October 2026 do, every office row of birth, death and marriage registration
hands off to the Ministry of Justice's system and every building-permit row to the Ministry of
Construction's (`systems`, `citizen_url: system:<id>`); the other services stay with the
provinces' own portals.
Real office shapes (`_real_shapes`): the commune police's generic `BCA_CAX` rows for a building
permit procedure, EVN's tax-code office `0100100079`, and in the province whose portal is down
(so the national rows decide) a ward-level procedure offered toàn trình in 97 wards and một phần
in 29 (below the 0.9 coverage threshold), on a service no ministry system takes.
Same rubric + same seed -> byte-identical file.
"""

from __future__ import annotations

import json
import random
import re
import unicodedata
from pathlib import Path
from typing import Any

import yaml

from core.vocab import IMPLEMENTATION_RANK as NATIONAL_RANK
from replica.catalogue import build_portal
from replica.names import agency_info
from replica.scenario import Fee, parse_scenario
from replica.truth import CHARGED, fee_kind

REAL_TOTAL = 5670
PROVINCE_STATES = (("FULL", 50), ("PARTIAL", 25), ("NONE", 10), ("UNLISTED", 15))
AGENCY_STATES = (("FULL", 55), ("PARTIAL", 20), ("NONE", 10), ("UNLISTED", 15))
LOWER = {"FULL": "PARTIAL", "PARTIAL": "NONE", "NONE": "NONE"}
# Families observed for real (provincial_portals_observed.csv); the others are drawn.
OBSERVED_FAMILIES = {
    "79": "igate", "75": "igate", "08": "igate", "31": "igate", "48": "igate", "51": "igate",
    "37": "igate", "68": "igate", "91": "igate", "04": "eform", "12": "eform", "15": "eform",
    "22": "eform", "01": "eform", "19": "eform", "24": "legacy", "92": "legacy", "80": "legacy",
}
DRAWN_FAMILIES = (("igate", 30), ("eform", 40), ("legacy", 30))
PORTAL_SSO = {"igate": 0.8, "eform": 0.55, "legacy": 0.35}
# What the portal offers, by the best national level of the province's rows (-1: unlisted).
PORTAL_OFFERS = {
    2: (("full", 80), ("partial", 12), ("info", 4), ("absent", 4)),
    1: (("partial", 70), ("full", 15), ("info", 10), ("absent", 5)),
    0: (("info", 60), ("partial", 20), ("absent", 20)),
    -1: (("absent", 70), ("full", 10), ("partial", 10), ("info", 10)),
}
# Procedures as their real details (July 2026, ../shared) show them: methods, and fees written
# in words beside a 0 or null value (short texts of the same kind, not the real ones). Applied
# after the random draws, so the rest of the file does not move.
_HDND = "Mức lệ phí cụ thể do Hội đồng nhân dân tỉnh quyết định."
_OPD, _OD = ["ONLINE", "POSTAL", "DIRECT"], ["ONLINE", "DIRECT"]
REAL_SHAPES: dict[str, dict[str, Any]] = {
    "1.001193": {"methods": _OPD, "fees": {"ONLINE": [{"type": "SERVICE_FEE", "value": 0}]}},
    "2.000986": {"methods": ["DIRECT"], "offline_only_flag": False},
    "2.001023": {"methods": ["DIRECT"], "offline_only_flag": False},
    "1.013225": {"methods": _OPD, "duplicate_cases": True, "fees": {"ONLINE": [
        {"value": 0, "description": "Theo quy định của Hội đồng nhân dân cấp tỉnh"}]}},
    "1.004194": {"methods": _OD, "fees": {"ONLINE": [
        {"value": 7000, "description": "Nộp qua cổng dịch vụ công trực tuyến thu 7.000 đồng/lần."},
        {"value": 0, "description": "Miễn phí đối với người thuộc diện được miễn."}]}},
    "1.002755": {"methods": _OD, "fees": {"ONLINE": [  # value and text disagree, as real
        {"value": 5000, "description": "Gia hạn tạm trú trực tuyến: thu 7.000 đồng/lần."}]}},
    "1.000656": {"methods": _OPD, "fees": {"ONLINE": [{"type": "SERVICE_FEE", "value": 0,
        "description": _HDND + " Miễn lệ phí đối với trường hợp đăng ký khai tử đúng hạn."}]}},
    "1.000894": {"methods": _OPD, "fees": {"ONLINE": [{"type": "SERVICE_FEE", "value": 0,
        "description": "Miễn lệ phí. Phí cấp bản sao (nếu có yêu cầu) theo quy định."}]}},
    "1.004222": {"methods": _OD, "fees": {"ONLINE": [
        {"value": 10000, "description": "Nộp trực tuyến thu 10.000 đồng/lần đăng ký."}]}},
    "1.010039": {"methods": ["ONLINE"], "fees": {"ONLINE": [{"value": 0}]}},
    "1.003197": {"methods": ["ONLINE"], "fees": {"ONLINE": []}},  # no fee row at all
    "1.010038": {"methods": ["DIRECT", "ONLINE"], "fees": {"ONLINE": [
        {"value": 5000, "description": "Nộp trực tuyến thu 5000 đồng/lần đăng ký;"}]}},
    "2.001610": {"methods": _OPD, "fees": {"ONLINE": [
        {"value": 100, "description": "Phí công bố nội dung đăng ký: 100.000 đồng/lần"}]}},
}
# No real detail, but free by nature (a social allowance): an exempt service end to end.
FREE_SERVICES = {"social_protection": "Không thu phí"}
# Services whose rows hand off to a ministry system (office_rows_2026-10/README.md), and what
# each system offers (all toàn trình in the real rows; both offer VNeID and online payment).
SYSTEM_OF = {"birth_registration": "moj", "death_registration": "moj",
             "marriage_registration": "moj", "building_permit": "moc"}
SYSTEMS = {"moj": {"platform": "moj", "sso": True},
           "moc": {"platform": "moc", "sso": True}}
PAGING_MIN_ROWS = 201  # at least one procedure has more office rows than one page (200)


def _weighted(rng: random.Random, table: tuple[tuple[str, int], ...]) -> str:
    return rng.choices([k for k, _ in table], weights=[w for _, w in table])[0]


def _levels(rng: random.Random, name: str, delivery: tuple[str, ...]) -> list[str]:
    low = name.lower()
    if "cấp xã" in low:
        return ["ward"]
    if "cấp tỉnh" in low:
        return ["province"]
    if "cấp bộ" in low or "trung ương" in low:
        return ["ministry"]
    if delivery == ("agency",):
        return ["ministry"] if rng.random() < 0.6 else ["province", "ministry"]
    if "agency" in delivery:
        return ["province", "ministry"]
    roll = rng.random()
    return ["ward"] if roll < 0.5 else ["province"] if roll < 0.75 else ["ward", "province"]


def _procedure(rng: random.Random, rubric: Any, service: Any, proc: Any, fee_service: bool
               ) -> dict[str, Any]:
    agency_code = service.agency_codes[0] if service.agency_codes else "VPCP"
    try:
        department = rubric.unit(agency_code).name
    except Exception:  # noqa: BLE001 - an agency code that is not a unit
        department = agency_info(agency_code)[0] or agency_code
    roll = rng.random()
    methods = (["ONLINE", "POSTAL", "DIRECT"] if roll < 0.55 else
               ["ONLINE", "DIRECT"] if roll < 0.9 else ["DIRECT"])
    fees: dict[str, list[int]] = {}
    if fee_service and rng.random() < 0.7:
        value = rng.choice((10000, 20000, 35000, 50000, 100000, 150000))
        fees = {m: [value if m == "ONLINE" else value * 2] for m in methods}
        if "ONLINE" in methods and rng.random() < 0.3:
            fees["ONLINE"].append(0)
    doc: dict[str, Any] = {
        "code": proc.code,
        "name": proc.name,
        "department": department,
        "agency_code": agency_code,
        "service": service.id,
        "levels": _levels(rng, proc.name, tuple(service.delivery)),
        "methods": methods,
    }
    if fees:
        doc["fees"] = fees
    if "ONLINE" in methods and rng.random() < 0.35:
        doc["full_process"] = True
    if agency_code == "G01":
        doc["vertical"] = True
    if service.id == "business_registration":
        doc["targets"] = ["VIETNAMESE_CITIZEN", "ENTERPRISE"]
    if service.id == "foreigner_visa_extension":
        doc["targets"] = ["FOREIGNER"]
    return _real_shape(doc, service.id)


def _real_shape(doc: dict[str, Any], service_id: str) -> dict[str, Any]:
    shape = REAL_SHAPES.get(doc["code"])
    if shape is None and service_id in FREE_SERVICES and "ONLINE" in doc["methods"]:
        shape = {"fees": {"ONLINE": [{"value": 0, "description": FREE_SERVICES[service_id]}]}}
    if shape is None:
        return doc
    doc = {**doc, **shape}
    fees = {m: v for m, v in doc.get("fees", {}).items() if m in doc["methods"]}
    doc.pop("fees", None)
    if fees:
        doc["fees"] = fees
    if "ONLINE" not in doc["methods"]:
        doc.pop("full_process", None)
    return doc


def _charged(doc: dict[str, Any], rule: Any) -> bool:
    """Does the procedure charge an online fee (value, or in words: the truth's reading)?"""
    online = doc.get("fees", {}).get("ONLINE", [])
    return any(fee_kind(Fee(f) if isinstance(f, int) else
                        Fee(f.get("value"), "FEE", f.get("description", "")), rule) == CHARGED
               for f in online)


def _row(procedure: str, office: str, level: str, rng: random.Random, count: int = 1
         ) -> dict[str, Any]:
    row: dict[str, Any] = {"procedure": procedure, "office": office, "level": level}
    if count > 1:
        row["count"] = count
    if rng.random() < 0.2:
        row["citizen_url"] = ""
    if rng.random() < 0.1:
        row["testing"] = True
    return row


def _province_offers(rng: random.Random, service_procs: list[dict[str, Any]], paging_code: str
                     ) -> list[dict[str, Any]]:
    state = _weighted(rng, PROVINCE_STATES)
    if state == "UNLISTED":
        return []
    procs = [p for p in service_procs if set(p["levels"]) & {"ward", "province"}] or service_procs
    carrier = next((p for p in procs if p["code"] == paging_code), None) or rng.choice(procs)
    rows: list[dict[str, Any]] = []
    levels = carrier["levels"]
    has_ward = "ward" in levels
    has_province = "province" in levels or not has_ward
    ward_only = has_ward and has_province and rng.random() < 0.3
    if has_ward:
        count = rng.randint(7, 12) if carrier["code"] == paging_code else rng.randint(1, 6)
        rows.append(_row(carrier["code"], "ward", state, rng, count=count))
        if rng.random() < 0.4:  # some wards lag behind
            rows.append(_row(carrier["code"], "ward", LOWER[state], rng,
                             count=rng.randint(1, 3)))
    if has_province and not ward_only:
        rows.append(_row(carrier["code"], "province", state, rng))
    others = [p for p in procs if p is not carrier]
    if others and rng.random() < 0.3:  # a second procedure at a lower level
        other = rng.choice(others)
        office = "ward" if "ward" in other["levels"] else "province"
        rows.append(_row(other["code"], office, LOWER[state], rng))
    return rows


def _agency_offers(rng: random.Random, service_procs: list[dict[str, Any]]
                   ) -> list[dict[str, Any]]:
    state = _weighted(rng, AGENCY_STATES)
    if state == "UNLISTED":
        return []
    carrier = rng.choice(service_procs)
    rows = [_row(carrier["code"], "agency", state, rng)]
    others = [p for p in service_procs if p is not carrier]
    if others and rng.random() < 0.3:
        rows.append(_row(rng.choice(others)["code"], "agency", LOWER[state], rng))
    return rows


def generate(rubric: Any, seed: int = 2026, total: int = REAL_TOTAL) -> dict[str, Any]:
    """The full scenario as a document (dict) ready for :func:`render_yaml`."""
    rng = random.Random(f"full-scenario:{seed}")
    procedures: list[dict[str, Any]] = []
    by_service: dict[str, list[dict[str, Any]]] = {}
    for service in rubric.services:
        fee_service = rng.random() < 0.5
        for proc in service.procedures:
            doc = _procedure(rng, rubric, service, proc, fee_service)
            procedures.append(doc)
            by_service.setdefault(service.id, []).append(doc)

    # the procedure whose office list must page: the first ward-level province procedure
    paging_code = next(
        (p["code"] for s in rubric.services if "province" in s.delivery
         for p in by_service.get(s.id, []) if "ward" in p["levels"]), "")

    offers: dict[str, list[dict[str, Any]]] = {}
    for unit in rubric.units:
        rows: list[dict[str, Any]] = []
        for service in rubric.services:
            procs = by_service.get(service.id)
            if not procs:
                continue
            if unit.kind == "province" and "province" in service.delivery:
                rows += _province_offers(rng, procs, paging_code)
            elif (unit.kind == "agency" and "agency" in service.delivery
                  and unit.code in service.agency_codes):
                rows += _agency_offers(rng, procs)
        if rows:
            offers[unit.code] = rows

    candidates = [p["code"] for s in rubric.services if "province" in s.delivery
                  for p in by_service.get(s.id, [])[1:]]
    blocked = rng.choice(candidates or [procedures[0]["code"]])
    portals, portal_faults = _portals(rubric, by_service, offers, seed)
    down = next(f["unit"] for f in portal_faults if f["kind"] == "portal_down")
    systems = _hand_off(by_service, offers)
    _real_shapes(rubric, by_service, offers, down)
    national_site, portal_sites = _sites(rubric, seed)
    for unit, site in portal_sites.items():
        portals[unit]["site"] = site
    return {
        "name": "full",
        "description": (
            f"Generated by `python -m replica generate --seed {seed}` from rubric "
            f"{rubric.version}: all rubric procedures, 34 provinces with mixed states, agencies, "
            f"filler to {total} catalogue rows, one blocked procedure."
        ),
        "seed": seed,
        "catalogue": {"filler": max(0, total - len(procedures))},
        "procedures": procedures,
        "offers": offers,
        "national": {"site": national_site},
        "portals": portals,
        "systems": systems,
        "faults": [{"kind": "blocked", "procedure": blocked}, *portal_faults],
    }


def _portals(rubric: Any, by_service: dict[str, list[dict[str, Any]]],
             offers: dict[str, list[dict[str, Any]]], seed: int
             ) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Every province's own portal; its own random stream, so offers stay as they were."""
    rng = random.Random(f"full-portals:{seed}")
    provinces = [u for u in rubric.units if u.kind == "province"]
    services = [s for s in rubric.services if "province" in s.delivery and by_service.get(s.id)]
    portals: dict[str, Any] = {}
    for unit in provinces:
        family = OBSERVED_FAMILIES.get(unit.code) or _weighted(rng, DRAWN_FAMILIES)
        sso = rng.random() < PORTAL_SSO[family]
        rows = offers.get(unit.code, [])
        listed: dict[str, Any] = {}
        for service in services:
            codes = {p["code"] for p in by_service[service.id]}
            best = max((NATIONAL_RANK[r["level"]] for r in rows if r["procedure"] in codes),
                       default=-1)
            offer = _weighted(rng, PORTAL_OFFERS[best])
            if offer == "absent":
                continue
            fee = any(_charged(p, rubric.fees) for p in by_service[service.id])
            entry: dict[str, Any] = {"offer": offer}
            if offer in ("partial", "full") and fee and rng.random() < 0.65:
                entry["payment"] = True
            if rng.random() < 0.06:
                entry["sso"] = not sso
            listed[service.id] = offer if len(entry) == 1 else entry
        portals[unit.code] = {"platform": family, "sso": sso, "services": listed}
    drawn = [u.code for u in provinces if u.code not in OBSERVED_FAMILIES]
    silent = rng.sample(drawn, 2)  # they hand off nothing nationally: found via the list
    for code in silent:
        for row in offers.get(code, []):
            row["citizen_url"] = ""
    down, blocked = rng.sample([c for c in drawn if c not in silent], 2)
    return portals, [{"kind": "portal_down", "unit": down},
                     {"kind": "portal_blocked", "unit": blocked}]


# The UN survey's page features a generated site places (docs/SCENARIOS.md "Sites"); the
# login link and the catalogue are in every portal's header (replica/site_model.INHERENT).
SITE_FEATURES = (
    "org_chart", "agency_heads", "local_government_links", "privacy_policy",
    "right_to_information", "other_language", "procurement_notices", "procurement_results",
    "usage_statistics", "eprocurement_platform", "mobile_app", "corruption_reporting",
    "consultations", "policy_feedback", "open_data_portal", "open_data_licence", "feedback",
    "e_petition", "advanced_search", "sitemap", "contact_details", "helpdesk_phone",
    "site_search", "help_faq", "social_media", "user_guide", "chatbot", "about_province",
    "satisfaction_statistics", "budget_info", "updated_recently")
NATIONAL_MISSING = {"budget_info": "beyond", "e_petition": "absent", "chatbot": "deep",
                    "consultations": "deep", "open_data_licence": "deep"}


def _slug(name: str) -> str:
    """'Thành phố Hồ Chí Minh' -> 'hochiminh' (a host name label)."""
    for prefix in ("Thành phố ", "Tỉnh "):
        name = name.removeprefix(prefix)
    plain = unicodedata.normalize("NFD", name.replace("Đ", "D").replace("đ", "d"))
    return re.sub(r"[^a-z]", "", "".join(c for c in plain if not unicodedata.combining(c))
                  .lower())


def _site(rng: random.Random, unit: Any) -> dict[str, Any]:
    """One province's site: a maturity drawn per province decides how many features it has,
    so the 34 LOSI scores differ."""
    maturity = rng.uniform(0.25, 0.95)
    features: dict[str, str] = {}
    for f in SITE_FEATURES:
        if rng.random() < maturity:
            features[f] = "home" if rng.random() < 0.7 else "deep"
        else:
            features[f] = "beyond" if rng.random() < 0.3 else "absent"
    suffix = ".gov.vn" if rng.random() < 0.85 else ".vn"
    return {
        "https": _weighted(rng, (("valid", 75), ("invalid_cert", 10), ("none", 15))),
        "http_redirect": rng.random() < 0.7,
        "responsive": rng.random() < 0.3 + 0.6 * maturity,
        "wcag": "pass" if rng.random() < 0.35 else "fail",
        "w3c": "pass" if rng.random() < 0.2 else "fail",
        "updated_days_ago": rng.randint(1, 75),
        "domain": f"dichvucong.{_slug(unit.name)}{suffix}",
        "features": features,
    }


def _sites(rubric: Any, seed: int) -> tuple[dict[str, Any], dict[str, Any]]:
    """The national site (most features) and each province's; their own random stream."""
    rng = random.Random(f"full-sites:{seed}")
    national = {"https": "valid", "http_redirect": True, "responsive": True, "wcag": "pass",
                "w3c": "fail", "updated_days_ago": 1, "domain": "dichvucong.gov.vn",
                "features": {f: NATIONAL_MISSING.get(f, "home") for f in SITE_FEATURES}}
    return national, {u.code: _site(rng, u) for u in rubric.units if u.kind == "province"}


GENERIC_POLICE = {"office_code": "BCA_CAX", "office_name": "Công an cấp Xã",
                  "citizen_url": "https://dvc.moc.gov.vn/vi/nps/apply"}
EVN_TAX_CODE = "0100100079"
MIXED_WARDS = (("FULL", 97), ("PARTIAL", 29))  # toàn trình 97/126: below the threshold


def _real_shapes(rubric: Any, by_service: dict[str, list[dict[str, Any]]],
                 offers: dict[str, list[dict[str, Any]]], down: str) -> None:
    """Rows in the shapes the real portal serves (office_rows_2026-10), added after the drawn
    ones (no random draw: the rest of the file stays as it was)."""
    permits = [p["code"] for p in by_service.get("building_permit", [])]
    if permits:  # the commune police of any province: a row no unit claims
        police = {"procedure": permits[-1], "office": "ward", "level": "FULL", **GENERIC_POLICE}
        for unit in ("01", "79"):
            offers.setdefault(unit, []).append(dict(police))
    bills = [p["code"] for p in by_service.get("utility_bill_payment", [])]
    if bills and "EVN" in {u.code for u in rubric.units}:
        offers.setdefault("EVN", []).append({
            "procedure": bills[-1], "office": "agency", "level": "FULL",
            "office_code": EVN_TAX_CODE, "office_name": "Tập đoàn Điện lực Việt Nam",
            "citizen_url": f"https://evnhanoi.vn/cskh/dk-thaydoi-chuthe-hd?MaTTHCDP={bills[-1]}"})
    wards = [p["code"] for s in rubric.services if s.id not in SYSTEM_OF
             and "province" in s.delivery for p in by_service.get(s.id, [])
             if "ward" in p["levels"]]
    if wards:
        for level, count in MIXED_WARDS:
            offers.setdefault(down, []).append(
                {"procedure": wards[0], "office": "ward", "level": level, "count": count})


def _hand_off(by_service: dict[str, list[dict[str, Any]]],
              offers: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    """Rows of the services SYSTEM_OF names hand off to their ministry system, in every province
    that hands anything off (the ones found through the portal list keep handing off nothing);
    returns the `systems` section. Draws nothing: the other sections stay as they were."""
    system_of = {p["code"]: SYSTEM_OF[sid] for sid in SYSTEM_OF for p in by_service.get(sid, [])}
    for unit, rows in offers.items():
        if not unit.isdigit() or all(r.get("citizen_url") == "" for r in rows):
            continue
        for row in rows:
            if row["procedure"] in system_of:
                row["citizen_url"] = f"system:{system_of[row['procedure']]}"
    return {sid: {**spec, "services": {s: {"offer": "full", "payment": True}
                                       for s, x in SYSTEM_OF.items() if x == sid}}
            for sid, spec in SYSTEMS.items()}


# --------------------------------------------------------------------------- YAML output


_PLAIN = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
_RESERVED = {"y", "n", "yes", "no", "true", "false", "on", "off", "null"}


def _scalar(v: Any) -> str:
    if v is None:
        return "null"
    if isinstance(v, str) and _PLAIN.match(v) and v.lower() not in _RESERVED:
        return v
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)  # a valid YAML double-quoted scalar
    if isinstance(v, list):
        return "[" + ", ".join(_scalar(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{k}: {_scalar(x)}" for k, x in v.items()) + "}"
    raise TypeError(type(v))


def render_yaml(doc: dict[str, Any]) -> str:
    out = [
        "# GENERATED by `python -m replica generate` (replica/generate.py); do not edit by hand.",
        "# Format: docs/SCENARIOS.md. Regenerate after a rubric change.",
        f"name: {_scalar(doc['name'])}",
        f"description: {_scalar(doc['description'])}",
        f"seed: {doc['seed']}",
        f"catalogue: {_scalar(doc['catalogue'])}",
        "",
        "procedures:",
    ]
    for p in doc["procedures"]:
        first = True
        for k, v in p.items():
            out.append(f"  {'- ' if first else '  '}{k}: {_scalar(v)}")
            first = False
    if doc.get("national"):
        out += ["", "national:", f"  site: {_scalar(doc['national']['site'])}"]
    out += ["", "offers:"]
    for unit, rows in doc["offers"].items():
        out.append(f"  {_scalar(unit)}:")
        out += [f"    - {_scalar(r)}" for r in rows]
    if doc.get("portals"):
        out += ["", "portals:"]
        for unit, portal in doc["portals"].items():
            out += [f"  {_scalar(unit)}:", f"    platform: {_scalar(portal['platform'])}",
                    f"    sso: {_scalar(portal['sso'])}"]
            if portal.get("site"):
                out.append(f"    site: {_scalar(portal['site'])}")
            out.append("    services:")
            out += [f"      {sid}: {_scalar(v)}" for sid, v in portal["services"].items()]
    if doc.get("systems"):
        out += ["", "systems:"]
        for sid, system in doc["systems"].items():
            out += [f"  {sid}:", f"    platform: {_scalar(system['platform'])}",
                    f"    sso: {_scalar(system['sso'])}", "    services:"]
            out += [f"      {s}: {_scalar(v)}" for s, v in system["services"].items()]
    out += ["", "faults:"]
    out += [f"  - {_scalar(f)}" for f in doc["faults"]]
    return "\n".join(out) + "\n"


def write_full(rubric: Any, out: Path, seed: int = 2026, total: int = REAL_TOTAL) -> str:
    doc = generate(rubric, seed=seed, total=total)
    text = render_yaml(doc)
    scenario = parse_scenario(yaml.safe_load(text), out)  # round-trip check
    portal = build_portal(scenario, rubric)
    most = max((len(v) for v in portal.rows_by_formality.values()), default=0)
    if most < PAGING_MIN_ROWS:
        raise RuntimeError(f"generated scenario has at most {most} office rows per procedure; "
                           f"need {PAGING_MIN_ROWS} for paging")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    return text
