"""Datasette over a real results database (issue 16 item 9): started on loopback with the
shipped metadata and settings (deploy/datasette/), every view and canned query is read whole,
as JSON and as CSV, and its row count equals the database's. Heavy: a replica audit."""

from __future__ import annotations

import csv
import io
import json
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from app.jobs import run_audit
from core import store
from core.rubric import load_rubric
from replica.scenario import load_scenario
from replica.server import ReplicaServer

PROJECT = Path(__file__).resolve().parents[1]
SMALL = PROJECT / "replica" / "scenarios" / "small.yaml"
DEPLOY = PROJECT / "deploy" / "datasette"
VIEWS = ("current_verdicts", "province_gaps", "latest_changes")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=30) as answer:  # noqa: S310 - loopback only
        return answer.read()



pytestmark = [pytest.mark.slow, pytest.mark.browser]  # replica audits of the small scenario

@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two complete audits of the small scenario; each run found one change, so only the
    latest's may show in latest_changes."""
    out = tmp_path_factory.mktemp("datasette")
    with ReplicaServer(load_scenario(SMALL)) as server:
        for _ in range(2):
            result = run_audit(server.base_url, out, scenario=str(SMALL), echo=lambda _: None,
                               quiet=True, portal_list=server.portal_list())
            assert result.status == "complete"
    db = store.open_db(out / "audit.db")
    version, s, c = load_rubric().version, load_rubric().services[0], load_rubric().criteria[0]
    for run_id in (1, 2):
        db["changes"].insert({"run_id": run_id, "base_run_id": run_id - 1,
                              "rubric_version": version, "unit_code": "01", "service_id": s.id,
                              "criterion_id": c.id, "change": f"regression-{run_id}",
                              "before": "met", "after": "not_met", "known_before": "",
                              "reason": ""})
    db.conn.close()
    return out / "audit.db"


@pytest.fixture(scope="module")
def datasette(results: Path) -> Iterator[str]:
    settings = json.loads((DEPLOY / "settings.json").read_text(encoding="utf-8"))
    port = _free_port()
    command = [str(Path(sys.executable).parent / "datasette"), "serve", str(results),
               "--metadata", str(DEPLOY / "metadata.json"), "--host", "127.0.0.1",
               "--port", str(port)]
    for name, value in settings.items():
        command += ["--setting", name, str(value)]
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                _get(f"{base}/-/versions.json")
                break
            except OSError:
                assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
                time.sleep(0.1)
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _csv_rows(body: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(body.decode("utf-8"))))


def _count(db_path: Path, sql: str, params: dict[str, Any] | None = None) -> int:
    db = store.open_existing(db_path)
    try:
        return len(db.execute(sql, params or {}).fetchall())
    finally:
        db.conn.close()


def test_every_view_streams_whole_as_json_and_csv(results: Path, datasette: str) -> None:
    counts = {}
    for view in VIEWS:
        expected = _count(results, f"SELECT * FROM {view}")
        rows = json.loads(_get(f"{datasette}/audit/{view}.json?_shape=array&_size=max"))
        streamed = _csv_rows(_get(f"{datasette}/audit/{view}.csv?_stream=on&_size=max"))
        assert len(rows) == len(streamed) == expected, view
        counts[view] = expected
    assert counts["current_verdicts"] > 1000  # more than Datasette's default cap
    assert counts["province_gaps"] > 0
    gaps = json.loads(_get(f"{datasette}/audit/province_gaps.json?_shape=array&_size=5"))
    assert all(g["fix"] and g["responsible_body"] and g["deadline"] for g in gaps)
    latest = json.loads(_get(f"{datasette}/audit/latest_changes.json?_shape=array"))
    assert [r["change"] for r in latest] == ["regression-2"]  # never the older run's change


def _params(sql: str) -> dict[str, str]:
    service = load_rubric().services[0].id
    given = {"run": "2", "unit": "01", "service": service}
    return {k: v for k, v in given.items() if f":{k}" in sql}


def test_every_canned_query_reads_whole(results: Path, datasette: str) -> None:
    meta = json.loads((DEPLOY / "metadata.json").read_text(encoding="utf-8"))
    queries = meta["databases"]["audit"]["queries"]
    assert queries and not set(queries) & set(VIEWS)  # a view is never shadowed by a query
    for name, query in queries.items():
        params = _params(query["sql"])
        qs = "".join(f"&{k}={v}" for k, v in params.items())
        expected = _count(results, query["sql"], params)
        page = json.loads(_get(f"{datasette}/audit/{name}.json?_shape=objects{qs}"))
        as_csv = _csv_rows(_get(f"{datasette}/audit/{name}.csv?_size=max{qs}"))
        assert not page.get("truncated") and len(page["rows"]) == len(as_csv) == expected, name
    assert _count(results, queries["run_verdicts"]["sql"], {"run": "2"}) > 1000
