-- Small-group suppression in the data layer (issue 10, item 3).
--
-- Dashboards (Grafana and `pulsewire board`) read employee data only through the views below.
-- Grafana's own ClickHouse user may SELECT only the views marked "granted" (and the pipeline
-- aggregates); the per-person tables (events_scored, risk_latest, predictions, dead_letters,
-- learn_examples, alerts_audit, ...) and the internal views marked "internal" are not granted.
-- Every view runs with its definer's rights (SQL SECURITY DEFINER): reading a view needs no
-- grant on what it reads.
--
-- The rules, for every employee measure:
-- * a number is shown only when at least min_group_size DISTINCT people are behind it
--   (respondents, commenters: min_comment_group_size, people with overtime, people in the team);
-- * over fixed windows: ISO weeks (Monday to Sunday, UTC) for survey and activity numbers, whole days
--   for the daily metrics; a window is shown only once it is over, so neither moving a time range nor
--   watching a window fill up isolates one answer; panels sum whole windows, shown ones only;
-- * complementary suppression: per window and measure, when the people of the hidden teams
--   (in teams below the threshold) number 1 to threshold - 1, the smallest shown
--   team is hidden too, so the company total minus the shown teams is never a group below the
--   threshold. Company totals are shown only with at least the threshold behind them.
-- Thresholds come from privacy_settings (written by the worker at start from
-- PULSEWIRE_MIN_GROUP_SIZE / _MIN_COMMENT_GROUP_SIZE); the floors 5 and 10 are written into the
-- views, so no row in that table can lower them.

CREATE TABLE IF NOT EXISTS privacy_settings
(
    name    LowCardinality(String) COMMENT 'min_group_size | min_comment_group_size',
    value   UInt32,
    set_at  DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree(set_at)
ORDER BY name;

-- granted: the thresholds in force (panels print them in their 'suppressed (<N)' labels)
CREATE VIEW IF NOT EXISTS privacy_thresholds SQL SECURITY DEFINER AS
SELECT
    toUInt32(greatest(5, (SELECT argMax(value, set_at) FROM privacy_settings WHERE name = 'min_group_size'))) AS min_group,
    toUInt32(greatest(10, (SELECT argMax(value, set_at) FROM privacy_settings WHERE name = 'min_comment_group_size'),
                      min_group)) AS min_comment_group;

-- internal: what "now" is for "a window is over": the server's clock, or the newest time the worker
-- accepted an event (its validator's clock), whichever is later. A server clock behind the worker's
-- would otherwise hide weeks that are over (and chDB, in-process, ignores a faked test clock).
CREATE VIEW IF NOT EXISTS privacy_now SQL SECURITY DEFINER AS
SELECT greatest(now64(3, 'UTC'), (SELECT max(ingested_at) FROM events_scored)) AS now;

-- internal: one row per ISO week, team and employee, for the weeks that are over. HR events and chat
-- messages of employees with a team only: a customer's chat carries the agent's id without a team,
-- and counting those agents as hidden people would make the complementary rule think a hidden group
-- is larger than it is.
CREATE VIEW IF NOT EXISTS employee_person_week SQL SECURITY DEFINER AS
SELECT
    toMonday(occurred_at, 'UTC') AS week,
    team_id,
    employee_id,
    countIf(kind = 'hr' AND type = 'pulse' AND answer IS NOT NULL) AS pulse_answers,
    sumIf(toFloat64(ifNull(answer, 0)), kind = 'hr' AND type = 'pulse' AND answer IS NOT NULL) AS pulse_total,
    countIf(kind = 'hr' AND type = 'enps' AND answer IS NOT NULL) AS enps_answers,
    countIf(kind = 'hr' AND type = 'enps' AND answer >= 9) AS enps_promoters,
    countIf(kind = 'hr' AND type = 'enps' AND answer <= 6) AS enps_detractors,
    countIf(sentiment_label != '') AS comments,
    sumIf(toFloat64(ifNull(sentiment_score, 0)), sentiment_label != '') AS comment_total,
    countIf(kind = 'hr' AND type = 'overtime' AND hours IS NOT NULL) AS overtime_entries,
    sumIf(toFloat64(ifNull(hours, 0)), kind = 'hr' AND type = 'overtime' AND hours IS NOT NULL) AS overtime_hours
FROM events_scored FINAL
WHERE kind IN ('hr', 'chat') AND employee_id != '' AND team_id != ''
  AND occurred_at < toMonday((SELECT now FROM privacy_now), 'UTC')
GROUP BY week, team_id, employee_id
SETTINGS do_not_merge_across_partitions_select_final = 1;

-- internal: per ISO week and team, the distinct people behind each measure (n_*) and its sums;
-- n_alerted = distinct employees with a burnout alert whose triggering event falls in the week
CREATE VIEW IF NOT EXISTS employee_team_week SQL SECURITY DEFINER AS
SELECT p.*, ifNull(a.alerted, 0) AS n_alerted
FROM
(
    SELECT week, team_id,
           count() AS n_people,
           countIf(pulse_answers > 0) AS n_pulse, sum(pulse_total) AS sum_pulse, sum(pulse_answers) AS k_pulse,
           countIf(enps_answers > 0) AS n_enps, sum(enps_promoters) AS sum_promoters,
           sum(enps_detractors) AS sum_detractors, sum(enps_answers) AS k_enps,
           countIf(comments > 0) AS n_comment, sum(comment_total) AS sum_comment, sum(comments) AS k_comment,
           countIf(overtime_entries > 0) AS n_overtime, sum(overtime_hours) AS sum_overtime
    FROM employee_person_week
    GROUP BY week, team_id
) AS p
LEFT JOIN
(
    SELECT toMonday(occurred_at, 'UTC') AS week, team_id, uniqExact(subject) AS alerted
    FROM alerts_audit FINAL
    WHERE alert_type = 'burnout' AND subject_type = 'employee'
    GROUP BY week, team_id
) AS a ON a.week = p.week AND a.team_id = p.team_id;

-- internal: which cells may be shown. A team is named when it has min_group people in the week;
-- each measure is shown when its own distinct people reach its threshold and the complementary
-- rule does not pick the team (the smallest shown team, when the hidden people of the measure are
-- 1 to t - 1, or when the merged small teams have 1 to t - 1 people whatever they answered).
CREATE VIEW IF NOT EXISTS employee_team_week_cells SQL SECURITY DEFINER AS
SELECT *,
       named AND NOT (alerts_hidden > 0 AND alerts_hidden < g AND team_id = alerts_spare) AS alerts_show,
       pulse_ok AND NOT ((pulse_hidden > 0 AND pulse_hidden < g OR small_few) AND team_id = pulse_spare) AS pulse_show,
       enps_ok AND NOT ((enps_hidden > 0 AND enps_hidden < g OR small_few) AND team_id = enps_spare) AS enps_show,
       comment_ok AND NOT ((comment_hidden > 0 AND comment_hidden < cg OR small_few_comment)
                           AND team_id = comment_spare) AS comment_show,
       overtime_ok AND NOT ((overtime_hidden > 0 AND overtime_hidden < g OR small_few)
                            AND team_id = overtime_spare) AS overtime_show
FROM
(
    SELECT *,
           sumIf(n_people, NOT named) OVER w AS alerts_hidden,
           -- the merged small teams are fewer than the threshold: whether any of them answered must not
           -- decide what else is hidden, so the spare team is hidden for every measure
           alerts_hidden > 0 AND alerts_hidden < g AS small_few,
           alerts_hidden > 0 AND alerts_hidden < cg AS small_few_comment,
           argMinIf(team_id, (n_people, team_id), named) OVER w AS alerts_spare,
           sumIf(n_pulse, NOT pulse_ok) OVER w AS pulse_hidden,
           argMinIf(team_id, (n_pulse, team_id), pulse_ok) OVER w AS pulse_spare,
           sumIf(n_enps, NOT enps_ok) OVER w AS enps_hidden,
           argMinIf(team_id, (n_enps, team_id), enps_ok) OVER w AS enps_spare,
           sumIf(n_comment, NOT comment_ok) OVER w AS comment_hidden,
           argMinIf(team_id, (n_comment, team_id), comment_ok) OVER w AS comment_spare,
           sumIf(n_overtime, NOT overtime_ok) OVER w AS overtime_hidden,
           argMinIf(team_id, (n_overtime, team_id), overtime_ok) OVER w AS overtime_spare
    FROM
    (
        SELECT *,
               team_id != '' AND n_people >= g AS named,
               team_id != '' AND n_pulse >= g AS pulse_ok,
               team_id != '' AND n_enps >= g AS enps_ok,
               team_id != '' AND n_comment >= cg AS comment_ok,
               team_id != '' AND n_overtime >= g AS overtime_ok
        FROM employee_team_week
        CROSS JOIN (SELECT min_group AS g, min_comment_group AS cg FROM privacy_thresholds) AS thresholds
    )
    WINDOW w AS (PARTITION BY week)
);

-- granted: team numbers per ISO week. Teams below min_group people that week are merged into one
-- row with team = '' and no numbers. A measure's state is 'shown' (its n and sums are filled),
-- 'suppressed' (too few people, hidden by the complementary rule, or the merged row: always) or
-- 'none' (nobody, in a named team). Panels over a range sum the shown weeks: sum(pulse_sum) / sum(pulse_k).
CREATE VIEW IF NOT EXISTS workforce_team_week SQL SECURITY DEFINER AS
SELECT
    week,
    team,
    toUInt32(count()) AS teams,
    if(team != '', toNullable(toUInt32(any(n_people))), NULL) AS people,
    -- a named team hidden by the complementary rule is 'suppressed' even with no alert: 'none' would say 0
    -- the merged row is 'suppressed' for every measure, whatever its people did: 'none' there would say
    -- that nobody in a group below the threshold answered (or was alerted), 'suppressed' that someone did
    multiIf(team = '' OR NOT min(alerts_show), 'suppressed', sum(n_alerted) = 0, 'none', 'shown') AS alerts_state,
    if(alerts_state = 'shown', toNullable(toUInt32(sum(n_alerted))), NULL) AS alerts,
    multiIf(team = '', 'suppressed', sum(n_pulse) = 0, 'none', min(pulse_show), 'shown', 'suppressed') AS pulse_state,
    if(pulse_state = 'shown', toNullable(toUInt32(sum(n_pulse))), NULL) AS pulse_n,
    if(pulse_state = 'shown', toNullable(sum(sum_pulse)), NULL) AS pulse_sum,
    if(pulse_state = 'shown', toNullable(toUInt32(sum(k_pulse))), NULL) AS pulse_k,
    multiIf(team = '', 'suppressed', sum(n_enps) = 0, 'none', min(enps_show), 'shown', 'suppressed') AS enps_state,
    if(enps_state = 'shown', toNullable(toUInt32(sum(n_enps))), NULL) AS enps_n,
    if(enps_state = 'shown', toNullable(toUInt32(sum(sum_promoters))), NULL) AS promoters,
    if(enps_state = 'shown', toNullable(toUInt32(sum(sum_detractors))), NULL) AS detractors,
    if(enps_state = 'shown', toNullable(toUInt32(sum(k_enps))), NULL) AS enps_k,
    multiIf(team = '', 'suppressed', sum(n_comment) = 0, 'none', min(comment_show), 'shown', 'suppressed') AS comment_state,
    if(comment_state = 'shown', toNullable(toUInt32(sum(n_comment))), NULL) AS comment_n,
    if(comment_state = 'shown', toNullable(sum(sum_comment)), NULL) AS comment_sum,
    if(comment_state = 'shown', toNullable(toUInt32(sum(k_comment))), NULL) AS comment_k,
    multiIf(team = '', 'suppressed', sum(n_overtime) = 0, 'none', min(overtime_show), 'shown', 'suppressed') AS overtime_state,
    if(overtime_state = 'shown', toNullable(toUInt32(sum(n_overtime))), NULL) AS overtime_n,
    if(overtime_state = 'shown', toNullable(sum(sum_overtime)), NULL) AS overtime_sum
FROM
(
    SELECT *, if(named, team_id, '') AS team
    FROM employee_team_week_cells
)
GROUP BY week, team;

-- granted: whole-company numbers per ISO week. A measure is shown only with its threshold of distinct
-- people behind it and when company minus the shown teams cannot be pinned on one hidden group: the
-- hidden groups (the merged small teams, each named team not shown) are none, two or more, or hold at
-- least the threshold of people (the teams' complementary rule makes this the usual case; this is the
-- backstop). 'none' only when nobody answered and no group is hidden: otherwise it would tell
-- 'nobody in the hidden group answered' from 'suppressed'.
CREATE VIEW IF NOT EXISTS workforce_company_week SQL SECURITY DEFINER AS
SELECT
    week,
    if(n_people >= g, toNullable(n_people), NULL) AS people,
    multiIf(n_people >= g AND alerts_clear, if(n_alerted = 0, 'none', 'shown'),
            n_alerted = 0 AND small_people = 0, 'none', 'suppressed') AS alerts_state,
    if(alerts_state = 'shown', toNullable(n_alerted), NULL) AS alerts,
    multiIf(n_pulse >= g AND pulse_clear, 'shown', n_pulse = 0 AND small_people = 0, 'none', 'suppressed') AS pulse_state,
    if(pulse_state = 'shown', toNullable(sum_pulse), NULL) AS pulse_sum,
    if(pulse_state = 'shown', toNullable(k_pulse), NULL) AS pulse_k,
    multiIf(n_enps >= g AND enps_clear, 'shown', n_enps = 0 AND small_people = 0, 'none', 'suppressed') AS enps_state,
    if(enps_state = 'shown', toNullable(n_enps), NULL) AS enps_n,
    if(enps_state = 'shown', toNullable(sum_promoters), NULL) AS promoters,
    if(enps_state = 'shown', toNullable(sum_detractors), NULL) AS detractors,
    if(enps_state = 'shown', toNullable(k_enps), NULL) AS enps_k
FROM
(
    SELECT p.week AS week, p.n_people AS n_people, p.n_pulse AS n_pulse, p.sum_pulse AS sum_pulse,
           p.k_pulse AS k_pulse, p.n_enps AS n_enps, p.sum_promoters AS sum_promoters,
           p.sum_detractors AS sum_detractors, p.k_enps AS k_enps, t.alerted AS n_alerted,
           t.small_people AS small_people, t.alerts_clear AS alerts_clear, t.pulse_clear AS pulse_clear,
           t.enps_clear AS enps_clear
    FROM
    (
        SELECT week,
               toUInt32(uniqExact(employee_id)) AS n_people,
               toUInt32(uniqExactIf(employee_id, pulse_answers > 0)) AS n_pulse,
               sum(pulse_total) AS sum_pulse, toUInt32(sum(pulse_answers)) AS k_pulse,
               toUInt32(uniqExactIf(employee_id, enps_answers > 0)) AS n_enps,
               toUInt32(sum(enps_promoters)) AS sum_promoters, toUInt32(sum(enps_detractors)) AS sum_detractors,
               toUInt32(sum(enps_answers)) AS k_enps
        FROM employee_person_week
        GROUP BY week
    ) AS p
    INNER JOIN
    (
        -- hidden groups per measure: the merged small teams (one group) and each named team not shown
        SELECT week, toUInt32(sum(n_alerted)) AS alerted, toUInt32(sumIf(n_people, NOT named)) AS small_people,
               countIf(named AND NOT alerts_show) + (small_people > 0) AS alerts_groups,
               countIf(named AND NOT pulse_show) + (small_people > 0) AS pulse_groups,
               countIf(named AND NOT enps_show) + (small_people > 0) AS enps_groups,
               alerts_groups != 1 OR sumIf(n_people, NOT alerts_show) >= any(g) AS alerts_clear,
               pulse_groups != 1 OR sumIf(n_people, NOT pulse_show) >= any(g) AS pulse_clear,
               enps_groups != 1 OR sumIf(n_people, NOT enps_show) >= any(g) AS enps_clear
        FROM employee_team_week_cells
        GROUP BY week
    ) AS t ON t.week = p.week
) AS company
CROSS JOIN (SELECT min_group AS g FROM privacy_thresholds) AS thresholds;

-- granted: the HR metrics of metrics_daily (written per day by the metrics job; n = distinct people),
-- for the days that are over. Only the metrics no weekly view publishes: eNPS and employee sentiment
-- are served per ISO week above, and the same answers in a second grid of windows (days) would let
-- one grid be subtracted from the other. Team rows below their threshold are merged into one row with team = ''
-- and no value; the complementary rule compares the company row ('all') with the shown teams. A team's
-- n is never trusted beyond the distinct people the team ever had in events_scored.
CREATE VIEW IF NOT EXISTS workforce_metrics_daily SQL SECURITY DEFINER AS
SELECT
    day, metric, dimension, team,
    toUInt32(count()) AS teams,
    if(team != '' OR dimension = 'all', 'shown', 'suppressed') AS state,
    if(state = 'shown', toNullable(any(m_value)), NULL) AS value,
    if(state = 'shown', toNullable(toUInt32(any(m_n))), NULL) AS n,
    any(m_window_days) AS window_days
FROM
(
    SELECT *,
           multiIf(dimension = 'all', '',
                   ok AND NOT (hidden > 0 AND hidden < t AND dimension_value = spare), dimension_value, '') AS team
    FROM
    (
        SELECT *,
               greatest(if(has_all > 0, toInt64(all_n) - toInt64(shown_n), 0), toInt64(small_n)) AS hidden
        FROM
        (
            SELECT *,
                   maxIf(m_n, dimension = 'all') OVER w AS all_n,
                   countIf(dimension = 'all') OVER w AS has_all,
                   sumIf(m_n, dimension = 'team' AND ok) OVER w AS shown_n,
                   sumIf(m_n, dimension = 'team' AND NOT ok) OVER w AS small_n,
                   argMinIf(dimension_value, (m_n, dimension_value), dimension = 'team' AND ok) OVER w AS spare
            FROM
            (
                SELECT day, metric, dimension, dimension_value, value AS m_value, window_days AS m_window_days,
                       g AS t,
                       -- n as written, but never more than the people the team ever had in the events
                       if(dimension = 'team', least(n, known.people), n) AS m_n,
                       dimension = 'team' AND dimension_value != '' AND m_n >= t AS ok
                FROM metrics_daily AS m FINAL
                CROSS JOIN (SELECT min_group AS g FROM privacy_thresholds) AS thresholds
                LEFT JOIN
                (
                    SELECT team_id, toUInt32(uniqExact(employee_id)) AS people
                    FROM events_scored
                    WHERE employee_id != '' AND team_id != ''
                    GROUP BY team_id
                ) AS known ON known.team_id = m.dimension_value
                WHERE metric IN ('voluntary_turnover_rate', 'burnout_mean_risk', 'burnout_at_risk')
                  AND dimension IN ('all', 'team') AND day < toDate((SELECT now FROM privacy_now), 'UTC')
                  AND (dimension = 'team' OR m_n >= t)
            )
            WINDOW w AS (PARTITION BY day, metric)
        )
    )
)
GROUP BY day, metric, dimension, team;

-- granted: customer metrics (CSAT, retention, customer sentiment), company-wide or per channel
CREATE VIEW IF NOT EXISTS customer_metrics_daily SQL SECURITY DEFINER AS
SELECT day, metric, dimension, dimension_value, value, n, window_days
FROM metrics_daily FINAL
WHERE metric IN ('csat', 'retention_rate', 'sentiment_customer') AND dimension IN ('all', 'channel');

-- granted: per-minute sentiment of customer text (sentiment_minute also holds employees' rows)
CREATE VIEW IF NOT EXISTS customer_sentiment_minute SQL SECURITY DEFINER AS
SELECT minute, kind, source, channel, product, events, scored, score_sum, negative, neutral, positive
FROM sentiment_minute
WHERE author = 'customer';

-- granted: customer events without their text (customer data, per customer: churn panels need it)
CREATE VIEW IF NOT EXISTS customer_events SQL SECURITY DEFINER AS
SELECT event_id, source, kind, type, occurred_at, stored_at, customer_id, channel, product, rating, csat,
       status, plan, mrr, sentiment_label, sentiment_score
FROM events_scored FINAL
WHERE employee_id = '' AND team_id = '' AND kind != 'hr';

-- granted: the latest churn risk per customer, with its reasons
CREATE VIEW IF NOT EXISTS customer_churn_risk SQL SECURITY DEFINER AS
SELECT entity_id AS customer_id, probability, reasons, model_version, scored_at
FROM risk_latest FINAL
WHERE model = 'churn' AND entity_type = 'customer';

-- granted: churn alerts as sent (alerts_audit also holds burnout alerts about employees)
CREATE VIEW IF NOT EXISTS customer_churn_alerts SQL SECURITY DEFINER AS
SELECT alert_id, subject AS customer_id, score, threshold, reasons, model_version, created_at, occurred_at
FROM alerts_audit FINAL
WHERE alert_type = 'churn' AND subject_type = 'customer';

-- granted: dead letters without payload or detail (those can hold what a person wrote)
CREATE VIEW IF NOT EXISTS pipeline_dead_letters SQL SECURITY DEFINER AS
SELECT dl_id, source_topic, reason, stage, failed_at
FROM dead_letters FINAL;

-- granted: when each stored event was stored, and of what kind: nothing else
CREATE VIEW IF NOT EXISTS pipeline_events_stored SQL SECURITY DEFINER AS
SELECT kind, stored_at
FROM events_scored FINAL;
