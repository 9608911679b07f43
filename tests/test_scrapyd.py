"""The crawler deploys alone to Scrapyd (app/engines.py): a real `scrapyd` on loopback gets the
egg, runs the national, 766 and provincial crawls of the small scenario, and the run's verdicts
equal the local engine's and the scenario's truth.

The server's jobs run from the egg alone: its runner (scrapyd.conf `runner`) takes the checkout
off sys.path first, so the editable install cannot stand in for the egg's `crawler` and `core`.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from app.engines import (
    ENGINE_UNREACHABLE,
    PROJECT,
    CrawlRun,
    ScrapydEngine,
    ScrapydNode,
    build_egg,
    egg_version,
    job_settings,
)
from app.interrupt import Stop
from app.jobs import AuditResult, run_audit
from core import store
from core.rubric import RUBRIC_DIR, load_rubric
from crawler.remote import from_feed, stats_from_log, to_feed
from replica.scenario import load_scenario
from replica.truth import expected_verdicts

PROJECT_DIR = Path(__file__).resolve().parents[1]
SMALL = PROJECT_DIR / "replica" / "scenarios" / "small.yaml"

EGG_ONLY_RUNNER = """\
import os, sys
PROJECT = {project!r}
sys.path[:] = [p for p in sys.path if os.path.realpath(p or os.getcwd()) != PROJECT]
for name in [m for m in sys.modules if m.split(".")[0] in ("core", "crawler")]:
    del sys.modules[name]
from scrapyd.runner import main
main()
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _stop(server: subprocess.Popen) -> None:
    """Scrapyd and its jobs (they share its process group): asked, then killed."""
    for sig, wait in ((signal.SIGTERM, 15), (signal.SIGKILL, 5)):
        try:
            os.killpg(server.pid, sig)
        except ProcessLookupError:
            break
        try:
            server.wait(timeout=wait)
            os.killpg(server.pid, signal.SIGKILL)  # jobs still running after scrapyd's end
        except (subprocess.TimeoutExpired, ProcessLookupError):
            continue
        break
    server.wait()


@pytest.fixture(scope="module")
def scrapyd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    home = tmp_path_factory.mktemp("scrapyd")
    port = _free_port()
    (home / "egg_only_runner.py").write_text(EGG_ONLY_RUNNER.format(
        project=os.path.realpath(PROJECT_DIR)))
    (home / "scrapyd.conf").write_text(
        "[scrapyd]\nbind_address = 127.0.0.1\n"
        f"http_port = {port}\neggs_dir = {home / 'eggs'}\nlogs_dir = {home / 'logs'}\n"
        f"items_dir = {home / 'items'}\ndbs_dir = {home / 'dbs'}\nmax_proc = 2\n"
        "poll_interval = 0.5\nrunner = egg_only_runner\n")
    server = subprocess.Popen([sys.executable, "-m", "scrapyd"], cwd=home,
                              stdout=(home / "scrapyd.out").open("wb"),
                              stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(url + "/daemonstatus.json", timeout=2) as answer:
                    if json.loads(answer.read()).get("status") == "ok":
                        break
            except OSError:
                pass
            assert server.poll() is None, (home / "scrapyd.out").read_text()
            assert time.monotonic() < deadline, "scrapyd did not start"
            time.sleep(0.3)
        yield url
    finally:
        _stop(server)


def _audit(replica: Any, out: Path, **kwargs: Any) -> AuditResult:
    server = replica(SMALL)
    return run_audit(server.base_url, out, scenario=str(SMALL), echo=lambda _: None,
                     quiet=True, portal_list=server.portal_list(), **kwargs)


def _verdicts(result: AuditResult) -> dict[tuple[str, str, str], tuple[str, str]]:
    rows = store.load_verdicts(store.open_db(result.db_path), result.run_id)
    return {(v["unit_code"], v["service_id"], v["criterion_id"]): (v["verdict"], v["reason"])
            for v in rows}


def _kinds(result: AuditResult) -> dict[str, int]:
    db = store.open_db(result.db_path)
    return dict(db.execute("SELECT kind, COUNT(*) FROM evidence WHERE run_id = ? GROUP BY kind",
                           [result.run_id]).fetchall())


@pytest.fixture(scope="module")
def local(replica: Any, tmp_path_factory: pytest.TempPathFactory) -> AuditResult:
    return _audit(replica, tmp_path_factory.mktemp("local"))


@pytest.fixture(scope="module")
def remote(replica: Any, scrapyd: str, tmp_path_factory: pytest.TempPathFactory) -> AuditResult:
    engine = ScrapydEngine(scrapyd, poll=0.3)
    return _audit(replica, tmp_path_factory.mktemp("remote"), engine=engine)


@pytest.mark.slow
@pytest.mark.browser
def test_scrapyd_run_equals_the_local_run_and_the_truth(local: AuditResult,
                                                        remote: AuditResult) -> None:
    assert local.status == "complete", local.note
    assert remote.status == "complete", store.get_run(store.open_db(remote.db_path),
                                                      remote.run_id)
    truth = expected_verdicts(load_scenario(SMALL), load_rubric())
    got = _verdicts(remote)
    assert got.keys() == truth.keys()
    wrong = {k: (got[k], truth[k]) for k in truth if got[k] != truth[k]}
    assert not wrong, f"{len(wrong)} verdicts differ from the truth, e.g. {list(wrong)[:5]}"
    assert got == _verdicts(local)
    assert {v for v, _ in got.values()} == {"met", "not_met", "not_applicable", "cannot_test"}
    # the same evidence, kind by kind: national, 766 and provincial (portals, national pages)
    kinds = _kinds(remote)
    assert kinds == _kinds(local)
    assert {"office_row", "portal", "portal_apply", "national_page"} <= kinds.keys()


@pytest.mark.slow
@pytest.mark.browser
def test_scrapyd_run_keeps_stats_bodies_and_screenshots(remote: AuditResult) -> None:
    db = store.open_db(remote.db_path)
    run = store.get_run(db, remote.run_id) or {}
    stats = json.loads(run["stats"])
    assert stats["finish_reason"] == "finished" and stats["item_scraped_count"] > 0
    for spider in ("provincial", "index766"):
        assert stats[spider]["finish_reason"] == "finished", spider
        assert stats[spider]["item_scraped_count"] > 0, spider
    # every body an evidence row names by its DOM hash came back, byte for byte
    missing = db.execute("SELECT COUNT(*) FROM evidence e WHERE e.run_id = ? AND "
                         "e.html_sha256 != '' AND NOT EXISTS (SELECT 1 FROM responses r "
                         "WHERE r.sha256 = e.html_sha256)", [remote.run_id]).fetchone()[0]
    assert missing == 0
    shots = [r[0] for r in db.execute("SELECT screenshot FROM evidence WHERE run_id = ? AND "
                                      "screenshot != ''", [remote.run_id])]
    assert shots and all((remote.db_path.parent / s).stat().st_size > 0 for s in shots)


@pytest.mark.slow
@pytest.mark.browser
def test_provincial_portals_spread_over_two_nodes(replica: Any, scrapyd: str,
                                                  tmp_path: Path) -> None:
    """The server given twice stands for two nodes: the national crawls on the first, the
    portals dealt over both (two provincial jobs at once); the verdicts do not change."""
    lines: list[str] = []
    server = replica(SMALL)
    result = run_audit(server.base_url, tmp_path, scenario=str(SMALL), echo=lines.append,
                       quiet=True, portal_list=server.portal_list(),
                       engine=ScrapydEngine([scrapyd, scrapyd], poll=0.3))
    assert result.status == "complete", lines
    truth = expected_verdicts(load_scenario(SMALL), load_rubric())
    assert _verdicts(result) == truth
    shares = [line for line in lines if "provincial crawl (" in line]
    assert len(shares) == 2, lines
    stats = json.loads((store.get_run(store.open_db(result.db_path), result.run_id)
                        or {})["stats"])["provincial"]
    assert stats["jobs"] == 2 and stats["finish_reason"] == "finished"


@pytest.mark.slow
def test_a_signal_cancels_the_scrapyd_job(replica: Any, scrapyd: str, tmp_path: Path) -> None:
    node = ScrapydNode(scrapyd, poll=0.2, grace=5)
    egg = build_egg(RUBRIC_DIR)
    node.deploy(egg, egg_version(egg))
    run = CrawlRun(replica(SMALL).base_url, tmp_path / "audit.db", 1, tmp_path, RUBRIC_DIR, {},
                   None, Stop(signum=signal.SIGINT))
    job = node.schedule("national", egg_version(egg), job_settings(run))
    _, why = node.wait(job, "national", run.stop)
    assert why == "was cancelled: SIGINT received"
    assert node.state(job)[0] in ("finished", "")  # stopped, or removed while pending


@pytest.mark.slow
def test_a_scrapyd_url_that_refuses_leaves_the_run_incomplete(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from app.cli import main

    url = f"http://127.0.0.1:{_free_port()}"
    out = CliRunner().invoke(main, ["demo", "--scenario", str(SMALL), "--out", str(tmp_path),
                                    "--quiet", "--engine", "scrapyd", "--scrapyd-url", url])
    assert out.exit_code == 1, out.output
    errors = [line for line in out.output.splitlines() if "cannot be reached" in line]
    assert len(errors) == 1 and url in errors[0], out.output
    db = store.open_db(tmp_path / "audit.db")
    run = store.get_run(db) or {}
    assert run["status"] == "incomplete" and store.run_reason(run) == ENGINE_UNREACHABLE
    assert db.execute("SELECT COUNT(*) FROM evidence").fetchone()[0] == 0  # nothing crawled
    banner = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert "không kết nối được máy chủ thu thập (Scrapyd)" in banner  # the reason's label


def test_cli_refuses_a_bad_scrapyd_url(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from app.cli import main

    out = CliRunner().invoke(main, ["run", "--engine", "scrapyd", "--scrapyd-url", "ftp://x",
                                    "--out", str(tmp_path)])
    assert out.exit_code == 2
    assert "not a Scrapyd URL" in out.output


def test_egg_holds_the_crawler_core_and_rubric_and_is_reproducible() -> None:
    import io
    import zipfile

    egg = build_egg(RUBRIC_DIR)
    assert egg == build_egg(RUBRIC_DIR)  # same sources, same bytes: its hash is its version
    names = zipfile.ZipFile(io.BytesIO(egg)).namelist()
    assert "crawler/settings.py" in names and "core/store.py" in names
    assert "rubrics/services.yaml" in names
    assert not any(n.split("/")[0] in ("app", "audits", "reports", "replica") for n in names)
    entry = zipfile.ZipFile(io.BytesIO(egg)).read("EGG-INFO/entry_points.txt").decode()
    assert "settings = crawler.settings" in entry and PROJECT


def test_feed_rows_round_trip_bytes_and_screenshots(tmp_path: Path) -> None:
    (tmp_path / "shots").mkdir()
    (tmp_path / "shots" / "a.jpg").write_bytes(b"\xff\xd8jpeg")
    item = {"kind": "portal", "url": "http://x/", "raw": b"<html>\xc3\xa1</html>",
            "screenshot": "shots/a.jpg", "data": {"units": ["01"]}}
    row = json.loads(json.dumps(to_feed(item, tmp_path)))
    back, shot = from_feed(row)
    assert back == item and shot == b"\xff\xd8jpeg"
    assert not (tmp_path / "shots" / "a.jpg").exists()  # it travelled in the row
    assert stats_from_log("x\n2026 [crawler.remote] WARNING: dvc-stats {\"a\": 1}\n") == {"a": 1}
    assert stats_from_log("no stats here") is None


def test_stats_of_several_provincial_jobs_add_up() -> None:
    from app.engines import summed

    one = {"item_scraped_count": 3, "finish_reason": "finished", "start_time": "a",
           "log_count/INFO": 2}
    two = {"item_scraped_count": 4, "finish_reason": "finished", "start_time": "b"}
    assert summed([one, two]) == {"item_scraped_count": 7, "finish_reason": "finished",
                                  "start_time": "a", "log_count/INFO": 2, "jobs": 2}
    assert summed([one, {**two, "finish_reason": "shutdown"}])["finish_reason"] == "shutdown"
