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
    for srv in started:
        srv.stop()
