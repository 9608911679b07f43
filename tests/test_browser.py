"""Where the crawler finds Chromium: the setting, then Playwright's own (its headless shell
first), then the distribution's."""

from __future__ import annotations

from pathlib import Path

import pytest

from crawler import browser


def _executable(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/sh\n")
    path.chmod(0o755)
    return path


@pytest.fixture
def playwright_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("PLAYWRIGHT_BROWSERS_PATH", str(tmp_path))
    monkeypatch.delenv(browser.ENV_VAR, raising=False)
    return tmp_path


def test_setting_wins_and_a_missing_one_is_an_error(playwright_dir: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    mine = _executable(playwright_dir / "mine" / "chrome")
    monkeypatch.setenv(browser.ENV_VAR, str(mine))
    assert browser.find_chromium() == str(mine)
    with pytest.raises(browser.BrowserNotFound, match="does-not-exist"):
        browser.find_chromium(str(playwright_dir / "does-not-exist"))


@pytest.mark.parametrize("layout", [
    "chromium_headless_shell-1255/chrome-headless-shell-linux64/chrome-headless-shell",
    "chromium_headless_shell-1148/chrome-linux/headless_shell",
])
def test_playwrights_headless_shell_is_preferred(playwright_dir: Path, layout: str) -> None:
    _executable(playwright_dir / "chromium-1255" / "chrome-linux64" / "chrome")
    shell = _executable(playwright_dir / layout)
    assert browser.find_chromium() == str(shell)
    assert browser.launch_options()["executable_path"] == str(shell)


def test_newest_shell_revision_first(playwright_dir: Path) -> None:
    layout = "chromium_headless_shell-{}/chrome-linux/headless_shell"
    _executable(playwright_dir / layout.format(1200))
    newest = _executable(playwright_dir / layout.format(1255))
    assert browser.find_chromium() == str(newest)


def test_distributions_shell_before_its_full_browser(playwright_dir: Path, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    full = _executable(tmp_path / "bin" / "chromium")
    shell = _executable(tmp_path / "bin" / "chromium-headless-shell")
    monkeypatch.setattr(browser, "SYSTEM_CANDIDATES", ())
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    assert browser.find_chromium() == str(shell)
    shell.unlink()
    assert browser.find_chromium() == str(full)
    full.unlink()
    with pytest.raises(browser.BrowserNotFound, match="chromium-headless-shell"):
        browser.find_chromium()
