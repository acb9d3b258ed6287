"""Keys derived from the one secret, and pseudonymisation of personal identifiers.

``PULSEWIRE_PSEUDONYM_KEY`` is the only secret; every purpose gets its own subkey
(HMAC-SHA256 of the key and the purpose's name), so that a value published under one
purpose (a pseudonym in a table, a signed model snapshot, a keyed event id) says nothing
about the others, and rotating the key changes all of them at once.

>>> keys = KeyRing(b"0123456789abcdef-test-key")
>>> keys.subkey("pseudonym") != keys.subkey("event-id") != keys.subkey("snapshot")
True
>>> p = keys.pseudonymise
>>> p("alice@example.com") == p("alice@example.com"), p("alice@example.com").startswith("emp_")
(True, True)

A raw id that merely looks like a pseudonym is pseudonymised like any other: a source
cannot choose its own pseudonym (and so collide with, or impersonate, someone else's).

>>> forged = p("alice@example.com")
>>> p(forged) != forged
True

Ids derived from a person's identifier are keyed too, so nobody can recompute them from an
export of the source system:

>>> keys.keyed_id("hris", "hire", "EMP-1042") == keys.keyed_id("hris", "hire", "EMP-1042")
True
>>> KeyRing(b"another-key-0123456789").keyed_id("hris", "hire", "EMP-1042") != keys.keyed_id("hris", "hire", "EMP-1042")
True
"""

from __future__ import annotations

import hashlib
import hmac

PREFIX = "emp_"
MIN_KEY_BYTES = 16

#: Every purpose a subkey is derived for; a subkey for any other name is a programming error.
PURPOSES = ("pseudonym", "event-id", "snapshot", "payload-hash", "erasure")


def _hmac_hex(key: bytes, value: str | bytes) -> str:
    data = value if isinstance(value, bytes) else value.encode("utf-8", "surrogatepass")
    return hmac.new(key, data, hashlib.sha256).hexdigest()


class Pseudonymiser:
    """Raw identifier → ``emp_`` + 24 hex characters of HMAC-SHA256 under the pseudonym subkey."""

    def __init__(self, key: bytes):
        if len(key) < MIN_KEY_BYTES:
            raise ValueError(f"pseudonymisation key must be at least {MIN_KEY_BYTES} bytes")
        self._key = key

    def __call__(self, raw_id: str) -> str:
        return PREFIX + _hmac_hex(self._key, raw_id)[:24]

    @staticmethod
    def is_pseudonym(value: str) -> bool:
        """The shape of a pseudonym (says nothing about who made it)."""
        return value.startswith(PREFIX) and len(value) == len(PREFIX) + 24

    def __repr__(self) -> str:  # never print the key
        return "Pseudonymiser(key=***)"


class KeyRing:
    """The subkeys of one secret, one per purpose (see ``PURPOSES``)."""

    def __init__(self, key: bytes):
        if len(key) < MIN_KEY_BYTES:
            raise ValueError(f"pseudonymisation key must be at least {MIN_KEY_BYTES} bytes")
        self._key = key
        self.pseudonymise = Pseudonymiser(self.subkey("pseudonym"))

    def subkey(self, purpose: str) -> bytes:
        if purpose not in PURPOSES:
            raise KeyError(f"no subkey purpose {purpose!r}; declared: {', '.join(PURPOSES)}")
        return hmac.new(self._key, b"pulsewire/v1/" + purpose.encode(), hashlib.sha256).digest()

    @property
    def snapshot_key(self) -> bytes:
        """Signs and verifies learner snapshots on ``models.snapshots``."""
        return self.subkey("snapshot")

    def keyed_id(self, *parts: object) -> str:
        """A stable id from parts that may include a person's raw identifier (32 hex characters)."""
        return _hmac_hex(self.subkey("event-id"), "\x1f".join(map(str, parts)))[:32]

    def payload_hash(self, payload: str | bytes) -> str:
        """A keyed fingerprint of a payload: equal payloads match, nobody can test a guess without the key."""
        return _hmac_hex(self.subkey("payload-hash"), payload)

    def __repr__(self) -> str:  # never print the key
        return "KeyRing(key=***)"
