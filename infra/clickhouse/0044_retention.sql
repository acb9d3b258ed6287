-- Every table that holds data gets a TTL (streams/retention.py declares them; docs/privacy.md lists them).
-- These are the defaults of the PULSEWIRE_*_TTL_DAYS settings; the worker applies configured values.
ALTER TABLE events_scored MODIFY TTL toDateTime(occurred_at) + INTERVAL 365 DAY;
ALTER TABLE sentiment_minute MODIFY TTL minute + INTERVAL 365 DAY;
ALTER TABLE predictions MODIFY TTL toDateTime(predicted_at) + INTERVAL 180 DAY;
ALTER TABLE risk_latest MODIFY TTL toDateTime(scored_at) + INTERVAL 180 DAY;
ALTER TABLE learn_examples MODIFY TTL toDateTime(labelled_at) + INTERVAL 180 DAY;
ALTER TABLE alerts_audit MODIFY TTL toDateTime(occurred_at) + INTERVAL 365 DAY;
ALTER TABLE metrics_daily MODIFY TTL day + INTERVAL 730 DAY;
