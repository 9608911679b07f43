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
# Memory (docs/PERFORMANCE.md "Memory at real scale"): past this many renderer processes a new
# page goes into a running renderer of its own context and site instead of a new one (each
# context, so each portal, still gets its own). On the replica, where a portal has three pages
# open at once, 4 renderers instead of 9-11 and about 80 MiB less at the peak; a real portal
# gets one page at a time, one renderer either way.
MEMORY_ARGS = ("--renderer-process-limit=3",)
# Playwright's driver (Node) keeps a young generation of up to 3 x 16 MiB semispaces: 1 MiB
# ones took its peak from about 270 to 215 MiB; the driver's CPU is small beside Chromium's.
DRIVER_NODE_OPTIONS = "--max-semi-space-size=1"


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
    args = [*QUIET_ARGS, *MEMORY_ARGS]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        args.append("--no-sandbox")  # Chromium refuses to start its sandbox as root
    return {"executable_path": find_chromium(setting), "headless": True, "args": args}


def driver_environment() -> None:
    """Give Playwright's driver its Node options: it is started with this process's environment
    (no launch option reaches Node itself). Options already in NODE_OPTIONS are kept."""
    current = os.environ.get("NODE_OPTIONS", "")
    if DRIVER_NODE_OPTIONS.split("=")[0] not in current:
        os.environ["NODE_OPTIONS"] = f"{current} {DRIVER_NODE_OPTIONS}".strip()


PLAYWRIGHT_HANDLER = "scrapy_playwright.handler.ScrapyPlaywrightDownloadHandler"


def use_browser(settings: Any) -> None:
    """A browser spider's `update_settings`: downloads through scrapy-playwright with the
    Chromium found here; when none is found, DVC_BROWSER goes off (and says why) so the spider
    reads plain pages and marks what needed a browser."""
    if not settings.getbool("DVC_BROWSER"):
        return
    try:
        if not settings.get("PLAYWRIGHT_LAUNCH_OPTIONS"):
            settings.set("PLAYWRIGHT_LAUNCH_OPTIONS",
                         launch_options(settings.get("DVC_AUDIT_CHROMIUM") or None),
                         priority="spider")
    except BrowserNotFound:
        settings.set("DVC_BROWSER", False, priority="spider")
        settings.set("DVC_BROWSER_MISSING", True, priority="spider")
        return
    settings.set("DOWNLOAD_HANDLERS", {"http": PLAYWRIGHT_HANDLER, "https": PLAYWRIGHT_HANDLER},
                 priority="spider")
    driver_environment()  # before scrapy-playwright starts the driver
