import subprocess
import sys
import uuid
from datetime import datetime, timezone

import pytest

from pulsewire.streams.rows import scored_row
from pulsewire.streams.store import StoreError, load_migrations, open_store

def scored(event_id: str, text="great", score=0.8):
    ev = {"event_id": event_id, "source": "unit", "kind": "review", "type": "review", "customer_id": "c1",
          "occurred_at": datetime.now(timezone.utc).isoformat(), "ingested_at": datetime.now(timezone.utc).isoformat(),
          "text": text, "rating": 5, "attributes": {"lang": "en"}}
    sent = {"label": "positive", "probabilities": {"negative": 0.1, "neutral": 0.1, "positive": 0.8},
            "score": score, "model_version": "unit-1", "truncated": False}
    return {"schema_version": 1, "event": ev, "sentiment": sent}


def test_migrations_are_numbered_and_idempotent(store):
    versions = [m.version for m in load_migrations()]
    assert versions == sorted(set(versions)) and versions[0] == 1
    assert store.migrate() == []  # already applied: nothing to do
    tables = {r[0] for r in store.query("SHOW TABLES").result_rows}
    assert {"events_scored", "dead_letters", "schema_migrations", "pipeline_health"} <= tables


def test_replayed_rows_are_stored_once(store):
    ids = [f"dup-{uuid.uuid4().hex}" for _ in range(3)]
    rows = [scored_row(scored(i)) for i in ids]
    store.insert_rows("events_scored", rows)
    store.insert_rows("events_scored", rows)  # the replay after a crash
    got = store.query_dicts("SELECT event_id, count() AS n FROM events_scored FINAL WHERE event_id IN {ids:Array(String)} "
                            "GROUP BY event_id", {"ids": ids})
    assert sorted(r["event_id"] for r in got) == sorted(ids)
    assert all(r["n"] == 1 for r in got)


def test_scored_row_keeps_sentiment_and_fields(store):
    eid = f"row-{uuid.uuid4().hex}"
    store.insert_rows("events_scored", [scored_row(scored(eid, text="héllo ✓", score=-0.5))])
    row = store.query_dicts("SELECT * FROM events_scored FINAL WHERE event_id = {e:String}", {"e": eid})[0]
    assert row["text"] == "héllo ✓" and row["rating"] == 5 and row["sentiment_label"] == "positive"
    assert row["sentiment_score"] == pytest.approx(-0.5) and row["attributes"] == {"lang": "en"}
    assert row["occurred_at"].tzinfo is not None


def test_text_ttl_follows_settings(store):
    assert "toIntervalDay(90)" in store.client.command("SHOW CREATE TABLE events_scored")


def test_second_process_gets_a_clear_error_naming_path_and_owner(store):
    code = ("from pulsewire.streams.store import open_store\n"
            f"open_store({store.url!r})\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert r.returncode != 0
    path = store.url.removeprefix("chdb://")
    assert "StoreInUse" in r.stderr and path in r.stderr
    assert f"in use by process {__import__('os').getpid()}" in r.stderr


def test_same_process_second_path_is_refused_clearly(store, tmp_path):
    with pytest.raises(StoreError, match="one store per process"):
        open_store(f"chdb://{tmp_path}")


def test_unknown_url_scheme_is_refused():
    with pytest.raises(StoreError, match="unsupported store URL"):
        open_store("postgres://localhost/x")


def test_the_most_negative_window_and_the_window_count_are_stored_beside_the_pooled_score(store):
    long_id, old_id = f"win-{uuid.uuid4().hex}", f"old-{uuid.uuid4().hex}"
    long_text = scored(long_id, text="Lovely stay. " * 40 + "They lost my luggage.", score=0.6)
    long_text["sentiment"].update(min_window_score=-0.91, windows=3)
    store.insert_rows("events_scored", [scored_row(long_text), scored_row(scored(old_id))])  # old: a message from before
    rows = {r["event_id"]: r for r in store.query_dicts(
        "SELECT event_id, sentiment_score, sentiment_min_window_score, text_windows FROM events_scored FINAL "
        "WHERE event_id IN {ids:Array(String)}", {"ids": [long_id, old_id]})}
    assert rows[long_id]["sentiment_score"] == pytest.approx(0.6)
    assert rows[long_id]["sentiment_min_window_score"] == pytest.approx(-0.91) and rows[long_id]["text_windows"] == 3
    assert rows[old_id]["sentiment_min_window_score"] is None and rows[old_id]["text_windows"] is None
