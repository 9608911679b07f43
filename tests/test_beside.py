"""reports/beside.py: a part of the reports written by a forked child beside the rest."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from reports.beside import BesideError, Held, beside


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


def test_held_runs_its_first_part_at_once_and_the_rest_when_told(tmp_path: Path):
    first, then = tmp_path / "first.txt", tmp_path / "then.txt"

    def start() -> int:
        _write_pid(first, "trang đầu")
        return 7

    held = Held(start, lambda n: _write_pid(then, f"rồi {n}"))
    for _ in range(200):  # the first part runs before anyone says go
        if first.exists():
            break
        time.sleep(0.05)
    assert first.exists() and not then.exists()
    held.go()
    held.wait()
    text, pid = then.read_text(encoding="utf-8").rsplit(" ", 1)
    assert text == "rồi 7" and int(pid) != os.getpid()
    assert first.read_text(encoding="utf-8").rsplit(" ", 1)[1] == pid  # the same child


def test_held_dropped_writes_nothing_more(tmp_path: Path):
    then = tmp_path / "then.txt"
    held = Held(lambda: 1, lambda n: _write_pid(then, "x"))
    held.drop()
    assert not then.exists()


@pytest.mark.parametrize("where", ["first", "then"])
def test_held_failing_in_either_part_raises_at_wait(where: str):
    held = Held((lambda: _fail("no model")) if where == "first" else (lambda: 1),
                (lambda n: _fail("no sheet")) if where == "then" else (lambda n: None))
    held.go()
    with pytest.raises(BesideError, match="ValueError: no (model|sheet)"):
        held.wait()


def test_held_forked_from_a_pools_worker_thread_ends_well(tmp_path: Path):
    """As app/ahead.py starts it: from a ThreadPoolExecutor's thread, whose pool a forked
    child's normal exit would try to join (exit code 1 after the work was done)."""
    from concurrent.futures import ThreadPoolExecutor

    then = tmp_path / "then.txt"
    with ThreadPoolExecutor(max_workers=1) as pool:
        held = pool.submit(Held, lambda: 1, lambda n: _write_pid(then, "xong")).result()
    held.go()
    held.wait()
    assert then.read_text(encoding="utf-8").startswith("xong")


def test_held_leaves_no_temporary_file_told_to_go_or_not(tmp_path: Path, monkeypatch):
    """Its temporary files (openpyxl's sheets, which only an atexit handler would remove)
    are in a directory of its own, removed as it ends."""
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))

    def scratch() -> str:
        with tempfile.NamedTemporaryFile(delete=False) as f:
            return f.name

    for told in ("go", "drop"):
        held = Held(scratch, lambda name: None)
        if told == "go":
            held.go()
            held.wait()
        else:
            held.drop()
        assert list(tmp_path.iterdir()) == []
