"""Consumer lag into ClickHouse (``consumer_lag``), for the Pipeline health board and the lag alert.

The worker calls :func:`record_lag` every few seconds with what
:class:`pulsewire.streams.progress.ProgressReader` read (committed vs end offsets of the
group). Per-topic sums are stored with ``partition = -1``; pass a per-partition mapping
to store partitions as well.

>>> from types import SimpleNamespace
>>> p = SimpleNamespace(committed={"events.review": 90}, end={"events.review": 100, "scored.text": 5})
>>> [(r["topic"], r["partition"], r["lag"]) for r in lag_rows(p, group="pulsewire")]
[('events.review', -1, 10), ('scored.text', -1, 5)]
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Mapping


def lag_rows(progress, group: str = "pulsewire", ts: datetime | None = None,
             partitions: Mapping[tuple[str, int], tuple[int, int]] | None = None) -> list[dict]:
    """Rows for ``consumer_lag`` from a GroupProgress-like object (``committed``/``end``: topic -> offset
    sums) and, optionally, ``{(topic, partition): (committed, end)}``."""
    ts = ts or datetime.now(timezone.utc)
    rows = []
    if progress is not None:
        for topic in sorted(progress.end):
            end = int(progress.end.get(topic, 0))
            committed = int(progress.committed.get(topic, 0))
            rows.append({"ts": ts, "consumer_group": group, "topic": topic, "partition": -1,
                         "committed": committed, "end_offset": end, "lag": max(0, end - committed)})
    for (topic, part), (committed, end) in sorted((partitions or {}).items()):
        rows.append({"ts": ts, "consumer_group": group, "topic": topic, "partition": int(part),
                     "committed": int(committed), "end_offset": int(end), "lag": max(0, int(end) - int(committed))})
    return rows


def record_lag(store, progress, group: str = "pulsewire", ts: datetime | None = None,
               partitions: Mapping[tuple[str, int], tuple[int, int]] | None = None) -> int:
    """Insert one lag sample; returns the number of rows written."""
    return store.insert_rows("consumer_lag", lag_rows(progress, group, ts, partitions))
