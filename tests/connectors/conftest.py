"""Helpers for connector tests: realistic payloads, reading topics back (the broker fixture is the suite's)."""

from __future__ import annotations

import os
import signal
import time


def _real_pids(broker) -> list[int]:
    """The noida-db console script spawns the real binary; signals to the wrapper do not reach it."""
    pid = broker.proc.pid
    try:
        kids = [int(x) for x in open(f"/proc/{pid}/task/{pid}/children").read().split()]
    except OSError:
        kids = []
    return kids or [pid]


def stop_broker_fully(broker, timeout_s: float = 20.0) -> None:
    """EmbeddedBroker.stop() and then the binary it started (it saves its data on SIGTERM)."""
    if broker.proc is None:
        return
    pids = _real_pids(broker)
    broker.stop()
    for pid in pids:
        deadline = time.monotonic() + timeout_s
        try:
            os.kill(pid, signal.SIGTERM)
            while time.monotonic() < deadline and os.path.exists(f"/proc/{pid}") and \
                    "zombie" not in open(f"/proc/{pid}/status").read():
                time.sleep(0.05)
            if os.path.exists(f"/proc/{pid}"):
                os.kill(pid, signal.SIGKILL)
        except (ProcessLookupError, FileNotFoundError):
            pass


def read_topics(bootstrap: str, topics: list[str], timeout_s: float = 20.0) -> list:
    """Every record currently on ``topics`` (from the beginning to the end offsets)."""
    from kafka import KafkaConsumer, TopicPartition

    c = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, group_id=None)
    try:
        tps = [TopicPartition(t, p) for t in topics for p in (c.partitions_for_topic(t) or ())]
        c.assign(tps)
        c.seek_to_beginning(*tps)
        end = c.end_offsets(tps)
        out, deadline = [], time.monotonic() + timeout_s
        while any(c.position(tp) < end[tp] for tp in tps) and time.monotonic() < deadline:
            for recs in c.poll(timeout_ms=300).values():
                out.extend(recs)
        return out
    finally:
        c.close()


REVIEWS_CSV = (
    "review_id,customer_id,rating,title,body,created_at,store\n"
    "rv-1001,cust-17,5,Love it,\"Setup took two minutes, and support answered within the hour.\",2026-10-03T09:12:44Z,app_store\n"
    "rv-1002,cust-42,2,Meh,\"The export keeps failing, I had to email \"\"support\"\" twice.\",2026-10-03T11:40:02+02:00,google\n"
    "rv-1003,cust-08,1,Cancelled,\"Billing charged me twice.\nStill waiting for the refund.\",2026-10-04T18:01:00Z,web\n"
    "rv-1004,cust-23,4,,Good value for a small team,2026-10-05T07:30:00Z,app_store\n"
)

REVIEWS_JSONL = (
    '{"id": "tp-9001", "consumer": {"id": "c-77", "name": "Ana"}, "stars": 4, "text": "Quick delivery.", "createdAt": "2026-10-01T08:00:00Z"}\n'
    '{"id": "tp-9002", "consumer": {"id": "c-78", "name": "Bo"}, "stars": 1, "text": "Never arrived.", "createdAt": "2026-10-01T09:00:00Z"}\n'
    "\n"
    '{"id": "tp-9003", "consumer": {"id": "c-79"}, "stars": 3, "text": "OK.", "createdAt": "2026-10-02T10:00:00Z"}\n'
)
JSONL_COLUMNS = {"event_id": "id", "customer_id": "consumer.id", "rating": "stars", "occurred_at": "createdAt"}
