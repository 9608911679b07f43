"""core/sqlite.py: sqlite-utils without pandas, in the job's process and each crawl's."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1]
PROBE = """
import json, sys
import {module}
loaded = "pandas" in sys.modules
import sqlite_utils.db
db = sqlite_utils.Database(memory=True)
db["t"].insert({{"name": "Hà Nội", "n": 1}})
import pandas  # still importable by other code
print(json.dumps([loaded, sqlite_utils.db.pd is None, db["t"].count, pandas.__name__]))
"""


def probe(module: str) -> list:
    done = subprocess.run([sys.executable, "-c", PROBE.format(module=module)], cwd=PROJECT,
                          capture_output=True, text=True, check=True, timeout=120)
    return json.loads(done.stdout.splitlines()[-1])


def test_the_job_and_a_crawl_load_the_store_without_pandas_which_stays_importable() -> None:
    for module in ("app.jobs", "crawler.runner", "reports.report"):
        assert probe(module) == [False, True, 1, "pandas"], module
