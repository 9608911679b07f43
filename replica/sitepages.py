"""The survey pages of a replica site: what its home page carries, and the content pages its
menus lead to (docs/SCENARIOS.md "Sites (UN survey features)").

Where a feature sits (replica/site_model.py SiteSpec):
- ``home``: on the home page (depth 0);
- ``deep``: on ``/chuyen-muc/tien-ich`` (depth 2: home -> ``/chuyen-muc`` -> it);
- ``beyond``: on ``/chuyen-muc/luu-tru/tai-lieu`` (depth 3: ... -> ``/chuyen-muc/luu-tru`` -> it);
- ``absent``: nowhere.
Every other text these pages show is chosen to match no detector of
rubrics/indicators/detectors.yaml (tests/test_replica_site.py checks it with the detectors).
The measured states (viewport and layout, accessibility and markup faults) are added to the home
page by `decorate_home` (and, for iGate, to its app shell; its survey links come from
`home_fragment`, which the app renders).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from replica import web
from replica.site_model import SiteSpec
from replica.web import esc

GENERAL = "/thong-tin/chung"  # neutral depth-1 page every survey link points into
MENU = "/chuyen-muc"  # depth 1
DEEP = "/chuyen-muc/tien-ich"  # depth 2: the `deep` features
ARCHIVE = "/chuyen-muc/luu-tru"  # depth 2, neutral
BEYOND = "/chuyen-muc/luu-tru/tai-lieu"  # depth 3: the `beyond` features
SITE_MAP = "/so-do-cong"  # the HTML site map ("Sơ đồ cổng")
SITEMAP_XML = "/sitemap.xml"
ENGLISH = "/en/"
SHALLOW = ("/", GENERAL, MENU)  # what the site maps list: never a deeper page
PATHS = (GENERAL, MENU, DEEP, ARCHIVE, BEYOND, SITE_MAP, SITEMAP_XML, ENGLISH)
SELF_MARK = b"__SELF__"  # replaced by the server with http://<the host asked>
PIXEL = "data:image/gif;base64,R0lGODlhAQABAAAAACw="

NEWS = ("Hội nghị triển khai nhiệm vụ chuyển đổi số năm nay",
        "Kết quả giải quyết hồ sơ trong tháng",
        "Thông báo lịch tiếp công dân")


@dataclass(frozen=True)
class SiteView:
    """What the pages need to know of one site."""

    spec: SiteSpec
    title: str  # "Cổng Dịch vụ công thành phố Hồ Chí Minh"
    owner: str  # the unit's full name, which the official-domain check looks for
    home: str = "/"  # the home page's path (links back to it)


def _link(text: str, href: str = GENERAL + "#muc") -> str:
    return f'<a href="{esc(href)}">{esc(text)}</a>'


def _news(days_ago: int, today: date) -> str:
    day = today - timedelta(days=days_ago)
    items = "".join(f"<li>{esc(t)} <span class=\"ngay\">{(day - timedelta(days=7 * i)):%d/%m/%Y}"
                    "</span></li>" for i, t in enumerate(NEWS))
    return f'<section class="tin-tuc"><h2>Tin tức</h2><ul>{items}</ul></section>'


SEARCH_FORM = ('<form class="tim-kiem" role="search" action="/tim-kiem" method="get">'
               '<input type="search" name="q" aria-label="Từ khóa">'
               '<button type="submit">Tìm</button></form>')

# detector id -> its markup (each matches its own detector's pattern and no other's)
SNIPPETS: dict[str, str] = {
    "org_chart": _link("Cơ cấu tổ chức"),
    "agency_heads": _link("Danh sách lãnh đạo"),
    "local_government_links": _link("Liên kết website"),
    "privacy_policy": _link("Chính sách bảo mật"),
    "right_to_information": _link("Tiếp cận thông tin"),
    "other_language": _link("English", ENGLISH),
    "procurement_notices": _link("Thông báo mời thầu"),
    "procurement_results": _link("Kết quả lựa chọn nhà thầu"),
    "usage_statistics": "<p>Lượt truy cập: 1.234.567</p>",
    "eprocurement_platform": _link("Hệ thống mạng đấu thầu quốc gia",
                                   "https://muasamcong.mpi.gov.vn/"),
    "mobile_app": _link("Tải ứng dụng di động",
                        "https://play.google.com/store/apps/details?id=vn.gov.dichvucong"),
    "corruption_reporting": _link("Phòng, chống tham nhũng"),
    "consultations": _link("Lấy ý kiến dự thảo văn bản"),
    "policy_feedback": _link("Thăm dò ý kiến"),
    "open_data_portal": _link("Dữ liệu mở"),
    "open_data_licence": "<p>Giấy phép dữ liệu mở: CC BY 4.0</p>",
    "feedback": _link("Phản ánh, kiến nghị"),
    "e_petition": _link("Gửi kiến nghị trực tuyến"),
    "advanced_search": _link("Tìm kiếm nâng cao"),
    "sitemap": _link("Sơ đồ cổng", SITE_MAP),
    "contact_details": "<p>Liên hệ: Điện thoại: (028) 3829 6052</p>",
    "helpdesk_phone": "<p>Tổng đài hỗ trợ dịch vụ công: 1900 1234</p>",
    "site_search": SEARCH_FORM,
    "help_faq": _link("Câu hỏi thường gặp"),
    "social_media": _link("Facebook", "https://www.facebook.com/congdichvucong"),
    "user_guide": _link("Hướng dẫn sử dụng"),
    "chatbot": "<p>Trợ lý ảo: hỏi nhanh về thủ tục</p>",
    "about_province": _link("Giới thiệu chung"),
    "satisfaction_statistics": _link("Đánh giá sự hài lòng"),
    "budget_info": _link("Công khai ngân sách"),
}


def today() -> date:
    """The day pages are served (the news list's dates count back from it): the audit's run day
    when the replica is audited, as the scenario has no date of its own."""
    return datetime.now(UTC).date()


def features_at(spec: SiteSpec, place: str, day: date | None = None) -> str:
    """The markup of the site's features at `place` (home | deep | beyond)."""
    out = [html for did, html in SNIPPETS.items()
           if did in spec.features and spec.place(did) == place]
    if spec.place("updated_recently") == place:
        out.append(_news(spec.updated_days_ago, day or today()))
    return "".join(f'<div class="muc">{h}</div>' for h in out)


def home_fragment(view: SiteView, day: date | None = None) -> str:
    """The survey part of the home page: the menu, the home features, the owner's name."""
    return (f'<div class="dvc-khao-sat"><nav class="dvc-menu" aria-label="Chuyên mục">'
            f'{_link("Chuyên mục", MENU)} {_link("Thông tin chung", GENERAL)}</nav>'
            f"{features_at(view.spec, 'home', day)}"
            f'<p class="chu-quan">Cơ quan chủ quản: {esc(view.owner)}</p></div>')


# ------------------------------------------------------------------ measured states

FLUID_CSS = ".dvc-khao-sat{max-width:100%;box-sizing:border-box;padding:8px}img{max-width:100%}"
FIXED_CSS = "body{min-width:1200px}.dvc-khao-sat{width:1180px}"
CSS_ERROR = ".dvc-loi{color:#12345z;width:10pxx}"  # the W3C CSS checker's errors
FAMILY_CSS = "body{font-family:Arial,sans-serif;margin:0;color:#222}.site-header{padding:8px}\n"
VIEWPORT = '<meta name="viewport" content="width=device-width, initial-scale=1">'


def head_extra(spec: SiteSpec) -> str:
    css = (FLUID_CSS if spec.responsive else FIXED_CSS) + (CSS_ERROR if spec.w3c == "fail"
                                                           else "")
    return (VIEWPORT if spec.responsive else "") + f"<style>{css}</style>"


def body_extra(spec: SiteSpec, *, text: bool = True) -> str:
    """Accessibility and markup faults (nothing when both pass). `text`: may add visible text
    (not in an app shell, which must stay nearly empty)."""
    out = ""
    if spec.wcag == "fail":  # a link without a name, an input without label, low contrast:
        # axe's serious/critical violations that are valid HTML (w3c stays as declared)
        out += (f'<div class="dvc-a11y"><a href="#"><img src="{PIXEL}" alt="" width="1" '
                'height="1"></a><input type="text" name="email">')
        if text:
            out += '<p style="color:#c8c8c8;background-color:#ffffff">Bản quyền thuộc cơ quan ' \
                   "chủ quản</p>"
        out += "</div>"
    if spec.w3c == "fail":  # a duplicate id and a stray end tag
        out += '<i id="dvc-trung"></i><i id="dvc-trung"></i></span>'
    return out


def decorate_home(html: str, spec: SiteSpec, fragment: str = "", *, shell: bool = False) -> str:
    """The home page with the site's head (viewport, layout), survey fragment and faults."""
    if shell:  # an app shell: the framework's own viewport meta follows the scenario
        html = html.replace(VIEWPORT, "")
    html = html.replace("</head>", head_extra(spec) + "</head>", 1)
    return html.replace("</body>", fragment + body_extra(spec, text=not shell) + "</body>", 1)


# ------------------------------------------------------------------ content pages

def _layout(view: SiteView, title: str, body: str) -> str:
    return ('<!DOCTYPE html><html lang="vi"><head><meta charset="utf-8">'
            f"<title>{esc(title)} - {esc(view.title)}</title></head><body>"
            f'<header><a href="{esc(view.home)}">Trang chủ</a></header>'
            f"<main><h1>{esc(title)}</h1>{body}</main></body></html>")


def _sitemap_xml(base: str) -> str:
    urls = "".join(f"<url><loc>{esc(base + p)}</loc></url>" for p in SHALLOW)
    return ('<?xml version="1.0" encoding="UTF-8"?>'
            f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{urls}</urlset>')


def _pages(view: SiteView) -> Mapping[str, tuple[str, str]]:
    spec = view.spec
    return {
        GENERAL: ("Thông tin chung", '<p id="muc">Trang đang được cập nhật.</p>'),
        MENU: ("Chuyên mục", f'<ul><li>{_link("Tiện ích", DEEP)}</li>'
                             f'<li>{_link("Lưu trữ", ARCHIVE)}</li></ul>'),
        DEEP: ("Tiện ích", features_at(spec, "deep")),
        ARCHIVE: ("Lưu trữ", f'<p>{_link("Tài liệu", BEYOND)}</p>'),
        BEYOND: ("Tài liệu", features_at(spec, "beyond")),
        ENGLISH: ("Public Service Portal", "<p>This page is being translated.</p>"),
    }


def respond(view: SiteView, path: str, base_url: str = "") -> web.Response | None:
    """The answer to a survey path (None: not one of them; the site answers it)."""
    spec = view.spec
    if path == DEEP and spec.deep_page == "http_error":
        body = "<html><body><h1>503</h1><p>Hệ thống đang bận.</p></body></html>"
        return web.Response(503, web.HTML_TYPE, body.encode(), "http_error")
    if path in (SITE_MAP, SITEMAP_XML) and spec.place("sitemap") == "absent":
        return None
    if path == SITEMAP_XML:
        return web.text(_sitemap_xml(base_url or SELF_MARK.decode()),
                        "application/xml; charset=utf-8")
    if path == SITE_MAP:
        links = "".join(f"<li>{_link(t, p)}</li>" for p, t in
                        ((view.home, "Trang chủ"), (GENERAL, "Thông tin chung"),
                         (MENU, "Chuyên mục")))
        return web.page(_layout(view, "Sơ đồ", f"<ul>{links}</ul>"))
    found = _pages(view).get(path)
    if found is None:
        return None
    return web.page(_layout(view, *found))
