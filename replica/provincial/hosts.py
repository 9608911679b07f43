"""Where each provincial portal listens: its own loopback address, so hosts really differ.

Linux routes all of 127/8 to the loopback interface, so province ``NN`` gets ``127.0.1.NN``
(Hà Nội ``01`` -> ``127.0.1.1``, TP Hồ Chí Minh ``79`` -> ``127.0.1.79``). Per-host politeness,
one browser context per portal and "stay on the hosts given" then mean what they say. Where
127/8 aliases do not work (macOS, some containers) every portal binds 127.0.0.1 with its own port.
"""

from __future__ import annotations

import functools
import socket


def portal_address(unit: str) -> str:
    return f"127.0.1.{int(unit)}"


@functools.cache
def aliases_work() -> bool:
    """Can we bind (and reach) an address of 127/8 other than 127.0.0.1?"""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as srv:
            srv.bind(("127.0.1.254", 0))
            srv.listen(1)
            with socket.create_connection(srv.getsockname()[:2], timeout=2):
                return True
    except OSError:
        return False


def bind_address(unit: str) -> str:
    return portal_address(unit) if aliases_work() else "127.0.0.1"


def system_address(n: int) -> str:
    """The n-th ministry system's address (127.0.3.<n>; 127.0.0.1 without 127/8 aliases)."""
    return f"127.0.3.{n}" if aliases_work() else "127.0.0.1"
