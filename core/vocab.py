"""The audit's vocabulary, defined once: verdicts, reasons, evidence kinds, outcomes, levels.

Every value is a `StrEnum`, so it is stored, compared and written to YAML/CSV as its plain
string ("met", "portal_apply") and old databases, rule cases and templates read unchanged.
Labels for people live in templates/strings.yaml (`verdict.*`, `reason.*`); a test checks that
every reason here has one.
"""

from __future__ import annotations

from enum import StrEnum


class Verdict(StrEnum):
    MET = "met"
    NOT_MET = "not_met"
    NOT_APPLICABLE = "not_applicable"
    CANNOT_TEST = "cannot_test"  # could not test (down, blocked, timeout): never "not met"


VERDICTS: tuple[Verdict, ...] = tuple(Verdict)
SCORED: tuple[Verdict, ...] = (Verdict.MET, Verdict.NOT_MET)  # the only verdicts in a score
# HTTP statuses that say a page does not exist: a definite answer, not a failure to read it
GONE_STATUSES: tuple[int, ...] = (404, 410)


class Outcome(StrEnum):
    """How one observation went (evidence `outcome`)."""

    OK = "ok"
    FAILED = "failed"
    NOT_FOUND = "not_found"
    BAD_REQUEST = "bad_request"


class Reason(StrEnum):
    """Why a verdict is what it is, or why a fetch failed (evidence and verdict `reason`)."""

    # fetching: the crawler's failures (crawler/failures.py names them from exceptions)
    BLOCKED = "blocked"
    TIMEOUT = "timeout"
    HTTP_5XX = "http_5xx"
    HTTP_4XX = "http_4xx"
    RATE_LIMITED = "rate_limited"
    REFUSED = "refused"
    DNS = "dns"
    ERROR = "error"
    JS_CHALLENGE = "js_challenge"
    REDIRECT_LOOP = "redirect_loop"
    MALFORMED = "malformed"
    TOO_LARGE = "too_large"
    ROBOTS_DISALLOWED = "robots_disallowed"
    CONNECTION_LOST = "connection_lost"
    BROWSER_ERROR = "browser_error"
    OFFSITE = "offsite"
    API_FILTER_IGNORED = "api_filter_ignored"
    # reading a portal
    UNKNOWN_PLATFORM = "unknown_platform"
    NEEDS_BROWSER = "needs_browser"
    UNREADABLE = "unreadable"
    UNEXPECTED_CONFIG = "unexpected_config"
    NO_BROWSER = "no_browser"
    NO_LOGIN_OPTIONS = "no_login_options"
    NO_APPLY_PAGE = "no_apply_page"
    NO_LISTING = "no_listing"
    NOT_FOUND = "not_found"
    # judging
    INCOMPLETE = "incomplete"
    NO_CATALOGUE = "no_catalogue"
    NOT_LISTED = "not_listed"
    NO_ONLINE_METHOD = "no_online_method"
    NO_HANDOFF = "no_handoff"  # rows, none hands off to a live (not testing) submission URL
    NO_FEE = "no_fee"
    FEE_UNKNOWN = "fee_unknown"
    NO_PORTAL_EVIDENCE = "no_portal_evidence"
    NOT_DELIVERED_BY_UNIT = "not_delivered_by_unit"
    CRITERION_NOT_APPLICABLE = "criterion_not_applicable"
    PORTAL_ABSENT = "portal_absent"
    PORTAL_INFO_ONLY = "portal_info_only"
    PORTAL_PARTIAL_ONLY = "portal_partial_only"
    NO_PAYMENT_STEP = "no_payment_step"
    NO_NATIONAL_SSO = "no_national_sso"
    NOT_OFFERED_ON_PORTAL = "not_offered_on_portal"
    NO_RULE = "no_rule"
    BELOW_COVERAGE = "below_coverage"
    UNATTRIBUTED_ROWS = "unattributed_rows"
    UNIT_CODE_UNVERIFIED = "unit_code_unverified"
    NOT_CRAWLED = "not_crawled"  # re-scored: a procedure added to the rubric after the crawl
    # the UN survey's indicators (issue 18)
    SEARCH_INCOMPLETE = "search_incomplete"  # not found, but a page within the budget failed
    NO_VALIDATOR = "no_validator"  # the W3C checker (Java + vnu.jar) is not installed
    NOT_GATHERED = "not_gathered"  # the run gathered no site evidence (e.g. an older run)


class EvidenceKind(StrEnum):
    # the national portal's JSON API
    PROVINCE_LIST = "province_list"
    CATALOGUE = "catalogue"
    PROCEDURE = "procedure"
    PROCEDURE_DETAIL = "procedure_detail"
    OFFICE_ROW = "office_row"
    OFFICE_LIST = "office_list"
    FETCH = "fetch"
    # provincial portals, ministry systems and the national portal's HTML pages
    PORTAL = "portal"
    PORTAL_PAGE = "portal_page"
    PORTAL_LIST = "portal_list"
    PORTAL_LOGIN = "portal_login"
    PORTAL_APPLY = "portal_apply"
    NATIONAL_PAGE = "national_page"
    HOST_STOPPED = "host_stopped"  # a host that kept blocking us was not asked again
    # the UN survey's features of each unit's site (national portal, provincial portals):
    # a page searched (data: units, depth, home, via) and the site's measures (data: units,
    # https_ok, http_redirects, scroll_width, viewport_meta, axe_violations, w3c_errors,
    # failures); judged by audits/detectors.py
    SITE_PAGE = "site_page"
    SITE_MEASURE = "site_measure"
    # the national portal's Decision 766 index (crawler/spiders/index766.py; the report's
    # comparison reads them, the evaluator never does)
    INDEX766_RESULTS = "index766_results"
    INDEX766_GROUP = "index766_group"
    INDEX766_FETCH = "index766_fetch"


EVIDENCE_KINDS: tuple[EvidenceKind, ...] = tuple(EvidenceKind)


class Offer(StrEnum):
    """How far a portal offers a service online, as its own pages say (level 2/3/4)."""

    ABSENT = "absent"
    INFO = "info"  # level 2: information only
    PARTIAL = "partial"  # level 3, "một phần"
    FULL = "full"  # level 4, "toàn trình"

    @property
    def rank(self) -> int:
        return OFFER_RANK[self]


OFFER_RANK: dict[str, int] = {"": -1, "absent": -1, "info": 0, "partial": 1, "full": 2}


class Implementation(StrEnum):
    """The national catalogue's `implementationLevel` of a procedure at an office."""

    NONE = "NONE"
    PARTIAL = "PARTIAL"
    FULL = "FULL"


IMPLEMENTATION_RANK: dict[str, int] = {"NONE": 0, "PARTIAL": 1, "FULL": 2}
