"""Duplicate event_ids: the first version wins (the usual at-least-once contract).

An exact replay (same content) changes nothing; a different content under an event_id that is
already stored (or earlier in the same batch) is a *conflicting duplicate*: it becomes a dead letter
and the stored event stays. "First" is a total order every worker agrees on: the smallest
``(ingested_at, content_hash)``, so two workers that store two versions at the same time (before
either could see the other) both keep the same one and remove the other.

>>> from datetime import datetime, timezone
>>> t = lambda s: datetime(2026, 1, 1, 0, 0, s, tzinfo=timezone.utc)
>>> stored = {"e1": [Version(t(1), "aaa")]}
>>> batch = [Version(t(5), "aaa"), Version(t(6), "bbb"), Version(t(7), "ccc"), Version(t(8), "ccc")]
>>> plan = triage(["e1", "e1", "e2", "e2"], batch, stored)
>>> plan.insert, plan.replays, plan.conflicts
([2], [0, 3], [1])
>>> plan.remove  # versions stored that lost to an earlier one
[]
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime

#: Fields pulsewire sets itself; they differ between a first delivery and its replay.
OURS = frozenset({"ingested_at"})


def content_hash(event: dict) -> str:
    """A stable hash of what the source sent (canonical JSON of the event without our fields).

    >>> a = {"event_id": "e1", "text": "hi", "ingested_at": "2026-01-01T00:00:00+00:00"}
    >>> content_hash(a) == content_hash({**a, "ingested_at": "2026-02-02T00:00:00+00:00"})
    True
    >>> content_hash(a) == content_hash({**a, "text": "hello"})
    False
    """
    canonical = json.dumps({k: v for k, v in event.items() if k not in OURS}, sort_keys=True,
                           separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass(frozen=True, order=True)
class Version:
    ingested_at: datetime
    content_hash: str

    def normalised(self) -> "Version":
        # ClickHouse keeps milliseconds; compare what it will hold
        return Version(self.ingested_at.replace(microsecond=self.ingested_at.microsecond // 1000 * 1000),
                       self.content_hash)


@dataclass
class Plan:
    insert: list[int] = field(default_factory=list)     # batch rows to store (the first version of their id)
    replays: list[int] = field(default_factory=list)    # exact replays: nothing to do
    conflicts: list[int] = field(default_factory=list)  # conflicting duplicates: dead letters
    remove: list[tuple[str, str]] = field(default_factory=list)  # (event_id, content_hash) stored but not first


def triage(ids: list[str], batch: list[Version], stored: dict[str, list[Version]]) -> Plan:
    """Decide, per batch row, insert / exact replay / conflict, against the versions already stored.

    A stored version without a hash (stored before hashes existed) cannot be compared: it stays
    first, and the batch's versions of that id count as replays.
    """
    plan = Plan()
    first: dict[str, Version] = {}
    for eid, vs in stored.items():
        if vs:
            first[eid] = min(v.normalised() for v in vs)
    for i, (eid, v) in enumerate(zip(ids, batch)):
        v = v.normalised()
        if eid not in first or v < first[eid] and first[eid].content_hash != "":
            first[eid] = v
    chosen: set[str] = set()
    for i, (eid, v) in enumerate(zip(ids, batch)):
        winner = first[eid]
        if winner.content_hash in ("", v.content_hash):
            stored_already = any(s.content_hash == winner.content_hash for s in stored.get(eid, ()))
            if winner.content_hash == "" or stored_already or eid in chosen:
                plan.replays.append(i)
            else:
                chosen.add(eid)
                plan.insert.append(i)
        else:
            plan.conflicts.append(i)
    for eid, vs in stored.items():
        winner = first.get(eid)
        if winner is None or winner.content_hash == "":
            continue
        plan.remove += sorted({(eid, s.content_hash) for s in vs if s.content_hash != winner.content_hash})
    return plan
