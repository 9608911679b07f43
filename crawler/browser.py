"""Find and launch Chromium the same way on a user's machine and on a closed network.

Order: the DVC_AUDIT_CHROMIUM setting/env var, Playwright's own browser if installed, then the
distribution's Chromium. Used by scrapy-playwright and by report tests.

Each place prefers the headless shell (`chrome-headless-shell`, Debian's
`chromium-headless-shell`) to the full browser: it is what Playwright itself launches for
headless work, and it renders a page with about two thirds of the full browser's CPU.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

from crawler.exceptions import BrowserNotFound

ENV_VAR = "DVC_AUDIT_CHROMIUM"
SYSTEM_CANDIDATES = ("/usr/bin/chromium-headless-shell", "/usr/bin/chromium",
                     "/usr/bin/chromium-browser", "/usr/bin/google-chrome")
# Playwright's headless shell in its browsers folder (layouts of Playwright 1.49 and later).
SHELL_GLOBS = ("chromium_headless_shell-*/chrome-headless-shell-*/chrome-headless-shell*",
               "chromium_headless_shell-*/chrome-linux/headless_shell")
# Without these, Chromium's own calls home fail on a closed network (and slow every start).
QUIET_ARGS = (
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--no-first-run", "--disable-gpu", "--disable-quic",
)


def _browsers_dirs() -> list[Path]:
    """Where `playwright install` puts browsers (PLAYWRIGHT_BROWSERS_PATH, else its default)."""
    env = os.environ.get("PLAYWRIGHT_BROWSERS_PATH")
    if env and env != "0":
        return [Path(env)]
    home = Path.home()
    return [home / ".cache" / "ms-playwright", home / "Library" / "Caches" / "ms-playwright",
            Path(os.environ.get("LOCALAPPDATA", home)) / "ms-playwright"]


def _playwright_shell() -> str | None:
    for folder in _browsers_dirs():
        for pattern in SHELL_GLOBS:
            for path in sorted(folder.glob(pattern), reverse=True):  # newest revision first
                if path.is_file() and os.access(path, os.X_OK):
                    return str(path)
    return None


def _playwright_own() -> str | None:
    shell = _playwright_shell()
    if shell:
        return shell
    if os.environ.get("PLAYWRIGHT_BROWSERS_PATH") != "0" and not any(
            any(d.glob("chromium*")) for d in _browsers_dirs() if d.is_dir()):
        return None  # nothing installed: spare starting Playwright's driver (about a second)
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return None
    try:
        with sync_playwright() as pw:
            path = pw.chromium.executable_path
    except Exception:  # noqa: BLE001 - a missing driver must not stop the search
        return None
    return path if path and Path(path).exists() else None


def find_chromium(setting: str | None = None) -> str:
    """Path of a Chromium executable, or BrowserNotFound saying how to get one."""
    explicit = setting or os.environ.get(ENV_VAR)
    if explicit:
        if Path(explicit).exists():
            return explicit
        raise BrowserNotFound(f"{ENV_VAR}={explicit} does not exist")
    own = _playwright_own()
    if own:
        return own
    for candidate in SYSTEM_CANDIDATES:
        if Path(candidate).exists():
            return candidate
    for name in ("chromium-headless-shell", "chromium"):
        found = shutil.which(name)
        if found:
            return found
    raise BrowserNotFound(
        "no Chromium found: run `playwright install chromium`, or install your distribution's "
        f"chromium-headless-shell (or chromium) package, or set {ENV_VAR} to its path")


def launch_options(setting: str | None = None) -> dict[str, Any]:
    """Options for Playwright's `chromium.launch` (and PLAYWRIGHT_LAUNCH_OPTIONS)."""
    args = list(QUIET_ARGS)
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        args.append("--no-sandbox")  # Chromium refuses to start its sandbox as root
    return {"executable_path": find_chromium(setting), "headless": True, "args": args}
