"""Where the real captured responses live (../shared beside the repository), read in place."""

from __future__ import annotations

from pathlib import Path

import pytest

SHARED = Path(__file__).resolve().parents[2] / "shared"
PORTALS = SHARED / "research" / "portals"
DVCQG = PORTALS / "dvcqg_new"


def require(path: Path) -> Path:
    """The path, or skip: the real data is not shipped with the project."""
    if not path.exists():
        pytest.skip(f"real data not available at {path} (../shared beside the repository)")
    return path
