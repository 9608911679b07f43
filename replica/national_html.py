"""The national portal's HTML side: procedure pages behind an F5-style JavaScript challenge.

Without the challenge cookie every GET (any path, even a wrong one) answers HTTP 200 with the
challenge page. Its script (``/TSPD/...``) sets ``TS01dvc`` to the page's token reversed and
reloads; with a valid cookie ``/thu-tuc-hanh-chinh/<id>`` shows the procedure page in the shape of
the real rendered pages (label/value grid: Tên thủ tục, Mã thủ tục, Số quyết định, Cấp thực hiện,
...; "Cách Thức Thực Hiện" table; the "Chọn cơ quan thực hiện" chooser with its "Nộp hồ sơ"
button). Hand-written markup: nothing is copied from the real pages.
"""

from __future__ import annotations

import threading
from collections import deque
from typing import Any

from replica import pages
from replica.web import esc

COOKIE = "TS01dvc"
SCRIPT_PREFIX = "/TSPD/"
PAGE_PREFIX = "/thu-tuc-hanh-chinh/"
CHALLENGE_SCRIPT = (
    "(function(){var t=String(window.bobcmn||'');"
    f"document.cookie='{COOKIE}='+t.split('').reverse().join('')+'; path=/';"
    "location.reload();})();"
)
METHOD_NAMES = {"ONLINE": "Trực tuyến", "POSTAL": "Dịch vụ bưu chính", "DIRECT": "Trực tiếp"}
LEVEL_NAMES = (("isWard", "Cấp xã"), ("isProvince", "Cấp tỉnh"), ("isMinistry", "Cấp bộ"))
TYPE_NAMES = {"ASSIGNED_REGULATION": "TTHC được luật giao quy định chi tiết",
              "NOT_ASSIGNED_REGULATION": "TTHC không được luật giao quy định chi tiết"}


class Challenge:
    """Tokens handed out; a cookie is valid when it is one of them reversed."""

    def __init__(self, keep: int = 50_000) -> None:
        self._tokens: deque[str] = deque(maxlen=keep)
        self._set: set[str] = set()
        self._lock = threading.Lock()

    def issue(self) -> str:
        token = pages.new_token()
        with self._lock:
            if len(self._tokens) == self._tokens.maxlen:
                self._set.discard(self._tokens[0])
            self._tokens.append(token)
            self._set.add(token)
        return token

    def passed(self, cookie_header: str) -> bool:
        for part in cookie_header.split(";"):
            name, _, value = part.strip().partition("=")
            if name == COOKIE and value:
                with self._lock:
                    return value[::-1] in self._set
        return False


def _money(value: float) -> str:
    return f"{int(value):,}".replace(",", ".") + " Việt Nam Đồng"


def _field(label: str, value: str, wide: bool = False) -> str:
    half = "md:w-1/4" if wide else "md:w-1/2"
    return (f'<div class="flex flex-col md:flex-row border-gray-300 relative border-l border-b'
            f'{" col-span-full" if wide else ""}"><div class="p-1.5 sm:p-2 font-medium '
            f'border-gray-300 w-full text-base {half}" style="font-weight: bold;">{esc(label)}'
            f'</div><div class="p-1.5 sm:p-2 bg-white w-full text-base">{esc(value)}</div></div>')


def _section(title: str, body: str) -> str:
    return (f'<div class="bg-white my-0 py-2 lg:py-4"><h4 class="my-5 text-base lg:text-lg '
            f'font-bold text-[#903938] mb-3 mt-0">{esc(title)}</h4>{body}</div>')


def _cell(html: str) -> str:
    return (f'<td class="border border-gray-300 px-4 py-2"><div class="break-words">{html}'
            "</div></td>")


def _methods(detail: dict[str, Any]) -> str:
    head = "".join(f'<th class="border-l border-gray-300 px-4 py-2"><div class="break-words">'
                   f"{t}</div></th>" for t in ("Hình thức nộp", "Thời gian", "Phí, lệ phí",
                                                "Mô tả"))
    rows = []
    for m in detail.get("executionMethods") or []:
        fees = [f for f in m.get("fees") or [] if f.get("value")]
        fee = "<br>".join(f"<span>{_money(f['value'])}</span>" for f in fees) or \
            "<span>Miễn phí</span>"
        # as the real page: a fee's written text follows in brackets (the charge is often there)
        fee = "<br>".join([fee] + [f"<span>({esc(f['description'])})</span>"
                                   for f in m.get("fees") or [] if f.get("description")])
        rows.append("<tr>" + _cell(esc(METHOD_NAMES.get(m["submissionMethod"], "")))
                    + _cell(f"{m.get('processingTime', '')} Ngày làm việc") + _cell(fee)
                    + _cell(esc(m.get("description") or "")) + "</tr>")
    return (f'<div class="w-full overflow-hidden"><table class="w-full border-collapse bg-white">'
            f"<thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table></div>")


def _radio(name: str, value: str, label: str, checked: bool) -> str:
    return (f'<div class="flex items-center gap-3"><input class="sr-only" type="radio" '
            f'value="{value}" name="{name}"{" checked" if checked else ""}>'
            f'<span class="text-gray-800 font-semibold cursor-pointer">{esc(label)}</span></div>')


def _chooser(offices: list[tuple[str, str]]) -> str:
    options = "".join(f'<li role="option" data-code="{esc(c)}">{esc(n)}</li>'
                      for c, n in offices)
    return (
        '<div class="border border-[#e2e2e2] rounded-xs overflow-hidden h-fit mb-4">'
        '<div class="lg:text-lg font-medium py-2 px-3">Chọn cơ quan thực hiện</div>'
        '<div class="px-4 pb-4"><form class="w-full"><div class="mt-4">'
        + _radio("searchType", "PROVINCE", "Tỉnh/ Thành phố", True)
        + _radio("searchType", "MINISTRY", "Bộ ngành", False)
        + '<button type="button" aria-haspopup="listbox" aria-expanded="false">'
        '<span class="text-gray-400 text-base truncate">-- Chọn Tỉnh/ Thành phố --</span>'
        f'</button><ul role="listbox" hidden>{options}</ul></div><div class="mt-4">'
        + _radio("commune", "WARD", "Phường/ Xã", True) + _radio("commune", "OTHER", "Sở", False)
        + '</div><div class="mt-4 text-sm text-red-500">Hệ thống chỉ hiển thị những cơ quan đã '
        'áp dụng dịch vụ công trực tuyến</div><button class="rounded cursor-pointer w-full mt-4">'
        '<div class="flex items-center justify-center gap-2 w-full"><span>Nộp hồ sơ</span>'
        "</div></button></form></div></div>")


def _layout(title: str, main: str) -> str:
    return (
        '<!DOCTYPE html><html lang="vi"><head><meta charset="utf-8">'
        f"<title>{esc(title)} - Cổng Dịch vụ công Quốc gia</title></head><body><div id=\"root\">"
        '<header><a href="/">Cổng Dịch vụ công Quốc gia</a> <a href="/dang-nhap">Đăng nhập</a>'
        '<nav><a href="/thu-tuc-hanh-chinh">Thủ tục hành chính</a> '
        '<a href="/thanh-toan-truc-tuyen">Thanh toán trực tuyến</a></nav></header>'
        f"<main>{main}</main></div></body></html>")


def procedure_page(detail: dict[str, Any], offices: list[tuple[str, str]]) -> str:
    """The rendered procedure page for a detail (get-formality-by-citizen's data)."""
    levels = ", ".join(name for key, name in LEVEL_NAMES if detail.get(key))
    targets = ", ".join(t["name"] for t in detail.get("subjectTypesDetails") or [])
    grid = "".join([
        _field("Tên thủ tục", detail["name"], wide=True),
        _field("Mã thủ tục", detail["code"]),
        _field("Số quyết định", (detail.get("procedureProposal") or {}).get("proposalNumber", "")),
        _field("Cấp thực hiện", levels),
        _field("Loại thủ tục", TYPE_NAMES.get(detail.get("formalityType", ""), "")),
        _field("Lĩnh vực", (detail.get("category") or {}).get("name", "")),
        _field("Đối tượng thực hiện", targets),
    ])
    steps = "".join(f"<p>{esc(s['description'])}</p>" for s in detail.get("executionSteps") or [])
    main = (
        '<div class="grid md:grid-cols-12 gap-4"><div class="md:col-span-8">'
        f'<h3 class="procedure-title">{esc(detail["name"])}</h3>'
        f'<div class="grid grid-cols-1 md:grid-cols-2">{grid}</div>'
        + _section("Trình Tự Thực Hiện", steps)
        + _section("Cách Thức Thực Hiện", _methods(detail))
        + _section("Cơ quan thực hiện", '<div class="text-gray-500">Không có thông tin</div>')
        + '</div><div class="md:col-span-4">' + _chooser(offices) + "</div></div>")
    return _layout("Chi tiết thủ tục", main)


def not_found_page() -> str:
    return _layout("Chi tiết thủ tục", '<p class="text-gray-500">Không tìm thấy thủ tục.</p>')


def home_page() -> str:
    return _layout("Trang chủ", "<h1>Cổng Dịch vụ công Quốc gia</h1>")
