-- Signals computed by the learners and the metrics job (issue: predictive empathy).
-- Latest risk per entity: one row per (model, entity) survives merges; read with FINAL.
CREATE TABLE IF NOT EXISTS risk_latest
(
    model          LowCardinality(String) COMMENT 'churn | burnout',
    entity_type    LowCardinality(String) COMMENT 'customer | employee',
    entity_id      String COMMENT 'customer id, or pseudonymised employee id',
    team_id        String DEFAULT '',
    probability    Float32,
    model_version  LowCardinality(String),
    reasons        Array(String) COMMENT 'top features in plain words',
    event_id       String COMMENT 'the event that triggered this prediction',
    scored_at      DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(scored_at)
ORDER BY (model, entity_id);

-- Every alert that was sent, with its inputs and model version (human oversight / audit).
CREATE TABLE IF NOT EXISTS alerts_audit
(
    alert_id       String COMMENT 'deterministic CloudEvents id: consumers de-duplicate on it',
    alert_type     LowCardinality(String) COMMENT 'churn | burnout | sentiment',
    subject        String COMMENT 'customer id, pseudonymised employee id, team id or channel',
    subject_type   LowCardinality(String) COMMENT 'customer | employee | team | channel | product',
    team_id        String DEFAULT '',
    score          Float32,
    threshold      Float32,
    model_version  LowCardinality(String),
    reasons        Array(String),
    inputs         String COMMENT 'JSON: the features the decision used',
    topic          LowCardinality(String),
    created_at     DateTime64(3, 'UTC'),
    occurred_at    DateTime64(3, 'UTC') COMMENT 'event time of the triggering event'
)
ENGINE = ReplacingMergeTree(created_at)
PARTITION BY toYYYYMM(occurred_at)
ORDER BY (alert_type, alert_id);

-- The SMB metrics per day and dimension (all, team, channel). n is the group size behind the value;
-- boards must hide team rows with n below the minimum group size (the writer suppresses them too).
CREATE TABLE IF NOT EXISTS metrics_daily
(
    day              Date,
    metric           LowCardinality(String) COMMENT 'enps | csat | retention_rate | voluntary_turnover_rate | sentiment_customer | sentiment_employee',
    dimension        LowCardinality(String) COMMENT 'all | team | channel',
    dimension_value  String DEFAULT '',
    value            Float64,
    n                UInt32,
    computed_at      DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree(computed_at)
ORDER BY (metric, dimension, dimension_value, day);
