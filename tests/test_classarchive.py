"""The W3C checker's class archive (crawler/classarchive.py): written by the first run, mapped
by the next, kept per java and jar, never half-written under its name; with real Java, the
checker's counts are the same with the archive as without."""

from __future__ import annotations

from pathlib import Path

import pytest

from crawler import classarchive, measures

PAGE = (b'<!DOCTYPE html><html lang="vi"><head><title>t</title></head>'
        b"<body><p>x<div></p></body></html>")


def fake_java(tmp_path: Path, *, write: bool = True) -> tuple[Path, Path]:
    """A `java` that logs its arguments, writes the archive it is asked to write at exit (as
    the JVM does), and answers an empty report."""
    log = tmp_path / "args"
    java = tmp_path / "java"
    java.write_text("#!/bin/sh\n"
                    f'printf "%s\\n" "$@" >> {log}\n'
                    + ('for a in "$@"; do case "$a" in -XX:ArchiveClassesAtExit=*) '
                       'echo archive > "${a#*=}";; esac; done\n' if write else "")
                    + "echo '{\"messages\": []}'\n")
    java.chmod(0o755)
    jar = tmp_path / "vnu.jar"
    jar.write_bytes(b"jar")
    return java, jar


def archive_options(log: Path) -> list[str]:
    return [a for a in log.read_text().split() if a.startswith("-XX:") and "Archive" in a]


def test_the_first_run_writes_the_archive_and_the_next_maps_it(tmp_path, monkeypatch):
    java, jar = fake_java(tmp_path)
    monkeypatch.setenv("JAVA", str(java))
    cache = tmp_path / "cache"
    for _ in range(2):
        out = measures.run_vnu([measures.W3cInput("a", PAGE)], timeout=5,
                               jar_setting=str(jar), class_cache=str(cache))
        assert out["a"].errors == {"markup": 0, "css": 0}
    final = cache / classarchive.archive_name(str(java), str(jar))
    written, mapped = archive_options(tmp_path / "args")
    assert written.startswith("-XX:ArchiveClassesAtExit=") and written.endswith(".part")
    assert mapped == f"-XX:SharedArchiveFile={final}"
    assert [p.name for p in cache.iterdir()] == [final.name]  # no partial file left


def test_an_archive_not_written_leaves_nothing_and_none_turns_it_off(tmp_path, monkeypatch):
    java, jar = fake_java(tmp_path, write=False)  # a JVM killed before its exit
    monkeypatch.setenv("JAVA", str(java))
    cache = tmp_path / "cache"
    measures.run_vnu([measures.W3cInput("a", PAGE)], timeout=5, jar_setting=str(jar),
                     class_cache=str(cache))
    assert list(cache.iterdir()) == []
    (tmp_path / "args").unlink()
    measures.run_vnu([measures.W3cInput("a", PAGE)], timeout=5, jar_setting=str(jar),
                     class_cache=classarchive.OFF)
    assert archive_options(tmp_path / "args") == []


def test_another_jar_or_java_gets_another_archive(tmp_path):
    java, jar = fake_java(tmp_path)
    first = classarchive.archive_name(str(java), str(jar))
    jar.write_bytes(b"a newer jar")
    assert classarchive.archive_name(str(java), str(jar)) != first


def test_an_unwritable_cache_runs_without_an_archive(tmp_path):
    java, jar = fake_java(tmp_path)
    blocked = tmp_path / "file"
    blocked.write_text("not a directory")
    assert classarchive.archive_args(str(java), str(jar), str(blocked / "cache"))[0] == []


def test_the_default_cache_is_the_users(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert classarchive.cache_dir() == tmp_path / "dvc-audit"


@pytest.mark.slow
def test_real_java_counts_the_same_with_its_archive(tmp_path):
    if measures.find_java() is None or measures.find_vnu() is None:
        pytest.skip("no java or no vnu.jar here (scripts/bootstrap installs them)")
    inputs = [measures.W3cInput("a", PAGE, css=[b"p{colr:red}"])]
    plain = measures.run_vnu(inputs, timeout=120, class_cache=classarchive.OFF)
    cache = tmp_path / "cache"
    writing = measures.run_vnu(inputs, timeout=120, class_cache=str(cache))
    archives = list(cache.glob("*.jsa"))
    assert len(archives) == 1 and archives[0].stat().st_size > 0
    mapped = measures.run_vnu(inputs, timeout=120, class_cache=str(cache))
    assert plain["a"].errors is not None and plain["a"].errors["markup"] > 0
    assert plain["a"].errors["css"] > 0
    assert writing["a"].errors == mapped["a"].errors == plain["a"].errors
