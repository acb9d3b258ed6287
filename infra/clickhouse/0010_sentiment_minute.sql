-- Per-minute sentiment by source, channel, product and team (issue 6: live boards).
-- An AggregatingMergeTree fed by a materialized view on every insert into events_scored.
--
-- Replays: events_scored is a ReplacingMergeTree on event_id, so a batch replayed after a
-- crash collapses there; but a materialized view fires on every insert, so the replayed
-- batch is counted again here. Sums and counts (events, scored, score_sum, negative...)
-- can therefore be high by one replayed batch (at most sink_batch_size rows per crash);
-- averages (score_sum / scored, negative / scored) weight that batch twice. The distinct
-- counts (people) are replay-safe. Panels that must be exact read events_scored FINAL;
-- see docs/dashboards.md for which panel reads what and why.
-- author = 'employee' when the row carries a (pseudonymised) employee_id, else 'customer':
-- employee rows are only ever shown per team with small-group suppression.
CREATE TABLE IF NOT EXISTS sentiment_minute
(
    minute     DateTime('UTC'),
    author     LowCardinality(String),
    kind       LowCardinality(String),
    source     LowCardinality(String),
    channel    LowCardinality(String),
    product    LowCardinality(String),
    team_id    String,
    events     SimpleAggregateFunction(sum, UInt64),
    scored     SimpleAggregateFunction(sum, UInt64) COMMENT 'events that carried text and got a sentiment',
    score_sum  SimpleAggregateFunction(sum, Float64) COMMENT 'sum of sentiment_score (p_positive - p_negative)',
    negative   SimpleAggregateFunction(sum, UInt64),
    neutral    SimpleAggregateFunction(sum, UInt64),
    positive   SimpleAggregateFunction(sum, UInt64),
    people     AggregateFunction(uniqExact, String) COMMENT 'distinct customers or employees (replay-safe)',
    commenters AggregateFunction(uniqExact, String) COMMENT 'distinct authors of scored text (replay-safe)'
)
ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMM(minute)
ORDER BY (author, kind, minute, source, channel, product, team_id);

CREATE MATERIALIZED VIEW IF NOT EXISTS sentiment_minute_mv TO sentiment_minute AS
SELECT
    toDateTime(toStartOfMinute(occurred_at), 'UTC') AS minute,
    if(employee_id != '', 'employee', 'customer') AS author,
    kind, source, channel, product, team_id,
    toUInt64(count()) AS events,
    toUInt64(countIf(sentiment_label != '')) AS scored,
    sum(toFloat64(ifNull(sentiment_score, 0))) AS score_sum,
    toUInt64(countIf(sentiment_label = 'negative')) AS negative,
    toUInt64(countIf(sentiment_label = 'neutral')) AS neutral,
    toUInt64(countIf(sentiment_label = 'positive')) AS positive,
    uniqExactState(if(employee_id != '', employee_id, customer_id)) AS people,
    uniqExactStateIf(if(employee_id != '', employee_id, customer_id), sentiment_label != '') AS commenters
FROM events_scored
GROUP BY minute, author, kind, source, channel, product, team_id;

-- Back-fill from rows stored before this migration (a no-op on a new store). Guarded so that
-- re-running the migration after a crash does not add the rows twice.
INSERT INTO sentiment_minute
SELECT
    toDateTime(toStartOfMinute(occurred_at), 'UTC') AS minute,
    if(employee_id != '', 'employee', 'customer') AS author,
    kind, source, channel, product, team_id,
    toUInt64(count()) AS events,
    toUInt64(countIf(sentiment_label != '')) AS scored,
    sum(toFloat64(ifNull(sentiment_score, 0))) AS score_sum,
    toUInt64(countIf(sentiment_label = 'negative')) AS negative,
    toUInt64(countIf(sentiment_label = 'neutral')) AS neutral,
    toUInt64(countIf(sentiment_label = 'positive')) AS positive,
    uniqExactState(if(employee_id != '', employee_id, customer_id)) AS people,
    uniqExactStateIf(if(employee_id != '', employee_id, customer_id), sentiment_label != '') AS commenters
FROM events_scored FINAL
WHERE (SELECT count() FROM sentiment_minute) = 0
GROUP BY minute, author, kind, source, channel, product, team_id;
