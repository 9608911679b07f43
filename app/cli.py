"""`dvc-audit`: a thin command line over the library."""

from __future__ import annotations

import importlib
import os
import sqlite3
import sys
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from app import exitcodes
from app.options import (
    DB_NAME,
    DEFAULT_OUT,
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
from audits.coverage import CoverageConfigError
from audits.rules import CaseError, load_cases, run_cases, uncovered
from audits.scoring import ScoringConfigError
from audits.standing import StandingDataError
from core import __version__
from core.indicators import Indicators, read_indicators
from core.rubric import Rubric, RubricError, check_rubric, load_rubric
from core.targets import check_targets
from replica.scenario import ScenarioError

if TYPE_CHECKING:
    from app.jobs import AuditResult

PROJECT_DIR = Path(__file__).resolve().parents[1]
DEFAULT_SCENARIO = PROJECT_DIR / "replica" / "scenarios" / "full.yaml"
REAL_PORTAL = "https://dichvucong.gov.vn"

out_option = click.option("--out", type=click.Path(file_okay=False, path_type=Path),
                          default=DEFAULT_OUT, show_default=True,
                          help="Directory for the results database and reports.")


class LazyGroup(click.Group):
    """A group whose commands named in `lazy` ({name: "module:attribute"}) are imported when one
    of them runs or `--help` lists them (click's "lazy loading of subcommands"): `rubric check`
    and `rubric test` then start without Scrapy, sqlite-utils/pandas or openpyxl, which only the
    crawling and database commands need (about 2 s of CPU for each start)."""

    def __init__(self, *args: Any, lazy: dict[str, str] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lazy = dict(lazy or {})

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.lazy})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.lazy and cmd_name not in self.commands:
            module, _, attribute = self.lazy[cmd_name].partition(":")
            command = getattr(importlib.import_module(module), attribute)
            if not isinstance(command, click.Command):
                raise TypeError(f"{self.lazy[cmd_name]} is not a click command")
            self.add_command(command, cmd_name)
        return super().get_command(ctx, cmd_name)


def _store_errors() -> tuple[type[Exception], ...]:
    """core.store's DatabaseError once some command has imported the store; before that
    nothing can have raised it, and importing the store for a look would import sqlite-utils
    and pandas (about a second) into `rubric check` and `--help`."""
    store = sys.modules.get("core.store")
    return (store.DatabaseError,) if store is not None else ()


class _Main(LazyGroup):
    """Bad rubric, scenario, scoring or standing files end in a one-line message (file, field),
    not a traceback."""

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except (RubricError, ScenarioError, ScoringConfigError, StandingDataError) as exc:
            raise click.ClickException(str(exc)) from None
        except KeyboardInterrupt:  # outside a crawl (app/interrupt.py handles it there)
            click.echo("dvc-audit: interrupted (SIGINT)", err=True)
            raise click.exceptions.Exit(exitcodes.SIGINT) from None
        except _store_errors() as exc:  # not SQLite, truncated, read-only, ...: one line
            raise click.ClickException(str(exc)) from None
        except CoverageConfigError as exc:
            raise click.ClickException(str(exc)) from None
        except sqlite3.DatabaseError as exc:  # e.g. a database that turned read-only mid-way
            raise click.ClickException(f"results database: {exc}") from None
        except PermissionError as exc:  # e.g. an output folder made read-only mid-way
            raise click.ClickException(f"cannot write {exc.filename}: {exc.strerror}") from None


@click.group(cls=_Main, context_settings={"help_option_names": ["-h", "--help"]}, lazy={
    "standing": "app.standing_cli:standing", "review": "app.review:review",
    "nightly": "app.cli_nightly:nightly", "rescore": "app.cli_nightly:rescore",
    "diff": "app.cli_nightly:diff", "history": "app.cli_nightly:history_cmd"})
@click.version_option(__version__, prog_name="dvc-audit")
def main() -> None:
    """Audit Vietnam's online public services against the UN's 20 essential services."""


def writable_out(out: Path) -> None:
    """Fail in one line, before any crawl, when the output folder cannot be written."""
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise click.ClickException(f"output directory {out}: {exc.strerror}") from None
    if not os.access(out, os.W_OK | os.X_OK):
        raise click.ClickException(f"output directory {out} is not writable")


def _exit(result: AuditResult) -> None:
    """Exit with the run's code (app/exitcodes.py); a signal has said its one line."""
    sys.exit(exitcodes.for_run(result.status, result.reason, result.interrupted))


def _summary(result: AuditResult) -> None:
    t = result.totals
    click.echo(f"run {result.run_id}: {result.status}; met {t['met']}, not met {t['not_met']}, "
               f"not applicable {t['not_applicable']}, could not test {t['cannot_test']}")
    click.echo(f"gap report:       {result.reports['html']}")
    click.echo(f"verdicts (CSV):   {result.reports['csv']}")
    click.echo(f"results database: {result.db_path}")


@main.command()
@click.option("--scenario", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              default=DEFAULT_SCENARIO, show_default=True,
              help="Scenario file the replica serves (the ground truth).")
@out_option
@rubric_option
@min_tested_option
@quiet_option
@verbose_option
@engine_options
def demo(scenario: Path, out: Path, rubric_dir: Path, min_tested: float | None, quiet: bool,
         verbose: bool, engine: str, scrapyd_url: tuple[str, ...]) -> None:
    """Serve the portal replica on 127.0.0.1 and audit it end to end."""
    from app.jobs import run_demo  # Scrapy, pandas, the reports: only the commands that crawl

    writable_out(out)
    result = run_demo(scenario, out, rubric_dir=rubric_dir, echo=click.echo,
                      min_tested=min_tested, quiet=quiet, **display(quiet, verbose),
                      **engine_of(engine, scrapyd_url))
    _summary(result)
    _exit(result)


@main.command()
@click.option("--base", envvar="DVC_AUDIT_BASE_URL", default=REAL_PORTAL, show_default=True,
              help="National portal base URL (env DVC_AUDIT_BASE_URL).")
@click.option("--contact", envvar="DVC_AUDIT_CONTACT", default=None,
              help="Contact (e-mail or URL) put in the crawler's User-Agent "
                   "(env DVC_AUDIT_CONTACT).")
@out_option
@rubric_option
@reuse_option
@min_tested_option
@quiet_option
@verbose_option
@engine_options
def run(base: str, contact: str | None, out: Path, rubric_dir: Path, reuse_within: float,
        min_tested: float | None, quiet: bool, verbose: bool, engine: str,
        scrapyd_url: tuple[str, ...]) -> None:
    """Audit the real portals (read-only, polite limits)."""
    # Scrapy, pandas, the reports: only the commands that crawl (and read the portal list)
    from app.cli_nightly import check_portal_list
    from app.jobs import run_audit

    overrides = {"DVC_AUDIT_CONTACT": contact} if contact else None
    writable_out(out)
    check_portal_list()
    result = run_audit(base, out, rubric_dir=rubric_dir, overrides=overrides, echo=click.echo,
                       reuse_within=timedelta(hours=reuse_within), probe=True,
                       min_tested=min_tested, quiet=quiet, **display(quiet, verbose),
                       **engine_of(engine, scrapyd_url))
    stop_if_incompatible(result.run_id, result.status, result.note)
    _summary(result)
    _exit(result)


def stop_if_incompatible(run_id: int, status: str, change: str) -> None:
    """One line naming the change, and EXIT_INCOMPATIBLE (README "Commands")."""
    if status == INCOMPATIBLE:
        click.echo(f"run {run_id}: incompatible, no verdicts: {change}", err=True)
        sys.exit(EXIT_INCOMPATIBLE)


@main.command()
@click.option("--base", envvar="DVC_AUDIT_BASE_URL", default=REAL_PORTAL, show_default=True,
              help="National portal base URL (env DVC_AUDIT_BASE_URL).")
@click.option("--contact", envvar="DVC_AUDIT_CONTACT", default=None,
              help="Contact put in the crawler's User-Agent (env DVC_AUDIT_CONTACT).")
@rubric_option
def probe(base: str, contact: str | None, rubric_dir: Path) -> None:
    """First-run check: a few read-only requests (province list, one catalogue page, one
    detail, one office list per target type, one provincial portal home) and a table of what
    each answer looks like against what the parsers expect, and what the audit will do about
    it. Exit 0: as expected; 1: a national endpoint could not be read; 6: a shape the verdicts
    depend on changed (run and nightly would stop)."""
    from app.preflight import probe_codes
    from crawler.probe import run_probe

    overrides = {"DVC_AUDIT_CONTACT": contact} if contact else None
    report = run_probe(base, codes=probe_codes(load_rubric(rubric_dir)), overrides=overrides)
    click.echo(report.table())
    if report.incompatible:
        click.echo(f"incompatible: {report.incompatible}", err=True)
        sys.exit(EXIT_INCOMPATIBLE)
    if report.unreachable:
        click.echo(f"not reachable: {report.unreachable}", err=True)
        sys.exit(1)


@main.command()
@click.option("--run", "run_id", type=int, default=None, help="Run id (default: the latest).")
@click.option("--db", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help=f"Results database (default: OUT/{DB_NAME}).")
@click.option("--lang", type=click.Choice(["vi", "en"]), default="vi", show_default=True,
              help="Report language (en: report.en.html, units/*.en.html, ...).")
@click.option("--un-data", "un_data", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              default=None, help="UN E-Government Survey CSV: adds the standing panel "
                                 "(estimates) to the national dashboard.")
@out_option
@rubric_option
def report(run_id: int | None, db: Path | None, lang: str, un_data: Path | None, out: Path,
           rubric_dir: Path) -> None:
    """Render the reports of a stored run from its stored verdicts, without crawling."""
    from audits.scoring import load_scoring_config
    from audits.standing import StandingDataError
    from core.indicators import load_indicators
    from core.store import get_run, is_read_only, open_existing, reap_dead_runs
    from reports.report import write_reports

    db_path = report_db(db, out)
    database = open_existing(db_path)  # one line if missing, empty, not SQLite; read-only ok
    if not is_read_only(database):
        reap_dead_runs(database)  # never report a dead process's run as still running
    writable_out(out)
    run = get_run(database, run_id)
    if run is None:
        raise click.ClickException(f"no run {run_id if run_id else ''} in {db_path}".strip()
                                   + ("" if run_id is None else "; `dvc-audit history` lists "
                                      "the runs"))
    rubric_data = load_rubric(rubric_dir)  # first: it validates scoring.yaml too
    scoring_yaml = rubric_dir / "scoring.yaml"  # the rubric's own scoring settings, if any
    config = load_scoring_config(scoring_yaml) if scoring_yaml.exists() else None
    try:
        paths = write_reports(database, rubric_data, out, run["id"], lang=lang,
                              un_data=un_data, config=config,
                              indicators=load_indicators(rubric_dir))  # the survey's texts
    except StandingDataError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"run {run['id']} ({run['status']}, rubric {run['rubric_version']})")
    for kind, path in paths.items():
        click.echo(f"{kind:>10}: {path}")


def report_db(db: Path | None, out: Path) -> Path:
    """The database `report` reads: --db, else OUT's, else the usual one (results/audit.db), so
    `report --lang en --out DIR` works alone; none found is one line saying what to give."""
    if db is not None:
        return db
    for candidate in dict.fromkeys((out / DB_NAME, DEFAULT_OUT / DB_NAME)):
        if candidate.is_file():
            return candidate
    raise click.ClickException(
        f"no results database in {out} or {DEFAULT_OUT}: give one with --db FILE "
        f"(or run `dvc-audit demo` first)")


@main.group()
def rubric() -> None:
    """Inspect and validate the rubric (rubrics/)."""


@rubric.command("check")
@rubric_option
@click.option("--catalogue", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              default=None, help="A real catalogue (JSONL, one catalogue row a line): flag "
                                 "rubric codes it does not list.")
@click.option("--office-rows", "office_rows", default=None,
              type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="Real office rows (<province>.json files, office_rows_2026-10 format): flag "
                   "rubric codes a province lists no office for.")
def rubric_check(rubric_dir: Path, catalogue: Path | None, office_rows: Path | None) -> None:
    """Validate every rubric file against its schema; name file, entry and field on error.
    With --catalogue / --office-rows, also flag rubric codes the real sources do not list
    (exit 1 when any is flagged)."""
    errors = check_rubric(rubric_dir)
    r = None if errors else load_rubric(rubric_dir)
    sets = None
    if r is not None:  # the indicator sets name services: check them against a valid rubric
        sets, errors = read_indicators(rubric_dir, {s.id for s in r.services})
        errors += [] if errors else check_targets(rubric_dir, r)
    for error in errors:
        click.echo(f"error: {error}", err=True)
    if errors or r is None:
        raise click.ClickException(f"{len(errors)} problem(s) in {rubric_dir}")
    click.echo(f"rubric {r.version}: {len(r.services)} services, {len(r.criteria)} criteria, "
               f"{len(r.units)} units{_indicator_summary(sets)} — OK")
    if catalogue is not None or office_rows is not None:
        _check_sources(r, catalogue, office_rows)


def _indicator_summary(sets: Indicators | None) -> str:
    if sets is None:
        return ""
    return "; UN indicators: " + ", ".join(f"{len(s.indicators)} {s.id.upper()}"
                                          for s in sets.sets.values())


def _check_sources(r: Rubric, catalogue: Path | None, office_rows: Path | None) -> None:
    from audits.rubric_sources import RubricSourceError, source_flags

    try:
        flags = source_flags(r, catalogue, office_rows)
    except RubricSourceError as exc:
        raise click.ClickException(str(exc)) from None
    for flag in flags:
        click.echo(f"flag: {flag}")
    if flags:
        raise click.ClickException(f"{len(flags)} rubric code(s) flagged by the real sources")
    click.echo("every rubric code is in the real sources")


@rubric.command("test")
@rubric_option
@click.option("--cases", "cases_dir", type=click.Path(file_okay=False, path_type=Path),
              default=None, help="Case directory (default: RUBRIC/cases).")
@click.option("-v", "--verbose", is_flag=True, help="List every case.")
def rubric_test(rubric_dir: Path, cases_dir: Path | None, verbose: bool) -> None:
    """Run the rule regression cases (rubrics/cases/): evidence in, expected verdict out.
    Exits non-zero on any difference, naming rule, case, expected and got."""
    rubric = load_rubric(rubric_dir)
    cases_dir = cases_dir or rubric_dir / "cases"
    try:
        cases = load_cases(cases_dir, rubric)
    except CaseError as exc:
        raise click.ClickException(str(exc)) from None
    outcomes = run_cases(cases, rubric)
    failed = [o for o in outcomes if not o.ok]
    for o in outcomes:
        if not o.ok:
            click.echo(f"FAIL {o.describe()}", err=True)
        elif verbose:
            click.echo(f"ok   rule {o.case.criterion}, case {o.case.id}: {o.verdict}")
    missing = uncovered(cases, rubric)
    for criterion in missing:
        click.echo(f"FAIL rule {criterion}: no case in {cases_dir}", err=True)
    click.echo(f"rubric {rubric.version}: {len(outcomes)} cases, {len(outcomes) - len(failed)} "
               f"passed, {len(failed)} failed ({cases_dir})")
    if failed or missing:
        sys.exit(1)


if __name__ == "__main__":
    main()
