"""Stopping a job on SIGINT (Ctrl-C) or SIGTERM (systemd stop) without losing the run.

The crawl children run in sessions of their own (crawler/runner.py), so a terminal's Ctrl-C
reaches the job alone. The job asks each child once to stop (SIGTERM: Scrapy closes its spider
gracefully and saves its JOBDIR queue, so a nightly can resume it); a child started after that
is stopped at once. A second signal kills the children. The job then stores the run
`incomplete` with the reason `interrupted` and its command exits with `exit_code` (one line,
no traceback).
"""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SIGNALS = (signal.SIGINT, signal.SIGTERM)
# The command's exit code after a signal: 130 (128 + SIGINT) as shells do for Ctrl-C; SIGTERM
# keeps the nightly's documented 1 ("the run is incomplete"), which systemd's unit expects.
EXIT_CODES: dict[int, int] = {signal.SIGINT: 130, signal.SIGTERM: 1}


@dataclass
class Stop:
    """What stopped the job, if anything (shared by nested `graceful_stop` blocks)."""
    signum: int | None = None
    signalled: set[int] = field(default_factory=set)
    forced: bool = False

    @property
    def name(self) -> str:
        return signal.Signals(self.signum).name if self.signum else ""

    @property
    def exit_code(self) -> int:
        return EXIT_CODES.get(self.signum or 0, 1)


_active: list[Stop] = []


def current() -> Stop | None:
    return _active[-1] if _active else None


def children() -> list[int]:
    """Pids of this process's children (Linux /proc), e.g. the crawls."""
    out: list[int] = []
    for task in Path(f"/proc/{os.getpid()}/task").glob("*/children"):
        try:
            out += [int(p) for p in task.read_text().split()]
        except OSError:
            continue
    return out


def _signal(pid: int, signum: int) -> None:
    try:
        os.kill(pid, signum)
    except (ProcessLookupError, PermissionError):
        pass


@contextmanager
def graceful_stop(echo: Callable[[str], None],
                  message: Callable[[str], str] = lambda name: f"{name}: stopping the crawl",
                  signals: tuple[int, ...] = SIGNALS) -> Iterator[Stop]:
    """Within the block, `signals` stop the crawl children gracefully instead of killing this
    process. Nested blocks share the outer one's state (its message wins)."""
    if _active or threading.current_thread() is not threading.main_thread():
        yield _active[-1] if _active else Stop()
        return
    state = Stop()
    done = threading.Event()

    def stop_children() -> None:
        for pid in children():
            if pid not in state.signalled:  # once each: a second SIGTERM is Scrapy's "force"
                state.signalled.add(pid)
                _signal(pid, signal.SIGTERM)

    def watch() -> None:  # crawls started after the signal are stopped at once
        while not done.wait(0.2):
            stop_children()

    def handler(signum: int, frame: Any) -> None:
        if state.signum is not None:
            if not state.forced:  # asked twice: do not wait for a graceful close
                state.forced = True
                for pid in children():
                    _signal(pid, signal.SIGKILL)
            return
        state.signum = signum
        echo(message(signal.Signals(signum).name))
        stop_children()
        threading.Thread(target=watch, name="stop-children", daemon=True).start()

    previous = {s: signal.signal(s, handler) for s in signals}
    _active.append(state)
    try:
        yield state
    finally:
        done.set()
        _active.remove(state)
        for s, old in previous.items():
            signal.signal(s, old)
