"""The replica of the portals in a process of its own, for the benchmark (bench/run.py).

    with ReplicaProcess("replica/scenarios/full.yaml") as server:      # a scenario file
    with ReplicaProcess(factor=1, path="real_scale_x1.yaml") as server:  # the real-scale one
        server.base_url, server.portal_list(), server.requests, server.clear_requests()
        server.rows, server.most_rows  # office rows in all; the most for one procedure
        server.pids                    # its processes, to leave out of the audit's tree

On a real night the portals are remote: their data and request log are not on the audit's
machine. Served from the benchmark's own process, the replica (at real scale some 20,000 office
rows and the request log) counted in the audit's memory; served from here, the benchmark measures
the audit's tree without it (bench/run.py `tree_memory`) and the replica's apart.

The child builds its scenario itself (from the file, or from the factor with
`replica.wards.real_scale_scenario`), so nothing big crosses the pipe but the request log, as
(site, path, at) triples.
"""

from __future__ import annotations

import atexit
import multiprocessing
import signal
import threading
import traceback
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from app.interrupt import children

# "spawn": a fresh interpreter. The benchmark has threads by the time a replica starts (the
# memory sampler, the job's stop watcher, daemon threads of an earlier run), and forking a
# threaded process can copy a lock another thread held; a forked child would also share the
# benchmark's pages copy-on-write, splitting their PSS between the audit and the replica.
# "forkserver" would leave its server process in the benchmark's tree beside the replica.
# Spawning starts multiprocessing's resource tracker too (a small process, a child of the
# benchmark): it belongs with the replica, not the audit (`pids`).
CONTEXT = multiprocessing.get_context("spawn")
TRACKER = b"multiprocessing.resource_tracker"
STOP_SECONDS = 15.0  # the replica's stop() joins its servers' threads (10 s at most each)


@dataclass(frozen=True)
class Request:
    """One entry of the replica's request log, as much of it as the benchmark reads."""

    site: str  # "national", a province code, "system:<id>" or "offsite"
    path: str  # without the query string
    at: float  # wall-clock time the replica answered


def _build(scenario: str, factor: float | None, path: str) -> Any:
    from replica.server import ReplicaServer

    if factor is None:
        return ReplicaServer(scenario)
    from core.rubric import load_rubric
    from replica.wards import real_scale_scenario

    rubric = load_rubric()
    return ReplicaServer(real_scale_scenario(rubric, factor, path=path), rubric=rubric)


def _serve(conn: Connection, scenario: str, factor: float | None, path: str) -> None:
    """The child: start the replica, say where it is, then answer the parent until it says
    "stop" or goes away (the pipe's end)."""
    # A terminal's Ctrl-C reaches the whole process group, and the job stops every child of the
    # benchmark with SIGTERM (app/interrupt.py): the parent alone decides when the replica ends.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    try:
        server = _build(scenario, factor, path).start()
    except BaseException:
        conn.send(("error", traceback.format_exc()))
        return
    try:
        portal = server.portal
        conn.send(("ready", {
            "base_url": server.base_url, "portal_list": server.portal_list(),
            "rows": len(portal.office_rows),
            "most_rows": max((len(v) for v in portal.rows_by_formality.values()), default=0)}))
        _answer(conn, server)
    finally:
        server.stop()
        conn.close()


def _answer(conn: Connection, server: Any) -> None:
    while True:
        try:
            command = conn.recv()
        except (EOFError, OSError):
            return
        if command == "requests":
            conn.send([(r.site, r.path, r.at) for r in server.requests])
        elif command == "clear":
            server.clear_requests()
            conn.send(None)
        else:  # "stop"
            return


def cmdline(pid: int) -> bytes:
    """A process's command line, NUL-separated (b"" when it has gone)."""
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


class ReplicaProcess:
    """The replica (replica.server.ReplicaServer) serving in a child process; a context
    manager that stops the child on leaving, on errors and KeyboardInterrupt too."""

    def __init__(self, scenario: str | Path = "", *, factor: float | None = None,
                 path: str = "real_scale.yaml") -> None:
        if factor is None and not scenario:
            raise ValueError("a scenario file or a real-scale factor")
        self._args = (str(scenario), factor, path)
        self._conn: Connection | None = None
        self._process: Any = None  # multiprocessing's SpawnProcess
        self._lock = threading.Lock()
        self.base_url = ""
        self.rows = self.most_rows = 0
        self._portal_list: list[dict[str, str]] = []

    @property
    def pid(self) -> int:
        if self._process is None or self._process.pid is None:
            raise RuntimeError("the replica process is not started")
        return int(self._process.pid)

    @property
    def pids(self) -> tuple[int, ...]:
        """The replica's process and multiprocessing's resource tracker, which spawning it
        started: what serves the portals, not what audits them."""
        return (self.pid, *(pid for pid in children() if TRACKER in cmdline(pid)))

    def start(self) -> ReplicaProcess:
        if self._process is not None:
            return self
        parent, child = CONTEXT.Pipe()
        self._conn, self._process = parent, CONTEXT.Process(
            target=_serve, args=(child, *self._args), name="replica")
        atexit.register(self.stop)  # before multiprocessing's own exit handler joins it
        try:
            self._process.start()
            child.close()  # the child's end lives in the child: its exit is our EOF
            self._ready(parent)
        except BaseException:
            self.stop()
            raise
        return self

    def _ready(self, conn: Connection) -> None:
        try:
            kind, info = conn.recv()
        except EOFError:
            raise RuntimeError("the replica process ended before it served") from None
        if kind == "error":
            raise RuntimeError(f"the replica process could not start:\n{info}")
        self.base_url, self._portal_list = info["base_url"], info["portal_list"]
        self.rows, self.most_rows = info["rows"], info["most_rows"]

    def stop(self) -> None:
        atexit.unregister(self.stop)
        process, conn, self._process, self._conn = self._process, self._conn, None, None
        if process is None:
            return
        if conn is not None:
            try:
                conn.send("stop")
            except OSError:  # it has ended already
                pass
        if process.pid is None:  # it never started
            return
        process.join(STOP_SECONDS)
        if process.is_alive():
            process.kill()  # it ignores SIGTERM (see _serve)
            process.join()
        if conn is not None:
            conn.close()

    def _ask(self, command: str) -> Any:
        with self._lock:
            if self._conn is None:
                raise RuntimeError("the replica process is not started")
            self._conn.send(command)
            return self._conn.recv()

    def portal_list(self) -> list[dict[str, str]]:
        """ReplicaServer.portal_list() of the child's replica, as it answered at start."""
        return [dict(entry) for entry in self._portal_list]

    @property
    def requests(self) -> list[Request]:
        """The child's request log, oldest first."""
        return [Request(*entry) for entry in self._ask("requests")]

    def clear_requests(self) -> None:
        self._ask("clear")

    def __enter__(self) -> ReplicaProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
