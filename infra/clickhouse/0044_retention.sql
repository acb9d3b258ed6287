-- Every table that holds data gets a TTL (streams/retention.py declares them; docs/privacy.md lists them).
-- Rows count from when pulsewire stored them, so a backfill of old events is not deleted on arrival.
-- These are the defaults of the PULSEWIRE_*_TTL_DAYS settings; the worker applies configured values.
ALTER TABLE sentiment_minute ADD COLUMN IF NOT EXISTS stored_at SimpleAggregateFunction(max, DateTime('UTC')) DEFAULT now() COMMENT 'last time an event was added to this minute';
ALTER TABLE risk_latest ADD COLUMN IF NOT EXISTS stored_at DateTime64(3, 'UTC') DEFAULT now64(3);
ALTER TABLE events_scored MODIFY TTL toDateTime(ingested_at) + INTERVAL 365 DAY;
ALTER TABLE sentiment_minute MODIFY TTL stored_at + INTERVAL 365 DAY;
ALTER TABLE predictions MODIFY TTL toDateTime(stored_at) + INTERVAL 180 DAY;
ALTER TABLE risk_latest MODIFY TTL toDateTime(stored_at) + INTERVAL 180 DAY;
ALTER TABLE learn_examples MODIFY TTL toDateTime(stored_at) + INTERVAL 180 DAY;
ALTER TABLE alerts_audit MODIFY TTL toDateTime(created_at) + INTERVAL 365 DAY;
ALTER TABLE consent_audit MODIFY TTL toDateTime(recorded_at) + INTERVAL 365 DAY;
ALTER TABLE metrics_daily MODIFY TTL toDateTime(computed_at) + INTERVAL 730 DAY;
