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
import os
import shutil
import sys
import tempfile
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


class Held:
    """`first()` in a forked child now; the child then waits to be told: `go()` runs
    `then(first's result)` there, `drop()` ends it without. `wait()` after `go()` raises
    BesideError if either failed. The workbook written ahead (app/ahead.py) is one: its
    verdicts' sheets while the last crawl ends, the rest once the run's end is stored.
    Elsewhere than on Linux nothing runs ahead: `go()` runs both here."""

    def __init__(self, first: Callable[[], Any], then: Callable[[Any], None]) -> None:
        self._first, self._then = first, then
        self._child: Any = None
        self._conn: Connection | None = None
        if sys.platform.startswith("linux"):
            ctx = multiprocessing.get_context("fork")
            self._conn, theirs = ctx.Pipe()
            self._child = ctx.Process(target=_held, args=(theirs, first, then),
                                      name="reports-held", daemon=True)
            self._child.start()
            theirs.close()

    def go(self) -> None:
        if self._child is None:
            self._then(self._first())
        else:
            self._tell("go")

    def drop(self) -> None:
        """End the child without its second part (nothing more is written)."""
        if self._child is not None:
            self._tell("drop")
            self._child.join()
            self._close()

    def wait(self) -> None:
        """After `go()`: wait for the child; raise BesideError if it failed."""
        if self._child is None or self._conn is None:
            return
        error = _answer(self._conn)
        self._child.join()
        self._conn = None
        if error or self._child.exitcode:
            raise BesideError(error or f"the child's exit code: {self._child.exitcode}")

    def _tell(self, word: str) -> None:
        try:
            if self._conn is not None:
                self._conn.send(word)
        except OSError:
            pass  # it has ended already: wait() says how

    def _close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


def _held(conn: Connection, first: Callable[[], Any], then: Callable[[Any], None]) -> None:
    """The held child's life. It ends with os._exit: forked from a worker thread (app/ahead.py),
    an interpreter's normal exit would join that thread's pool, the child's own thread, and
    fail with exit code 1 after the work was done. So no atexit handler runs: its temporary
    files (openpyxl's write-only sheets, removed by one) go to a directory of its own, removed
    as it ends, told to go or not."""
    code, answer = 0, ""
    tempfile.tempdir = scratch = tempfile.mkdtemp(prefix="dvc-held-")
    try:
        state = first()
        try:
            word = conn.recv()
        except EOFError:
            word = "drop"  # the parent went away
        if word == "go":
            then(state)
    except BaseException:  # noqa: BLE001 - reported to the parent, which raises it
        code, answer = 1, traceback.format_exc()
    try:
        conn.send(answer)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
