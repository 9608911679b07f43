"""``python -m replica``: serve a scenario, generate the full scenario, print a scenario's truth,
record a run's detail answers."""

from __future__ import annotations

import argparse
import csv
import signal
import sqlite3
import sys
import threading
from pathlib import Path


def _load_rubric(path: str | None, scenario=None):
    from core.rubric import RUBRIC_DIR, load_rubric

    if path:
        return load_rubric(Path(path))
    if scenario is not None and scenario.rubric_dir():
        return load_rubric(scenario.rubric_dir())
    return load_rubric(RUBRIC_DIR)


def _interrupt(signum, frame):  # noqa: ARG001
    raise KeyboardInterrupt


def _serve(args: argparse.Namespace) -> int:
    from replica.scenario import load_scenario
    from replica.server import ReplicaServer

    scenario = load_scenario(args.scenario)
    server = ReplicaServer(scenario, host=args.host, port=args.port,
                           rubric=_load_rubric(args.rubric, scenario))
    server.start()
    signal.signal(signal.SIGTERM, _interrupt)
    if hasattr(signal, "SIGINT"):
        signal.signal(signal.SIGINT, _interrupt)  # also when started in the background
    try:  # a signal may come as soon as the URL is out: everything after it is inside
        print(server.base_url, flush=True)
        print(f"serving scenario {scenario.name!r} ({len(server.portal.items)} procedures, "
              f"{len(server.portal.office_rows)} office rows); Ctrl-C stops", file=sys.stderr,
              flush=True)
        for unit, url in sorted(server.portal_urls.items()):
            print(f"  portal {unit} ({server.sites[unit].platform}): {url}/", file=sys.stderr,
                  flush=True)
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    return 0


def _generate(args: argparse.Namespace) -> int:
    from replica.generate import write_full

    if args.real_scale:
        from replica.wards import write_real_scale

        text = write_real_scale(_load_rubric(args.rubric), Path(args.out), factor=args.scale,
                                seed=args.seed)
        print(f"wrote {args.out} ({len(text.encode())} bytes)")
        return 0
    text = write_full(_load_rubric(args.rubric), Path(args.out), seed=args.seed, total=args.total)
    print(f"wrote {args.out} ({len(text.encode())} bytes)")
    return 0


def _record(args: argparse.Namespace) -> int:
    from replica.recorded import write_recorded

    try:
        rec = write_recorded(Path(args.db), Path(args.out), args.run)
    except (ValueError, sqlite3.Error) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {len(rec.written)} recorded detail answers of run {rec.run_id} to {args.out}")
    for code, why in rec.skipped:
        print(f"  skipped {code}: {why}", file=sys.stderr)
    return 0


def _truth(args: argparse.Namespace) -> int:
    from replica.scenario import load_scenario
    from replica.truth import expected_verdicts, summary

    scenario = load_scenario(args.scenario)
    rubric = _load_rubric(args.rubric, scenario)
    verdicts = expected_verdicts(scenario, rubric)
    if args.findings:
        from replica.truth import expected_findings

        w = csv.writer(sys.stdout)
        w.writerow(["unit", "service", "kind", "national", "portal"])
        for (unit, service), row in sorted(expected_findings(scenario, rubric).items()):
            w.writerow([unit, service, *row])
        return 0
    if args.csv:
        w = csv.writer(sys.stdout)
        w.writerow(["unit", "service", "criterion", "verdict", "reason"])
        for (unit, service, criterion), (verdict, reason) in sorted(verdicts.items()):
            w.writerow([unit, service, criterion, verdict, reason])
    else:
        for (verdict, reason), n in sorted(summary(verdicts).items()):
            print(f"{n:6d}  {verdict:15s} {reason}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m replica",
                                     description="The national portal replica (docs/SCENARIOS.md).")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("serve", help="serve a scenario on 127.0.0.1 until Ctrl-C")
    p.add_argument("--scenario", required=True, help="scenario YAML file")
    p.add_argument("--port", type=int, default=0, help="port (default: a free one)")
    p.add_argument("--host", default="127.0.0.1", help="bind address (default 127.0.0.1)")
    p.add_argument("--rubric", help="rubric directory (default: the project's rubrics/)")
    p.set_defaults(func=_serve)

    p = sub.add_parser("generate", help="write the full scenario deterministically")
    p.add_argument("--rubric", default=None, help="rubric directory (default: rubrics/)")
    p.add_argument("--out", required=True, help="output YAML path")
    p.add_argument("--seed", type=int, default=2026)
    p.add_argument("--total", type=int, default=5670, help="catalogue size incl. filler")
    p.add_argument("--real-scale", action="store_true",
                   help="every province's real number of wards (replica/data/wards.yaml)")
    p.add_argument("--scale", type=float, default=1.0,
                   help="with --real-scale: multiply the ward counts (growth runs)")
    p.set_defaults(func=_generate)

    p = sub.add_parser("record", help="write a run's detail answers as recorded_details files")
    p.add_argument("--db", default="results/audit.db", help="results database")
    p.add_argument("--run", type=int, default=None,
                   help="run id (default: the latest run that read a detail)")
    p.add_argument("--out", required=True, help="directory for the <code>.json files")
    p.set_defaults(func=_record)

    p = sub.add_parser("truth", help="print a scenario's expected verdicts")
    p.add_argument("--scenario", required=True)
    p.add_argument("--rubric", default=None)
    p.add_argument("--csv", action="store_true", help="every cell as CSV instead of counts")
    p.add_argument("--findings", action="store_true",
                   help="the expected national-vs-portal findings as CSV instead")
    p.set_defaults(func=_truth)

    args = parser.parse_args(argv)
    from core.rubric import RubricError
    from replica.scenario import ScenarioError

    try:
        return args.func(args)
    except (ScenarioError, RubricError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
