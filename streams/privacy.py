"""Pseudonymisation of employee identifiers.

A keyed hash (HMAC-SHA256) so the same person maps to the same pseudonym
across events (features can still be computed) while nobody without the key
can reverse or recompute it. The key comes from the environment only.

>>> p = Pseudonymiser(b"0123456789abcdef-test-key")
>>> p("alice@example.com") == p("alice@example.com"), p("alice@example.com").startswith("emp_")
(True, True)
>>> p(p("alice@example.com")) == p("alice@example.com")  # idempotent: replays do not double-hash
True
"""

from __future__ import annotations

import hashlib
import hmac

PREFIX = "emp_"


class Pseudonymiser:
    def __init__(self, key: bytes):
        if len(key) < 16:
            raise ValueError("pseudonymisation key must be at least 16 bytes")
        self._key = key

    def __call__(self, raw_id: str) -> str:
        if self.is_pseudonym(raw_id):
            return raw_id
        digest = hmac.new(self._key, raw_id.encode("utf-8", "surrogatepass"), hashlib.sha256).hexdigest()
        return PREFIX + digest[:24]

    @staticmethod
    def is_pseudonym(value: str) -> bool:
        return value.startswith(PREFIX) and len(value) == len(PREFIX) + 24

    def __repr__(self) -> str:  # never print the key
        return "Pseudonymiser(key=***)"
