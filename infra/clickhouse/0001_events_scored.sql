-- Every valid event with its sentiment. Idempotent on event_id: a replay after a
-- crash inserts the same rows again and ReplacingMergeTree keeps one; queries that
-- must be exact use FINAL (or argMax by event_id).
-- Raw text is personal data: a column TTL removes it (default 90 days, changed at
-- start-up from settings.raw_text_ttl_days); the scores and aggregates stay.
CREATE TABLE IF NOT EXISTS events_scored
(
    event_id          String,
    source            LowCardinality(String),
    kind              LowCardinality(String),
    type              LowCardinality(String),
    occurred_at       DateTime64(3, 'UTC'),
    ingested_at       DateTime64(3, 'UTC'),
    stored_at         DateTime64(3, 'UTC') DEFAULT now64(3),
    customer_id       String DEFAULT '',
    employee_id       String DEFAULT '' COMMENT 'pseudonymised (keyed hash); never a raw id',
    team_id           String DEFAULT '',
    channel           LowCardinality(String) DEFAULT '',
    product           LowCardinality(String) DEFAULT '',
    text              String DEFAULT '' TTL toDateTime(occurred_at) + INTERVAL 90 DAY,
    rating            Nullable(UInt8),
    csat              Nullable(UInt8),
    answer            Nullable(UInt8) COMMENT 'hr pulse (1-5) or eNPS (0-10) score',
    question          LowCardinality(String) DEFAULT '',
    hours             Nullable(Float32),
    days              Nullable(Float32),
    status            LowCardinality(String) DEFAULT '',
    exit_type         LowCardinality(String) DEFAULT '',
    plan              LowCardinality(String) DEFAULT '',
    mrr               Nullable(Float64),
    consent           Nullable(UInt8),
    sentiment_label   LowCardinality(String) DEFAULT '',
    sentiment_score   Nullable(Float32),
    p_negative        Nullable(Float32),
    p_neutral         Nullable(Float32),
    p_positive        Nullable(Float32),
    text_truncated    UInt8 DEFAULT 0,
    model_version     LowCardinality(String) DEFAULT '',
    attributes        Map(String, String)
)
ENGINE = ReplacingMergeTree(ingested_at)
PARTITION BY toYYYYMM(occurred_at)
ORDER BY (kind, source, event_id);

CREATE TABLE IF NOT EXISTS dead_letters
(
    dl_id             String COMMENT 'hash of topic, partition, offset (or payload): replays de-duplicate',
    source_topic      LowCardinality(String),
    reason            LowCardinality(String),
    detail            String,
    payload           String COMMENT 'original payload; HR payloads are redacted here (full copy stays on events.dlq)',
    payload_encoding  LowCardinality(String),
    stage             LowCardinality(String),
    partition         Nullable(Int32),
    offset            Nullable(Int64),
    failed_at         DateTime64(3, 'UTC'),
    stored_at         DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree(failed_at)
PARTITION BY toYYYYMM(failed_at)
ORDER BY (source_topic, dl_id);
