"""Deterministic UUID v7-style identifiers (same scenario seed -> same ids)."""

from __future__ import annotations

import random

# The real catalogue's ids run from about 0x019d2b... (March 2026) to 0x019f6f... (July 2026).
TS_START = 0x019D2B000000
TS_END = 0x019F6F000000


def keyed_rng(seed: int, *key: object) -> random.Random:
    """A Random seeded from the scenario seed and a key (str seeds are stable across runs)."""
    return random.Random(":".join([str(seed), *map(str, key)]))


def uuid7(rng: random.Random, ts_ms: int | None = None) -> str:
    if ts_ms is None:
        ts_ms = rng.randint(TS_START, TS_END)
    rand_a = rng.getrandbits(12)
    variant = 0x8 | rng.getrandbits(2)
    rand_b = rng.getrandbits(60)
    h = f"{ts_ms:012x}7{rand_a:03x}{variant:x}{rand_b:015x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def keyed_uuid(seed: int, *key: object) -> str:
    return uuid7(keyed_rng(seed, "id", *key))


def uuid_ms(uid: str) -> int:
    """The millisecond timestamp of a uuid7 string."""
    return int(uid.replace("-", "")[:12], 16)
