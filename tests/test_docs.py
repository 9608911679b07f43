"""The docs follow the code: the README's option tables match every command's `--help`, and
docs/ARCHITECTURE.md's module table lists every module of the packages. Adding an option or a
module means adding its line; these tests name what is missing or stale. Also: the guard that
keeps crawls and Chromium out of tests without the `slow` / `browser` markers (README
"Testing")."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import click
import pytest

from app.cli import main
from tests.conftest import starts_a_crawl

PROJECT = Path(__file__).resolve().parents[1]
README = PROJECT / "README.md"
ARCHITECTURE = PROJECT / "docs" / "ARCHITECTURE.md"
PACKAGES = ("core", "crawler", "replica", "audits", "reports", "app")
OPTION = re.compile(r"(?<![\w-])(--?[A-Za-z][\w-]*)")


def section(text: str, heading: str) -> str:
    """The text under `heading` (a whole heading line) up to the next heading of its level."""
    level = heading.split(" ", 1)[0]
    start = text.index(f"\n{heading}\n") + len(heading) + 2
    end = re.search(rf"^{level} ", text[start:], flags=re.M)
    return text[start:start + end.start()] if end else text[start:]


def commands(group: click.Group, path: tuple[str, ...] = ("dvc-audit",)
             ) -> Iterator[tuple[str, click.Command]]:
    """Every command of the `dvc-audit` group and its subgroups, with its full name (those the
    group imports only when asked, too: app/cli.py's LazyGroup)."""
    yield " ".join(path), group
    ctx = click.Context(group, info_name=group.name)
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        assert command is not None, f"`{' '.join((*path, name))}` is listed but cannot be loaded"
        if isinstance(command, click.Group):
            yield from commands(command, (*path, name))
        else:
            yield " ".join((*path, name)), command


def help_options(command: click.Command) -> set[str]:
    """The option names `--help` shows (both spellings of a flag pair), less the help option."""
    ctx = click.Context(command, info_name=command.name)
    return {name for param in command.get_params(ctx)
            if isinstance(param, click.Option) and not set(param.opts) & {"-h", "--help"}
            for name in (*param.opts, *param.secondary_opts)}


def readme_tables() -> dict[str, set[str]]:
    """README "Commands": each `#### `dvc-audit ...`` heading and the options in the first
    column of its table (the heading's own arguments, e.g. RUN_A, are not options)."""
    text = section(README.read_text(encoding="utf-8"), "### Commands")
    tables: dict[str, set[str]] = {}
    for block in re.split(r"^#### ", text, flags=re.M)[1:]:
        heading, _, body = block.partition("\n")
        words = heading.strip().strip("`").split()
        name = " ".join(w for w in words if re.fullmatch(r"[a-z][a-z0-9-]*", w))
        assert name not in tables, f"README: two tables for `{name}`"
        tables[name] = {opt for line in body.splitlines() if line.startswith("| `")
                        for opt in OPTION.findall(line.split("|")[1])}
    return tables


def test_readme_option_tables_match_every_commands_help() -> None:
    tables = readme_tables()
    problems = []
    for name, command in commands(main):
        options = help_options(command)
        if not options:
            continue  # a group with only --help, e.g. `dvc-audit rubric`
        documented = tables.pop(name, None)
        if documented is None:
            problems.append(f"README lacks a '#### `{name}`' table (options {sorted(options)})")
            continue
        problems += [f"README lacks {opt} of `{name}`" for opt in sorted(options - documented)]
        problems += [f"README lists {opt} under `{name}`, its --help does not"
                     for opt in sorted(documented - options)]
    problems += [f"README has a table for `{name}`, which is no command" for name in tables]
    assert not problems, "\n".join(problems)


def modules() -> set[str]:
    """Every module of the packages (an empty __init__.py holds nothing to describe)."""
    return {path.relative_to(PROJECT).as_posix()
            for package in PACKAGES for path in (PROJECT / package).rglob("*.py")
            if not (path.name == "__init__.py" and not path.read_text(encoding="utf-8").strip())}


def architecture_table() -> list[str]:
    """The paths in the first column of docs/ARCHITECTURE.md's "Modules" table."""
    text = section(ARCHITECTURE.read_text(encoding="utf-8"), "## Modules")
    return [m for line in text.splitlines() if line.startswith("| `")
            for m in re.findall(r"`([\w/]+\.py)`", line.split("|")[1])]


def test_architecture_lists_every_module_once() -> None:
    listed, present = architecture_table(), modules()
    problems = [f"docs/ARCHITECTURE.md 'Modules' lacks {m}" for m in sorted(present - set(listed))]
    problems += [f"docs/ARCHITECTURE.md 'Modules' lists {m}, which does not exist"
                 for m in sorted(set(listed)) if not (PROJECT / m).is_file()]
    problems += [f"docs/ARCHITECTURE.md 'Modules' lists {m} twice"
                 for m in sorted(set(listed)) if listed.count(m) > 1]
    assert not problems, "\n".join(problems)


def test_the_checks_see_the_tables() -> None:
    """The parsers above find what they check (a renamed heading would make both tests pass)."""
    assert {"dvc-audit demo", "dvc-audit rubric check"} <= set(readme_tables())
    assert {"core/vocab.py", "app/cli.py"} <= set(architecture_table())


# -- the markers' guard (tests/conftest.py) -------------------------------------------------------


def test_an_unmarked_test_cannot_start_a_crawl_process() -> None:
    """This test has no `slow` marker: the guard stops the crawl before any process starts."""
    with pytest.raises(pytest.fail.Exception, match="mark it @pytest.mark.slow"):
        subprocess.Popen([sys.executable, "-m", "crawler.runner", "--help"])
    with pytest.raises(pytest.fail.Exception, match="mark it @pytest.mark.slow"):
        subprocess.run([sys.executable, "-m", "app.cli", "demo", "--help"], check=False)
    done = subprocess.run([sys.executable, "-c", "pass"], check=False)  # others start as ever
    assert done.returncode == 0


def test_an_unmarked_test_cannot_start_chromium() -> None:
    from playwright.sync_api import BrowserType

    with pytest.raises(pytest.fail.Exception, match="mark it @pytest.mark.browser"):
        BrowserType.launch(None)  # type: ignore[arg-type]  # stopped before it uses self


@pytest.mark.parametrize(("argv", "crawls"), [
    (["python", "-m", "crawler.runner", "--spider", "national"], True),
    (["python", "-m", "app.cli", "nightly", "--scenario", "x.yaml"], True),
    ([".venv/bin/dvc-audit", "run", "--base", "http://127.0.0.1:9"], True),
    (["uv", "run", "dvc-audit", "report", "--db", "a.db"], False),
    (["python", "-m", "app.cli", "history", "--json"], False),
    (["python", "-m", "replica", "serve", "--scenario", "x.yaml"], False),
    (["python", "-c", "from scrapy.crawler import CrawlerProcess"], True),
    (["python", "-c", "import time; time.sleep(1)"], False),
    ("python -m crawler.runner --spider national", True),
])
def test_what_counts_as_starting_a_crawl(argv: object, crawls: bool) -> None:
    assert starts_a_crawl(argv) is crawls
