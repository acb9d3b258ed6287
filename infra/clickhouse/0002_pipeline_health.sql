-- Per-batch counters written by each worker's sink: throughput, batch cost per stage.
CREATE TABLE IF NOT EXISTS pipeline_health
(
    ts            DateTime64(3, 'UTC'),
    worker        LowCardinality(String),
    stage         LowCardinality(String),
    events        UInt64,
    batches       UInt32,
    busy_s        Float64,
    dead_letters  UInt64
)
ENGINE = MergeTree
PARTITION BY toYYYYMMDD(ts)
ORDER BY (stage, ts)
TTL toDateTime(ts) + INTERVAL 30 DAY;
