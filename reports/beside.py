"""Write one part of the reports in a child process while this process writes the rest.

Scoring runs after every crawl has ended, when both cores are otherwise idle, and writing the
reports is about three quarters of it: the XLSX workbook, the longest part, is a pure function
of the report model, so a forked child writes it from the same model (inherited, never
pickled) while this process renders the HTML pages (which also read the database) and the
other exports.
Elsewhere than on Linux (where fork is safe) the part runs here, first.
"""

from __future__ import annotations

import multiprocessing
import sys
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from multiprocessing.connection import Connection
from typing import Any


class BesideError(RuntimeError):
    """The child failed: its traceback, as text."""


def _run(conn: Connection, fn: Callable[..., Any], args: tuple[Any, ...]) -> None:
    try:
        fn(*args)
    except BaseException:  # noqa: BLE001 - reported to the parent, which raises it
        conn.send(traceback.format_exc())
        raise SystemExit(1) from None
    conn.send("")


@contextmanager
def beside(fn: Callable[..., Any], *args: Any) -> Iterator[None]:
    """Run fn(*args) in a forked child during the block; at its end, wait for the child and
    raise BesideError if fn failed (after the block's own error, if it had one)."""
    if not sys.platform.startswith("linux"):  # fork is safe there; elsewhere, in turn
        fn(*args)
        yield
        return
    ctx = multiprocessing.get_context("fork")
    ours, theirs = ctx.Pipe(duplex=False)
    child = ctx.Process(target=_run, args=(theirs, fn, args), name="reports-beside",
                        daemon=True)
    child.start()
    theirs.close()
    try:
        yield
    finally:
        error = _answer(ours)
        child.join()
    if error or child.exitcode:
        raise BesideError(error or f"the child's exit code: {child.exitcode}")


def _answer(conn: Connection) -> str:
    """The child's traceback ("" when it succeeded); waits for it."""
    try:
        return str(conn.recv())
    except EOFError:
        return "the child ended without an answer"
    finally:
        conn.close()
