-- Drift events (the drift watch, models/oversight/drift.py): one row per change a watcher reported,
-- the same as the CloudEvent on alerts.drift. Means over many values only: no row names a person.
-- The id derives from the series and its change point, so a replayed event keeps one row.
CREATE TABLE IF NOT EXISTS drift_events
(
    event_id       String COMMENT 'the CloudEvent id: sha256(series, direction, change point)',
    series         String COMMENT 'sentiment/channel:<name>, <model>/error or <model>/feature:<name>',
    watcher        LowCardinality(String) COMMENT 'sentiment | error | feature',
    model          LowCardinality(String) COMMENT 'sentiment | churn | burnout',
    dimension      String COMMENT 'channel:<name> for sentiment watchers',
    feature        String COMMENT 'feature name for feature watchers',
    direction      LowCardinality(String) COMMENT 'up | down',
    changed_since  DateTime64(3, 'UTC') COMMENT 'event time of the first value after the change point',
    detected_at    DateTime64(3, 'UTC') COMMENT 'event time of the value that confirmed the change',
    before_mean    Float64,
    before_count   UInt64,
    after_mean     Float64,
    after_count    UInt64,
    change_sd      Float64 COMMENT 'after - before, in standard deviations of the baseline',
    baseline_sd    Float64,
    detector       Map(String, String) COMMENT 'detector name and parameters',
    summary        String,
    stored_at      DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree
ORDER BY event_id
TTL toDateTime(stored_at) + INTERVAL 365 DAY;

-- granted: every column (no column holds per-person data); one row per event id
CREATE VIEW IF NOT EXISTS oversight_drift_events SQL SECURITY DEFINER AS
SELECT event_id, series, watcher, model, dimension, feature, direction, changed_since, detected_at,
       before_mean, before_count, after_mean, after_count, change_sd, baseline_sd, detector, summary
FROM drift_events FINAL;
