-- Alert outcomes (human oversight): what the people who received an alert did with it, joined to the
-- alert as alerts_audit recorded it. One row per outcome id: the worker stores an outcome id once, so
-- a re-sent or replayed outcome changes nothing. Per person (subject, note): never granted to Grafana;
-- Grafana reads the weekly aggregate oversight_outcome_week only.
CREATE TABLE IF NOT EXISTS alert_outcomes
(
    outcome_id         String COMMENT 'chosen by the sender; idempotency key',
    alert_id           String COMMENT 'the alert CloudEvents id',
    outcome            LowCardinality(String) COMMENT 'acted | not_useful | wrong | already_known',
    role               LowCardinality(String) COMMENT 'who judged it, as a role (never a name)',
    note               String DEFAULT '' COMMENT 'optional free text: personal data',
    outcome_at         DateTime64(3, 'UTC') COMMENT 'when the person judged the alert (event time)',
    alert_type         LowCardinality(String) COMMENT 'churn | burnout | sentiment (from alerts_audit)',
    subject            String COMMENT 'the alert subject: customer id, employee pseudonym, team, channel',
    subject_type       LowCardinality(String),
    team_id            String DEFAULT '',
    model_version      LowCardinality(String),
    alert_created_at   DateTime64(3, 'UTC') COMMENT 'when alerts_audit stored the alert',
    alert_occurred_at  DateTime64(3, 'UTC') COMMENT 'event time of the alert trigger',
    content_hash       String COMMENT 'sha256 of the outcome as sent: tells a re-send from a conflicting one',
    stored_at          DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree
ORDER BY (alert_id, outcome_id)
TTL toDateTime(stored_at) + INTERVAL 365 DAY;

-- internal: per alert, the outcome that stands (latest outcome_at, then greatest outcome_id) and when
-- the first and last outcome came
CREATE VIEW IF NOT EXISTS alert_outcome_first_last SQL SECURITY DEFINER AS
SELECT alert_id,
       argMax(outcome, (outcome_at, outcome_id)) AS outcome,
       min(outcome_at) AS first_outcome_at,
       max(outcome_at) AS last_outcome_at,
       count() AS outcomes
FROM alert_outcomes FINAL
GROUP BY alert_id;

-- granted: outcome counts per ISO week of the alert (its trigger event time), alert kind and model version.
-- due: alerts older than 7 days; unjudged_due: those with no outcome yet (nobody looked). Hours to outcome:
-- from the alert trigger to its first outcome. A row with burnout alerts about employees is shown only
-- with at least min_group distinct employees behind it (migration 0042's threshold).
CREATE VIEW IF NOT EXISTS oversight_outcome_week SQL SECURITY DEFINER AS
SELECT toMonday(a.occurred_at, 'UTC') AS week,
       a.alert_type AS alert_type,
       a.model_version AS model_version,
       count() AS alerts,
       countIf(o.outcome = 'acted') AS acted,
       countIf(o.outcome = 'not_useful') AS not_useful,
       countIf(o.outcome = 'wrong') AS wrong,
       countIf(o.outcome = 'already_known') AS already_known,
       countIf(o.outcomes > 0) AS judged,
       countIf(a.occurred_at < (SELECT now FROM privacy_now) - INTERVAL 7 DAY) AS due,
       countIf(a.occurred_at < (SELECT now FROM privacy_now) - INTERVAL 7 DAY AND NOT (o.outcomes > 0)) AS unjudged_due,
       quantileExactIf(0.5)(greatest(0, dateDiff('second', a.occurred_at, o.first_outcome_at)) / 3600,
                            o.outcomes > 0) AS median_hours_to_outcome,
       quantileExactIf(0.9)(greatest(0, dateDiff('second', a.occurred_at, o.first_outcome_at)) / 3600,
                            o.outcomes > 0) AS p90_hours_to_outcome
FROM alerts_audit AS a FINAL
LEFT JOIN alert_outcome_first_last AS o ON o.alert_id = a.alert_id
GROUP BY week, alert_type, model_version
HAVING uniqExactIf(a.subject, a.subject_type = 'employee') = 0
    OR uniqExactIf(a.subject, a.subject_type = 'employee') >= (SELECT min_group FROM privacy_thresholds);
