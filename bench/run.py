"""Benchmark: audit the full scenario on the replica under per-host politeness limits.

    uv run python bench/run.py [--scenario FILE] [--delay SECONDS] [--out DIR]

Prints, for a first run and then a re-run with nothing changed (same output directory, so the
HTTP caches the first run left are revalidated, never trusted blindly):

- pages fetched (API and portal pages; browser pages apart; answers "304 Not Modified" apart);
- wall time and CPU time (this process and the crawl processes it ran; not the replica's);
- peak memory of the audit's process tree, as PSS (proportional set size, the "Pss:" line of
  /proc/<pid>/smaps_rollup, summed over the process and all its descendants): a page shared by
  N processes counts 1/N in each, so Chromium's processes (which share most of their code and
  much of their data) and Python's are not double-counted. This is the headline figure. The
  audit's tree is this process (the job: it orchestrates the crawls, then scores and writes the
  reports) and its descendants, less the replica: on a real night the portals are remote, so
  their data is not on the audit's machine. The replica serves from a child process of its own
  (bench/replica_process.py), which the tree leaves out with its descendants and the resource
  tracker multiprocessing starts beside it; their peak PSS is printed apart, as the replica's.
  Summed RSS (which double-counts shared pages) is printed too, for comparison with older
  numbers; where smaps_rollup cannot be read a process's RSS stands in for its PSS. The
  breakdown at the PSS peak splits the tree into this process (orchestrator and scoring), the
  crawler's Python processes, Playwright's driver and Chromium's browser / renderer / GPU /
  utility / zygote processes;
- the politeness floor: the least time the configured per-host limits allow (one request at a
  time per host, the delay apart). The national host is asked by four crawls one after
  another (the national API, the 766 figures, its HTML procedure pages: national_pages, once
  the provincial crawl has ended; then the UN survey's site search of the national portal); the
  provincial crawl runs beside the first two, visiting each portal once the national crawl has
  stored an office row naming it (crawler/phases.py), and the site search searches the portals
  beside the national pages' crawl. So the floor is the longer of two chains: every paced
  request to the national host; and the national crawl's seeding requests (robots.txt, province
  list, catalogue, office lists) followed by the busiest portal's requests (the provincial
  crawl's and the site search's). That second
  chain over-states a portal's wait (a portal starts once its first office row is stored): on
  the full scenario it is the shorter (17.5 s against 35.2 s), so it does not set the floor.
  Static files (.js, .css, ...) that a browser fetches for a page are not counted; robots.txt
  and revalidations answered 304 are (each is a paced request). wall/floor is the ratio to it;
- per phase: its wall time (child process start to exit, and when that was from the start of
  the first), the crawl proper (Scrapy's elapsed_time_seconds), the rest of the child (Python
  start-up, imports, browser launch and shutdown); then scoring and report writing, with this
  process's peak PSS while it ran (scoring runs here);
- after the re-run: its wall time over the first run's, beside its floor over the first run's
  wall time (a re-run that asks every page again cannot take less than its floor), and whether
  the verdict totals are the same;
- a first run under CPU load (unless --no-load): the benchmark starts one busy process per
  core (a spin loop that ends by itself after --load-seconds at most, and is stopped when the
  run ends), audits the scenario again into a fresh output directory, and prints its "could not
  test" count next to the idle run's and the scenario's truth (issue 15: verdicts must not
  depend on the machine being idle);
- then a third run, again with nothing changed, with a reuse window (`--reuse-within`, default
  1 h; README "Re-runs"): good answers and fault-free portals the earlier runs read are reused
  without asking, only what failed is asked again. Its ratio to the first run, the answers and
  portals it reused, and whether the verdict totals are the same.

Then, beside the full scenario, the real-scale scenario (`--scales`, default 1,3,10;
docs/PERFORMANCE.md "Performance at real scale"): every province's real number of wards
(replica/data/wards.yaml), times each factor, so a ward-level procedure has thousands of office rows
(x1: 20,469 office rows in all; the full scenario has 1,148) and its office list pages. One first
run per factor, each in its own output directory and replica, and a table of how the rows, wall
time, politeness floor, peak PSS and database size (audit.db with its WAL) grow with the factor.
`--real-only` skips the full scenario's runs; `--scales ""` skips the real-scale ones.

Not a test: numbers depend on the machine; record them in docs/PERFORMANCE.md.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Collection
from datetime import timedelta
from pathlib import Path

from app.jobs import run_audit
from bench.replica_process import ReplicaProcess, cmdline
from crawler.spiders.national import API
from replica.scenario import load_scenario

PROJECT = Path(__file__).resolve().parents[1]
STATIC = (".js", ".css", ".ico", ".png", ".woff", ".woff2", ".svg")
PAGE = os.sysconf("SC_PAGE_SIZE")
PHASES = ("national", "provincial", "index766", "national_pages", "sites")


def _tree(root: int, exclude: Collection[int] = ()) -> list[int]:
    """`root` and all its descendants, from /proc, less the processes of `exclude` and their
    descendants."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as fh:
                ppid = int(fh.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(entry))
    out, stack = [], [root]
    while stack:
        pid = stack.pop()
        if pid in exclude:
            continue
        out.append(pid)
        stack.extend(children.get(pid, []))
    return out


def _memory(pid: int) -> tuple[int, int] | None:
    """(PSS, RSS) of one process in bytes; PSS falls back to RSS where smaps is unreadable."""
    try:
        with open(f"/proc/{pid}/statm") as fh:
            rss = int(fh.read().split()[1]) * PAGE
    except (OSError, IndexError, ValueError):
        return None
    try:
        with open(f"/proc/{pid}/smaps_rollup") as fh:
            for line in fh:
                if line.startswith("Pss:"):
                    return int(line.split()[1]) * 1024, rss
    except OSError:
        pass
    return rss, rss


OWN = "orchestrator and scoring"  # this process: the job (crawls started, scores, reports)


def _kind(pid: int, root: int) -> str:
    if pid == root:
        return OWN
    argv = cmdline(pid).split(b"\0")
    cmd = b" ".join(argv)  # Chromium's children rewrite theirs into one string
    if b"crawler.runner" in cmd:
        return "python crawler"
    if b"chrom" in argv[0].lower():
        kind = re.search(rb"--type=([a-z-]+)", cmd)
        return "chromium " + (kind.group(1).decode() if kind else "browser")
    if b"node" in argv[0] or b"playwright" in cmd:
        return "playwright driver"
    return "other"


def tree_memory(root: int, exclude: Collection[int] = ()) -> tuple[int, int, Counter]:
    """(PSS, RSS, PSS by kind of process) of `root` and all its descendants, less `exclude`
    and theirs (the replica's process)."""
    pss = rss = 0
    kinds: Counter = Counter()
    for pid in _tree(root, exclude):
        m = _memory(pid)
        if m is None:
            continue
        pss, rss = pss + m[0], rss + m[1]
        kinds[_kind(pid, root)] += m[0]
    return pss, rss, kinds


class PeakMemory(threading.Thread):
    """The audit's tree (this process and its descendants, less the `replica` processes and
    their descendants) sampled until `done`: its PSS and summed-RSS peaks, and the replica's PSS
    peak apart."""

    # Reading smaps_rollup of the whole tree costs CPU the audit also needs (2 cores): once a
    # second is enough for a peak that lasts as long as pages are open.
    def __init__(self, interval: float = 1.0, replica: Collection[int] = (),
                 others: Collection[int] = ()) -> None:
        super().__init__(daemon=True)
        self.interval, self.done = interval, threading.Event()
        self.replica = tuple(replica)
        self.outside = (*self.replica, *others)  # not the audit's: the replica, the busy load
        self.peak_pss = self.peak_rss = 0
        self.peak_time = 0.0  # wall time of the PSS peak
        self.peak_replica = 0  # the replica's process (and any descendant), not the audit's
        self.at_peak: Counter = Counter()
        self.own: list[tuple[float, int]] = []  # (wall time, this process's PSS) each sample

    def run(self) -> None:
        while not self.done.is_set():
            pss, rss, kinds = tree_memory(os.getpid(), exclude=self.outside)
            if pss > self.peak_pss:
                self.peak_pss, self.at_peak, self.peak_time = pss, kinds, time.time()
            self.peak_rss = max(self.peak_rss, rss)
            self.peak_replica = max(self.peak_replica,
                                    sum(tree_memory(pid)[0] for pid in self.replica))
            self.own.append((time.time(), kinds[OWN]))
            self.done.wait(self.interval)

    def own_peak(self, span: tuple[float, float] | None) -> int:
        """This process's peak PSS within a wall-time span (the scoring phase: evaluation,
        scores and reports run in this process), 0 when no sample fell in it."""
        if not span:
            return 0
        return max((pss for t, pss in self.own if span[0] <= t <= span[1]), default=0)


# The national crawl's requests whose answers name the portals (crawler/phases.py): the province
# list, the catalogue and the office lists, after robots.txt.
SEEDING = frozenset(API[k] for k in ("provinces", "catalogue", "offices"))


def floor_seconds(requests: list, delay: float) -> tuple[dict[str, float], Counter]:
    """The least time the per-host limits allow, as the longest of two chains of paced
    requests (one at a time per host, `delay` apart): every request to the national host (the
    national, 766 and provincial crawls all ask it), and the national crawl's seeding requests
    followed by the busiest portal's requests (this one over-states a portal's wait: a portal
    starts once its first office row is stored, not its last). Static files are not counted."""
    paced = [r for r in requests if not r.path.endswith(STATIC)]
    per_host = Counter(r.site for r in paced)
    national = [r.path for r in paced if r.site == "national"]
    # each crawl asks robots.txt once; the national crawl's is the first
    seeding = sum(path in SEEDING for path in national) + ("/robots.txt" in national)
    busiest = max((n for site, n in per_host.items() if site != "national"), default=0)
    chains = {"national host": per_host.get("national", 0) * delay,
              "seeding + busiest portal": (seeding + busiest) * delay}
    return chains, per_host


def _crawl_stats(db_path: Path, run_id: int) -> dict[str, dict]:
    """Each phase's Scrapy stats, as stored with the run (national on top, others nested)."""
    with sqlite3.connect(db_path) as db:
        row = db.execute("SELECT stats FROM runs WHERE id = ?", (run_id,)).fetchone()
    stats = json.loads(row[0] or "{}") if row else {}
    return {"national": stats, "provincial": stats.get("provincial") or {},
            "index766": stats.get("index766") or {},
            "national_pages": stats.get("national_pages") or {},
            "sites": stats.get("site") or {}}


def one_run(server: ReplicaProcess, scenario: Path, out: Path, delay: float,
            reuse: timedelta = timedelta(0), load: Collection[int] = ()) -> dict:
    overrides = {"DOWNLOAD_DELAY": delay, "DOWNLOAD_DELAY_JITTER": 0,
                 "CONCURRENT_REQUESTS_PER_DOMAIN": 1, "AUTOTHROTTLE_ENABLED": False}
    memory = PeakMemory(replica=server.pids, others=load)
    server.clear_requests()
    memory.start()
    cpu0 = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.monotonic()
    result = run_audit(server.base_url, out, scenario=str(scenario), overrides=overrides,
                       portal_list=server.portal_list(), echo=lambda _: None, quiet=True,
                       reuse_within=reuse)
    wall = time.monotonic() - start
    cpu1 = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    memory.done.set()
    memory.join()
    requests = server.requests
    cpu = sum(b.ru_utime + b.ru_stime - a.ru_utime - a.ru_stime
              for a, b in zip(cpu0, cpu1, strict=True))
    timings = getattr(result, "timings", {}) or {}
    floors, per_host = floor_seconds(requests, delay)
    # Chromium fetches a page's scripts itself: those requests mark the browser pages.
    browser = sum(1 for r in requests if r.site != "national" and r.path.endswith(".js"))
    stats = _crawl_stats(result.db_path, result.run_id)
    crawl = {ph: float(st.get("elapsed_time_seconds") or 0.0) for ph, st in stats.items()}
    return {"status": result.status, "wall": wall, "cpu": cpu, "peak": memory.peak_pss,
            "scoring_peak": memory.own_peak(timings.get("scoring_span")),
            "peak_rss": memory.peak_rss, "at_peak": memory.at_peak,
            "peak_time": memory.peak_time, "replica_peak": memory.peak_replica,
            "floor": max(floors.values()), "floors": floors, "timings": timings,
            "crawl": crawl, "pages": sum(per_host.values()), "browser": browser,
            # the replica logs the answer it computed; the crawler's cache counts the 304s
            "not_modified": sum(int(st.get("httpcache/revalidate") or 0)
                                for st in stats.values()),
            "reused": sum(int(st.get("httpcache/hit") or 0) for st in stats.values()),
            "portals_reused": int(stats["provincial"].get("provincial/portals_reused") or 0),
            "render_retries": sum(int(stats[ph].get(f"{ph}/render_retries") or 0)
                                  for ph in ("provincial", "national_pages")),
            "hosts": len(per_host), "totals": dict(result.totals)}


def db_bytes(db_path: Path) -> int:
    """The results database on disk: the file and its WAL and shared-memory files."""
    return sum(p.stat().st_size for p in db_path.parent.glob(db_path.name + "*") if p.is_file())


def scale_run(factor: float, delay: float) -> dict:
    """One first run of the real-scale scenario x `factor`, in a directory and a replica of its
    own (the replica's process builds the scenario from the factor)."""
    path = f"real_scale_x{factor:g}.yaml"
    out = Path(tempfile.mkdtemp(prefix=f"dvc-bench-x{factor:g}-"))
    try:
        with ReplicaProcess(factor=factor, path=path) as server:
            m = one_run(server, Path(path), out, delay)
            m["rows"], m["most_rows"] = server.rows, server.most_rows
        m["db"] = db_bytes(out / "audit.db")
        return m
    finally:
        shutil.rmtree(out, ignore_errors=True)


def growth_table(runs: dict[float, dict]) -> list[str]:
    """How each measure grows with the factor, beside its ratio to the smallest factor."""
    mib = 2**20
    base = runs[min(runs)]
    lines = [f"  {'scale':>5} {'office rows':>11} {'wall s':>9} {'floor s':>8} {'w/floor':>7} "
             f"{'peak PSS MiB':>14} {'DB MiB':>12}"]
    for factor, m in sorted(runs.items()):
        ratio = m["wall"] / m["floor"] if m["floor"] else float("inf")
        lines.append(
            f"  x{factor:<4g} {m['rows']:>11,} {m['wall']:>5.1f} ({m['wall'] / base['wall']:.1f})"
            f" {m['floor']:>8.1f} {ratio:>7.2f} {m['peak'] / mib:>7.0f} "
            f"({m['peak'] / base['peak']:.2f}) {m['db'] / mib:>6.1f} ({m['db'] / base['db']:.1f})")
    return lines


def show(title: str, m: dict) -> None:
    ratio = m["wall"] / m["floor"] if m["floor"] else float("inf")
    mib = 2**20
    print(f"{title}: {m['status']}")
    print(f"  pages fetched      {m['pages']} on {m['hosts']} hosts "
          f"({m['browser']} requests from the browser; {m['not_modified']} answered 304)")
    if m["reused"] or m["portals_reused"]:
        print(f"  reused, not asked  {m['reused']} answers; {m['portals_reused']} portals' "
              f"evidence")
    print(f"  wall time          {m['wall']:.1f} s")
    print(f"  CPU time           {m['cpu']:.1f} s")
    t = m["timings"]
    start = min((t[f"{ph}_span"][0] for ph in PHASES if f"{ph}_span" in t), default=0.0)
    print(f"  peak memory (tree) {m['peak'] / mib:.0f} MiB PSS at {m['peak_time'] - start:.0f} s "
          f"(summed RSS peak {m['peak_rss'] / mib:.0f} MiB; the audit's processes, not the "
          f"replica's)")
    for kind, pss in m["at_peak"].most_common():
        print(f"    {kind:<26} {pss / mib:6.0f} MiB")
    print(f"  replica (not the audit) {m['replica_peak'] / mib:.0f} MiB PSS at its peak "
          f"(its own process, left out of the tree)")
    print(f"  politeness floor   {m['floor']:.1f} s   wall/floor {ratio:.2f}")
    for chain, seconds in m["floors"].items():
        print(f"    {chain:<26} {seconds:6.1f} s")
    for ph in PHASES:
        if ph not in t:
            continue
        crawl = m["crawl"].get(ph, 0.0)
        begin, end = (x - start for x in t[f"{ph}_span"])
        print(f"    {ph:<14} {t[ph]:6.1f} s  (from {begin:4.1f} to {end:5.1f} s; crawl "
              f"{crawl:5.1f} s, start-up/shutdown {t[ph] - crawl:4.1f} s)")
    if "scoring" in t:
        print(f"    {'scoring':<14} {t['scoring']:6.1f} s  (evaluate, store, reports; this "
              f"process's peak PSS meanwhile {m.get('scoring_peak', 0) / mib:.0f} MiB)")


# One busy process: spins until its deadline (so it ends by itself even if nobody stops it).
SPIN = "import time\nend = time.monotonic() + {seconds}\nwhile time.monotonic() < end: pass\n"


class CpuLoad:
    """`per_core` busy processes on every core, for at most `seconds`, stopped on leaving the
    block."""

    def __init__(self, seconds: float, cores: int | None = None, per_core: int = 1) -> None:
        self.seconds, self.cores = seconds, cores or os.cpu_count() or 1
        self.count = self.cores * max(1, per_core)
        self.procs: list[subprocess.Popen] = []

    def __enter__(self) -> CpuLoad:
        code = SPIN.format(seconds=float(self.seconds))
        self.procs = [subprocess.Popen([sys.executable, "-c", code]) for _ in range(self.count)]
        return self

    @property
    def pids(self) -> list[int]:
        return [proc.pid for proc in self.procs]

    def __exit__(self, *exc: object) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.terminate()
        for proc in self.procs:
            proc.wait()


def could_not_test(m: dict) -> int:
    return int(m["totals"].get("cannot_test", 0))


def show_load(idle: dict, loaded: dict, truth: int, cores: int) -> None:
    print(f"  could not test     idle {could_not_test(idle)}, under load "
          f"{could_not_test(loaded)} ({cores} busy processes), truth {truth}")
    print(f"  render retries     {loaded.get('render_retries', 0)} under load, "
          f"{idle.get('render_retries', 0)} idle")


def truth_cannot_test(scenario: Path) -> int:
    from core.rubric import load_rubric
    from replica.truth import expected_verdicts

    s = load_scenario(scenario)
    rubric = load_rubric(s.rubric_dir()) if s.rubric_dir() else load_rubric()
    return sum(1 for v in expected_verdicts(s, rubric).values() if v[0] == "cannot_test")


def _same(first: dict, rerun: dict) -> None:
    same = "same" if first["totals"] == rerun["totals"] else "DIFFERENT"
    print(f"  verdict totals     {same} as the first run ({first['totals']})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scenario", type=Path,
                        default=PROJECT / "replica" / "scenarios" / "full.yaml")
    parser.add_argument("--delay", type=float, default=0.1,
                        help="per-host delay between requests, seconds (default 0.1)")
    parser.add_argument("--out", type=Path, default=None,
                        help="output directory (default: a temporary one, removed after)")
    parser.add_argument("--once", action="store_true", help="skip the unchanged re-runs")
    parser.add_argument("--no-load", action="store_true", help="skip the run under CPU load")
    parser.add_argument("--load-per-core", type=int, default=1,
                        help="busy processes per core in the loaded run (default 1)")
    parser.add_argument("--load-seconds", type=float, default=300.0,
                        help="the busy processes end by themselves after this (default 300)")
    parser.add_argument("--reuse-within", type=float, default=1.0, metavar="HOURS",
                        help="the third run's reuse window (default 1 h; 0 skips that run)")
    parser.add_argument("--scales", default="1,3,10",
                        help="real-scale factors to run, comma-separated (\"\" skips them)")
    parser.add_argument("--real-only", action="store_true",
                        help="only the real-scale runs, not the full scenario's")
    args = parser.parse_args()
    if not args.real_only:
        full_runs(args)
    scales = [float(x) for x in args.scales.split(",") if x.strip()]
    if scales:
        real_scale_runs(scales, args.delay)


def real_scale_runs(scales: list[float], delay: float) -> None:
    runs: dict[float, dict] = {}
    for factor in scales:
        runs[factor] = m = scale_run(factor, delay)
        show(f"real scale x{factor:g} ({m['rows']:,} office rows; the most for one "
             f"procedure {m['most_rows']:,}; database {m['db'] / 2**20:.1f} MiB)", m)
        print(f"  verdict totals     {({str(k): n for k, n in sorted(m['totals'].items())})}")
    print("growth with the rows (ratio to the smallest factor in brackets):")
    print("\n".join(growth_table(runs)))


def full_runs(args: argparse.Namespace) -> None:
    out = args.out or Path(tempfile.mkdtemp(prefix="dvc-bench-"))
    # One replica for both runs: same addresses and ports, so the re-run asks for the very same
    # URLs (an HTTP cache is keyed by URL) of portals whose content has not changed.
    try:
        with ReplicaProcess(args.scenario) as server:
            first = one_run(server, args.scenario, out, args.delay)
            show("first run", first)
            if not args.no_load:
                with CpuLoad(args.load_seconds, per_core=args.load_per_core) as load:
                    loaded = one_run(server, args.scenario, out / "loaded", args.delay,
                                     load=load.pids)
                show(f"first run under load ({load.count} busy processes)", loaded)
                show_load(first, loaded, truth_cannot_test(args.scenario), load.count)
            if args.once:
                return
            second = one_run(server, args.scenario, out, args.delay)
            show("unchanged re-run", second)
            print(f"  re-run / first     {second['wall'] / first['wall']:.2f}  (its floor alone: "
                  f"{second['floor'] / first['wall']:.2f}, the least a re-run that asks every "
                  f"page again can take)")
            _same(first, second)
            if args.reuse_within <= 0:
                return
            third = one_run(server, args.scenario, out, args.delay,
                            timedelta(hours=args.reuse_within))
            show(f"unchanged re-run reusing what is younger than {args.reuse_within:g} h", third)
            print(f"  re-run / first     {third['wall'] / first['wall']:.2f}")
            _same(first, third)
    finally:
        if args.out is None:
            shutil.rmtree(out, ignore_errors=True)


if __name__ == "__main__":
    main()
