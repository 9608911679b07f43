"""Runs that tell the truth (issue 15): any interruption leaves the run incomplete with the
reason `interrupted` (one line, no traceback, exit 130 for SIGINT) and the nightly resumes it or
says why not; a run that reached nothing is incomplete (no_coverage) with a red banner; crawl
children die with their job. Real processes, real signals, the replica on loopback."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from app import nightly
from app.cli import main
from core import store
from core.rubric import load_rubric
from crawler import resume
from replica.scenario import load_scenario
from replica.server import ReplicaServer
from replica.truth import expected_verdicts

pytestmark = pytest.mark.slow

PROJECT = Path(__file__).resolve().parents[1]
SMALL = PROJECT / "replica" / "scenarios" / "small.yaml"
DEADLINE = 120.0


def read_only(db_path: Path, sql: str) -> list[tuple]:
    if not db_path.exists():
        return []
    try:
        with sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=5) as conn:
            return conn.execute(sql).fetchall()
    except sqlite3.OperationalError:
        return []


def evidence_rows(db_path: Path) -> int:
    rows = read_only(db_path, "SELECT COUNT(*) FROM evidence")
    return rows[0][0] if rows else 0


def wait_for(condition: Callable[[], bool], what: str, proc: subprocess.Popen) -> None:
    end = time.monotonic() + DEADLINE
    while not condition():
        if proc.poll() is not None:
            pytest.fail(f"the audit ended (exit {proc.returncode}) before {what}")
        if time.monotonic() > end:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.05)


def start(*args: str) -> subprocess.Popen:
    """dvc-audit in a process group of its own, as a shell runs a command on a terminal."""
    return subprocess.Popen([sys.executable, "-m", "app.cli", *args], cwd=PROJECT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)


def children_with(pid: int, needle: str) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*/children"):
        for child in task.read_text().split():
            try:
                cmd = Path(f"/proc/{child}/cmdline").read_bytes().replace(b"\0", b" ")
            except OSError:
                continue
            if needle.encode() in cmd:
                found.append(int(child))
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[-1].split()[0]
    except OSError:
        return False
    return state not in ("Z", "X")


def assert_one_interruption_line(stdout: str, stderr: str, name: str) -> None:
    both = stdout + stderr
    assert "Traceback" not in both and "Aborted" not in both, both[-3000:]
    lines = [line for line in both.splitlines() if name in line]
    assert len(lines) == 1, lines
    assert "incomplete (interrupted)" in lines[0]


def banner(out: Path, name: str = "report.html") -> str:
    page = (out / name).read_text(encoding="utf-8")
    body = page[page.index("<body>"):]
    assert body[len("<body>"):].lstrip().startswith('<div class="banner"'), body[:300]
    return body[:body.index("</div>")]


def test_ctrl_c_of_a_demo_leaves_it_incomplete_and_interrupted(tmp_path: Path) -> None:
    out = tmp_path / "out"
    proc = start("demo", "--scenario", str(SMALL), "--out", str(out))
    try:
        wait_for(lambda: evidence_rows(out / "audit.db") > 5, "evidence", proc)
        os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C on a terminal does
        stdout, stderr = proc.communicate(timeout=DEADLINE)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 130, stderr[-3000:]
    assert_one_interruption_line(stdout, stderr, "SIGINT")
    db = store.open_db(out / "audit.db")
    run = store.get_run(db)
    assert run["status"] == "incomplete" and store.run_reason(run) == "interrupted"
    assert "SIGINT" in run["note"]
    assert "lượt thu thập bị ngắt giữa chừng" in banner(out)
    assert "ngắt giữa chừng" in (out / "summary.md").read_text(encoding="utf-8").split("\n")[0]
    # the nightly cannot resume a demo's run: it says why
    later = CliRunner().invoke(main, ["nightly", "--scenario", str(SMALL), "--out", str(out),
                                      "--resume-only", "--quiet"], catch_exceptions=False)
    assert later.exit_code == 0, later.output
    assert f"run {run['id']} (incomplete, interrupted) is not resumed: it is not a nightly run" \
        in later.output


NIGHTLY = textwrap.dedent("""
    import json, sys
    from pathlib import Path
    from app.exitcodes import for_run
    from app.nightly import run_nightly
    from core import store
    base, out, portals = sys.argv[1], Path(sys.argv[2]), json.loads(sys.argv[3])
    result = run_nightly(base, out, quiet=True, audit_options={"portal_list": portals})
    run = store.get_run(store.open_db(out / "audit.db"), result.run_id)
    sys.exit(for_run(result.status, store.run_reason(run), result.audit.interrupted))
""")


@pytest.mark.browser  # the small scenario's iGate portals, read whole
def test_ctrl_c_of_a_nightly_is_resumed_by_the_next(tmp_path: Path) -> None:
    """The nightly job of the same replica (a --scenario nightly gets new ports each start,
    so it would be another target): Ctrl-C, then the next nightly finishes the run."""
    out = tmp_path / "out"
    scenario = load_scenario(SMALL)
    with ReplicaServer(scenario) as server:
        proc = subprocess.Popen(
            [sys.executable, "-c", NIGHTLY, server.base_url, str(out),
             json.dumps(server.portal_list())], cwd=PROJECT, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True, start_new_session=True)
        try:
            wait_for(lambda: evidence_rows(out / "audit.db") > 5, "evidence", proc)
            os.killpg(proc.pid, signal.SIGINT)
            stdout, stderr = proc.communicate(timeout=DEADLINE)
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
        assert proc.returncode == 130, stderr[-3000:]
        assert "Traceback" not in stdout + stderr
        assert "SIGINT: stopping the crawl gracefully; the next nightly resumes it" in stdout
        db = store.open_db(out / "audit.db")
        first = store.get_run(db)
        assert first["status"] == "incomplete" and store.run_reason(first) == "interrupted"
        assert resume.persisted_queue(nightly.jobdir_for(out, first["id"]) / "national")
        lines: list[str] = []
        second = nightly.run_nightly(server.base_url, out, resume_only=True, quiet=True,
                                     echo=lines.append,
                                     audit_options={"portal_list": server.portal_list()})
    assert second is not None and second.resumed and second.run_id == first["id"]
    assert any(f"run {first['id']}: resuming the interrupted crawl" in x for x in lines)
    assert store.get_run(db, first["id"])["status"] == "complete"
    got = {(v["unit_code"], v["service_id"], v["criterion_id"]): (v["verdict"], v["reason"])
           for v in store.load_verdicts(db, first["id"])}
    assert got == expected_verdicts(scenario, load_rubric())


def test_a_crashed_crawl_child_leaves_the_run_interrupted(tmp_path: Path) -> None:
    out = tmp_path / "out"
    proc = start("demo", "--scenario", str(SMALL), "--out", str(out))
    try:
        wait_for(lambda: evidence_rows(out / "audit.db") > 5, "evidence", proc)
        [national] = children_with(proc.pid, "--spider national")
        os.kill(national, signal.SIGKILL)
        stdout, stderr = proc.communicate(timeout=DEADLINE)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 1, stderr[-3000:]
    assert "Traceback" not in stdout + stderr
    run = store.get_run(store.open_db(out / "audit.db"))
    assert run["status"] == "incomplete" and store.run_reason(run) == "interrupted"
    assert "national crawl exited with code -9" in run["note"]
    assert "national crawl exited with code -9" in banner(out)


def test_nothing_reachable_is_incomplete_with_no_coverage(tmp_path: Path) -> None:
    out = tmp_path / "out"
    proc = start("run", "--base", "http://127.0.0.1:9", "--out", str(out))
    stdout, stderr = proc.communicate(timeout=DEADLINE)
    assert proc.returncode == 5, stdout[-2000:] + stderr[-2000:]
    run = store.get_run(store.open_db(out / "audit.db"))
    assert run["status"] == "incomplete" and store.run_reason(run) == "no_coverage"
    assert "could not be read" in run["note"] and "127.0.0.1:9" in run["note"]
    for name in ("report.html", "units/01.html"):
        top = banner(out, name)
        assert "không đọc được đủ dữ liệu để kiểm tra" in top
        assert "http://127.0.0.1:9/api/" in top and "(refused)" in top
    assert (out / "summary.md").read_text(encoding="utf-8").startswith("> **")
    # a lower bar does not make an unread catalogue complete
    again = start("run", "--base", "http://127.0.0.1:9", "--out", str(out),
                  "--min-tested", "0")
    again.communicate(timeout=DEADLINE)
    assert again.returncode == 5


SILENT_PARENT = textwrap.dedent("""
    import sys, time
    from core import store
    from crawler import runner
    base, db_path = sys.argv[1], sys.argv[2]
    db = store.open_db(db_path)
    run_id = store.start_run(db, target=base, rubric_version="x", engine_version="0")
    runner.prestart("index766", base, db_path, run_id, quiet=True)
    launched = runner.launch("national", base, db_path, run_id, quiet=True)
    print(launched.child.pid, *[c.pid for c in runner._waiting.values()], flush=True)
    time.sleep(600)
""")


def test_crawl_children_die_with_their_parent(tmp_path: Path) -> None:
    """A crawl of a host that accepts connections and never answers would go on for minutes;
    its job is SIGKILLed: no crawl child is alive 5 s later."""
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(64)
    base = f"http://127.0.0.1:{silent.getsockname()[1]}"
    parent = subprocess.Popen([sys.executable, "-c", SILENT_PARENT, base,
                               str(tmp_path / "audit.db")], cwd=PROJECT, stdout=subprocess.PIPE,
                              text=True)
    try:
        pids = [int(p) for p in parent.stdout.readline().split()]
        assert len(pids) == 2
        time.sleep(4)  # both loaded; the launched one is crawling (waiting for an answer)
        assert all(alive(p) for p in pids)
        parent.kill()
        parent.wait()
        time.sleep(5)
        assert [p for p in pids if alive(p)] == []
    finally:
        for p in pids if "pids" in locals() else ():
            if alive(p):
                os.kill(p, signal.SIGKILL)
        silent.close()


def run_on_pty(args: list[str], timeout: float = DEADLINE) -> tuple[int, str]:
    """Run dvc-audit with a terminal as stdout and stderr (os.openpty); returns its exit code
    and everything it wrote there."""
    import select

    master, slave = os.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "app.cli", *args], cwd=PROJECT,
                            stdin=subprocess.DEVNULL, stdout=slave, stderr=slave,
                            env={**os.environ, "TERM": "xterm-256color", "COLUMNS": "120"})
    os.close(slave)
    chunks, end = [], time.monotonic() + timeout
    try:
        while time.monotonic() < end:
            ready, _, _ = select.select([master], [], [], 0.5)
            if ready:
                try:
                    data = os.read(master, 65536)
                except OSError:  # the terminal closed: the command ended
                    break
                if not data:
                    break
                chunks.append(data)
            elif proc.poll() is not None:
                break
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
        os.close(master)
    return proc.returncode, b"".join(chunks).decode("utf-8", errors="replace")


@pytest.mark.browser  # the small scenario's iGate portals, read whole
def test_progress_on_a_terminal_and_plain_lines_elsewhere(tmp_path: Path) -> None:
    code, screen = run_on_pty(["demo", "--scenario", str(SMALL), "--out",
                               str(tmp_path / "tty")])
    assert code == 0, screen[-3000:]
    for label in ("catalogue pages", "office lists", "portals visited"):
        assert label in screen
    assert "━" in screen and "\x1b[" in screen  # bars, redrawn in place
    assert "[scrapy" not in screen  # Scrapy's log went to its file
    log = next((tmp_path / "tty" / "logs").glob("run-*.log")).read_text(encoding="utf-8")
    assert "[scrapy.core.engine] INFO: Spider closed (finished)" in log

    piped = start("demo", "--scenario", str(SMALL), "--out", str(tmp_path / "pipe"))
    stdout, stderr = piped.communicate(timeout=DEADLINE)
    assert piped.returncode == 0, stderr[-3000:]
    plain = [x for x in stdout.splitlines() if x.startswith("progress: ")]
    assert plain and any("national portal" in x for x in plain)
    assert any("scoring and reports" in x for x in plain)
    assert all(re.search(r"office lists \d+/\d+, portals visited \d+/\d+"
                         r"(, site pages searched \d+)?; elapsed \d+:\d\d, "
                         r"remaining (\d+:\d\d|\?)$", x) for x in plain), plain
    assert "━" not in stdout + stderr and "\x1b[" not in stdout + stderr and "\r" not in stdout
    assert "[scrapy" not in stderr

    quiet = start("demo", "--scenario", str(SMALL), "--out", str(tmp_path / "quiet"),
                  "--quiet")
    stdout, _ = quiet.communicate(timeout=DEADLINE)
    assert quiet.returncode == 0 and "progress:" not in stdout
