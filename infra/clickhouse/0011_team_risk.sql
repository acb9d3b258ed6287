-- Burnout risk per team, derived from the latest risk per employee (risk_latest, a
-- ReplacingMergeTree on (model, entity_id), written by the learners).
-- A view, not a stored table: a stored per-team table would need a refresh job and would
-- hold the numbers of teams below the minimum group size, which must never be shown.
-- The view exposes `members`; every query that shows a team applies the suppression
-- (members >= min_group_size) itself, in SQL, and labels the suppressed rows.
CREATE VIEW IF NOT EXISTS team_risk_latest AS
SELECT
    model,
    team_id,
    uniqExact(entity_id) AS members,
    avg(probability) AS mean_probability,
    countIf(probability >= 0.5) AS high_risk,
    max(scored_at) AS scored_at
FROM risk_latest FINAL
WHERE entity_type = 'employee' AND team_id != ''
GROUP BY model, team_id;
