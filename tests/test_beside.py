"""reports/beside.py: a part of the reports written by a forked child beside the rest."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from reports.beside import BesideError, beside


def _write_pid(path: Path, text: str) -> None:
    path.write_text(f"{text} {os.getpid()}", encoding="utf-8")


def test_the_part_is_written_by_another_process_before_the_block_returns(tmp_path: Path):
    target = tmp_path / "part.txt"
    with beside(_write_pid, target, "xuất tệp"):
        (tmp_path / "rest.txt").write_text("rest", encoding="utf-8")
    text, pid = target.read_text(encoding="utf-8").rsplit(" ", 1)
    assert text == "xuất tệp" and int(pid) != os.getpid()
    assert (tmp_path / "rest.txt").exists()


def _fail(message: str) -> None:
    raise ValueError(message)


def test_a_failing_part_raises_with_the_childs_traceback():
    with pytest.raises(BesideError, match="ValueError: no model"):
        with beside(_fail, "no model"):
            pass


def test_the_blocks_own_error_wins_and_the_child_is_still_reaped(tmp_path: Path):
    target = tmp_path / "part.txt"
    with pytest.raises(KeyError):
        with beside(_write_pid, target, "x"):
            raise KeyError("pages")
    assert target.exists()  # the child finished before the error left the block
