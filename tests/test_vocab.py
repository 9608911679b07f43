"""The vocabulary is defined once (core/vocab.py) and every word of it has its labels."""

from __future__ import annotations

import pytest

from core.vocab import IMPLEMENTATION_RANK, OFFER_RANK, Implementation, Offer, Reason, Verdict
from reports.i18n import load_strings

STRINGS = load_strings()


def _labelled(prefix: str) -> set[str]:
    return {key.split(".", 1)[1] for key in STRINGS if key.startswith(prefix)}


@pytest.mark.parametrize("word", [*Reason, *Verdict], ids=str)
def test_every_reason_and_verdict_has_vi_and_en_labels(word):
    key = f"{'verdict' if isinstance(word, Verdict) else 'reason'}.{word}"
    assert key in STRINGS, f"{key} has no label in templates/strings.yaml"
    assert STRINGS[key].get("vi") and STRINGS[key].get("en"), key


def test_every_reason_label_is_a_reason():
    assert _labelled("reason.") - set(Reason) == set()


def test_every_verdict_label_is_a_verdict():
    assert _labelled("verdict.") == set(Verdict)


def test_ranks_cover_every_level():
    assert set(Offer) <= set(OFFER_RANK) and set(Implementation) == set(IMPLEMENTATION_RANK)
    assert [o.rank for o in Offer] == sorted(o.rank for o in Offer)  # absent < info < ...
    assert sorted(Implementation, key=IMPLEMENTATION_RANK.__getitem__) == [
        Implementation.NONE, Implementation.PARTIAL, Implementation.FULL]
