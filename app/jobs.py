"""The audit job: crawl (child process) -> store -> evaluate -> reports.

`demo`, `run` (and later `nightly`) all go through `run_audit`; only the target differs.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from app.ahead import Early, early_of, judged, pool, score_ahead
from app.crawls import Beside, Board, watching
from app.engines import CrawlRun, Engine
from app.interrupt import Stop, graceful_stop
from app.options import DB_NAME as DB_NAME  # re-exported: where the results go by default
from app.options import DEFAULT_OUT as DEFAULT_OUT
from app.preflight import INCOMPATIBLE, preflight
from app.progress import track as progress_of
from app.survey import save_survey_answers
from audits import coverage, history
from core import __version__, store
from core.rubric import RUBRIC_DIR, load_rubric
from crawler import phases
from crawler.runner import discard_prestarted, go, launch, prestart
from reports.report import write_reports

LOGS_DIR = "logs"
INTERRUPTED = "interrupted"  # run reason: a signal or a crawl child's crash stopped the crawl
PROVINCIAL_NICE = 10  # the browser crawl's niceness beside the crawls of the national host
SITES_NICE = 10  # the site search's, likewise (it starts as the provincial crawl ends)


@dataclass
class AuditResult:
    run_id: int
    status: str
    db_path: Path
    reports: dict[str, Path]
    totals: Counter = field(default_factory=Counter)
    # seconds per phase ("national", "provincial", "index766", "scoring") and, for the crawls,
    # "<phase>_span": (start, end) wall-clock times of the child process (bench/run.py)
    timings: dict[str, Any] = field(default_factory=dict)
    note: str = ""  # why the run is not complete, when the job says (e.g. the incompatible change)
    # the signal (SIGINT, SIGTERM) that stopped the job, if one did (app/interrupt.py)
    interrupted: int | None = None
    reason: str = ""  # why the run is incomplete (store.run_reason): interrupted, no_coverage


def run_audit(base_url: str, out_dir: Path, *, rubric_dir: Path = RUBRIC_DIR,
              scenario: str = "", overrides: dict[str, Any] | None = None,
              echo: Callable[[str], None] = print, quiet: bool = False,
              run_id: int | None = None, jobdir: Path | None = None,
              portal_list: list[dict[str, str]] | None = None,
              reuse_within: timedelta = timedelta(0), probe: bool = False,
              min_tested: float | None = None, crawl_log: bool = True,
              progress: str = "off", engine: Engine | None = None) -> AuditResult:
    """`run_id`: crawl into that existing run (the nightly job creates or resumes it);
    `jobdir`: Scrapy JOBDIR root, one sub-directory per spider, so a stopped crawl can resume;
    `portal_list`: provincial portals to visit besides those the national portal links to
    (default: crawler/platforms/portals.yaml); `reuse_within`: good observations younger than
    this are reused, not asked again (README "Re-runs"; default: ask everything); `probe`:
    check the answers' shapes first (app/preflight.py) and stop as `incompatible`;
    `min_tested`: least tested share of a complete run (default: rubric scoring.yaml
    `coverage.min_tested`; audits/coverage.py); `crawl_log`: Scrapy's log to
    OUT/logs/run-N.log (False: to stderr, as `--verbose` wants); `progress`: "auto" (bars on
    a terminal, plain lines otherwise), "bars", "plain" or "off" (app/progress.py); `engine`:
    where the crawls run (app/engines.py; None: child processes of this job)."""
    with graceful_stop(echo, lambda name: f"{name}: stopping the crawl; the run is stored "
                                          f"incomplete (interrupted)") as stop:
        result = _run_audit(base_url, out_dir, rubric_dir=rubric_dir, scenario=scenario,
                            overrides=overrides, echo=echo, quiet=quiet, run_id=run_id,
                            jobdir=jobdir, portal_list=portal_list, reuse_within=reuse_within,
                            stop=stop, min_tested=min_tested, crawl_log=crawl_log,
                            progress=progress, probe=probe, engine=engine)
    result.interrupted = stop.signum
    return result


def log_path(out_dir: Path, run_id: int) -> Path:
    """The crawls' Scrapy log of a run (every spider of the run, appended, resumed ones too)."""
    path = Path(out_dir) / LOGS_DIR / f"run-{run_id}.log"
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def _crawl_status(code: int | None, stop: Stop, failed: str) -> tuple[str, str]:
    """The run's status and note once its crawls ended: any interruption (a signal, a crawl
    child that crashed or stopped early) leaves it `incomplete` with the reason `interrupted`
    (the note starts with the reason: store.run_reason)."""
    if stop.signum is not None:
        return "incomplete", f"{INTERRUPTED}: {stop.name} received during the crawl"
    if code == 0:
        return "complete", ""
    if code is None:
        return "incomplete", f"{INTERRUPTED}: the job stopped during the crawl"
    return "incomplete", f"{INTERRUPTED}: the {failed} crawl exited with code {code}"


def _run_audit(base_url: str, out_dir: Path, *, rubric_dir: Path, scenario: str,
               overrides: dict[str, Any] | None, echo: Callable[[str], None], quiet: bool,
               run_id: int | None, jobdir: Path | None,
               portal_list: list[dict[str, str]] | None, reuse_within: timedelta,
               stop: Stop, min_tested: float | None, crawl_log: bool,
               progress: str, probe: bool = False,
               engine: Engine | None = None) -> AuditResult:
    rubric = load_rubric(rubric_dir)
    out_dir = Path(out_dir)
    db_path = out_dir / DB_NAME
    db = store.open_db(db_path)
    if run_id is None:
        run_id = store.start_run(db, target=base_url, rubric_version=rubric.version,
                                 engine_version=__version__, scenario=scenario)
    if probe:
        change = preflight(base_url, rubric, overrides=overrides, portal_list=portal_list,
                           echo=echo)
        if change:  # nothing crawled, scored or published
            store.finish_run(db, run_id, INCOMPATIBLE, change)
            return AuditResult(run_id, INCOMPATIBLE, db_path, {}, note=change)
    echo(f"run {run_id}: crawling {base_url} (rubric {rubric.version})")
    overrides = {**(overrides or {}), **_reuse(db, base_url, run_id, reuse_within, echo)}
    code = None
    failed = "national"
    timings: dict[str, Any] = {}
    ahead: Future[Early] | None = None
    # the provincial portals: same run and database (they start from its citizenUrls); no
    # JOBDIR, the provincial crawl keeps per-portal state in memory and is redone whole
    if crawl_log:  # Scrapy's log goes to a file, the terminal keeps the job's own lines
        overrides = {**overrides, "LOG_FILE": str(log_path(out_dir, run_id)),
                     "LOG_FILE_APPEND": True}
        echo(f"run {run_id}: crawl log {overrides['LOG_FILE']}")
    portals = {**(overrides or {}), "DVC_OUT_DIR": str(out_dir), "DVC_AWAIT_NATIONAL": True}
    if portal_list is not None:
        portals["DVC_PORTAL_LIST"] = portal_list
    if engine is not None:  # the crawls run elsewhere, one after another (app/engines.py)
        return _run_elsewhere(engine, CrawlRun(base_url, db_path, run_id, out_dir, rubric_dir,
                                               overrides, portal_list, stop, echo),
                              len(rubric.all_codes()), progress, min_tested)
    index_overrides = {**(_with_jobdir(overrides, jobdir, "index766") or {}),
                       "DVC_AWAIT_NATIONAL": True}
    shown = progress_of(db_path, run_id, procedures=len(rubric.all_codes()),
                        portals=len(portal_list) if portal_list else None, progress=progress,
                        echo=echo)
    tracker = shown.__enter__()  # closed after scoring, below
    board = Board()
    try:
        # The provincial crawl (bound by the browser's CPU) runs beside the crawls of the
        # national host (bound by its politeness limit), which ask that host one after another:
        # national API, then the 766 figures, then, once the provincial crawl has ended too
        # (its browser gone: docs/ARCHITECTURE.md "Crawler layout"), its HTML procedure pages.
        # It is niced: a politeness-bound crawl waiting for the CPU would leave its host idle.
        # The UN survey's site search starts as soon as the provincial crawl has ended, which
        # may be before the national crawl's end; so does the 766 figures' crawl, which asks
        # its host once the national crawl has said it has ended (app/crawls.py `Board`).
        # the national crawl first: its first request starts the national host's chain
        national = Beside("national", launch(
            "national", base_url, db_path, run_id, rubric_dir=str(rubric_dir), quiet=quiet,
            overrides=_with_jobdir(overrides, jobdir, "national")), timings)
        board.join(national.launched)  # it says national-done as its spider closes
        provincial = Beside("provincial", launch(
            "provincial", base_url, db_path, run_id, rubric_dir=str(rubric_dir),
            overrides=portals, quiet=quiet, nice=PROVINCIAL_NICE), timings)
        board.join(provincial.launched)
        index766: Beside | None = None
        pages: Beside | None = None
        sites: Beside | None = None
        site_settings = {**_site_settings(portals), "DVC_AWAIT_NATIONAL_PAGES": True}

        def start(name: str, **kwargs: Any) -> Beside:
            beside = Beside(name, go(name, base_url, db_path, run_id, quiet=quiet, **kwargs),
                             timings)
            board.join(beside.launched)
            return beside

        def ask_index766() -> None:  # the portal's own Decision 766 figures, for the report
            nonlocal index766
            if index766 is None and stop.signum is None:
                index766 = start("index766", overrides=index_overrides)

        def search_sites() -> None:  # the portals at once, the national host after its pages
            nonlocal sites
            if sites is None and stop.signum is None:
                sites = start("site", rubric_dir=str(rubric_dir), overrides=site_settings,
                              nice=SITES_NICE)

        def provincial_ended() -> None:
            ask_index766()
            search_sites()

        prestart("index766", base_url, db_path, run_id, overrides=index_overrides, quiet=quiet,
                 phased=True)
        try:
            code = watching(national.launched, provincial, provincial_ended)
            national.done()  # timed to its exit
            if code == 0 and stop.signum is None:
                ask_index766()  # beside the provincial crawl's end
            elif index766 is not None:  # only after a national crawl that ended well
                index766.launched.stop()
                index766 = None
            board.reach(phases.NATIONAL_DONE)
            tracker.phase("provincial")  # what the job waits for next (the 766 figures beside)
            if stop.signum is None:
                echo(f"run {run_id}: national portal read; provincial portals under way")
            pages_overrides = {**(_with_jobdir(overrides, jobdir, "national_pages") or {}),
                               "DVC_OUT_DIR": str(out_dir), "DVC_AWAIT_INDEX766": True}
            prestart("national_pages", base_url, db_path, run_id, overrides=pages_overrides,
                     quiet=quiet, phased=True)  # loads while the provincial crawl ends
            if sites is None:
                prestart("site", base_url, db_path, run_id, rubric_dir=str(rubric_dir),
                         overrides=site_settings, quiet=quiet, phased=True)  # loads meanwhile
            portal_code = provincial.wait()
            if code == 0:
                code, failed = portal_code, "provincial"
            # Once the provincial crawl (and its browser) has gone: the national pages' crawl
            # starts, asking its host once the 766 figures are in (crawler/phases.py)
            if stop.signum is None:
                pages = start("national_pages", overrides=pages_overrides)
            search_sites()
            if index766 is not None:
                index766.wait()  # its failure never changes the run's status: an extra
            board.reach(phases.INDEX766_DONE)
            # the national host's last two crawls take their turn (the site search has been
            # asking the portals meanwhile); each crawl says its phase as its spider closes
            if pages is not None:
                tracker.phase(pages.name)
                board.wait(phases.NATIONAL_PAGES_DONE, pages)
                if stop.signum is None:  # scoring's first part, while the last site is read
                    ahead = pool.submit(score_ahead, db_path, run_id, rubric, Path(out_dir))
                pages_code = pages.wait()
                if code == 0:
                    code, failed = pages_code, "national pages"
            board.reach(phases.NATIONAL_PAGES_DONE)
            if sites is not None:
                tracker.phase(sites.name)
                sites_code = sites.wait()
                if code == 0:
                    code, failed = sites_code, "site"
        finally:  # an interrupted crawl is stored as incomplete, never left "running"
            for beside in (national, provincial, index766, pages, sites):
                if beside is not None:
                    beside.launched.stop()
            status, note = _crawl_status(code, stop, failed)
            store.finish_run(db, run_id, status, note)
    finally:
        discard_prestarted()
    tracker.phase("scoring")
    try:
        with _timed(timings, "scoring"):
            result = score_run(db_path, run_id, out_dir, rubric_dir=rubric_dir, echo=echo,
                               min_tested=min_tested, early=early_of(ahead, echo))
    finally:
        shown.__exit__(None, None, None)
    result.timings = timings
    return result


def _run_elsewhere(engine: Engine, run: CrawlRun, procedures: int, progress: str,
                   min_tested: float | None) -> AuditResult:
    """Crawl with `engine`, then score as after the local crawls."""
    db = store.open_db(run.db_path)
    shown = progress_of(run.db_path, run.run_id, procedures=procedures,
                        portals=len(run.portal_list) if run.portal_list else None,
                        progress=progress, echo=run.echo)
    tracker = shown.__enter__()  # closed after scoring, below
    try:
        run.phase = tracker.phase
        status, note = "incomplete", f"{INTERRUPTED}: the job stopped during the crawl"
        try:
            status, note = engine.crawl_run(run)
        finally:  # an interrupted crawl is stored as incomplete, never left "running"
            store.finish_run(db, run.run_id, status, note)
        tracker.phase("scoring")
        with _timed(run.timings, "scoring"):
            result = score_run(run.db_path, run.run_id, run.out_dir, rubric_dir=run.rubric_dir,
                               echo=run.echo, min_tested=min_tested)
    finally:
        shown.__exit__(None, None, None)
    result.timings = run.timings
    return result


def _reuse(db: Any, base_url: str, run_id: int, within: timedelta,
           echo: Callable[[str], None]) -> dict[str, Any]:
    """The crawl settings that let a re-run reuse what an earlier run read well (crawler/
    httpcache.py for plain answers; the latest complete run's evidence for the provincial
    portals); {} when `within` is zero."""
    seconds = within.total_seconds()
    if seconds <= 0:
        return {}
    ref = store.reusable_run(db, base_url, seconds, run_id)
    hours = f"{seconds / 3600:g} h"
    echo(f"run {run_id}: reusing good observations younger than {hours}"
         + (f" (portals: run {ref})" if ref else " (no complete run that recent)"))
    return {"DVC_REUSE_WITHIN": seconds, "DVC_REUSE_RUN": ref or 0}


@contextmanager
def _timed(timings: dict[str, Any], name: str) -> Iterator[None]:
    start, wall = time.monotonic(), time.time()
    try:
        yield
    finally:
        timings[name] = time.monotonic() - start
        timings[f"{name}_span"] = (wall, time.time())


def _with_jobdir(overrides: dict[str, Any] | None, jobdir: Path | None,
                 spider: str) -> dict[str, Any] | None:
    if jobdir is None:
        return overrides
    return {**(overrides or {}), "JOBDIR": str(Path(jobdir) / spider)}


def score_run(db_path: Path, run_id: int, out_dir: Path, *, rubric_dir: Path = RUBRIC_DIR,
              echo: Callable[[str], None] = print,
              min_tested: float | None = None, early: Early | None = None) -> AuditResult:
    """Evaluate a stored run's evidence and write its reports (no network). A complete run
    with too little coverage becomes incomplete (no_coverage) before its reports are written.
    `early`: the part judged while the last crawls ran (`judge_early`), used if still true."""
    rubric = load_rubric(rubric_dir)
    db = store.open_db(db_path)
    count = db["evidence"].count_where("run_id = ?", [run_id])
    echo(f"run {run_id}: {count} evidence rows; scoring")
    started = time.monotonic()
    early = judged(db, run_id, rubric, early)
    verdicts, found = early.pair()
    if not early.saved:
        store.save_verdicts(db, run_id, rubric.version, verdicts)
        store.save_findings(db, run_id, found, rubric.version)
    history.record_scoring(db, run_id, rubric, rubric_dir, verdicts,
                           seconds=time.monotonic() - started)
    save_survey_answers(db, run_id, rubric, rubric_dir, verdicts, echo)  # UN survey answers
    _coverage_gate(db, run_id, store.iter_evidence(db, run_id, ("catalogue",)), verdicts,
                   rubric_dir, min_tested, echo)
    reports = write_reports(db, rubric, Path(out_dir), run_id, ahead=early.report)
    run = store.get_run(db, run_id) or {}
    return AuditResult(run_id, run.get("status", ""), Path(db_path), reports,
                       Counter(v["verdict"] for v in verdicts), reason=store.run_reason(run))


def _coverage_gate(db: Any, run_id: int, evidence: Iterable[Mapping[str, Any]],
                   verdicts: Sequence[Mapping[str, Any]], rubric_dir: Path,
                   min_tested: float | None,
                   echo: Callable[[str], None]) -> None:
    """A crawl that ended well but read too little (nothing reachable, no catalogue) is not a
    complete run: it is stored incomplete with the reason no_coverage."""
    run = store.get_run(db, run_id) or {}
    if run.get("status") != "complete":
        return
    if min_tested is None:
        min_tested = coverage.load_coverage(rubric_dir).min_tested
    why = coverage.gate(evidence, verdicts, min_tested, run.get("target", ""))
    if why:
        store.finish_run(db, run_id, "incomplete", f"{coverage.NO_COVERAGE}: {why}")
        echo(f"run {run_id}: incomplete, {why}")


def run_demo(scenario_path: Path, out_dir: Path, **kwargs: Any) -> AuditResult:
    """Serve the replica of the portals for `scenario_path` on loopback and audit it."""
    from replica.scenario import load_scenario
    from replica.server import ReplicaServer

    scenario = load_scenario(scenario_path)
    with ReplicaServer(scenario) as server:
        kwargs.setdefault("portal_list", server.portal_list())
        kwargs["overrides"] = {**site_overrides(server), **(kwargs.get("overrides") or {})}
        return run_audit(server.base_url, out_dir, scenario=str(scenario_path), **kwargs)


def _site_settings(overrides: dict[str, Any] | None) -> dict[str, Any]:
    """The provincial crawl's settings minus its waiting for the national crawl."""
    return {k: v for k, v in (overrides or {}).items() if k != "DVC_AWAIT_NATIONAL"}


def site_overrides(server: Any) -> dict[str, Any]:
    """The site crawl's settings a replica server provides: its sites (with their test
    addresses and declared domains) and its test CA."""
    return {"DVC_SITES": server.site_list(), "DVC_CA_BUNDLE": str(server.ca_file)}

