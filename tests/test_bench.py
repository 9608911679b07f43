"""The benchmark's measures (bench/run.py), its replica's process (bench/replica_process.py)
and the crawl processes started ahead of their turn."""

from __future__ import annotations

import multiprocessing
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from types import SimpleNamespace

import pytest

from bench.replica_process import ReplicaProcess
from bench.run import _tree, floor_seconds, tree_memory
from crawler import runner

SMALL = Path(__file__).resolve().parents[1] / "replica" / "scenarios" / "small.yaml"


def test_tree_memory_counts_the_tree_by_pss():
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(5)"])
    try:
        time.sleep(0.3)
        pss, rss, kinds = tree_memory(os.getpid())
        alone, _, _ = tree_memory(child.pid)
        without = _tree(os.getpid(), exclude=(child.pid,))
    finally:
        child.kill()
        child.wait()
    assert 0 < pss <= rss  # shared pages count once in PSS, in each process in RSS
    assert 0 < alone < pss and sum(kinds.values()) == pss
    assert os.getpid() in without and child.pid not in without


@pytest.mark.slow  # starts a Python process serving a replica: a second or two
def test_the_replica_serves_from_a_process_the_audits_tree_leaves_out():
    with pytest.raises(KeyboardInterrupt), ReplicaProcess(SMALL) as server:
        replica = server.pid
        assert replica in server.pids and replica in _tree(os.getpid())  # a child of ours...
        with urllib.request.urlopen(server.base_url + "/robots.txt", timeout=10) as resp:
            assert resp.status == 200  # ...answering over HTTP on loopback
        assert [(r.site, r.path) for r in server.requests] == [("national", "/robots.txt")]
        assert server.requests[0].at > 0
        server.clear_requests()
        assert server.requests == []
        assert server.portal_list() and all(p["url"].startswith("http://127.")
                                            for p in server.portal_list())
        assert server.rows >= server.most_rows > 0
        audit, _, _ = tree_memory(os.getpid(), exclude=server.pids)
        whole, _, _ = tree_memory(os.getpid())
        alone, _, _ = tree_memory(replica)
        assert not set(server.pids) & set(_tree(os.getpid(), exclude=server.pids))
        assert whole - audit > alone / 2 > 0  # the replica's PSS is not in the audit's
        raise KeyboardInterrupt  # leaving the block on Ctrl-C stops the child too
    assert replica not in _tree(os.getpid())


@pytest.mark.slow
def test_a_replica_that_cannot_start_says_why_and_leaves_no_process():
    with pytest.raises(RuntimeError, match="could not start"), \
            ReplicaProcess(SMALL.with_name("no-such-scenario.yaml")):
        pass
    assert not multiprocessing.active_children()  # stopped and reaped


def test_floor_is_the_longer_chain_of_paced_requests():
    def req(site: str, path: str = "/x") -> SimpleNamespace:
        return SimpleNamespace(site=site, path=path)

    seeding = [req("national", "/robots.txt")] * 3 + [
        req("national", "/api/v1/submitting/formality/list-department-url-by-citizen")] * 4
    requests = seeding + [req("national", "/thu-tuc-hanh-chinh/x")] * 3 \
        + [req("national", "/api/v1/reporting/evaluation/service-results")] * 2 \
        + [req("01")] * 5 + [req("01", "/app.js")] * 50 + [req("02")] * 2
    chains, per_host = floor_seconds(requests, 0.5)
    # the national host: all 12 of its paced requests; a portal: after robots + 4 office lists
    assert chains == {"national host": 6.0, "seeding + busiest portal": 5.0}
    assert per_host["01"] == 5  # static files are not paced
    chains, _ = floor_seconds(requests + [req("01")] * 4, 0.5)
    assert max(chains.values()) == chains["seeding + busiest portal"] == 7.0


@pytest.mark.slow
def test_a_prestarted_crawl_that_is_not_needed_sends_nothing(tmp_path):
    args = ("national", "http://127.0.0.1:9", tmp_path / "audit.db", 1)
    runner.prestart(*args, quiet=True)
    (child,) = runner._waiting.values()
    runner.discard_prestarted()
    assert child.returncode == 0 and not runner._waiting
    assert not (tmp_path / "audit.db").exists()  # it never got as far as the database


def test_growth_table_and_database_size(tmp_path):
    from bench.run import db_bytes, growth_table

    (tmp_path / "audit.db").write_bytes(b"x" * 3000)
    (tmp_path / "audit.db-wal").write_bytes(b"x" * 1000)
    (tmp_path / "other.db").write_bytes(b"x" * 5000)
    assert db_bytes(tmp_path / "audit.db") == 4000  # the database and its WAL, nothing else
    mib = 2**20
    runs = {1.0: {"rows": 20469, "wall": 100.0, "floor": 40.0, "peak": 1000 * mib,
                  "db": 50 * mib},
            10.0: {"rows": 204690, "wall": 400.0, "floor": 200.0, "peak": 1500 * mib,
                   "db": 500 * mib}}
    header, one, ten = growth_table(runs)
    assert "office rows" in header and "DB MiB" in header
    assert "20,469" in one and "2.50" in one and "(1.00)" in one
    assert "204,690" in ten and "(4.0)" in ten and "2.00" in ten and "(1.50)" in ten \
        and "(10.0)" in ten
def test_cpu_load_busies_every_core_and_ends_by_itself():
    from bench.run import CpuLoad

    start = time.monotonic()
    with CpuLoad(seconds=30, cores=2) as load:
        time.sleep(0.5)
        assert [p.poll() for p in load.procs] == [None, None]  # busy
        busy = [int(open(f"/proc/{p.pid}/stat").read().rsplit(")", 1)[1].split()[11])
                for p in load.procs]  # utime, in clock ticks
        assert all(ticks > 0 for ticks in busy), busy
    assert all(p.returncode is not None for p in load.procs)  # stopped on leaving
    assert time.monotonic() - start < 10
    with CpuLoad(seconds=0.2, cores=1) as load:  # bounded: ends by itself
        load.procs[0].wait(timeout=10)
        assert load.procs[0].returncode == 0
