-- Consent to per-person burnout predictions and alerts, and every change of it (issue 10, item 4).
-- One row per change the worker accepted: who (pseudonym), from what to what (old is NULL when no
-- answer was known before: unknown counts as no), which source said so and in which event (keyed id).
-- Only sources named in PULSEWIRE_CONSENT_SOURCES can change consent; consent from any other source
-- never reaches this table (it is ignored and dead-lettered as consent_source_not_allowed).
-- Idempotent on (entity_id, event_id): a replayed event records nothing new.
CREATE TABLE IF NOT EXISTS consent_audit
(
    entity_id    String COMMENT 'pseudonymised employee id (emp_...); never a raw id',
    old_consent  Nullable(UInt8) COMMENT 'NULL: no answer was known before (treated as no)',
    new_consent  UInt8,
    source       LowCardinality(String) COMMENT 'the event source that set it, one of PULSEWIRE_CONSENT_SOURCES',
    event_id     String COMMENT 'keyed id of the event that carried it',
    occurred_at  DateTime64(3, 'UTC') COMMENT 'event time at the source',
    recorded_at  DateTime64(3, 'UTC') COMMENT 'when the worker recorded the change'
)
ENGINE = ReplacingMergeTree(recorded_at)
ORDER BY (entity_id, event_id);

-- Burnout rows stored before consent was enforced: keep only the people whose latest stored
-- prediction says they consented (predictions.consent); everyone else's are removed once.
DELETE FROM risk_latest WHERE model = 'burnout' AND entity_id NOT IN (
    SELECT entity_id FROM predictions WHERE model = 'burnout' GROUP BY entity_id
    HAVING argMax(consent, predicted_at) = 1);
DELETE FROM learn_examples WHERE model = 'burnout' AND entity_id NOT IN (
    SELECT entity_id FROM predictions WHERE model = 'burnout' GROUP BY entity_id
    HAVING argMax(consent, predicted_at) = 1);
DELETE FROM predictions WHERE model = 'burnout' AND entity_id NOT IN (
    SELECT entity_id FROM predictions WHERE model = 'burnout' GROUP BY entity_id
    HAVING argMax(consent, predicted_at) = 1);
