"""Run a crawl in its own process (Twisted's reactor cannot restart inside one process).

    python -m crawler.runner --base URL --db results/audit.db --run-id 3 [--set KEY=VALUE ...]

`prestart` starts a later crawl's process early (`--wait`): it loads, then sends nothing until
`crawl` tells it to go, so process start-up overlaps the crawl before it, never the crawls.
`launch` starts a crawl that runs beside others and is told on its stdin when the phases it
waits for are reached (`--phases`, crawler/phases.py); `Launched.tell` says so. `go` does the
same with a process `prestart` started ahead. Such a crawl tells the job in turn, on a pipe of
its own, the phase its end means as soon as its spider has closed (`Launched.on_phase`), so the
next crawl of its host need not wait for its process to shut down.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from crawler.lifeline import PARENT_ENV, die_with_parent

if __name__ == "__main__":
    die_with_parent()

from scrapy.crawler import CrawlerProcess
from scrapy.settings import Settings
from twisted.python.failure import Failure

from core import __version__, store
from crawler import phases
from crawler import settings as default_settings
from crawler.exceptions import BadDataFile, PortalListError
from crawler.profiles import profile_for

PROJECT_DIR = Path(__file__).resolve().parents[1]


def build_settings(base_url: str, db: Path | str, run_id: int, rubric_dir: str = "",
                   overrides: dict[str, Any] | None = None) -> Settings:
    settings = Settings()
    settings.setmodule(default_settings, priority="project")
    settings.update(profile_for(base_url), priority="project")
    settings.update({"DVC_BASE_URL": base_url, "DVC_DB": str(db), "DVC_RUN_ID": run_id,
                     "DVC_RUBRIC_DIR": rubric_dir}, priority="cmdline")
    settings.update(overrides or {}, priority="cmdline")
    if not Path(settings.get("HTTPCACHE_DIR") or "httpcache").is_absolute():
        # the conditional-request cache (crawler/httpcache.py) lives beside the results
        cache = Path(db).resolve().parent / (settings.get("HTTPCACHE_DIR") or "httpcache")
        settings.set("HTTPCACHE_DIR", str(cache), priority="cmdline")
    contact = (overrides or {}).get("DVC_AUDIT_CONTACT") or os.environ.get(
        "DVC_AUDIT_CONTACT") or settings.get("DVC_AUDIT_CONTACT")
    agent = settings.get("USER_AGENT")
    if "{contact}" in agent:  # an explicit USER_AGENT override is used as given
        agent = agent.format(version=__version__, contact=contact)
        settings.set("USER_AGENT", agent, priority="cmdline")
    return settings


def crawl_here(spider: str, settings: Settings) -> dict[str, Any]:
    """Run one spider in this process; returns its stats. Call once per process.

    Raises BadDataFile when the spider cannot start on a bad data file, which would otherwise
    be a traceback in the log and a crawl that did nothing."""
    from core.rubric import RubricError  # lazily: only the crawl's own process needs it

    process = CrawlerProcess(settings)
    crawler = process.create_crawler(spider)
    bad: list[str] = []

    def bad_file(failure: Failure) -> None:
        failure.trap(RubricError, PortalListError)  # anything else goes on as before
        bad.append(str(failure.value))

    process.crawl(crawler).addErrback(bad_file)
    process.start()
    if bad:
        raise BadDataFile(bad[0])
    return crawler.stats.get_stats() if crawler.stats else {}


def _command(spider: str, base_url: str, db: Path | str, run_id: int, rubric_dir: str,
             overrides: dict[str, Any] | None, quiet: bool) -> list[str]:
    cmd = [sys.executable, "-m", "crawler.runner", "--spider", spider, "--base", base_url,
           "--db", str(db), "--run-id", str(run_id)]
    if rubric_dir:
        cmd += ["--rubric", rubric_dir]
    for key, value in (overrides or {}).items():
        cmd += ["--set", f"{key}={json.dumps(value)}"]
    if quiet:
        cmd += ["--set", 'LOG_LEVEL="WARNING"']
    return cmd


def _child_options(announce_fd: int | None = None) -> dict[str, Any]:
    """Popen options of every crawl child: a session of its own, so a terminal's Ctrl-C reaches
    the job alone and the job stops each crawl once, gracefully (app/interrupt.py); the
    job's pid, so the child dies with it (`die_with_parent`); `announce_fd`: the write end of
    the pipe it tells its phases on (crawler/phases.py `announce`)."""
    env = {**os.environ, PARENT_ENV: str(os.getpid())}
    env.pop(phases.ANNOUNCE_FD, None)  # a crawl's own children announce nothing
    options: dict[str, Any] = {"cwd": PROJECT_DIR, "start_new_session": True, "env": env}
    if announce_fd is not None:
        env[phases.ANNOUNCE_FD] = str(announce_fd)
        options["pass_fds"] = (announce_fd,)
    return options


def _announcing(cmd: list[str], **options: Any) -> subprocess.Popen:
    """Start `cmd` with a pipe to announce its phases on; its read end is kept in `_heard`."""
    read, write = os.pipe()
    try:
        child = subprocess.Popen(cmd, stdin=subprocess.PIPE, **options,
                                 **_child_options(write))
    except BaseException:
        os.close(read)
        raise
    finally:
        os.close(write)  # the child holds its own copy: end of file once it has exited
    _heard[child.pid] = read
    return child


# Crawl processes started ahead (`prestart`), waiting for their turn, by command line.
_waiting: dict[tuple[str, ...], subprocess.Popen] = {}
# The read end of each announcing child's pipe, by pid, until a `Launched` takes it.
_heard: dict[int, int] = {}


def prestart(spider: str, base_url: str, db: Path | str, run_id: int, *, rubric_dir: str = "",
             overrides: dict[str, Any] | None = None, quiet: bool = False,
             phased: bool = False) -> None:
    """Start the process of a later `crawl` (or, `phased`, a later `go`) with the same
    arguments now: it loads Python, Scrapy and the spiders while the crawl before it runs, then
    waits, without any request, until told to go (or `discard_prestarted`, or this process's
    end, stops it)."""
    cmd = _command(spider, base_url, db, run_id, rubric_dir, overrides, quiet)
    key = tuple(cmd)
    if key not in _waiting:
        if phased:
            _waiting[key] = _announcing([*cmd, "--wait", "--phases"])
        else:
            _waiting[key] = subprocess.Popen([*cmd, "--wait"], stdin=subprocess.PIPE,
                                             **_child_options())


def discard_prestarted() -> None:
    """Stop the prestarted processes that were not used (they exit without crawling)."""
    while _waiting:
        _, child = _waiting.popitem()
        _release(child, go=False)
        _reap(child, timeout=30)
        _close_heard(child.pid)


def _close_heard(pid: int) -> None:
    fd = _heard.pop(pid, None)
    if fd is not None:
        os.close(fd)


def _reap(child: subprocess.Popen, timeout: float) -> None:
    """Wait for a child that was asked to end; kill it if it has not within `timeout`."""
    try:
        child.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        child.kill()
        child.wait()


def _release(child: subprocess.Popen, *, go: bool) -> None:
    try:
        if go:
            child.stdin.write(b"go\n")  # type: ignore[union-attr]
        child.stdin.close()  # type: ignore[union-attr]
    except (BrokenPipeError, OSError):
        pass


def crawl(spider: str, base_url: str, db: Path | str, run_id: int, *, rubric_dir: str = "",
          overrides: dict[str, Any] | None = None, quiet: bool = False) -> int:
    """Run a crawl in a child process; returns its exit code. Logs go to stderr."""
    cmd = _command(spider, base_url, db, run_id, rubric_dir, overrides, quiet)
    child = _waiting.pop(tuple(cmd), None)
    if child is not None:
        _close_heard(child.pid)  # run to its end: nothing to hear before
    if child is not None and child.poll() is None:
        _release(child, go=True)
        try:
            return child.wait()
        except BaseException:  # as subprocess.call does: an interrupted crawl does not linger
            child.kill()
            child.wait()
            raise
    return subprocess.call(cmd, **_child_options())


class Launched:
    """A crawl running beside others in its own process, told of phases on its stdin (from
    any thread) and telling its own on a pipe (`on_phase`)."""

    def __init__(self, child: subprocess.Popen) -> None:
        self.child = child
        self.heard = _heard.pop(child.pid, None)
        self._lock = threading.Lock()

    def tell(self, phase: str) -> None:
        with self._lock:
            stdin = self.child.stdin
            if stdin is None or stdin.closed:
                return  # told every phase already (`wait`)
            try:
                stdin.write(f"{phase}\n".encode())
                stdin.flush()
            except (BrokenPipeError, OSError):
                pass  # it has ended already: its exit code says how

    def on_phase(self, heard: Callable[[str], None]) -> None:
        """Call `heard(phase)`, in a thread of its own, for each phase the crawl announces
        (crawler/phases.py `AnnounceDone`) until its end; nothing for a crawl without a pipe."""
        fd, self.heard = self.heard, None
        if fd is None:
            return

        def read() -> None:
            with os.fdopen(fd, "rb") as pipe:
                for line in pipe:
                    heard(line.decode().strip())

        threading.Thread(target=read, name=f"heard-{self.child.pid}", daemon=True).start()

    def wait(self) -> int:
        """Tell it every phase is reached (end of input), then wait for its exit code."""
        with self._lock:
            _release(self.child, go=False)
        self._unheard()
        try:
            return self.child.wait()
        except BaseException:  # an interrupted job does not leave its crawl running
            self.stop()
            raise

    def stop(self, grace: float = 10.0) -> None:
        """Stop it if it still runs: asked first (Scrapy then closes its browser), then killed."""
        self._unheard()
        if self.child.poll() is not None:
            return
        self.child.terminate()
        _reap(self.child, timeout=grace)

    def _unheard(self) -> None:
        """Close the pipe nobody listens to (`on_phase` was not called)."""
        fd, self.heard = self.heard, None
        if fd is not None:
            os.close(fd)


def launch(spider: str, base_url: str, db: Path | str, run_id: int, *, rubric_dir: str = "",
           overrides: dict[str, Any] | None = None, quiet: bool = False,
           nice: int = 0) -> Launched:
    """Start a crawl now, beside whatever runs; it reads phase lines on its stdin. `nice`: its
    process (and its browser) yields the CPU to the others by that much (see os.nice)."""
    cmd = _command(spider, base_url, db, run_id, rubric_dir, overrides, quiet)
    return Launched(_announcing([*cmd, "--phases"],
                                preexec_fn=(lambda: os.nice(nice)) if nice else None))


def go(spider: str, base_url: str, db: Path | str, run_id: int, *, rubric_dir: str = "",
       overrides: dict[str, Any] | None = None, quiet: bool = False,
       nice: int = 0) -> Launched:
    """Start a crawl now, beside whatever runs, as `launch` does: the process `prestart`
    (`phased`) started for it when there is one, told to go and then told of phases. `nice`
    as for `launch` (a prestarted process is reniced before it starts its browser)."""
    cmd = _command(spider, base_url, db, run_id, rubric_dir, overrides, quiet)
    child = _waiting.pop(tuple(cmd), None)
    if child is None or child.poll() is not None:
        if child is not None:
            _close_heard(child.pid)
        return launch(spider, base_url, db, run_id, rubric_dir=rubric_dir, overrides=overrides,
                      quiet=quiet, nice=nice)
    if nice:
        try:
            os.setpriority(os.PRIO_PROCESS, child.pid, os.getpriority(os.PRIO_PROCESS, 0) + nice)
        except OSError:
            pass  # it has just ended: its exit code says how
    launched = Launched(child)
    launched.tell("go")
    return launched


# The crawls that use a browser; the others (the 766 figures) wait without Playwright.
BROWSER_SPIDERS = frozenset({"provincial", "national_pages", "site"})


def _preload(settings: Settings, spider: str) -> None:
    """Import the spiders (and, for a crawl that uses a browser, scrapy-playwright and
    Playwright: about 8 MiB a waiting process need not hold) before being told to go."""
    from scrapy.utils.misc import walk_modules_iter

    for module in settings.getlist("SPIDER_MODULES"):
        for _ in walk_modules_iter(module):
            pass
    if settings.getbool("DVC_BROWSER") and spider in BROWSER_SPIDERS:
        import scrapy_playwright.handler  # noqa: F401


def _parse_set(values: Sequence[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for item in values:
        key, _, raw = item.partition("=")
        try:
            out[key] = json.loads(raw)
        except ValueError:
            out[key] = raw
    return out


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m crawler.runner", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--spider", default="national", help="spider name (default: national)")
    parser.add_argument("--base", required=True, help="portal base URL")
    parser.add_argument("--db", required=True, help="results database (SQLite)")
    parser.add_argument("--run-id", type=int, required=True, help="run row to attach evidence to")
    parser.add_argument("--rubric", default="", help="rubric directory (default: rubrics/)")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=JSON",
                        help="override a Scrapy setting (value parsed as JSON when it can be)")
    parser.add_argument("--wait", action="store_true",
                        help="load, then wait for a line 'go' on stdin before crawling (no "
                        "request is made before; end of input: exit without crawling)")
    parser.add_argument("--phases", action="store_true",
                        help="read the phases the crawl waits for on stdin, one per line "
                        "(crawler/phases.py; end of input: every phase is reached)")
    args = parser.parse_args(argv)
    if args.wait:
        _preload(build_settings(args.base, args.db, args.run_id, args.rubric,
                                _parse_set(args.set)), args.spider)
        if sys.stdin.readline().strip() != "go":
            return 0
    if args.phases:
        phases.listen(sys.stdin)
    settings = build_settings(args.base, args.db, args.run_id, args.rubric, _parse_set(args.set))
    try:
        stats = crawl_here(args.spider, settings)
    except BadDataFile as exc:  # one line naming the file and field, no traceback
        print(f"error: {exc}", file=sys.stderr)
        return 2
    db = store.open_db(args.db)
    store.merge_stats(db, args.run_id, args.spider, stats)
    return 0 if stats.get("finish_reason") == "finished" else 1


if __name__ == "__main__":
    sys.exit(main())
