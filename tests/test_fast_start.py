"""`dvc-audit rubric check`, `rubric test` and `--help` of a light command start fast (issue 17,
the fast loop runs the first two on every `scripts/test`): app/cli.py imports the heavy
libraries only in the commands that need them, and the other commands' modules only when one
of them runs (its LazyGroup). A top-level import of one of them shows here, named."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1]
HEAVY = ("scrapy", "twisted", "playwright", "sqlite_utils", "pandas", "numpy", "openpyxl",
         "jinja2", "app.jobs", "app.engines", "app.cli_nightly", "app.review", "reports",
         "crawler")
LOADED = """
import json, sys
from click.testing import CliRunner
from app.cli import main
out = []
for args in json.loads(sys.argv[1]):
    result = CliRunner().invoke(main, args)
    out.append([result.exit_code, result.output, sorted(sys.modules)])
print(json.dumps(out))
"""
LIGHT = (("rubric", "check"), ("rubric", "test"), ("rubric", "--help"), ("demo", "--help"),
         ("--version",))


def modules_after(*commands: tuple[str, ...]) -> list[tuple[int, str, set[str]]]:
    """`dvc-audit ARGS` of each command, one after the other in a fresh interpreter: the exit
    code, the output and the modules loaded so far, after each."""
    done = subprocess.run([sys.executable, "-c", LOADED, json.dumps(commands)], cwd=PROJECT,
                          capture_output=True, text=True, check=True, timeout=120)
    return [(code, output, set(names))
            for code, output, names in json.loads(done.stdout.splitlines()[-1])]


def heavy(loaded: set[str]) -> list[str]:
    return sorted(m for m in loaded if m in HEAVY or m.split(".")[0] in HEAVY)


def test_light_commands_import_no_heavy_library() -> None:
    """One interpreter for them all (each start costs a fraction of a second of the loop)."""
    for args, (code, output, loaded) in zip(LIGHT, modules_after(*LIGHT), strict=True):
        assert code == 0, (args, output)
        assert "app.cli" in loaded  # the probe itself works
        assert heavy(loaded) == [], f"`dvc-audit {' '.join(args)}` imported them"


def test_database_commands_load_what_they_need_and_fail_in_one_line(tmp_path: Path) -> None:
    """The lazy commands are still there: `history` loads its module (and the store); the
    group still turns the store's DatabaseError into one line without importing the store
    itself (app/cli.py `_store_errors`): `report` of a file that is not a database."""
    bad = tmp_path / "audit.db"
    bad.write_text("not sqlite", encoding="utf-8")
    history, report = modules_after(("history", "--db", str(tmp_path / "none.db")),
                                    ("report", "--db", str(bad), "--out", str(tmp_path)))
    code, output, loaded = history
    assert (code, output) == (1, f"Error: no results database at {tmp_path / 'none.db'}\n")
    assert {"app.cli_nightly", "sqlite_utils", "core.store"} <= loaded
    code, output, _ = report
    assert code == 1
    assert output.startswith(f"Error: {bad}") and output.count("\n") == 1, output


# What a crawl process loads of its settings' components, as Scrapy does: every key of each
# setting and its base, then each enabled component.
CRAWL_COMPONENTS = """
import sys
from scrapy.utils.conf import build_component_list
from scrapy.utils.misc import load_object
from crawler.runner import build_settings
settings = build_settings("http://127.0.0.1:9", sys.argv[1], 1)
loaded = []
for name in ("EXTENSIONS", "DOWNLOADER_MIDDLEWARES", "SPIDER_MIDDLEWARES", "ITEM_PIPELINES"):
    loaded += [load_object(path).__name__
               for path in build_component_list(settings.getwithbase(name))]
print(" ".join(loaded))
print(" ".join(sorted(m for m in ("aiohttp", "tldextract", "twisted.conch") if m in sys.modules)))
"""


def test_a_crawl_imports_no_component_it_never_enables(tmp_path: Path) -> None:
    """Scrapy's remote control (aiohttp), telnet console and cookies middleware (tldextract and
    requests) are never enabled here; loading them cost each crawl 0.1 s before its first
    request (crawler/settings.py). The components the crawl does use are still loaded."""
    done = subprocess.run([sys.executable, "-c", CRAWL_COMPONENTS, str(tmp_path / "a.db")],
                          cwd=PROJECT, capture_output=True, text=True, check=True, timeout=120)
    components, unwanted = (done.stdout.splitlines() + ["", ""])[:2]
    assert {"CoreStats", "StorePipeline", "HostGuardMiddleware", "AnnounceDone",
            "RevalidatingCacheMiddleware"} <= set(components.split())
    assert "CookiesMiddleware" not in components.split()
    assert unwanted == ""
