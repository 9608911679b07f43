"""Screenshots of the gap report for docs/REPORTS.md, written by the project, not by hand.

Builds a demo report (a scenario served by the replica on loopback and audited end to end, as
`dvc-audit demo` does; the small scenario by default) and writes one PNG per page at desk
(1280 px) and phone (390 px) width into docs/img/: the dashboard, a province page and an
agency page, each the top of the page (at most --height CSS pixels, so the PNGs stay small).

    uv run --frozen python scripts/screenshots.py [--scenario FILE] [--out DIR] [--height PX]

Tooling only: the report itself never starts a browser (it is static HTML with no script).
Chromium is found as the crawler finds it (crawler/browser.py, DVC_AUDIT_CHROMIUM).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from playwright.sync_api import sync_playwright

from app.jobs import run_audit
from crawler.browser import launch_options
from replica.scenario import load_scenario
from replica.server import ReplicaServer

PROJECT = Path(__file__).resolve().parents[1]
WIDTHS = {"desk": 1280, "phone": 390}
PAGES = {"dashboard": "report.html", "province": "units/01.html", "agency": "units/G01.html"}


def build_report(scenario: Path, out: Path) -> Path:
    """Audit the scenario's replica into `out`; the folder holding report.html."""
    with ReplicaServer(load_scenario(scenario)) as server:
        result = run_audit(server.base_url, out, scenario=str(scenario), echo=lambda _: None,
                           quiet=True, portal_list=server.portal_list())
    return result.reports["html"].parent


def shoot(report_dir: Path, target: Path, height: int) -> list[Path]:
    """One PNG per page and width: `<page>-<desk|phone>.png`."""
    target.mkdir(parents=True, exist_ok=True)
    written = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(**launch_options())
        try:
            for width_name, width in WIDTHS.items():
                page = browser.new_page(viewport={"width": width, "height": 900})
                for name, rel in PAGES.items():
                    page.goto((report_dir / rel).as_uri())
                    full = page.evaluate("document.documentElement.scrollHeight")
                    path = target / f"{name}-{width_name}.png"
                    page.screenshot(path=str(path), full_page=True, clip={
                        "x": 0, "y": 0, "width": width, "height": min(height, full)})
                    written.append(path)
                page.close()
        finally:
            browser.close()
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scenario", type=Path,
                        default=PROJECT / "replica" / "scenarios" / "small.yaml")
    parser.add_argument("--out", type=Path, default=PROJECT / "docs" / "img")
    parser.add_argument("--height", type=int, default=1600,
                        help="CSS pixels of each page's top to keep (default 1600)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="dvc-shots-") as tmp:
        report_dir = build_report(args.scenario, Path(tmp))
        paths = shoot(report_dir, args.out, args.height)
    total = sum(p.stat().st_size for p in paths)
    for p in paths:
        print(f"{p.relative_to(PROJECT) if p.is_relative_to(PROJECT) else p}"
              f"  {p.stat().st_size // 1024} KiB")
    print(f"{len(paths)} screenshots, {total // 1024} KiB in all")
    return 0


if __name__ == "__main__":
    sys.exit(main())
