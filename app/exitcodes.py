"""The exit codes of every `dvc-audit` command: one table (README "Exit codes").

A CI job can tell a gate that failed (FAIL_ON) from a run it cannot trust (INCOMPLETE,
NO_COVERAGE, INCOMPATIBLE), from a mistake in its own command line (USAGE) and from runs that
cannot be compared (NOT_COMPARABLE).
"""

from __future__ import annotations

OK = 0
INCOMPLETE = 1  # the run is stored incomplete (crawl not finished, SIGTERM), or an error (one line)
USAGE = 2  # bad option or argument, unknown unit/service/kind in --fail-on (click's own code)
FAIL_ON = 3  # a --fail-on expression matched (diff and nightly alike)
NOT_COMPARABLE = 4  # diff: a run is missing, incomplete, or of another rubric version
NO_COVERAGE = 5  # the run is stored incomplete with reason no_coverage (nothing/too little read)
INCOMPATIBLE = 6  # run, nightly, probe: an answer's shape changed; the run has no verdicts
LOCKED = 75  # nightly: another nightly holds the lock (EX_TEMPFAIL)
SIGINT = 130  # stopped by SIGINT (Ctrl-C): 128 + 2, as shells report it

TABLE = (
    (OK, "success: the run is complete and no --fail-on expression matched"),
    (INCOMPLETE, "the run is stored incomplete (the crawl did not finish, or SIGTERM stopped "
                 "it), or an error named in one line (bad database, unknown run id, unwritable "
                 "output directory, bad data file); `rubric test`: a case failed"),
    (USAGE, "usage error: a bad option or argument, an unknown unit, service or kind in "
            "--fail-on, an unknown unit in `history --unit`"),
    (FAIL_ON, "a --fail-on expression matched (`diff` and `nightly`)"),
    (NOT_COMPARABLE, "`diff`: the runs cannot be compared (missing, incomplete, or no common "
                     "rubric version)"),
    (NO_COVERAGE, "the run is stored incomplete with reason no_coverage: the national "
                  "catalogue could not be read, or fewer cells than --min-tested could be tested"),
    (INCOMPATIBLE, "`run`, `nightly`, `probe`: a shape the verdicts depend on changed (a key "
                   "missing or retyped); the run is stored incompatible, with no verdicts"),
    (LOCKED, "`nightly`: another nightly holds the lock on the output directory"),
    (SIGINT, "stopped by SIGINT (Ctrl-C); the run is stored incomplete (interrupted)"),
)


def for_run(status: str, reason: str, signum: int | None) -> int:
    """The exit code of `demo`, `run` or `nightly` for the run they stored."""
    from app.interrupt import EXIT_CODES

    if signum:
        return EXIT_CODES.get(signum, INCOMPLETE)
    if status == "complete":
        return OK
    return NO_COVERAGE if reason == "no_coverage" else INCOMPLETE
