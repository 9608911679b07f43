"""Vietnamese vocabulary for generated replica data (office names, filler procedures).

Hand-written; nothing here is copied from the real catalogue. Filler procedure names avoid the
keywords of the 20 audited services (khai sinh, kết hôn, tạm trú, lái xe, điện, nước, ...) so a
name search never turns filler into a false candidate.
"""

from __future__ import annotations

# Promulgating agency code -> (agency name, provincial department name, department number used
# in province office codes 000.00.NN.Hxx, catalogue category).
AGENCIES: dict[str, tuple[str, str, int, str]] = {
    "G01": ("Bộ Công an", "Công an", 11, "Đăng ký, quản lý cư trú"),
    "G02": ("Bộ Công thương", "Sở Công Thương", 2, "Thương mại quốc tế"),
    "G03": ("Bộ Giáo dục và Đào tạo", "Sở Giáo dục và Đào tạo", 3, "Giáo dục và Đào tạo"),
    "G06": ("Bộ Khoa học và Công nghệ", "Sở Khoa học và Công nghệ", 6, "Hoạt động khoa học"),
    "G08": ("Bộ Ngoại giao", "Sở Ngoại vụ", 8, "Công tác lãnh sự"),
    "G09": ("Bộ Nội vụ", "Sở Nội vụ", 9, "Công chức, viên chức"),
    "G10": ("Bộ Nông nghiệp và Môi trường", "Sở Nông nghiệp và Môi trường", 10,
            "Môi trường"),
    "G11": ("Bộ Quốc phòng", "Bộ Chỉ huy quân sự", 21, "Quốc phòng"),
    "G12": ("Bộ Tài chính", "Sở Tài chính", 12, "Thành lập và hoạt động của doanh nghiệp"),
    "G15": ("Bộ Tư pháp", "Sở Tư pháp", 15, "Hộ tịch"),
    "G16": ("Bộ Văn hóa, Thể thao và Du lịch", "Sở Văn hóa, Thể thao và Du lịch", 16,
            "Văn hóa cơ sở"),
    "G17": ("Bộ Xây dựng", "Sở Xây dựng", 17, "Hoạt động xây dựng"),
    "G18": ("Bộ Y tế", "Sở Y tế", 18, "Bảo trợ xã hội"),
    "G19": ("Ngân hàng Nhà nước Việt Nam", "Ngân hàng Nhà nước Khu vực", 19, "Ngân hàng"),
    "G20": ("Bộ Dân tộc và Tôn giáo", "Sở Dân tộc và Tôn giáo", 20, "Tôn giáo"),
    "VPCP": ("Văn phòng Chính phủ", "Văn phòng UBND", 1, "Kiểm soát thủ tục hành chính"),
    "EVN": ("Tập đoàn Điện lực Việt Nam", "Công ty Điện lực", 30, "Dịch vụ cung cấp điện"),
}

DEFAULT_AGENCY = ("", "Văn phòng UBND", 1, "Kiểm soát thủ tục hành chính")


def agency_info(code: str) -> tuple[str, str, int, str]:
    return AGENCIES.get(code, DEFAULT_AGENCY)


def locative(unit_name: str) -> str:
    """'Thành phố Hà Nội' -> 'thành phố Hà Nội', 'Tỉnh Cao Bằng' -> 'tỉnh Cao Bằng'."""
    for prefix in ("Thành phố ", "Tỉnh "):
        if unit_name.startswith(prefix):
            return prefix.lower() + unit_name[len(prefix):]
    return unit_name


def province_short(unit_name: str) -> str:
    for prefix in ("Thành phố ", "Tỉnh "):
        if unit_name.startswith(prefix):
            return unit_name[len(prefix):]
    return unit_name


# Common ward / commune names (many exist in several provinces).
WARD_NAMES = (
    "Ba Đình", "Hoàn Kiếm", "Tân An", "Hòa Bình", "Phú Lợi", "Tân Phong", "An Phú", "Bình Minh",
    "Đông Hòa", "Tây Sơn", "Quang Trung", "Hùng Vương", "Trần Phú", "Lê Lợi", "Nguyễn Trãi",
    "Hồng Hà", "Thanh Xuân", "Long Biên", "Phú Thượng", "Minh Khai", "Tân Lập", "Thống Nhất",
    "Hưng Lợi", "An Khánh", "Phước Long", "Vĩnh Hòa", "Tân Định", "Bến Thành", "Sài Gòn",
    "Hạnh Thông", "Thủ Đức", "Linh Xuân", "Hiệp Bình", "Phú Nhuận", "Gia Định", "Thạnh Mỹ Tây",
    "Hải Châu", "Thanh Khê", "Sơn Trà", "Ngũ Hành Sơn", "Hòa Khánh", "Cẩm Lệ", "Kim Long",
    "Thuận Hóa", "Phú Xuân", "Vỹ Dạ", "Ninh Kiều", "Cái Khế", "Tân Mai", "Trảng Dài",
    "Long Bình", "Biên Hòa", "Hố Nai", "Xuân Lộc", "Định Quán", "Đức Trọng", "Lạc Dương",
    "Đồng Xoài", "Bảo Lộc", "Hòa Hiệp", "Yên Thế", "Đông Sơn", "Hạc Thành", "Nguyệt Viên",
    "Vinh Phú", "Cửa Lò", "Thành Sen", "Trần Hưng Đạo", "Lam Sơn", "Yên Hòa", "Cầu Giấy",
    "Nghĩa Đô", "Tây Hồ", "Phú Diễn", "Xuân Đỉnh", "Đại Mỗ", "Hà Đông", "Kiến Hưng",
    "Mỹ Đình", "Từ Liêm", "Sóc Sơn", "Đông Anh", "Gia Lâm", "Thư Lâm", "Phúc Thọ", "Ba Vì",
    "Quốc Oai", "Chương Mỹ", "Ứng Hòa", "Mỹ Đức", "Thường Tín", "Phú Xuyên", "Thanh Oai",
)

WARD_KINDS = ("phường", "xã")

# Filler procedure name parts: action + object. Objects avoid the audited services' keywords.
FILLER_ACTIONS = (
    "Cấp giấy phép", "Cấp lại giấy phép", "Gia hạn giấy phép", "Điều chỉnh giấy phép",
    "Thu hồi giấy phép", "Cấp chứng chỉ", "Công nhận", "Thẩm định", "Phê duyệt",
    "Cấp giấy chứng nhận đủ điều kiện", "Xác nhận", "Thông báo", "Chấp thuận",
    "Cấp văn bản chấp thuận", "Đánh giá lại", "Cho phép",
)

# Filler vocabulary per promulgating agency: (categories, objects). Objects avoid the audited
# services' keywords.
FILLER_BY_AGENCY: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "G02": (("Thương mại", "Hóa chất", "Xăng dầu"), (
        "kinh doanh xăng dầu", "kinh doanh khí", "hoạt động nhượng quyền thương mại",
        "hoạt động hóa chất", "hoạt động giám định thương mại", "tổ chức hội chợ triển lãm",
        "kinh doanh rượu", "kinh doanh thuốc lá")),
    "G03": (("Giáo dục nghề nghiệp", "Giáo dục và Đào tạo"), (
        "trung tâm ngoại ngữ", "cơ sở giáo dục nghề nghiệp", "trường mầm non tư thục",
        "liên kết đào tạo", "văn phòng đại diện giáo dục", "hoạt động giáo dục kỹ năng sống")),
    "G06": (("Sở hữu trí tuệ", "Tiêu chuẩn đo lường chất lượng", "An toàn bức xạ và hạt nhân",
             "Bưu chính", "Báo chí"), (
        "hoạt động phòng thí nghiệm", "tổ chức đánh giá sự phù hợp", "hoạt động đo lường",
        "chuyển giao công nghệ", "nhãn hiệu chứng nhận", "chỉ dẫn địa lý", "sáng chế",
        "kiểu dáng công nghiệp", "an toàn bức xạ", "hoạt động bưu chính",
        "sử dụng tần số vô tuyến", "hoạt động báo chí", "thiết lập trang thông tin tổng hợp")),
    "G08": (("Công tác lãnh sự", "Hợp tác quốc tế"), (
        "tổ chức hội nghị quốc tế", "hoạt động đối ngoại", "hợp pháp hóa lãnh sự",
        "chứng nhận lãnh sự")),
    "G09": (("Thi đua khen thưởng", "Lưu trữ", "Tổ chức phi chính phủ"), (
        "thi đua khen thưởng", "hoạt động lưu trữ", "hoạt động văn thư", "hội, quỹ xã hội",
        "quỹ từ thiện")),
    "G10": (("Khoáng sản", "Lâm nghiệp", "Thủy lợi", "Thủy sản", "Trồng trọt", "Chăn nuôi",
             "Thú y", "Bảo vệ thực vật"), (
        "khai thác thủy sản", "đăng kiểm tàu cá", "kinh doanh thuốc bảo vệ thực vật",
        "buôn bán phân bón", "kinh doanh giống cây trồng", "hoạt động khuyến nông",
        "chăn nuôi trang trại", "giết mổ gia súc", "nuôi trồng thủy sản", "khai thác khoáng sản",
        "thăm dò khoáng sản", "hoạt động thủy lợi", "khai thác rừng trồng", "vận chuyển lâm sản",
        "nuôi động vật hoang dã", "giống vật nuôi", "thức ăn chăn nuôi", "thuốc thú y",
        "kiểm dịch động vật", "kiểm dịch thực vật")),
    "G11": (("Quốc phòng",), (
        "hoạt động bay dân dụng", "sử dụng bãi bắn", "khu vực cấm")),
    "G12": (("Kinh doanh bất động sản", "Chứng khoán", "Bảo hiểm", "Kế toán, kiểm toán",
             "Xổ số"), (
        "kinh doanh bất động sản", "hoạt động kiểm toán", "dịch vụ kế toán",
        "kinh doanh chứng khoán", "hoạt động bảo hiểm", "hoạt động xổ số", "kinh doanh casino",
        "kinh doanh đặt cược", "hoạt động đấu giá")),
    "G15": (("Bổ trợ tư pháp", "Trợ giúp pháp lý"), (
        "hành nghề công chứng", "hành nghề luật sư", "hoạt động trọng tài",
        "hoạt động giám định tư pháp", "hành nghề thừa phát lại", "hoạt động quản tài viên",
        "trợ giúp pháp lý")),
    "G16": (("Du lịch", "Văn hóa", "Thể dục thể thao", "Điện ảnh", "Xuất bản, in và phát hành"), (
        "hoạt động dịch vụ lữ hành nội địa", "kinh doanh dịch vụ karaoke", "biểu diễn nghệ thuật",
        "tổ chức lễ hội", "hoạt động in xuất bản phẩm", "nhập khẩu xuất bản phẩm",
        "thư viện cộng đồng", "bảo tàng ngoài công lập", "di tích lịch sử văn hóa",
        "hoạt động mỹ thuật", "hoạt động nhiếp ảnh", "sản xuất phim", "phổ biến phim",
        "di sản văn hóa phi vật thể", "hoạt động thể thao chuyên nghiệp",
        "câu lạc bộ thể dục thể thao", "quảng cáo ngoài trời")),
    "G17": (("Hoạt động xây dựng", "Đường bộ", "Đường thủy nội địa", "Hàng hải"), (
        "hành nghề kiến trúc", "cảng thủy nội địa", "kinh doanh vận tải hành khách",
        "bến xe khách", "vận chuyển hàng nguy hiểm", "đào tạo thuyền viên")),
    "G18": (("Dược phẩm", "Khám bệnh, chữa bệnh", "An toàn thực phẩm"), (
        "phòng khám chuyên khoa", "kinh doanh dược liệu", "cơ sở kinh doanh dịch vụ xoa bóp",
        "an toàn thực phẩm", "hành nghề dược", "trang thiết bị y tế")),
    "G19": (("Ngân hàng", "Ngoại hối"), (
        "kinh doanh vàng", "hoạt động ngoại hối", "dịch vụ trung gian thanh toán",
        "quỹ tín dụng nhân dân")),
    "G20": (("Tôn giáo", "Công tác dân tộc"), (
        "hoạt động tôn giáo", "sinh hoạt tôn giáo tập trung", "tổ chức cuộc lễ ngoài cơ sở")),
}

# Province-specific (type SPECIFIC) filler: categories and objects.
FILLER_LOCAL = (("Hỗ trợ doanh nghiệp", "Khoa học công nghệ", "Nông nghiệp"), (
    "hỗ trợ dự án khởi nghiệp sáng tạo", "hỗ trợ chuyển đổi số", "hỗ trợ phát triển sản phẩm OCOP",
    "hỗ trợ liên kết sản xuất", "hỗ trợ đổi mới công nghệ", "hỗ trợ xúc tiến thương mại"))

# Ministries that promulgate filler procedures.
FILLER_AGENCIES = tuple(FILLER_BY_AGENCY)

TARGET_NAMES = {
    "VIETNAMESE_CITIZEN": "Công dân Việt Nam",
    "ENTERPRISE": "Doanh nghiệp",
    "FOREIGNER": "Người nước ngoài",
}

FILLER_TARGET_SETS = (
    ("ENTERPRISE",),
    ("VIETNAMESE_CITIZEN",),
    ("VIETNAMESE_CITIZEN", "ENTERPRISE"),
    ("ENTERPRISE", "FOREIGNER"),
    ("VIETNAMESE_CITIZEN", "ENTERPRISE", "FOREIGNER"),
)

# departmentType values (no real response of list-department-url-by-citizen is stored: invented).
DEPARTMENT_TYPES = {"PROVINCE": "DEPARTMENT", "WARD": "WARD", "MINISTRY": "MINISTRY"}
