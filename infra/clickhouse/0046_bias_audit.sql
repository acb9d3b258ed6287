-- Bias audit (docs/oversight.md#bias-audit): one row per day, model, attribute, group and measure, written
-- once a day by the worker (and by `pulsewire audit --record`). Group aggregates only: groups below the
-- small-group threshold are merged into group_name = '(suppressed)' without numbers. A re-run of the same day
-- replaces its rows (ReplacingMergeTree on the key), so the writers are idempotent.
CREATE TABLE IF NOT EXISTS bias_audit_daily
(
    day          Date,
    model        LowCardinality(String) COMMENT 'churn | burnout',
    attribute    LowCardinality(String) COMMENT 'plan | team | channel | tenure | a connector''s auditable field',
    group_name   String,
    measure      LowCardinality(String) COMMENT 'alert_rate | mean_risk | fpr | precision | recall | auc | judged_useful',
    state        LowCardinality(String) COMMENT 'shown | suppressed',
    people       Nullable(UInt32) COMMENT 'distinct people in the group',
    n            Nullable(UInt32) COMMENT 'people (judged alerts for judged_useful) behind the value',
    value        Nullable(Float64),
    lo           Nullable(Float64) COMMENT '95% interval of the value',
    hi           Nullable(Float64),
    reference    String DEFAULT '' COMMENT 'the best-treated group of this measure',
    ratio        Nullable(Float64) COMMENT 'disparity ratio against the reference, at most 1 at the point',
    ratio_lo     Nullable(Float64),
    ratio_hi     Nullable(Float64),
    four_fifths  UInt8 DEFAULT 0 COMMENT 'ratio < 0.8',
    flagged      UInt8 DEFAULT 0 COMMENT 'the whole 95% interval of the ratio < 0.8 (alert_rate, precision: only for a group no fpr or recall ratio judges)',
    groups       UInt32 DEFAULT 1 COMMENT 'groups merged into a (suppressed) row',
    min_group    UInt32 COMMENT 'the small-group threshold applied',
    window_from  DateTime64(3, 'UTC'),
    window_to    DateTime64(3, 'UTC'),
    computed_at  DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree(computed_at)
ORDER BY (day, model, attribute, group_name, measure)
TTL toDateTime(computed_at) + INTERVAL 730 DAY;

-- granted: the audit as panels and alert rules read it (group aggregates only; the newest computation per key)
CREATE VIEW IF NOT EXISTS oversight_bias_audit SQL SECURITY DEFINER AS
SELECT day, model, attribute, group_name, measure, state, people, n, value, lo, hi, reference, ratio, ratio_lo,
       ratio_hi, four_fifths, flagged, groups, min_group, window_from, window_to, computed_at
FROM bias_audit_daily FINAL;
