"""Where the crawls of a run go: `local` (child processes of the job, app/jobs.py, the default)
or `scrapyd` (a Scrapyd server, over its HTTP API).

The Scrapyd engine shares no file with the server. It builds an egg of `crawler` + `core` (the
crawler needs nothing else; import-linter checks it) with the run's rubric files, uploads it
(`addversion.json`), then runs the crawls one job after another (`schedule.json` with the same
setting overrides as the local engine, `listjobs.json` until the job has finished, `cancel.json`
on a signal or a timeout). Each job feeds its evidence through Scrapy's feed exports (Scrapyd's
`items_dir`, served at /items/...; crawler/remote.py) and logs its stats as one line (/logs/...):
the job reads both back and stores them into the run as the local pipeline would. The
provincial crawl gets its seeds, computed here from what the national crawl stored, as a
setting (DVC_SEEDS), since it cannot read the results database.

A server that cannot be reached (or answers an error) ends the crawl: the run is stored
incomplete with the reason `engine_unreachable`; a job that ends without its stats or with
another finish reason than "finished" leaves it incomplete (`interrupted`), like a crawl child
that exits non-zero.
"""

from __future__ import annotations

import hashlib
import io
import json
import time
import urllib.error
import urllib.parse
import urllib.request
import zipfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from app.interrupt import Stop
from app.options import DEFAULT_SCRAPYD_URL, ENGINES, check_url  # the CLI's names for them
from core import __version__, store
from core.rubric import load_rubric
from core.vocab import EvidenceKind
from crawler import sitewalk
from crawler.pipelines import store_item
from crawler.platforms import seeds
from crawler.profiles import profile_for
from crawler.remote import from_feed, stats_from_log
from crawler.runner import build_settings

PROJECT = "dvc-audit"
ENGINE_UNREACHABLE = "engine_unreachable"  # run reason (templates/strings.yaml run_reason.*)
INTERRUPTED = "interrupted"  # as app/jobs.py
PROJECT_DIR = Path(__file__).resolve().parents[1]
EGG_PACKAGES = ("core", "crawler")
# The job's own settings that make no sense on another machine: Scrapyd sets the log and feed
# files; the rubric travels in the egg; the seeds replace the database and the phase lines.
LOCAL_ONLY = ("LOG_FILE", "LOG_FILE_APPEND", "DVC_OUT_DIR", "DVC_AWAIT_NATIONAL", "JOBDIR",
              "ADDONS", "DVC_DB", "DVC_RUBRIC_DIR", "DVC_PORTAL_LIST", "DVC_PORTAL_FILE",
              "HTTPCACHE_DIR")
# The feed and the stats line instead of the database. No conditional-request cache: it lives
# beside the results database (crawler/httpcache.py), which a node does not have.
REMOTE = {"ITEM_PIPELINES": {"crawler.remote.FeedPipeline": 300}, "DVC_STATS_LOG": True,
          "HTTPCACHE_ENABLED": False}


class ScrapydError(Exception):
    """The server cannot be reached or refused a request; str() is one line naming it."""


@dataclass
class CrawlRun:
    """What an engine needs to crawl one run into its results database."""

    base_url: str
    db_path: Path
    run_id: int
    out_dir: Path
    rubric_dir: Path
    overrides: dict[str, Any]
    portal_list: list[dict[str, str]] | None
    stop: Stop
    echo: Callable[[str], None] = print
    phase: Callable[[str], None] = lambda name: None
    timings: dict[str, Any] = field(default_factory=dict)


class Engine(Protocol):
    """Runs a run's crawls somewhere; returns the run's (status, note) once they have ended."""

    name: str

    def crawl_run(self, run: CrawlRun) -> tuple[str, str]: ...


def engine_for(name: str, scrapyd_urls: str | Sequence[str] = DEFAULT_SCRAPYD_URL
               ) -> Engine | None:
    """The engine for `--engine NAME`; None for `local` (app/jobs.py runs its own children).
    Several Scrapyd URLs: the first runs the national host's crawls, all share the portals."""
    if name == "local":
        return None
    if name == "scrapyd":
        return ScrapydEngine(scrapyd_urls)
    raise ValueError(f"unknown engine {name!r} (one of {', '.join(ENGINES)})")


# --------------------------------------------------------------------------- the egg


def _egg_files(rubric_dir: Path) -> Iterator[tuple[str, bytes]]:
    for package in EGG_PACKAGES:
        for path in sorted((PROJECT_DIR / package).rglob("*")):
            if path.is_file() and path.suffix in (".py", ".yaml") \
                    and "__pycache__" not in path.parts:
                yield path.relative_to(PROJECT_DIR).as_posix(), path.read_bytes()
    for path in sorted(Path(rubric_dir).rglob("*.yaml")):  # core.rubric.RUBRIC_DIR in the egg
        yield "rubrics/" + path.relative_to(rubric_dir).as_posix(), path.read_bytes()


def build_egg(rubric_dir: Path) -> bytes:
    """A Scrapyd egg (a zip: the packages, EGG-INFO with the `scrapy` entry point naming
    crawler.settings, as scrapy.cfg's [settings]). Built directly, byte for byte the same for
    the same sources (fixed timestamps), so its hash can be its version."""
    meta = {
        "EGG-INFO/PKG-INFO": f"Metadata-Version: 2.1\nName: {PROJECT}\nVersion: {__version__}\n",
        "EGG-INFO/entry_points.txt": "[scrapy]\nsettings = crawler.settings\n",
        "EGG-INFO/top_level.txt": "".join(f"{p}\n" for p in EGG_PACKAGES),
        "EGG-INFO/not-zip-safe": "\n",
    }
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as egg:
        for name, data in [*_egg_files(rubric_dir), *((k, v.encode()) for k, v in meta.items())]:
            info = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            egg.writestr(info, data)
    return out.getvalue()


def egg_version(egg: bytes) -> str:
    return f"{__version__}-{hashlib.sha256(egg).hexdigest()[:12]}"


# --------------------------------------------------------------------------- settings


def _text(value: Any) -> str:
    """A setting's value as Scrapyd passes it (`-s KEY=VALUE`): text as is, anything else as
    JSON, which Scrapy's getbool/getint/getdict read (and crawler code decodes for lists)."""
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def job_settings(run: CrawlRun, extra: dict[str, Any] | None = None) -> dict[str, str]:
    """The settings of a Scrapyd job: what crawler.runner.build_settings gives a local crawl
    (loopback profile, base URL, run id, User-Agent with its contact), the job's overrides
    but those bound to the job's machine, and the feed and stats line (crawler/remote.py)."""
    overrides = {k: v for k, v in run.overrides.items() if k not in LOCAL_ONLY}
    agent = build_settings(run.base_url, run.db_path, run.run_id, "", overrides).get(
        "USER_AGENT")
    settings = {**profile_for(run.base_url), **overrides, "DVC_BASE_URL": run.base_url,
                "DVC_RUN_ID": run.run_id, "USER_AGENT": agent, **REMOTE, **(extra or {})}
    return {key: _text(value) for key, value in settings.items()}


# --------------------------------------------------------------------------- the server


@dataclass
class Finished:
    """A job that has ended: its stats (None: it died before logging them) and items stored."""

    job: str
    stats: dict[str, Any] | None
    items: int
    cancelled: str = ""  # why it was cancelled ("" when it ended by itself)

    @property
    def ok(self) -> bool:
        return not self.cancelled and (self.stats or {}).get("finish_reason") == "finished"

    def why(self) -> str:
        if self.cancelled:
            return self.cancelled
        if self.stats is None:
            return "ended without its stats (see its log on the server)"
        return f"ended with finish_reason {self.stats.get('finish_reason')!r}"


class ScrapydNode:
    """One Scrapyd server, over its JSON API."""

    def __init__(self, url: str, *, poll: float = 1.0, job_timeout: float = 24 * 3600,
                 grace: float = 30.0, http_timeout: float = 120.0) -> None:
        self.url = check_url(url)
        self.poll, self.job_timeout, self.grace = poll, job_timeout, grace
        self.http_timeout = http_timeout

    def _open(self, path: str, data: bytes | None = None) -> Any:
        url = urllib.parse.urljoin(self.url + "/", path.lstrip("/"))
        request = urllib.request.Request(url, data=data)
        if data is not None:
            request.add_header("Content-Type", "application/x-www-form-urlencoded")
        try:
            return urllib.request.urlopen(request, timeout=self.http_timeout)
        except urllib.error.HTTPError:
            raise
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise ScrapydError(f"scrapyd at {self.url} cannot be reached: {reason}") from None

    def call(self, endpoint: str, params: list[tuple[str, Any]] | None = None,
             post: bool = False) -> dict[str, Any]:
        """One API call; its JSON answer (status ok), else ScrapydError naming the endpoint."""
        query = urllib.parse.urlencode(params or [])
        try:
            with (self._open(endpoint, query.encode()) if post
                  else self._open(f"{endpoint}?{query}")) as answer:
                body = answer.read()
        except urllib.error.HTTPError as exc:
            raise ScrapydError(f"scrapyd at {self.url}: {endpoint}: HTTP {exc.code}") from None
        try:
            doc = json.loads(body)
        except ValueError:
            raise ScrapydError(f"scrapyd at {self.url}: {endpoint}: not a JSON answer "
                               "(is it a Scrapyd server?)") from None
        if not isinstance(doc, dict) or doc.get("status") != "ok":
            message = doc.get("message", doc) if isinstance(doc, dict) else doc
            raise ScrapydError(f"scrapyd at {self.url}: {endpoint}: {message}")
        return doc

    def deploy(self, egg: bytes, version: str) -> None:
        """Upload the egg (addversion.json)."""
        self.call("addversion.json", [("project", PROJECT), ("version", version),
                                      ("egg", egg)], post=True)

    def schedule(self, spider: str, version: str, settings: dict[str, str]) -> str:
        params: list[tuple[str, Any]] = [("project", PROJECT), ("spider", spider),
                                         ("_version", version)]
        params += [("setting", f"{key}={value}") for key, value in settings.items()]
        return str(self.call("schedule.json", params, post=True)["jobid"])

    def cancel(self, job: str, signal: str = "") -> None:
        params = [("project", PROJECT), ("job", job)] + ([("signal", signal)] if signal else [])
        self.call("cancel.json", params, post=True)

    def state(self, job: str) -> tuple[str, dict[str, Any]]:
        """("pending" | "running" | "finished" | "", the job's entry) from listjobs.json."""
        jobs = self.call("listjobs.json", [("project", PROJECT)])
        for state in ("finished", "running", "pending"):
            for entry in jobs.get(state, []):
                if entry.get("id") == job:
                    return state, entry
        return "", {}

    def text(self, path: str | None) -> str:
        """A file the server serves (a job's log), "" when it has none."""
        if not path:
            return ""
        try:
            with self._open(path) as answer:
                return answer.read().decode("utf-8", "replace")
        except urllib.error.HTTPError:
            return ""

    def lines(self, path: str | None) -> Iterator[bytes]:
        """A job's feed, line by line; nothing when the server keeps no such file."""
        if not path:
            return
        try:
            answer = self._open(path)
        except urllib.error.HTTPError:
            return
        with answer:
            yield from answer

    def wait(self, job: str, spider: str, stop: Stop) -> tuple[dict[str, Any], str]:
        """Poll until the job has finished; cancel it on a signal or after `job_timeout`.
        (its listjobs entry, why it was cancelled or "")."""
        started, cancelled, asked = time.monotonic(), "", 0.0
        while True:
            state, entry = self.state(job)
            if state == "finished":
                return entry, cancelled
            if not state and cancelled:  # cancelled while pending: it never ran
                return {}, cancelled
            if not state:
                raise ScrapydError(f"scrapyd at {self.url}: job {job} is gone from listjobs")
            now = time.monotonic()
            if not cancelled and stop.signum is not None:
                cancelled = f"was cancelled: {stop.name} received"
            elif not cancelled and now - started > self.job_timeout:
                cancelled = f"was cancelled after {self.job_timeout:g} s (the job timeout)"
            if cancelled and not asked:
                asked = now
                self.cancel(job)  # Scrapy closes the spider gracefully
            elif cancelled and now - asked > self.grace:
                asked = now  # again, each grace period, without waiting for a graceful close
                self.cancel(job, "KILL")
            time.sleep(self.poll)


class ScrapydEngine:
    """The run's crawls on Scrapyd nodes: the national host's crawls (national API, 766
    figures, its HTML procedure pages: `national_pages`) on the first node, one job at a time,
    so its politeness limit holds; the provincial portals spread over every node, one job
    (a share of the portals) per node, at once; the national pages after them (as the local
    job: one browser per node at a time, docs/ARCHITECTURE.md "Crawler layout")."""

    name = "scrapyd"

    def __init__(self, urls: str | Sequence[str] = DEFAULT_SCRAPYD_URL, **options: Any) -> None:
        urls = [urls] if isinstance(urls, str) else list(urls)
        if not urls:
            raise ValueError("no Scrapyd URL")
        self.nodes = [ScrapydNode(url, **options) for url in urls]

    @property
    def url(self) -> str:
        return " ".join(node.url for node in self.nodes)

    def crawl_run(self, run: CrawlRun) -> tuple[str, str]:
        try:
            return self._crawl_run(run)
        except ScrapydError as exc:
            run.echo(f"run {run.run_id}: {exc}")
            return "incomplete", f"{ENGINE_UNREACHABLE}: {exc}"

    def _crawl_run(self, run: CrawlRun) -> tuple[str, str]:
        egg = build_egg(run.rubric_dir)
        version = egg_version(egg)
        for node in dict.fromkeys(n.url for n in self.nodes):  # each server once
            self.node(node).deploy(egg, version)
        run.echo(f"run {run.run_id}: egg {PROJECT} {version} deployed to {self.url}")
        first = self.nodes[0]
        failed: list[str] = []
        with _timed(run.timings, "national"):
            national = self.crawl(run, first, "national", version)
        if not national.ok:
            failed.append(f"the national crawl (scrapyd job {national.job}) {national.why()}")
        run.phase("index766" if national.ok else "provincial")
        if national.ok and run.stop.signum is None:  # its failure never changes the status
            with _timed(run.timings, "index766"):
                self.crawl(run, first, "index766", version)
        if run.stop.signum is None:
            run.phase("provincial")
            with _timed(run.timings, "provincial"):
                failed += self.provincial(run, version)
        if run.stop.signum is None:
            failed += self.national_pages(run, first, version)
        if run.stop.signum is None:  # the UN survey's site search, after the portals
            run.phase("sites")
            with _timed(run.timings, "sites"):
                sites = self.crawl(run, first, "site", version,
                                   {"DVC_SITES": site_list(run)})
            if not sites.ok:
                failed.append(f"the site crawl (scrapyd job {sites.job}) {sites.why()}")
        if run.stop.signum is not None:
            return "incomplete", f"{INTERRUPTED}: {run.stop.name} received during the crawl"
        if failed:
            return "incomplete", f"{INTERRUPTED}: {'; '.join(failed)}"
        return "complete", ""

    def node(self, url: str) -> ScrapydNode:
        return next(n for n in self.nodes if n.url == url)

    def crawl(self, run: CrawlRun, node: ScrapydNode, spider: str, version: str,
              extra: dict[str, Any] | None = None) -> Finished:
        """One crawl on `node`: schedule it, wait for it, store its items and stats."""
        job = node.schedule(spider, version, job_settings(run, extra))
        run.echo(f"run {run.run_id}: {spider} crawl is scrapyd job {job} ({node.url})")
        return self.collect(run, node, spider, job)

    def collect(self, run: CrawlRun, node: ScrapydNode, spider: str, job: str,
                merge: bool = True) -> Finished:
        """Wait for a job, store its items; its stats into the run when `merge`."""
        entry, cancelled = node.wait(job, spider, run.stop)
        items = ingest(run, node.lines(entry.get("items_url") or
                                       f"/items/{PROJECT}/{spider}/{job}.jl"))
        stats = stats_from_log(node.text(entry.get("log_url") or
                                         f"/logs/{PROJECT}/{spider}/{job}.log"))
        if stats is not None and merge:
            store.merge_stats(store.open_db(run.db_path), run.run_id, spider, stats)
        return Finished(job, stats, items, cancelled)

    def provincial(self, run: CrawlRun, version: str) -> list[str]:
        """The provincial crawl as one job per node, each a share of the portals; what failed.
        Its stats: the jobs' summed."""
        seed_list = provincial_seeds(run)
        shares = [seed_list[i::len(self.nodes)] for i in range(len(self.nodes))]
        jobs = []
        for i, (node, share) in enumerate(zip(self.nodes, shares, strict=True)):
            if share or i == 0:
                extra = {"DVC_SEEDS": seeds.seeds_json(share, [])}
                job = node.schedule("provincial", version, job_settings(run, extra))
                run.echo(f"run {run.run_id}: provincial crawl ({len(share)} portals) is "
                         f"scrapyd job {job} ({node.url})")
                jobs.append((node, job))
        done = [self.collect(run, node, "provincial", job, merge=False) for node, job in jobs]
        stats = [d.stats for d in done if d.stats is not None]
        if stats:
            store.merge_stats(store.open_db(run.db_path), run.run_id, "provincial",
                              summed(stats) if len(done) > 1 else stats[0])
        return [f"the provincial crawl (scrapyd job {d.job}) {d.why()}" for d in done
                if not d.ok]

    def national_pages(self, run: CrawlRun, node: ScrapydNode, version: str) -> list[str]:
        """The national HTML procedure pages (its pages from the run, as DVC_SEEDS); what
        failed."""
        run.phase("national_pages")
        pages = seeds.seeds_json([], sources_of(run).national())
        with _timed(run.timings, "national_pages"):
            done = self.crawl(run, node, "national_pages", version, {"DVC_SEEDS": pages})
        return [] if done.ok else [f"the national pages crawl (scrapyd job {done.job}) "
                                   f"{done.why()}"]


def summed(stats: list[dict[str, Any]]) -> dict[str, Any]:
    """Several jobs' stats as one crawl's: counts added; the finish reason "finished" only if
    every job's is; other values the first job's; `jobs`: how many."""
    out: dict[str, Any] = dict(stats[0])
    for more in stats[1:]:
        for key, value in more.items():
            if isinstance(value, (int, float)) and not isinstance(value, bool) \
                    and isinstance(out.get(key, 0), (int, float)):
                out[key] = out.get(key, 0) + value
            else:
                out.setdefault(key, value)
    reasons = {s.get("finish_reason") for s in stats}
    out["finish_reason"] = "finished" if reasons == {"finished"} else \
        next(r for r in reasons if r != "finished")
    out["jobs"] = len(stats)
    return out


def ingest(run: CrawlRun, lines: Iterator[bytes]) -> int:
    """Store a job's feed into the run; screenshots go under the run's output directory (where
    the local crawl puts them). A line cut short (a killed job) is skipped."""
    db = store.open_db(run.db_path)
    count = 0
    for line in lines:
        try:
            item, shot = from_feed(json.loads(line))
        except ValueError:
            continue
        if shot is not None and item.get("screenshot"):
            path = run.out_dir / item["screenshot"]
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(shot)
        store_item(db, run.run_id, item)
        count += 1
    return count


def sources_of(run: CrawlRun) -> seeds.Sources:
    """Where the run's crawls start from: what the national crawl stored in the run
    (crawler.platforms.seeds, as the local crawls read them)."""
    overrides = run.overrides
    portal_list = run.portal_list
    if portal_list is None:
        portal_list = seeds.configured_portal_list(overrides.get("DVC_PORTAL_FILE") or "")
    return seeds.Sources(str(run.db_path), run.run_id, run.base_url,
                         load_rubric(run.rubric_dir), list(portal_list),
                         bool(overrides.get("DVC_NATIONAL_PAGES", True)),
                         reuse_run=int(overrides.get("DVC_REUSE_RUN") or 0),
                         reuse_within=float(overrides.get("DVC_REUSE_WITHIN") or 0))


def provincial_seeds(run: CrawlRun) -> list[seeds.Seed]:
    """The provincial crawl's seeds from what the national crawl stored in the run. Portals an
    earlier run's evidence may stand for (the reuse window) are stored here, not visited."""
    sources = sources_of(run)
    db = store.open_db(run.db_path)
    visit = []
    for seed in sources.seed_list():
        reused = sources.reused_portal(seed.base)
        for item in reused:
            store_item(db, run.run_id, item)
        if not reused:
            visit.append(seed)
    return visit


def site_list(run: CrawlRun) -> list[dict[str, Any]]:
    """The site crawl's sites (DVC_SITES): the job's own, else derived here from the run's
    portal evidence and the portal list, as the local crawl derives them."""
    given = run.overrides.get("DVC_SITES")
    if given:
        return [s.as_dict() for s in sitewalk.parse_sites(given)]
    portal_list = run.portal_list
    if portal_list is None:
        portal_list = seeds.configured_portal_list(run.overrides.get("DVC_PORTAL_FILE") or "")
    portals = store.load_evidence(store.open_db(run.db_path), run.run_id, (EvidenceKind.PORTAL,))
    return [s.as_dict() for s in sitewalk.derive_sites(run.base_url, portal_list, portals)]


class _timed:
    """Seconds (and the wall-clock span) of a phase into `timings`, as app/jobs.py keeps them."""

    def __init__(self, timings: dict[str, Any], name: str) -> None:
        self.timings, self.name = timings, name

    def __enter__(self) -> None:
        self.start, self.wall = time.monotonic(), time.time()

    def __exit__(self, *exc: object) -> None:
        self.timings[self.name] = time.monotonic() - self.start
        self.timings[f"{self.name}_span"] = (self.wall, time.time())
