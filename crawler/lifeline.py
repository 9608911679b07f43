"""A crawl child dies with the job that started it (issue 15: a prestarted crawl once outlived
its killed job by 30 minutes). Imported first by `python -m crawler.runner`: nothing heavy here.
"""

from __future__ import annotations

import os
import sys

PARENT_ENV = "DVC_CRAWL_PARENT"  # the job's pid, set in each crawl child's environment
PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def die_with_parent() -> None:
    """In a crawl child: be killed when the job that started it dies, even by SIGKILL (Linux
    PR_SET_PDEATHSIG; a no-op elsewhere), so no crawl outlives its job and goes on asking a
    portal. Called first thing, before the slow imports; a parent already gone ends it here."""
    parent = os.environ.get(PARENT_ENV, "")
    if not parent.isdigit():
        return  # started by hand, not by a job
    if sys.platform.startswith("linux"):
        import ctypes
        import signal

        try:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        except (OSError, AttributeError):
            pass
    if os.getppid() != int(parent):  # the job died before prctl took effect
        os._exit(1)
