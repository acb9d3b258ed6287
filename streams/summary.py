"""The demo's summary, read back from ClickHouse (so it shows what was stored, not what was sent).

Activity events are not in ``events_scored`` (streams/activity.py): their raw rows are counted from
``activity_events`` (kept a few days) and their all-time count from the daily totals, so events sent =
stored events + activity events + dead letters (less duplicates)."""

from __future__ import annotations

from .activity import DAILY_TOTALS, RAW_TABLE


def store_summary(store) -> dict:
    q = store.query_dicts
    by_kind = q("SELECT source, kind, count() AS events, countIf(sentiment_label != '') AS scored, "
                "round(avgIf(sentiment_score, sentiment_label != ''), 4) AS mean_sentiment "
                "FROM events_scored FINAL GROUP BY source, kind ORDER BY source, kind")
    by_source = q("SELECT source, count() AS events, round(avgIf(sentiment_score, sentiment_label != ''), 4) "
                  "AS mean_sentiment FROM events_scored FINAL GROUP BY source ORDER BY source")
    labels = q("SELECT sentiment_label AS label, count() AS events FROM events_scored FINAL "
               "WHERE sentiment_label != '' GROUP BY label ORDER BY label")
    dead = q("SELECT reason, count() AS dead_letters FROM dead_letters FINAL GROUP BY reason ORDER BY reason")
    totals = q("SELECT count() AS stored, uniqExact(event_id) AS unique_ids FROM events_scored FINAL")[0]
    raw_rows = q("SELECT count() AS n FROM events_scored")[0]["n"]
    activity = q(f"SELECT count() AS stored, uniqExact(event_id) AS unique_ids FROM {RAW_TABLE} FINAL")[0]
    activity_by = q(f"SELECT source, type, count() AS events FROM {RAW_TABLE} FINAL GROUP BY source, type "
                    "ORDER BY source, type")
    activity_total = q(f"SELECT sum(events) AS n FROM ({DAILY_TOTALS})")[0]["n"]
    models = [r["model_version"] for r in q("SELECT DISTINCT model_version FROM events_scored WHERE model_version != ''")]
    for rows in (by_kind, by_source):
        for r in rows:
            if r["mean_sentiment"] != r["mean_sentiment"]:  # NaN when a group has no text
                r["mean_sentiment"] = None
    return {
        "stored_events": int(totals["stored"]),
        "unique_event_ids": int(totals["unique_ids"]),
        "physical_rows": int(raw_rows),
        # all activity events counted in the daily totals (raw rows expire; the totals do not)
        "activity_events": int(activity_total or 0),
        "activity_raw_rows": int(activity["stored"]),
        "activity_unique_ids": int(activity["unique_ids"]),
        "activity_by_source_type": [dict(r, events=int(r["events"])) for r in activity_by],
        "dead_letters": int(sum(r["dead_letters"] for r in dead)),
        "dead_letters_by_reason": {r["reason"]: int(r["dead_letters"]) for r in dead},
        "by_source_kind": by_kind,
        "by_source": by_source,
        "sentiment_labels": {r["label"]: int(r["events"]) for r in labels},
        "model_versions": models,
    }
