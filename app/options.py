"""Click options shared by the command modules (app/cli.py, app/cli_nightly.py, app/review.py),
defined once here because those modules import each other one way only."""

from __future__ import annotations

from pathlib import Path

import click

from core.rubric import RUBRIC_DIR

rubric_option = click.option("--rubric", "rubric_dir", type=click.Path(
    exists=True, file_okay=False, path_type=Path), default=RUBRIC_DIR, show_default=True,
    help="Rubric directory (YAML).")
