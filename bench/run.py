"""Benchmark: audit the full scenario on the replica under per-host politeness limits.

    uv run python bench/run.py [--scenario FILE] [--delay SECONDS] [--out DIR]

Prints pages fetched (API and portal pages, browser pages apart), wall time, CPU time, peak
memory of the whole process tree, and the politeness floor: the least time the configured
per-host limits allow (per crawl phase, the busiest host's requests x delay, one at a time),
with wall/floor. Then runs again with nothing changed and prints the ratio to the first run.
Not a test: numbers depend on the machine; record them in the README's performance section.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

from audits.jobs import run_audit
from replica.scenario import load_scenario
from replica.server import ReplicaServer

PROJECT = Path(__file__).resolve().parents[1]
STATIC = (".js", ".css", ".ico", ".png", ".woff", ".woff2", ".svg")


def tree_rss(root: int) -> int:
    """Resident memory (bytes) of `root` and all its descendants, read from /proc."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        pid, ppid = int(entry), int(fields[1])
        children.setdefault(ppid, []).append(pid)
        rss[pid] = int(fields[21]) * os.sysconf("SC_PAGE_SIZE")
    total, stack = 0, [root]
    while stack:
        pid = stack.pop()
        total += rss.get(pid, 0)
        stack.extend(children.get(pid, []))
    return total


class PeakMemory(threading.Thread):
    def __init__(self, interval: float = 0.2) -> None:
        super().__init__(daemon=True)
        self.interval, self.peak, self.done = interval, 0, threading.Event()

    def run(self) -> None:
        while not self.done.is_set():
            self.peak = max(self.peak, tree_rss(os.getpid()))
            self.done.wait(self.interval)


def phase(path: str, site: str) -> str:
    if site != "national":
        return "provincial"
    return "index766" if path.startswith("/api/v1/reporting/") else "national"


def floor_seconds(requests: list, delay: float) -> tuple[float, Counter]:
    """Per phase, the busiest host's paced requests x delay; phases run one after another."""
    per_host: Counter = Counter()
    for r in requests:
        if not r.path.endswith(STATIC):
            per_host[(phase(r.path, r.site), r.site)] += 1
    busiest: dict[str, int] = {}
    for (ph, _), n in per_host.items():
        busiest[ph] = max(busiest.get(ph, 0), n)
    return sum(n * delay for n in busiest.values()), per_host


def one_run(scenario: Path, out: Path, delay: float) -> dict:
    overrides = {"DOWNLOAD_DELAY": delay, "DOWNLOAD_DELAY_JITTER": 0,
                 "CONCURRENT_REQUESTS_PER_DOMAIN": 1, "AUTOTHROTTLE_ENABLED": False}
    memory = PeakMemory()
    with ReplicaServer(load_scenario(scenario)) as server:
        memory.start()
        cpu0 = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(
            resource.RUSAGE_CHILDREN)
        start = time.monotonic()
        result = run_audit(server.base_url, out, scenario=str(scenario), overrides=overrides,
                           portal_list=server.portal_list(), echo=lambda _: None, quiet=True)
        wall = time.monotonic() - start
        cpu1 = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(
            resource.RUSAGE_CHILDREN)
        memory.done.set()
        memory.join()
        requests = server.requests
    cpu = sum(b.ru_utime + b.ru_stime - a.ru_utime - a.ru_stime
              for a, b in zip(cpu0, cpu1, strict=True))
    floor, per_host = floor_seconds(requests, delay)
    # Chromium fetches a page's scripts itself: those requests mark the browser pages.
    browser = sum(1 for r in requests if r.site != "national" and r.path.endswith(".js"))
    return {"status": result.status, "wall": wall, "cpu": cpu, "peak": memory.peak,
            "floor": floor, "pages": sum(per_host.values()), "browser": browser,
            "hosts": len({site for _, site in per_host})}


def show(title: str, m: dict) -> None:
    ratio = m["wall"] / m["floor"] if m["floor"] else float("inf")
    print(f"{title}: {m['status']}")
    print(f"  pages fetched      {m['pages']} on {m['hosts']} hosts "
          f"({m['browser']} requests from the browser)")
    print(f"  wall time          {m['wall']:.1f} s")
    print(f"  CPU time           {m['cpu']:.1f} s")
    print(f"  peak memory (tree) {m['peak'] / 2**20:.0f} MiB")
    print(f"  politeness floor   {m['floor']:.1f} s   wall/floor {ratio:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scenario", type=Path,
                        default=PROJECT / "replica" / "scenarios" / "full.yaml")
    parser.add_argument("--delay", type=float, default=0.1,
                        help="per-host delay between requests, seconds (default 0.1)")
    parser.add_argument("--out", type=Path, default=None,
                        help="output directory (default: a temporary one, removed after)")
    args = parser.parse_args()
    out = args.out or Path(tempfile.mkdtemp(prefix="dvc-bench-"))
    try:
        first = one_run(args.scenario, out, args.delay)
        show("first run", first)
        second = one_run(args.scenario, out, args.delay)
        show("unchanged re-run", second)
        print(f"  re-run / first     {second['wall'] / first['wall']:.2f}")
    finally:
        if args.out is None:
            shutil.rmtree(out, ignore_errors=True)


if __name__ == "__main__":
    main()
