"""Parse the national portal's rendered procedure page (``/thu-tuc-hanh-chinh/<id>``).

Works on the DOM a browser rendered (the real captures in
``../shared/research/portals/dvcqg_new/captures/`` and the replica's pages alike): the label /
value grid (Tên thủ tục, Mã thủ tục, Số quyết định, Cấp thực hiện, ...), the "Cách Thức Thực
Hiện" table (submission methods, time, fees) and the "Chọn cơ quan thực hiện" chooser with its
"Nộp hồ sơ" button. Without a browser the portal answers every URL with its JavaScript challenge:
``is_challenge`` says so, and nothing else can be read.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Any

from bs4 import BeautifulSoup, Tag

from crawler.parsers import is_block_page
from crawler.platforms.base import EXCERPT_CHARS, attr, clean, compact, norm, soup_of

CHALLENGE_MARKERS = ("Please enable JavaScript to view the page content", "bobcmn",
                     "/TSPD/")
LABELS = {
    "Tên thủ tục": "name", "Mã thủ tục": "code", "Số quyết định": "decision",
    "Cấp thực hiện": "level", "Loại thủ tục": "type", "Lĩnh vực": "sector",
    "Đối tượng thực hiện": "targets",
}
METHODS = {"trực tuyến": "ONLINE", "dịch vụ bưu chính": "POSTAL", "trực tiếp": "DIRECT"}
MONEY = re.compile(r"(\d{1,3}(?:\.\d{3})+|\d+)\s*Việt Nam Đồng", re.I)
CHOOSER_TITLE = "chọn cơ quan thực hiện"


def is_challenge(html: str | bytes) -> bool:
    """The F5 JavaScript challenge (HTTP 200 for every URL until a browser runs it)."""
    text = html.decode("utf-8", "replace") if isinstance(html, bytes) else html
    return any(m in text for m in CHALLENGE_MARKERS) and "Mã thủ tục" not in text


@dataclass
class Method:
    method: str  # ONLINE | POSTAL | DIRECT ("" when the label is unknown)
    label: str
    time: str
    fees: list[int]  # amounts in đồng; [0] for "Miễn phí"
    fee_text: str
    description: str = ""


@dataclass
class Chooser:
    """The "Chọn cơ quan thực hiện" box: where the citizen picks an office, then "Nộp hồ sơ"."""

    present: bool = False
    search_types: list[str] = field(default_factory=list)  # radio values: PROVINCE, MINISTRY
    office_levels: list[str] = field(default_factory=list)  # radio values: WARD, OTHER
    note: str = ""  # "Hệ thống chỉ hiển thị những cơ quan đã áp dụng dịch vụ công trực tuyến"
    button: str = ""  # "Nộp hồ sơ"
    options: list[dict[str, str]] = field(default_factory=list)  # offices listed in the DOM


@dataclass
class ProcedurePage:
    found: bool
    challenge: bool = False
    blocked: bool = False
    name: str = ""
    code: str = ""
    decision: str = ""
    level: str = ""
    type: str = ""
    sector: str = ""  # Lĩnh vực
    targets: str = ""
    methods: list[Method] = field(default_factory=list)
    chooser: Chooser = field(default_factory=Chooser)

    @property
    def online(self) -> bool:
        return any(m.method == "ONLINE" for m in self.methods)

    def online_fees(self) -> list[int]:
        return [f for m in self.methods if m.method == "ONLINE" for f in m.fees]

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["online"] = self.online
        return d


def _fields(soup: BeautifulSoup) -> dict[str, str]:
    out: dict[str, str] = {}
    for div in soup.find_all("div"):
        if div.find("div") is not None:  # a label is a leaf
            continue
        key = LABELS.get(clean(div.get_text(" ")))
        if key and key not in out:
            value = div.find_next_sibling()
            out[key] = clean(value.get_text(" ")) if value is not None else ""
    return out


def _section(soup: BeautifulSoup, title: str) -> Tag | None:
    for h in soup.find_all(["h2", "h3", "h4", "h5"]):
        if norm(h.get_text(" ")) == title:
            return h
    return None


def _fees(cell: Tag) -> tuple[list[int], str]:
    text = clean(cell.get_text(" "))
    amounts = [int(m.group(1).replace(".", "")) for m in MONEY.finditer(text)]
    if not amounts and "miễn phí" in norm(text):
        amounts = [0]
    return amounts, text


def _methods(soup: BeautifulSoup) -> list[Method]:
    head = _section(soup, "cách thức thực hiện")
    table = head.find_next("table") if head is not None else None
    if table is None:
        return []
    cols = [norm(th.get_text(" ")) for th in table.select("thead th")]

    def col(name: str, default: int) -> int:
        return next((i for i, c in enumerate(cols) if name in c), default)

    i_method, i_time, i_fee, i_desc = (col("hình thức", 0), col("thời gian", 1),
                                       col("phí", 2), col("mô tả", 3))
    out = []
    for tr in table.select("tbody tr"):
        cells = tr.find_all("td")
        if len(cells) <= max(i_method, i_fee):
            continue
        label = clean(cells[i_method].get_text(" "))
        fees, fee_text = _fees(cells[i_fee])
        out.append(Method(
            method=METHODS.get(norm(label), ""), label=label,
            time=clean(cells[i_time].get_text(" ")) if len(cells) > i_time else "",
            fees=fees, fee_text=fee_text,
            description=clean(cells[i_desc].get_text(" ")) if len(cells) > i_desc else ""))
    return out


def _chooser(soup: BeautifulSoup) -> Chooser:
    title = next((d for d in soup.find_all("div")
                  if d.find("div") is None and norm(d.get_text(" ")) == CHOOSER_TITLE), None)
    box = title.parent if title is not None else None
    form = box.find("form") if box is not None else None
    if form is None:
        return Chooser()
    radios = form.find_all("input", attrs={"type": "radio"})
    note = next((clean(d.get_text(" ")) for d in form.find_all("div")
                 if d.find("div") is None and "chỉ hiển thị" in norm(d.get_text(" "))), "")
    button = next((clean(b.get_text(" ")) for b in form.find_all("button")
                   if "nộp hồ sơ" in norm(b.get_text(" "))), "")
    options = [{"code": attr(o, "data-code"), "name": clean(o.get_text(" "))}
               for o in form.select("[role=option]")]
    return Chooser(
        present=True,
        search_types=[attr(r, "value") for r in radios if r.get("name") == "searchType"],
        office_levels=[attr(r, "value") for r in radios if r.get("name") == "commune"],
        note=note, button=button, options=options)


def parse_procedure_page(html: str | bytes) -> ProcedurePage:
    if is_block_page(html):
        return ProcedurePage(found=False, blocked=True)
    if is_challenge(html):
        return ProcedurePage(found=False, challenge=True)
    soup = soup_of(html)
    f = _fields(soup)
    if not f.get("code"):
        return ProcedurePage(found=False)
    labelled: dict[str, Any] = {k: f.get(k, "") for k in LABELS.values()}
    return ProcedurePage(found=True, methods=_methods(soup), chooser=_chooser(soup), **labelled)


def page_excerpt(html: str | bytes) -> str:
    """The methods table and the chooser, as HTML (for the evidence row)."""
    soup = soup_of(html)
    head = _section(soup, "cách thức thực hiện")
    table = head.find_next("table") if head is not None else None
    parts = [compact(table)] if table is not None else []
    title = next((d for d in soup.find_all("div")
                  if d.find("div") is None and norm(d.get_text(" ")) == CHOOSER_TITLE), None)
    holder = title.parent if title is not None else None
    form = holder.find("form") if holder is not None else None
    if form is not None:
        parts.append(compact(form))
    return "\n".join(parts)[:EXCERPT_CHARS * 2] or clean(soup.get_text(" "))[:EXCERPT_CHARS]
