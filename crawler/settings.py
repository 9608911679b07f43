"""Scrapy settings for dvc-audit's crawler. Polite by default; see `crawler/profiles.py`."""

BOT_NAME = "dvc-audit"
SPIDER_MODULES = ["crawler.spiders"]
NEWSPIDER_MODULE = "crawler.spiders"

# Honest and browser-like: the portal rejects User-Agents without "Mozilla/", so we say who we are
# inside a compatible string. DVC_AUDIT_CONTACT (setting or env var) fills the contact.
DVC_AUDIT_CONTACT = "dvc-audit operator (set DVC_AUDIT_CONTACT)"
USER_AGENT = "Mozilla/5.0 (compatible; dvc-audit/{version}; +{contact})"

ROBOTSTXT_OBEY = True
COOKIES_ENABLED = False
TELNETCONSOLE_ENABLED = False

CONCURRENT_REQUESTS = 8
CONCURRENT_REQUESTS_PER_DOMAIN = 1
DOWNLOAD_DELAY = 1.0
DOWNLOAD_TIMEOUT = 30
AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_START_DELAY = 1.0
AUTOTHROTTLE_MAX_DELAY = 30.0
AUTOTHROTTLE_TARGET_CONCURRENCY = 1.0

RETRY_ENABLED = True
RETRY_TIMES = 3
RETRY_HTTP_CODES = [500, 502, 503, 504, 522, 524, 408, 429]

DOWNLOADER_MIDDLEWARES = {
    "crawler.middlewares.BlockPageMiddleware": 950,
}
ITEM_PIPELINES = {
    "crawler.pipelines.StorePipeline": 300,
}

# Filled by crawler.runner for each run.
DVC_DB = ""
DVC_RUN_ID = 0
DVC_BASE_URL = "https://dichvucong.gov.vn"
DVC_RUBRIC_DIR = ""

# Provincial portals (crawler/spiders/provincial.py). The spider installs scrapy-playwright's
# download handlers itself and fills PLAYWRIGHT_LAUNCH_OPTIONS from crawler.browser
# .launch_options() (Chromium found as documented there; --no-sandbox as root), so the national
# spider never starts a browser.
DVC_BROWSER = True  # False: plain HTTP only (portals that need JavaScript: "needs_browser")
DVC_BROWSER_PORTALS = 3  # sites crawled in a browser at once (one context each)
DVC_NATIONAL_PAGES = True  # also read the national portal's HTML procedure pages
DVC_PORTAL_LIST = None  # [{unit, url}] instead of DVC_PORTAL_FILE (the demo passes the replica's)
DVC_PORTAL_FILE = ""  # "" = crawler/platforms/portals.yaml
DVC_OUT_DIR = ""  # screenshots go under DVC_OUT_DIR/screenshots/run-<id>/ ("" = beside DVC_DB)
PLAYWRIGHT_BROWSER_TYPE = "chromium"
PLAYWRIGHT_ABORT_REQUEST = "crawler.platforms.browsing.abort_request"  # images, fonts, off-host
PLAYWRIGHT_DEFAULT_NAVIGATION_TIMEOUT = 30_000  # ms
PLAYWRIGHT_CONTEXTS: dict = {}  # none at start: one per portal, opened and closed by the spider

LOGSTATS_INTERVAL = 15.0
STATS_DUMP = False  # crawler.runner stores the stats with the run instead
LOG_LEVEL = "INFO"
FEED_EXPORT_ENCODING = "utf-8"
TWISTED_REACTOR = "twisted.internet.asyncioreactor.AsyncioSelectorReactor"
