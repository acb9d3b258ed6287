-- Consumer lag per group, topic and partition, sampled by the worker
-- (pulsewire.dashboards.lag.record_lag). partition = -1 is the sum over all partitions
-- of the topic (what ProgressReader reports).
CREATE TABLE IF NOT EXISTS consumer_lag
(
    ts              DateTime64(3, 'UTC'),
    consumer_group  LowCardinality(String),
    topic           LowCardinality(String),
    partition       Int32,
    committed       Int64,
    end_offset      Int64,
    lag             Int64
)
ENGINE = MergeTree
PARTITION BY toYYYYMMDD(ts)
ORDER BY (consumer_group, topic, partition, ts)
TTL toDateTime(ts) + INTERVAL 30 DAY;
