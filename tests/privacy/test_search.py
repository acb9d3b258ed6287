"""The search the canary suite relies on finds every spelling of a canary (fast: no broker)."""

from __future__ import annotations

import doctest
import json
from urllib.parse import quote, urlencode

from . import canaries
from .canaries import COMMENT_NEEDLES, ID_NEEDLES, find


def test_doctests():
    assert doctest.testmod(canaries).failed == 0


def test_every_spelling_of_every_canary_is_found():
    for raw in canaries.IDS:
        for text in (f"x {raw} y", raw.lower(), raw.upper(), quote(raw, safe=""), urlencode({"u": raw}),
                     json.dumps({"id": raw}, ensure_ascii=True)):
            assert raw in find(text, ID_NEEDLES), (raw, text)
    assert find("a Emp-0042 wrote", ID_NEEDLES) == ["generator"]
    assert find(quote(canaries.COMMENT), COMMENT_NEEDLES) == ["comment"]


def test_pseudonyms_and_other_ids_are_not_found():
    from pulsewire.streams.privacy import KeyRing

    pseudonyms = [KeyRing(b"k" * 32).pseudonymise(raw) for raw in canaries.IDS]
    assert find(" ".join(pseudonyms) + " emp_0001 cus-00001 team-canary 1042", ID_NEEDLES | COMMENT_NEEDLES) == []
