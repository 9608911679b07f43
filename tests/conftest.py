"""Shared pytest fixtures.

``replica``: a session-scoped factory that starts the portal replica for a scenario on a free
127.0.0.1 port and stops every server it started at the end of the session::

    def test_something(replica):
        srv = replica("replica/scenarios/small.yaml")     # path relative to the project root
        srv.base_url                                       # "http://127.0.0.1:<port>"
        srv.requests                                       # request log

Calls with the same path share one server (its request log is shared too: call
``srv.clear_requests()`` first, or pass ``fresh=True`` for a server of your own). A
``replica.scenario.Scenario`` object (e.g. built in the test) always gets a fresh server.
"""

from __future__ import annotations

import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[1]
SHARED_DIR = PROJECT_ROOT.parent / "shared"  # read-only research, beside the repo root


@pytest.fixture(scope="session")
def replica():
    from replica.scenario import Scenario
    from replica.server import ReplicaServer

    shared: dict[str, ReplicaServer] = {}
    started: list[ReplicaServer] = []

    def start(scenario, *, fresh: bool = False, rubric=None) -> ReplicaServer:
        if isinstance(scenario, Scenario):
            key, fresh = "", True
        else:
            path = Path(scenario)
            if not path.is_absolute():
                path = PROJECT_ROOT / path
            scenario = key = str(path)
        if not fresh and key in shared:
            return shared[key]
        srv = ReplicaServer(scenario, rubric=rubric).start()
        started.append(srv)
        if not fresh:
            shared[key] = srv
        return srv

    yield start
    # all at once: each stop waits up to the servers' 0.5 s poll, and a worker of the fast loop
    # starts a dozen servers (one after the other, that was 6 s at the end of each worker)
    stoppers = [threading.Thread(target=srv.stop) for srv in started]
    for stopper in stoppers:
        stopper.start()
    for stopper in stoppers:
        stopper.join()


# Markers (pyproject.toml): `slow` on every test that starts a crawl (a replica audit, the demo,
# a crawl process, a CLI process that crawls), `browser` on every test that starts Chromium.
# `scripts/test --fast` leaves both out, so a test that needs one of them but lacks its marker
# would make the fast loop slow: the guard below fails such a test, naming the marker, in every
# run (a crawl or Chromium started in a child process the test did not start itself, e.g. by a
# crawl, is not seen: the crawl is).
CRAWL_COMMANDS = {"demo", "run", "nightly"}


def starts_a_crawl(args: object) -> bool:
    """Whether a child process's command line crawls: the crawl runner (every crawl of a job
    goes through it), a `dvc-audit` command that crawls, or a script that runs a Scrapy crawl."""
    argv = [str(a) for a in args] if isinstance(args, list | tuple) else str(args).split()
    if "crawler.runner" in argv:
        return True
    cli = [i for i, a in enumerate(argv) if a == "app.cli" or a.endswith("dvc-audit")]
    if cli:
        command = next((a for a in argv[cli[0] + 1:] if not a.startswith("-")), "")
        return command in CRAWL_COMMANDS
    if "-c" in argv[:-1]:
        script = argv[argv.index("-c") + 1]
        return "CrawlerProcess" in script or "from crawler import runner" in script
    return False


def _guarded(item: pytest.Item) -> Iterator[None]:
    need_slow = item.get_closest_marker("slow") is None
    need_browser = item.get_closest_marker("browser") is None
    patch = pytest.MonkeyPatch()
    if need_slow:
        popen_init = subprocess.Popen.__init__

        def init(self: subprocess.Popen, args: object, *a: object, **kw: object) -> None:
            if starts_a_crawl(args):
                pytest.fail(f"{item.nodeid} starts a crawl ({args!r}): mark it "
                            "@pytest.mark.slow (README, Testing)", pytrace=False)
            popen_init(self, args, *a, **kw)

        patch.setattr(subprocess.Popen, "__init__", init)
    if need_browser:
        from playwright.sync_api import BrowserType  # the one way tests start Chromium

        def launch(self: BrowserType, *a: object, **kw: object) -> None:
            pytest.fail(f"{item.nodeid} starts Chromium: mark it @pytest.mark.browser "
                        "(README, Testing)", pytrace=False)

        patch.setattr(BrowserType, "launch", launch)
    try:
        yield
    finally:
        patch.undo()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_setup(item: pytest.Item) -> Iterator[None]:
    yield from _guarded(item)  # around fixtures too: a module fixture may run the audit


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    yield from _guarded(item)
