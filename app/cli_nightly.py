"""`dvc-audit nightly | rescore | diff | history`.

Thin over app.nightly, app.rescore and audits.history; attached to the `dvc-audit` group in
app/cli.py, which imports this module only when one of them runs (or `--help`). Exit codes
are documented in docs/OPERATIONS.md.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

import click

from app import exitcodes, failon
from app.options import (
    DB_NAME,
    display,
    engine_of,
    engine_options,
    min_tested_option,
    quiet_option,
    reuse_option,
    rubric_option,
    verbose_option,
)
from app.preflight import EXIT_INCOMPATIBLE, INCOMPATIBLE
from audits import history
from core import store
from core.rubric import RUBRIC_DIR, load_rubric
from core.sqlite import sqlite_utils

PROJECT_DIR = Path(__file__).resolve().parents[1]
DEFAULT_OUT = PROJECT_DIR / "results"
REAL_PORTAL = "https://dichvucong.gov.vn"
# One table for every command: app/exitcodes.py (README "Exit codes").
EXIT_FAIL_ON = exitcodes.FAIL_ON  # diff and nightly: a --fail-on expression matched
EXIT_NOT_COMPARABLE = exitcodes.NOT_COMPARABLE  # diff: runs missing, incomplete, other rubric
EXIT_NIGHTLY_FAIL_ON = exitcodes.FAIL_ON
EXIT_LOCKED = exitcodes.LOCKED  # nightly: another nightly holds the lock (EX_TEMPFAIL)
SHOWN = 15  # example lines per minor change kind

out_option = click.option("--out", type=click.Path(file_okay=False, path_type=Path),
                          default=DEFAULT_OUT, show_default=True,
                          help="Directory of the results database, reports and snapshots.")
db_option = click.option("--db", type=click.Path(dir_okay=False, path_type=Path), default=None,
                         help=f"Results database (default: OUT/{DB_NAME}).")
window_option = click.option("--window", type=click.IntRange(2, 100),
                             default=history.DEFAULT_WINDOW, show_default=True,
                             help="Complete runs looked at for flapping.")
fail_on_option = click.option(
    "--fail-on", "fail_on", multiple=True, metavar="EXPR",
    help="Exit non-zero when a change matches, e.g. any-regression, regression:province=01, "
         "regression:service=birth_registration (repeatable).")


def _fail_on(exprs: Sequence[str], rubric_dir: Path = RUBRIC_DIR) -> list[failon.FailOn]:
    """Parse and check every expression against the rubric; a bad one is a usage error (exit
    2) in one line, before anything runs."""
    try:
        parsed = [failon.parse(e) for e in exprs]
        if parsed:
            rubric = load_rubric(rubric_dir)
            for expr in parsed:
                failon.validate(expr, rubric)
    except failon.FailOnError as exc:
        click.echo(f"dvc-audit: --fail-on: {exc}", err=True)
        raise click.exceptions.Exit(exitcodes.USAGE) from None
    return parsed


def check_portal_list() -> None:
    """A real run's provincial crawl reads the portal list in its own process, where a bad file
    is only a line in its log and the run ends incomplete: read it here first, before crawling."""
    from crawler import settings
    from crawler.platforms.seeds import PortalListError, configured_portal_list

    try:
        configured_portal_list(settings.DVC_PORTAL_FILE)
    except PortalListError as exc:
        raise click.ClickException(str(exc)) from None


def _open(db: Path | None, out: Path) -> sqlite_utils.Database:
    """An existing results database; a bad one is one line (store.DatabaseError); a read-only
    one opens read-only (no migration, no WAL switch)."""
    try:
        return store.open_existing(db or out / DB_NAME)
    except store.DatabaseError as exc:
        raise click.ClickException(str(exc)) from None


def _reap(database: sqlite_utils.Database) -> None:
    """A run whose process died is listed as incomplete (not written on a read-only file)."""
    if not store.is_read_only(database):
        store.reap_dead_runs(database)


def _check_unit(unit: str, rubric_dir: Path) -> None:
    codes = [u.code for u in load_rubric(rubric_dir).units]
    if unit not in codes:
        click.echo(f"dvc-audit: unknown unit {unit!r}{failon._suggest(unit, codes)} "
                   f"(units: rubrics/units.yaml)", err=True)
        raise click.exceptions.Exit(exitcodes.USAGE)


def _cell(c: history.Change) -> str:
    return f"{c.unit_code} {c.unit_name} · {c.service_id} · {c.criterion_id}"


def print_changes(comparison: history.Comparison, echo: Any = click.echo) -> None:
    counts = comparison.counts()
    echo(f"compared run {comparison.run['id']} with run {comparison.base['id']} "
         f"(rubric {comparison.version}): " + ", ".join(
             f"{k} {counts.get(k, 0)}" for k in history.CHANGE_KINDS))
    for warning in comparison.warnings:
        echo(f"warning: {warning}")
    titles = {history.REGRESSION: "REGRESSED", history.IMPROVEMENT: "IMPROVED",
              history.FLAPPING: "FLAPPING (flips back and forth; not counted as a regression)"}
    for kind, title in titles.items():
        changes = comparison.of(kind)
        if changes:
            echo(f"{title}:")
            for c in changes:
                echo(f"  {_cell(c)}: {c.before} -> {c.after}")
    minor = {history.UNTESTED: "could not be tested (last known value kept, stale)",
             history.RETESTED: "tested again, same as the last known value",
             history.NEW: "first known value", history.SCOPE: "applicability changed"}
    for kind, title in minor.items():
        changes = comparison.of(kind)
        if changes:
            echo(f"{len(changes)} {title}:")
            for c in changes[:SHOWN]:
                extra = f" ({c.reason})" if c.reason else ""
                echo(f"  {_cell(c)}: {c.before} -> {c.after}{extra}")
            if len(changes) > SHOWN:
                echo(f"  ... and {len(changes) - SHOWN} more")


def _report_fail_on(exprs: list[failon.FailOn], changes: list[history.Change]) -> bool:
    hits = failon.failing(exprs, changes)
    for expr, change in hits:
        click.echo(f"fail-on {expr.text}: {_cell(change)} {change.before} -> {change.after}",
                   err=True)
    return bool(hits)


# --------------------------------------------------------------------------- nightly


@click.command()
@click.option("--base", envvar="DVC_AUDIT_BASE_URL", default=REAL_PORTAL, show_default=True,
              help="National portal base URL (env DVC_AUDIT_BASE_URL).")
@click.option("--scenario", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              default=None, help="Instead of --base: serve the replica for this scenario on "
                                 "127.0.0.1 and audit it.")
@click.option("--contact", envvar="DVC_AUDIT_CONTACT", default=None,
              help="Contact put in the crawler's User-Agent (env DVC_AUDIT_CONTACT).")
@out_option
@rubric_option
@window_option
@click.option("--resume-within", type=float, default=12.0, show_default=True,
              help="Hours within which an interrupted nightly run is resumed, not restarted.")
@click.option("--resume-only", is_flag=True,
              help="Only finish an interrupted run (e.g. a morning retry); exit 0 if none.")
@reuse_option
@fail_on_option
@min_tested_option
@quiet_option
@verbose_option
@engine_options
def nightly(base: str, scenario: Path | None, contact: str | None, out: Path, rubric_dir: Path,
            window: int, resume_within: float, resume_only: bool, reuse_within: float,
            fail_on: Sequence[str], min_tested: float | None, quiet: bool,
            verbose: bool, engine: str, scrapyd_url: tuple[str, ...]) -> None:
    """Run the nightly audit: crawl (or resume), store, compare with the previous complete
    run, write the reports and snapshots, and print what regressed and what improved."""
    from app.cli import writable_out
    from app.nightly import LockBusy, run_nightly

    exprs = _fail_on(fail_on, rubric_dir)
    writable_out(out)
    overrides = {"DVC_AUDIT_CONTACT": contact} if contact else None
    kwargs: dict[str, Any] = dict(rubric_dir=rubric_dir, overrides=overrides, window=window,
                                  resume_within=timedelta(hours=resume_within),
                                  echo=click.echo, quiet=quiet, resume_only=resume_only)
    reuse = {"reuse_within": timedelta(hours=reuse_within), "probe": True,
             "min_tested": min_tested, **display(quiet, verbose),
             **engine_of(engine, scrapyd_url)}
    try:
        if scenario is not None:
            from replica.scenario import load_scenario
            from replica.server import ReplicaServer

            with ReplicaServer(load_scenario(scenario)) as server:
                result = run_nightly(server.base_url, out, scenario=str(scenario),
                                     audit_options={"portal_list": server.portal_list(),
                                                    **reuse}, **kwargs)
        else:
            check_portal_list()
            result = run_nightly(base, out, audit_options=reuse, **kwargs)
    except LockBusy as exc:
        click.echo(f"dvc-audit nightly: {exc}", err=True)
        sys.exit(EXIT_LOCKED)
    if result is None:
        click.echo("no interrupted nightly run to resume")
        return
    if result.status == INCOMPATIBLE:  # nothing crawled, scored, compared or published
        click.echo(f"run {result.run_id}: incompatible, no verdicts: {result.audit.note}",
                   err=True)
        sys.exit(EXIT_INCOMPATIBLE)
    t = result.audit.totals
    resumed = ", resumed" if result.resumed else ""
    click.echo(f"run {result.run_id}: {result.status} (attempt {result.attempt}{resumed}); "
               f"met {t['met']}, not met {t['not_met']}, not applicable "
               f"{t['not_applicable']}, could not test {t['cannot_test']}")
    for note in result.notes:
        click.echo(note)
    if result.comparison is not None:
        print_changes(result.comparison)
    else:
        click.echo(result.not_compared)
    if result.stale:
        click.echo(f"{len(result.stale)} verdicts could not be tested tonight and keep their "
                   f"last known value (stale): {result.snapshots['stale']}")
    for kind, path in result.reports.items():
        click.echo(f"report ({kind}): {path}")
    click.echo(f"snapshots: {result.snapshots['summary']}, {result.snapshots['snapshot_dir']}")
    click.echo(f"results database: {result.db_path}")
    if result.status != "complete" or result.audit.interrupted:
        sys.exit(exitcodes.for_run(result.status, store.run_reason(
            store.get_run(store.open_db(result.db_path), result.run_id)),
            result.audit.interrupted))
    if result.comparison and _report_fail_on(exprs, result.comparison.changes):
        sys.exit(EXIT_NIGHTLY_FAIL_ON)


# --------------------------------------------------------------------------- rescore


@click.command()
@click.option("--run", "run_id", type=int, default=None, help="Run id (default: the latest).")
@click.option("--all", "all_runs", is_flag=True, help="Re-score every run.")
@db_option
@out_option
@rubric_option
@click.option("--reports/--no-reports", default=True, show_default=True,
              help="Write the reports of the (latest) re-scored run into OUT.")
def rescore(run_id: int | None, all_runs: bool, db: Path | None, out: Path, rubric_dir: Path,
            reports: bool) -> None:
    """Re-evaluate stored evidence under the current rubric, without crawling. The new verdict
    set is kept next to the run's sets of other rubric versions."""
    from app.rescore import rescore as rescore_run

    database = _open(db, out)
    rubric = load_rubric(rubric_dir)
    if all_runs:
        ids = [r["id"] for r in database["runs"].rows_where(order_by="id")]
    else:
        run = store.get_run(database, run_id)
        if run is None:
            raise click.ClickException(f"no run {run_id or ''} in the database".strip())
        ids = [run["id"]]
    if not ids:
        raise click.ClickException("no run in the database")
    for rid in ids:
        r = rescore_run(database, rid, rubric, rubric_dir)
        t = r.totals
        was = f"was {r.previous}" if r.previous != r.version else "replacing its set"
        click.echo(f"run {rid}: re-scored under rubric {r.version} ({was}); met {t['met']}, "
                   f"not met {t['not_met']}, not applicable {t['not_applicable']}, could not "
                   f"test {t['cannot_test']}; sets kept: "
                   f"{', '.join(history.versions_of(database, rid))}")
        if r.answers is not None:
            click.echo(f"  UN survey: {r.answers} indicator answers judged from stored pages")
        if r.not_crawled:
            click.echo(f"  codes the crawl did not look for (cannot_test not_crawled): "
                       f"{', '.join(r.not_crawled)}")
        for warning in r.warnings:
            click.echo(f"  warning: {warning}")
    if not all_runs:
        scores = database["scores"].rows_where("run_id = ? AND rubric_version = ?",
                                               [ids[-1], rubric.version],
                                               order_by="unit_kind desc, rank, unit_code")
        click.echo("scores (share, rank within kind):")
        for s in scores:
            share = "-" if s["share"] is None else f"{s['share']:.3f}"
            click.echo(f"  {s['unit_code']:>4} {s['unit_name']:<32} {share:>6}  "
                       f"#{s['rank'] or '-'}")
    if reports:
        from reports.report import write_reports

        for kind, path in write_reports(database, rubric, out, ids[-1]).items():
            click.echo(f"{kind:>5}: {path}")


# --------------------------------------------------------------------------- diff


@click.command()
@click.argument("run_a", type=int)
@click.argument("run_b", type=int)
@db_option
@out_option
@rubric_option
@click.option("--rubric-version", default=None,
              help="Compare the sets of this version (default: the runs' common version).")
@window_option
@fail_on_option
@click.option("--json", "as_json", is_flag=True, help="Print the comparison as JSON.")
def diff(run_a: int, run_b: int, db: Path | None, out: Path, rubric_dir: Path,
         rubric_version: str | None, window: int, fail_on: Sequence[str],
         as_json: bool) -> None:
    """List the verdicts that changed from RUN_A to RUN_B (one rubric version only).

    Exit 0; 3 when a --fail-on expression matches; 4 when the runs cannot be compared; 2 on a
    usage error (README "Exit codes")."""
    exprs = _fail_on(fail_on, rubric_dir)
    database = _open(db, out)
    try:
        comparison = history.compare(database, run_a, run_b, version=rubric_version,
                                     window=window, preferred=load_rubric(rubric_dir).version)
    except history.NotComparable as exc:
        click.echo(f"dvc-audit diff: {exc}", err=True)
        sys.exit(EXIT_NOT_COMPARABLE)
    if as_json:
        click.echo(json.dumps(comparison.as_dict(), ensure_ascii=False, indent=1))
    else:
        print_changes(comparison)
    if _report_fail_on(exprs, comparison.changes):
        sys.exit(EXIT_FAIL_ON)


# --------------------------------------------------------------------------- history


def _fmt(value: Any, digits: int = 3) -> str:
    if value is None or value == "":
        return "-"
    return f"{value:.{digits}f}" if isinstance(value, float) else str(value)


@click.command("history")
@db_option
@out_option
@rubric_option
@click.option("--limit", type=int, default=20, show_default=True, help="Runs listed.")
@click.option("--unit", default=None, help="Score trend of this unit (e.g. 01, G01).")
@click.option("--service", default=None, help="With --unit: verdict trend of this service.")
@click.option("--flapping", is_flag=True, help="Cells flipping back and forth in the window.")
@click.option("--stale", is_flag=True, help="Stale cells of the latest complete run.")
@click.option("--rubric-version", default=None,
              help="Trends under this version (default: the current rubric's).")
@window_option
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def history_cmd(db: Path | None, out: Path, rubric_dir: Path, limit: int, unit: str | None,
                service: str | None, flapping: bool, stale: bool, rubric_version: str | None,
                window: int, as_json: bool) -> None:
    """Runs with their rubric/engine versions, timing and Scrapy stats; trends of a unit's
    score and of a (unit, service)'s verdicts; flapping and stale cells."""
    if unit:
        _check_unit(unit, rubric_dir)
    database = _open(db, out)
    _reap(database)  # a run whose process died is listed as incomplete
    version = rubric_version or load_rubric(rubric_dir).version
    latest = store.get_run(database)
    runs = history.complete_runs(database, like=latest, version=version) if latest else []
    data: Any
    if unit and service:
        trend = history.cell_trend(database, unit, service, version, runs)
        data = {c: [{"run": r, "verdict": v, "reason": why} for r, v, why in series]
                for c, series in trend.items()}
        lines = [f"{c}: " + "  ".join(f"run {r} {v}" for r, v, _ in series)
                 for c, series in trend.items()]
    elif unit:
        data = history.score_trend(database, unit, version, runs)
        lines = [f"run {s['run_id']:>4}  {s['started_at']}  share {_fmt(s['share'])}  "
                 f"normalised {_fmt(s['normalised'])}  rank {_fmt(s['rank'])}  "
                 f"{s['un_group'] or '-'}" for s in data]
    elif flapping:
        cells = history.flapping_cells(database, version, runs, window)
        data = [{"cell": list(k), "series": v} for k, v in cells.items()]
        lines = [f"{' · '.join(k)}: {' -> '.join(v)}" for k, v in cells.items()]
    elif stale:
        last = runs[-1]["id"] if runs else None
        data = history.stale_rows(database, last, version) if last else []
        lines = [f"{s['unit_code']} · {s['service_id']} · {s['criterion_id']}: last known "
                 f"{s['last_verdict']} (run {s['last_run_id']}, {s['age_days']} days old; now "
                 f"{s['reason']})" for s in data]
    else:
        data = history.run_rows(database, limit)
        lines = [f"run {r['id']:>4} {r['kind'] or '-':<8} {r['status']:<10} {r['started_at']} "
                 f"{_fmt(r['seconds'], 0):>6}s  rubric {','.join(r['rubric_versions']) or '-'}"
                 f"  engine {r['engine_version']}  requests {_fmt(r['requests'])}  items "
                 f"{_fmt(r['items'])}  attempts {r['attempts']}  {r['target']}"
                 + (f"  ({r['note']})" if r["note"] else "") for r in data]
    if as_json:
        click.echo(json.dumps(data, ensure_ascii=False, indent=1, default=str))
        return
    if unit or flapping or stale:
        click.echo(f"rubric {version}; complete runs {', '.join(str(r['id']) for r in runs)}")
    for line in lines or ["(nothing)"]:
        click.echo(line)
