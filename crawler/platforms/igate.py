"""VNPT iGate (Angular + Form.io) portals: content exists only after JavaScript runs.

Recognised by the Angular shell (``<app-root>`` under ``<base href="/vi/">``); its
``/vi/assets/app.config.json`` names the Keycloak realm (``digo``). Listing: ``/vi/procedure``;
apply routes ``/vi/nps/apply?ma=<code>`` and ``/vi/padsvc/apply-online/<24-hex>``, a Form.io
wizard walked with its "Tiếp theo" button up to the last step, whose button reads "Thanh toán"
when the fee is paid online. The last button is never pressed.
"""

from __future__ import annotations

import json
from typing import Any

from bs4 import BeautifulSoup

from crawler.platforms.base import (
    ApplyPage,
    ListingPage,
    LoginFacts,
    attr,
    clean,
    code_in,
    excerpt,
    level_of,
    login_facts,
    login_in,
    norm,
    soup_of,
    table_procedures,
    total_in,
)

NAME = "igate"
LISTING_PATHS = ("/vi/procedure",)
LOGIN_FROM = "listing"  # the login options are in the app's header, rendered with the list
CONFIG_PATH = "/vi/assets/app.config.json"
# The page has rendered when the app says so (the replica marks its root), or shows a procedure
# code, a form, or "not found" (a real iGate app, which marks nothing).
READY_JS = """() => { const r = document.querySelector('app-root');
  if (!r) return false;
  if (r.getAttribute('data-state')) return true;
  const t = r.innerText || '';
  return /\\d\\.\\d{6}/.test(t) || !!r.querySelector('.formio-form, form')
    || /không tìm thấy/i.test(t); }"""
MAX_STEPS = 12


def matches(soup: BeautifulSoup, html: str) -> bool:
    base = soup.find("base")
    return soup.find("app-root") is not None and (
        bool(base and attr(base, "href").startswith("/vi"))
        or "ng-version" in html or "app.config.json" in html)


def listing_urls(base_url: str, root: BeautifulSoup | None = None) -> list[str]:
    return [base_url + p for p in LISTING_PATHS]


def parse_config(body: bytes | str) -> dict[str, Any]:
    """Keycloak facts of app.config.json ({} when it is not the expected JSON)."""
    try:
        doc = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return {}
    kc = doc.get("keycloak") if isinstance(doc, dict) else None
    if not isinstance(kc, dict):
        return {}
    return {"realm": str(kc.get("realm") or ""), "keycloak_url": str(kc.get("url") or ""),
            "client_id": str(kc.get("clientId") or "")}


def parse_listing(url: str, html: str | bytes) -> ListingPage:
    soup = soup_of(html)
    table = soup.select_one("#procedure-list") or soup
    text = clean(soup.get_text(" "))
    return ListingPage(table_procedures(table, url), "", total_in(text))


def parse_login(url: str, html: str | bytes) -> LoginFacts | None:
    return login_in(html, url, "header, .login-options")


def parse_apply(url: str, html: str | bytes) -> ApplyPage:
    soup = soup_of(html)
    main = soup.select_one("main") or soup
    text = norm(main.get_text(" "))
    if "không tìm thấy" in text:
        return ApplyPage(found=False)
    code_el = soup.select_one(".procedure-code")
    level_el = soup.select_one(".procedure-level")
    name_el = soup.select_one(".procedure-name, h1")
    wizard = soup.select_one(".formio-form, [role=form]")
    steps = [clean(li.get_text(" ")) for li in soup.select("#wizard-nav li, .pagination li")]
    active = soup.select_one("#wizard-nav li.active, .pagination li.active")
    submit = soup.select_one(".btn-wizard-nav-submit")
    final_button = clean(submit.get_text(" ")) if submit else ""
    login_scope = soup.select_one(".login-required")
    fee = soup.select_one(".fee")
    return ApplyPage(
        found=True,
        code=clean(code_el.get_text()) if code_el else code_in(text),
        name=clean(name_el.get_text(" ")) if name_el else "",
        level=level_of(level_el.get_text() if level_el else text),
        online=wizard is not None,
        steps=steps,
        step=clean(active.get_text(" ")) if active else "",
        fee_step=fee is not None or any("lệ phí" in norm(s) for s in steps),
        payment=norm(final_button) == "thanh toán",
        final=submit is not None,
        final_button=final_button,
        submit_action="POST (wizard submit button)" if submit is not None else "",
        login=login_facts(login_scope, url) if login_scope is not None else LoginFacts(False),
    )


def page_excerpt(kind: str, html: str | bytes) -> str:
    soup = soup_of(html)
    if kind == "apply":
        return excerpt(soup, "main.apply", "main")
    return excerpt(soup, "#procedure-list", "main")


# Runs in the page: press "Tiếp theo", wait (up to 1 s) for the active step to change, repeat
# until the wizard's last step. One round trip instead of one per click.
WALK_JS = """async (maxSteps) => {
  const active = () => { const a = document.querySelector('#wizard-nav li.active');
                         return a ? a.innerText.trim() : ''; };
  const sleep = ms => new Promise(r => setTimeout(r, ms));
  const seen = [];
  for (let i = 0; i < maxSteps; i++) {
    const title = active();
    seen.push(title);
    const next = document.querySelector('.btn-wizard-nav-next');
    if (!next) break;
    next.click();
    for (let t = 0; t < 50 && active() === title; t++) await sleep(20);
  }
  return seen;
}"""


async def walk(page: Any) -> list[str]:
    """Press "Tiếp theo" until the wizard's last step; return the step titles seen. Only the
    wizard's own navigation is pressed: it stays in the page (no request); the last button is
    never pressed."""
    return [clean(t) for t in await page.evaluate(WALK_JS, MAX_STEPS)]
