-- Activity events (what a customer does: logins, features used, orders) are high volume and carry no
-- text, so they are not stored one wide row each in events_scored. Two tables instead (docs/decisions/0012):
--
-- activity_events: the raw rows, kept a short time (PULSEWIRE_ACTIVITY_RAW_DAYS, default 7, counted
-- from the UTC day they were stored; the worker applies the setting). ReplacingMergeTree on event_id,
-- first version wins like events_scored (streams/dedup.py).
CREATE TABLE IF NOT EXISTS activity_events
(
    event_id      String,
    source        LowCardinality(String),
    type          LowCardinality(String),
    occurred_at   DateTime64(3, 'UTC'),
    ingested_at   DateTime64(3, 'UTC'),
    stored_at     DateTime64(3, 'UTC') DEFAULT now64(3),
    customer_id   String,
    quantity      Nullable(Float64),
    amount        Nullable(Float64),
    currency      LowCardinality(String) DEFAULT '',
    product       LowCardinality(String) DEFAULT '',
    session_id    String DEFAULT '' COMMENT 'the source''s session id; only here, never in activity_daily',
    attributes    Map(String, String),
    content_hash  String DEFAULT '',
    INDEX event_id_bloom event_id TYPE bloom_filter GRANULARITY 4
)
ENGINE = ReplacingMergeTree(ingested_at)
PARTITION BY toYYYYMMDD(stored_at)
ORDER BY (customer_id, event_id)
TTL toStartOfDay(stored_at) + toIntervalDay(7);

-- activity_daily: per customer, UTC day, type and currency ('' without an amount), recomputed from
-- activity_events FINAL for the (customer, day) a batch touched, so a replay writes the same values
-- again. One row per stored_on (the UTC day the raw rows were stored): a bucket is recomputed only
-- while all its raw rows are kept, so raw rows expiring never shrink a total. Totals of a day are the
-- sum over stored_on: SELECT ... sum(events) FROM activity_daily FINAL GROUP BY customer_id, day, type, currency.
CREATE TABLE IF NOT EXISTS activity_daily
(
    customer_id   String,
    day           Date,
    type          LowCardinality(String),
    currency      LowCardinality(String) DEFAULT '',
    stored_on     Date COMMENT 'the UTC day the counted raw rows were stored',
    events        UInt64,
    purchases     UInt64,
    quantity_sum  Float64,
    amount_sum    Float64,
    first_at      DateTime64(3, 'UTC'),
    last_at       DateTime64(3, 'UTC'),
    computed_at   DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree(computed_at)
PARTITION BY toYYYYMM(day)
ORDER BY (customer_id, day, type, currency, stored_on)
TTL toDateTime(computed_at) + toIntervalDay(365);
