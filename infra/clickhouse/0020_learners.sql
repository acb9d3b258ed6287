-- Learners (issue: predictive empathy): every prediction, every training example, and the metrics window.
-- Every prediction the churn / burnout models made, in event time (progressive validation, baselines,
-- and the audit trail of what the model said when). Employee ids are pseudonymised.
CREATE TABLE IF NOT EXISTS predictions
(
    model          LowCardinality(String) COMMENT 'churn | burnout',
    entity_id      String,
    team_id        String DEFAULT '',
    event_id       String COMMENT 'the event that triggered the prediction',
    predicted_at   DateTime64(3, 'UTC') COMMENT 'event time',
    probability    Float32,
    baseline       Float32 COMMENT 'the trivial baseline score: minus the last text sentiment',
    model_version  LowCardinality(String),
    n_labels       UInt32,
    n_pos          UInt32,
    alerted        UInt8 COMMENT 'the alert policy fired (published only with consent for employees)',
    consent        UInt8,
    stored_at      DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree(stored_at)
PARTITION BY toYYYYMM(predicted_at)
ORDER BY (model, entity_id, event_id);

-- Training examples as the learner consumed them: features known at prediction time + the delayed label.
CREATE TABLE IF NOT EXISTS learn_examples
(
    model           LowCardinality(String),
    example_id      String,
    entity_id       String,
    pred_event_id   String,
    label_event_id  String,
    predicted_at    DateTime64(3, 'UTC'),
    labelled_at     DateTime64(3, 'UTC'),
    label           UInt8,
    probability     Float32 COMMENT 'predicted before the label was known (progressive validation)',
    baseline        Float32,
    model_version   LowCardinality(String),
    n_labels        UInt32,
    n_pos           UInt32,
    weight          Float32,
    learned         UInt8 COMMENT '0 when the learner skipped it as a duplicate',
    features        String COMMENT 'JSON',
    stored_at       DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree(stored_at)
ORDER BY (model, example_id);

-- Trailing window behind each metrics_daily value (1 day for customer CSAT / sentiment, 28 for HR metrics).
ALTER TABLE metrics_daily ADD COLUMN IF NOT EXISTS window_days UInt16 DEFAULT 1;
