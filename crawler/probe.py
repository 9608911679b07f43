"""The first-run check (`dvc-audit probe`, and the start of every `run` and `nightly`): a few
read-only requests to the national portal and one provincial portal, each answer compared with
the shape the parsers depend on (crawler/shapes.yaml, crawler/shapes.py).

    report = run_probe("https://dichvucong.gov.vn")
    print(report.table())
    report.incompatible   # "" or one line naming the change the verdicts depend on

Plain HTTP (urllib) in the calling process rather than a Scrapy spider: the job must know the
result before it starts any crawl, the requests are six or seven in a row, and a crawl process
costs seconds to start. What a crawl would apply is applied here from the same settings
(crawler.runner.build_settings): the User-Agent with the contact, Origin and Referer on the API,
the politeness profile (DOWNLOAD_DELAY between requests to one host, DOWNLOAD_TIMEOUT),
robots.txt, DOWNLOAD_MAXSIZE, block-page and challenge detection (crawler.parsers), and the
loopback rule (against a loopback portal only loopback hosts are asked). Nothing is posted to a
submission endpoint; no cookie is kept.
"""

from __future__ import annotations

import json
import socket
import time
import urllib.error
import urllib.request
import urllib.robotparser
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from core.vocab import Reason
from crawler import parsers
from crawler.failures import http_reason
from crawler.officelist import check_rows, foreign_rows, request_targets
from crawler.profiles import is_loopback
from crawler.shapes import Diff, Shape, compare, load_shapes
from crawler.spiders.national import API

PAGE = 50  # rows a probe page asks: enough to see the shape and the filter, light on the host
ACT_READ = "reads it"
ACT_NEW = "reads it; the new keys are not used"
ACT_STOP = "stops: the run is stored as incompatible, no verdicts"


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    max_redirections = 5


@dataclass
class Answer:
    url: str
    status: int | None
    body: bytes = b""
    reason: str = ""  # "" when an answer arrived that is not a block or a challenge


@dataclass
class Check:
    """One row of the probe's table."""

    endpoint: str
    url: str
    status: int | None
    reason: str = ""  # why it could not be read ("" = read)
    shape: str = ""  # "as expected", or what differs
    change: str = ""  # the change the verdicts depend on ("" = none)
    action: str = ""  # what the audit will do about it


@dataclass
class ProbeReport:
    base_url: str
    checks: list[Check] = field(default_factory=list)

    @property
    def incompatible(self) -> str:
        """One line naming the first change the verdicts depend on ("" when none)."""
        return next((f"{c.endpoint}: {c.change}" for c in self.checks if c.change), "")

    @property
    def unreachable(self) -> str:
        """The first reason a national endpoint could not be read ("" when all were)."""
        return next((c.reason for c in self.checks if c.reason and c.endpoint != "portal"), "")

    def table(self) -> str:
        head = ("endpoint", "status", "shape", "the audit")
        rows = [(c.endpoint, str(c.status or "-") + (f" {c.reason}" if c.reason else ""),
                 c.shape, c.action) for c in self.checks]
        widths = [max(len(r[i]) for r in [head, *rows]) for i in range(3)]
        lines = [f"probe of {self.base_url}"]
        for r in [head, tuple("-" * w for w in widths) + ("-" * 9,), *rows]:
            lines.append("  ".join(r[i].ljust(widths[i]) for i in range(3)) + "  " + r[3])
        return "\n".join(line.rstrip() for line in lines)


class Fetcher:
    """Read-only HTTP with the crawler's settings (see the module docstring)."""

    def __init__(self, base_url: str, settings: Any) -> None:
        self.base_url = base_url.rstrip("/")
        self.agent = settings.get("USER_AGENT")
        self.timeout = settings.getfloat("DOWNLOAD_TIMEOUT")
        self.delay = settings.getfloat("DOWNLOAD_DELAY")
        self.maxsize = settings.getint("DOWNLOAD_MAXSIZE")
        self.obey_robots = settings.getbool("ROBOTSTXT_OBEY")
        self.last: dict[str, float] = {}  # host -> when it was last asked
        self.robots: dict[str, urllib.robotparser.RobotFileParser | None] = {}
        self.opener = urllib.request.build_opener(_NoRedirect())

    def post(self, path: str, body: dict[str, Any]) -> Answer:
        headers = {"Content-Type": "application/json", "Accept": "application/json",
                   "Origin": self.base_url, "Referer": self.base_url + "/"}
        return self.fetch(self.base_url + path, json.dumps(body).encode(), headers)

    def get(self, url: str) -> Answer:
        return self.fetch(url, None, {"Accept": "text/html,*/*"})

    def fetch(self, url: str, data: bytes | None, headers: dict[str, str],
              robots: bool = True) -> Answer:
        if robots and not self.allowed(url):
            return Answer(url, None, reason=Reason.ROBOTS_DISALLOWED)
        host = urlsplit(url).netloc
        wait = self.last.get(host, 0.0) + self.delay - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        request = urllib.request.Request(url, data=data, method="POST" if data else "GET",
                                         headers={"User-Agent": self.agent, **headers})
        try:
            with self.opener.open(request, timeout=self.timeout) as resp:
                body = resp.read(self.maxsize + 1)
                status = resp.status
        except urllib.error.HTTPError as exc:
            status = exc.code
            reason = Reason.REDIRECT_LOOP if 300 <= status < 400 else http_reason(status)
            return Answer(url, status, reason=reason)
        except (urllib.error.URLError, OSError) as exc:
            return Answer(url, None, reason=_network_reason(exc))
        finally:
            self.last[host] = time.monotonic()
        if len(body) > self.maxsize:
            return Answer(url, status, reason=Reason.TOO_LARGE)
        if parsers.is_block_page(body):
            return Answer(url, status, body, Reason.BLOCKED)
        if parsers.is_challenge_body(body):
            return Answer(url, status, body, Reason.JS_CHALLENGE)
        return Answer(url, status, body)

    def allowed(self, url: str) -> bool:
        if not self.obey_robots:
            return True
        parts = urlsplit(url)
        root = f"{parts.scheme}://{parts.netloc}"
        if root not in self.robots:
            answer = self.fetch(root + "/robots.txt", None, {"Accept": "text/plain"},
                                robots=False)
            parser = None
            if answer.status == 200 and not answer.reason:
                parser = urllib.robotparser.RobotFileParser()
                parser.parse(answer.body.decode("utf-8", "replace").splitlines())
            self.robots[root] = parser
        parser = self.robots[root]
        return parser is None or parser.can_fetch(self.agent, url)


def _network_reason(exc: BaseException) -> str:
    cause = exc.reason if isinstance(exc, urllib.error.URLError) else exc
    if isinstance(cause, (TimeoutError, socket.timeout)):
        return Reason.TIMEOUT
    if isinstance(cause, socket.gaierror):
        return Reason.DNS
    if isinstance(cause, ConnectionRefusedError):
        return Reason.REFUSED
    if "redirect" in str(cause).lower():
        return Reason.REDIRECT_LOOP
    return Reason.CONNECTION_LOST


def envelope_data(answer: Answer) -> tuple[Any, str]:
    """(data, reason): the envelope's data, or why there is none."""
    if answer.reason:
        return None, answer.reason
    try:
        return parsers.parse_envelope(answer.body), ""
    except parsers.ApiError as exc:
        return None, str(exc).split(":", 1)[0]


def shape_check(endpoint: str, answer: Answer, shape: Shape) -> tuple[Check, Any]:
    data, reason = envelope_data(answer)
    check = Check(endpoint, answer.url, answer.status, reason)
    if reason:
        check.action = f"its cells become could not test ({reason})"
        return check, None
    diff: Diff = compare(shape, data)
    check.shape = diff.describe()
    if diff.breaking:
        check.change = "; ".join(p for p in (
            "missing " + ", ".join(diff.missing) if diff.missing else "",
            "retyped " + ", ".join(diff.retyped) if diff.retyped else "") if p)
        check.action = ACT_STOP
    else:
        check.action = ACT_NEW if diff.new else ACT_READ
    return check, data


def filter_note(rows: list[dict[str, Any]], procedure_id: str) -> tuple[str, str]:
    """(what the office list's filter did, what the audit does about it)."""
    if not rows:
        return "filter not testable (no rows)", ""
    other, _ = foreign_rows(rows, procedure_id)
    if check_rows(rows, procedure_id) == Reason.API_FILTER_IGNORED:
        return (f"filter ignored ({other} of {len(rows)} rows of other procedures)",
                "office lists fail as api_filter_ignored (could not test)")
    return "filter honoured", ""


def pick_procedure(items: list[dict[str, Any]], codes: list[str]) -> dict[str, Any] | None:
    """The first catalogue row of a rubric code (in rubric order), else the first row."""
    by_code = {str(i.get("code")): i for i in items if isinstance(i, dict)}
    for code in codes:
        if code in by_code:
            return by_code[code]
    return next((i for i in items if isinstance(i, dict) and i.get("id")), None)


def portal_url(rows: list[dict[str, Any]], base_url: str,
               portal_list: list[dict[str, str]]) -> str:
    """One provincial portal's home: from an office row's citizenUrl, else the portal list;
    never the national host, and against a loopback portal only a loopback host."""
    national = urlsplit(base_url).netloc
    urls = [str(r.get("citizenUrl") or "") for r in rows] + [e["url"] for e in portal_list]
    for url in urls:
        parts = urlsplit(url if "://" in url else "https://" + url)
        if not parts.netloc or parts.netloc == national:
            continue
        home = f"{parts.scheme}://{parts.netloc}/"
        if is_loopback(base_url) and not is_loopback(home):
            continue
        return home
    return ""


def run_probe(base_url: str, *, codes: list[str] | None = None,
              overrides: dict[str, Any] | None = None,
              portal_list: list[dict[str, str]] | None = None,
              shapes: dict[str, Shape] | None = None) -> ProbeReport:
    """Ask the national API's four endpoints once each (the office list once per target type
    of one procedure) and one provincial portal's home; compare each answer with its shape."""
    from crawler.runner import build_settings  # lazily: the job imports this module early

    shapes = shapes or load_shapes()
    settings = build_settings(base_url, "probe.db", 0, overrides=overrides)
    fetcher = Fetcher(base_url, settings)
    report = ProbeReport(base_url.rstrip("/"))
    check, _ = shape_check("provinces", fetcher.post(API["provinces"], {}), shapes["provinces"])
    report.checks.append(check)
    body = {"limit": PAGE, "lastId": None, "q": ""}
    check, page = shape_check("catalogue", fetcher.post(API["catalogue"], body),
                              shapes["catalogue"])
    report.checks.append(check)
    items = page.get("items") if isinstance(page, dict) else None
    item = pick_procedure(items if isinstance(items, list) else [], codes or [])
    if codes and (item is None or item.get("code") != codes[0]):
        # the first rubric procedure (one with office rows in many provinces) is not on the
        # first page: look it up by its code
        found, _ = envelope_data(fetcher.post(API["catalogue"], {**body, "q": codes[0]}))
        more = found.get("items") if isinstance(found, dict) else None
        item = pick_procedure(more if isinstance(more, list) else [], codes) or item
    rows: list[dict[str, Any]] = []
    if item is not None and not check.change:
        rows = _probe_procedure(report, fetcher, shapes, item)
    if portal_list is None:
        from crawler.platforms.seeds import configured_portal_list

        portal_list = settings.get("DVC_PORTAL_LIST") or configured_portal_list(
            settings.get("DVC_PORTAL_FILE") or "")
    _probe_portal(report, fetcher, rows, portal_list)
    return report


def _probe_procedure(report: ProbeReport, fetcher: Fetcher, shapes: dict[str, Shape],
                     item: dict[str, Any]) -> list[dict[str, Any]]:
    fid, code = str(item.get("id")), str(item.get("code"))
    check, _ = shape_check(f"detail {code}", fetcher.post(API["detail"], {"id": fid}),
                           shapes["detail"])
    report.checks.append(check)
    names = item.get("formalityTargetType") or []
    rows: list[dict[str, Any]] = []
    for target in request_targets([n for n in names if isinstance(n, str)]):
        body: dict[str, Any] = {"formalityId": fid, "limit": PAGE, "lastId": None}
        if target:
            body["formalityTargetType"] = target
        check, data = shape_check(f"offices {code} {target or 'any target'}",
                                  fetcher.post(API["offices"], body), shapes["offices"])
        page = data.get("rows") if isinstance(data, dict) else None
        if isinstance(page, list) and not check.change:
            page = [r for r in page if isinstance(r, dict)]
            note, action = filter_note(page, fid)
            check.shape = f"{check.shape}; {note}"
            check.action = action or check.action
            rows += page
        report.checks.append(check)
    return rows


def _probe_portal(report: ProbeReport, fetcher: Fetcher, rows: list[dict[str, Any]],
                  portal_list: list[dict[str, str]]) -> None:
    from crawler.platforms import fingerprint

    home = portal_url(rows, report.base_url, portal_list)
    if not home:
        report.checks.append(Check("portal", "", None, "", "no portal to ask",
                                   action="portals are found by the crawl"))
        return
    answer = fetcher.get(home)
    check = Check("portal", home, answer.status, answer.reason)
    if answer.reason:
        check.action = f"that portal's cells become could not test ({answer.reason})"
    else:
        found = fingerprint(home, answer.body)
        check.shape = (f"family {found.family}" if found.family else "family not recognised") \
            + (", needs a browser" if found.needs_js else "")
        check.action = ACT_READ if found.family else "that portal: unknown_platform"
    report.checks.append(check)
