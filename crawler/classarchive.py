"""The W3C checker's JVM starts from a class-data archive of its own (Java's AppCDS).

The site crawl runs the checker once, at its very end, so the JVM's start is on the night's
critical path: loading and verifying vnu.jar's classes is a fifth of it (0.97 s against 0.80 s
measured here for a handful of files). The first run with no archive writes one as the JVM
exits (`-XX:ArchiveClassesAtExit`, about half a second more, once); later runs map it.

An archive belongs to one java binary and one jar: its name hashes both (paths, sizes and
modification times), and the JVM itself checks it again and ignores one that does not match.
A JVM older than 13, which knows neither option, ignores them (`IgnoreUnrecognizedVMOptions`).
Where the cache directory cannot be written, the checker runs as before, without an archive.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from pathlib import Path

OFF = "none"  # DVC_VNU_CLASS_CACHE value that turns the archive off


def cache_dir(setting: str = "") -> Path | None:
    """Where archives are kept: the setting (a directory; "none": nowhere), else the user's
    cache directory (XDG_CACHE_HOME, else ~/.cache) under dvc-audit/."""
    if setting == OFF:
        return None
    if setting:
        return Path(setting)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "dvc-audit"


def archive_name(java: str, jar: str) -> str:
    """The archive's file name for this java and this jar."""
    parts = []
    for path in (java, jar):
        real = os.path.realpath(path)
        st = os.stat(real)
        parts.append(f"{real}:{st.st_size}:{st.st_mtime_ns}")
    return f"vnu-{hashlib.sha256('|'.join(parts).encode()).hexdigest()[:16]}.jsa"


def archive_args(java: str, jar: str, setting: str = "") -> tuple[list[str], Callable[[], None]]:
    """JVM options that use the archive, or write it when there is none yet, and what to call
    once the JVM has exited (it moves a newly written archive into place: a run killed while
    writing leaves no half archive under the final name)."""
    where = cache_dir(setting)
    if where is None:
        return [], _nothing
    try:
        where.mkdir(parents=True, exist_ok=True)
        final = where / archive_name(java, jar)
    except OSError:
        return [], _nothing
    unlock = "-XX:+IgnoreUnrecognizedVMOptions"
    if final.is_file():
        return [unlock, f"-XX:SharedArchiveFile={final}"], _nothing
    if not os.access(where, os.W_OK):
        return [], _nothing
    partial = where / f"{final.name}.{os.getpid()}.part"

    def keep() -> None:
        try:
            if partial.is_file() and partial.stat().st_size > 0:
                os.replace(partial, final)
        except OSError:
            pass
        partial.unlink(missing_ok=True)

    return [unlock, f"-XX:ArchiveClassesAtExit={partial}"], keep


def _nothing() -> None:
    return None
