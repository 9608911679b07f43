"""Judging the UN survey's automatic features from stored pages and measures (audits/detectors.py),
with the shipped detectors (rubrics/indicators/detectors.yaml): found, not found, not testable."""

from __future__ import annotations

from datetime import date

import pytest

from audits.detectors import Measures, Page, fold, judge, judge_measures, judge_pages
from core.indicators import load_indicators
from core.rubric import RUBRIC_DIR
from core.vocab import Reason, Verdict

RUN = date(2026, 12, 2)


@pytest.fixture(scope="module")
def detectors():
    sets = load_indicators(RUBRIC_DIR)
    assert sets is not None
    return sets.detectors


def _home(body: str, url: str = "https://hanoi.gov.vn/") -> Page:
    return Page(url, 0, f"<html><head><title>Cổng</title></head><body>{body}</body></html>")


# A feature as a portal might show it (met), and a page of the same portal without it.
PAGE_CASES = {
    "org_chart": '<nav><a href="/gioi-thieu/co-cau">Cơ cấu tổ chức</a></nav>',
    "agency_heads": '<a href="/lanh-dao">Lãnh đạo UBND tỉnh</a>',
    "local_government_links": '<a href="/lien-ket">Các sở, ban, ngành</a>',
    "privacy_policy": '<footer><a href="/csbm">Chính sách bảo mật</a></footer>',
    "right_to_information": '<a href="/tiep-can">Tiếp cận thông tin</a>',
    "other_language": '<a href="/?lang=en" hreflang="en">EN</a>',
    "procurement_notices": '<a href="/dau-thau">Thông báo mời thầu</a>',
    "procurement_results": '<a href="/kq">Kết quả lựa chọn nhà thầu</a>',
    "usage_statistics": "<div>Lượt truy cập: 1.234.567</div>",
    "eprocurement_platform": '<a href="https://muasamcong.mpi.gov.vn/">Mua sắm công</a>',
    "mobile_app": '<a href="https://play.google.com/store/apps/details?id=vn.gov">Android</a>',
    "corruption_reporting": '<a href="/to-cao">Tố cáo tham nhũng</a>',
    "consultations": '<a href="/y-kien">Lấy ý kiến dự thảo</a>',
    "policy_feedback": '<a href="/khao-sat">Khảo sát ý kiến người dân</a>',
    "open_data_portal": '<a href="https://data.gov.vn/">Dữ liệu mở</a>',
    "open_data_licence": "<p>Dữ liệu được cung cấp theo giấy phép dữ liệu mở CC BY 4.0</p>",
    "feedback": '<a href="/pakn">Phản ánh, kiến nghị</a>',
    "e_petition": '<a href="/kien-nghi">Gửi kiến nghị</a>',
    "advanced_search": '<a href="/tim-kiem?nang-cao=1">Tìm kiếm nâng cao</a>',
    "sitemap": '<a href="/so-do">Sơ đồ cổng</a>',
    "contact_details": "<footer>Điện thoại: 024 3825 3536 — Email: vanphong@hanoi.gov.vn</footer>",
    "helpdesk_phone": "<div>Tổng đài hỗ trợ dịch vụ công: 1900 1234</div>",
    "site_search": '<form action="/tim"><input type="text" name="keyword"></form>',
    "help_faq": '<a href="/hoi-dap">Câu hỏi thường gặp</a>',
    "social_media": '<a href="https://www.facebook.com/hanoi">f</a>',
    "user_guide": '<a href="/hd">Hướng dẫn sử dụng</a>',
    "digital_id": '<a href="/login">Đăng nhập bằng VNeID</a>',
    "chatbot": '<div id="bot">Trợ lý ảo hỗ trợ 24/7</div>',
    "about_province": '<a href="/gt">Giới thiệu chung</a>',
    "service_catalogue": '<a href="/tthc">Thủ tục hành chính</a>',
    "satisfaction_statistics": '<a href="/hl">Đánh giá sự hài lòng</a>',
    "budget_info": '<a href="/ns">Công khai ngân sách</a>',
    "updated_recently": "<ul><li>Tin mới — 28/11/2026</li></ul>",
}
PLAIN = '<p>Chào mừng đến cổng thông tin.</p><a href="/tin-tuc">Tin tức</a>'


def test_every_page_detector_has_a_case(detectors):
    page_kinds = {"link", "text", "form", "fresh"}
    assert {d for d, det in detectors.items() if det.kind in page_kinds} == set(PAGE_CASES)


@pytest.mark.parametrize("detector_id", sorted(PAGE_CASES))
def test_a_feature_on_the_page_is_met(detectors, detector_id):
    found = judge_pages(detectors[detector_id], [_home(PLAIN), Page(
        "https://hanoi.gov.vn/menu", 1, f"<body>{PAGE_CASES[detector_id]}</body>")], run_at=RUN)
    assert found.verdict is Verdict.MET, found
    assert found.urls == ("https://hanoi.gov.vn/menu",)


@pytest.mark.parametrize("detector_id", sorted(PAGE_CASES))
def test_a_feature_not_on_the_pages_searched_is_not_met_with_the_pages_as_evidence(
        detectors, detector_id):
    pages = [_home(PLAIN), Page("https://hanoi.gov.vn/tin-tuc", 1, "<body>Tin tức</body>")]
    found = judge_pages(detectors[detector_id], pages, run_at=RUN)
    assert found.verdict is Verdict.NOT_MET and found.reason == Reason.NOT_FOUND
    assert found.detail == "2 pages searched to depth 1"
    assert found.urls == tuple(p.url for p in pages)


@pytest.mark.parametrize("detector_id", sorted(PAGE_CASES))
def test_a_portal_with_no_page_read_cannot_be_tested(detectors, detector_id):
    found = judge_pages(detectors[detector_id], [], run_at=RUN)
    assert found.verdict is Verdict.CANNOT_TEST and found.reason == Reason.UNREADABLE


def test_text_is_matched_without_case_or_accents(detectors):
    assert fold("SƠ ĐỒ Cổng") == "so do cong"
    page = _home('<a href="/x">SO DO CONG</a>')
    assert judge_pages(detectors["sitemap"], [page], run_at=RUN).met


def test_an_old_date_is_not_an_update_and_an_impossible_date_is_ignored(detectors):
    stale = _home("<li>Tin cũ — 02/10/2026</li><li>31/02/2026</li><li>05/12/2026 (sắp tới)</li>")
    assert not judge_pages(detectors["updated_recently"], [stale], run_at=RUN).met


def test_script_text_is_not_page_text(detectors):
    page = _home("<script>var s = 'Lượt truy cập: 123456';</script>")
    assert not judge_pages(detectors["usage_statistics"], [page], run_at=RUN).met


def test_official_domain_needs_gov_vn_and_the_unit_named(detectors):
    d = detectors["official_domain"]
    named = _home("<footer>© UBND Thành phố Hà Nội</footer>")
    assert judge_pages(d, [named], run_at=RUN, unit_name="Hà Nội").met
    other_host = _home("<footer>© UBND Thành phố Hà Nội</footer>", "https://hanoi.com.vn/")
    assert judge_pages(d, [other_host], run_at=RUN, unit_name="Hà Nội").reason == Reason.NOT_FOUND
    assert not judge_pages(d, [named], run_at=RUN, unit_name="Huế").met


@pytest.mark.parametrize("detector_id,good,bad,untested", [
    ("https", Measures(https_ok=True, http_redirects=True),
     Measures(https_ok=True, http_redirects=False), Measures()),
    ("responsive", Measures(scroll_width=390, viewport_meta=True),
     Measures(scroll_width=1050, viewport_meta=True), Measures(viewport_meta=True)),
    ("wcag", Measures(axe_violations={"minor": 3, "moderate": 1}),
     Measures(axe_violations={"serious": 2}), Measures(failures={"axe": "timeout"})),
    ("w3c_markup", Measures(w3c_errors={"markup": 0}), Measures(w3c_errors={"markup": 12}),
     Measures(w3c_errors={"css": 0})),
    ("w3c_css", Measures(w3c_errors={"css": 0}), Measures(w3c_errors={"css": 3}), Measures()),
])
def test_measured_features(detectors, detector_id, good, bad, untested):
    d = detectors[detector_id]
    assert judge_measures(d, good).verdict is Verdict.MET
    assert judge_measures(d, bad).verdict is Verdict.NOT_MET
    found = judge_measures(d, untested)
    assert found.verdict is Verdict.CANNOT_TEST and found.reason
    assert judge(d, [], good, run_at=RUN).met  # measures need no page


def test_a_failed_measure_keeps_its_reason(detectors):
    found = judge_measures(detectors["wcag"], Measures(failures={"axe": "timeout"}))
    assert found.reason == "timeout"


def test_not_found_while_a_page_failed_to_load_cannot_be_tested(detectors):
    lost = Page("https://hanoi.gov.vn/gioi-thieu", 1, "")
    found = judge_pages(detectors["org_chart"], [_home(PLAIN)], run_at=RUN, failed=[lost])
    assert (found.verdict, found.reason) == (Verdict.CANNOT_TEST, Reason.SEARCH_INCOMPLETE)
    assert found.urls == (lost.url,) and "1 failed to load" in found.detail
    there = _home(PAGE_CASES["org_chart"])  # found on a page read: the failed page is moot
    assert judge_pages(detectors["org_chart"], [there], run_at=RUN, failed=[lost]).met


def test_official_domain_uses_the_declared_host_and_needs_the_home_page(detectors):
    d = detectors["official_domain"]
    named = _home("<footer>© UBND Thành phố Hà Nội</footer>", "http://127.0.0.1:8080/")
    assert not judge_pages(d, [named], run_at=RUN, unit_name="Hà Nội").met
    assert judge_pages(d, [named], run_at=RUN, unit_name="Hà Nội",
                       declared_host="hanoi.gov.vn").met
    deep = Page("https://hanoi.gov.vn/a", 1, named.html)
    home = Page("https://hanoi.gov.vn/", 0, "")
    lost = judge_pages(d, [deep], run_at=RUN, unit_name="Hà Nội", failed=[home])
    assert (lost.verdict, lost.reason) == (Verdict.CANNOT_TEST, Reason.UNREADABLE)
