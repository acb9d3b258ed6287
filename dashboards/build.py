"""The boards and the alert rules, built in code (one source for Grafana and ``pulsewire board``).

``python -m pulsewire.dashboards.build`` (or ``pulsewire grafana export``) writes the
committed files: ``dashboards/*.json`` (Grafana dashboard JSON for the
``grafana-clickhouse-datasource`` plugin, provisioned by file) and
``infra/grafana/provisioning/alerting/pulsewire-rules.yaml``. A test checks that the
committed files equal what this module builds.

Every SQL text uses the plugin's macros (``$__timeFilter``, ``$__timeInterval``,
``$__dateFilter``, ``$__fromTime``, ``$__toTime``, ``$__interval_s``); Grafana's backend
expands them, and so does :mod:`pulsewire.dashboards.macros` for the embedded board.

Small-group suppression lives in the data layer, not here: every panel reads the views of
migration 0042 (``pulsewire.streams.store_access.GRANTED``, what Grafana's read-only user may
read), which serve employee numbers per whole ISO week or day, only with enough distinct people
behind them, with complementary suppression. Panels only sum the shown windows of their range and
label merged small teams ``suppressed (<N)``, N read from the store's ``privacy_thresholds``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from pulsewire.dashboards.oversight_audit import newest_audit
from pulsewire.models.learners.policy import AlertPolicy
from pulsewire.models.learners.processor import LearnerConfig
from pulsewire.schemas.dead_letter import Reason
from pulsewire.streams.topics import ALL_TOPICS

DS_TYPE = "grafana-clickhouse-datasource"
DS_UID = "pulsewire-clickhouse"
DS = {"type": DS_TYPE, "uid": DS_UID}
FOLDER_UID = "pulsewire"
FOLDER_TITLE = "pulsewire"
RULE_GROUP = "pulsewire"
CONTACT_POINT = "pulsewire"
SCHEMA_VERSION = 39

SUPPRESSED = "suppressed (<{n})"
#: Longest free text a table cell shows; longer text ends in an ellipsis (in the SQL, so Grafana and the board agree).
CELL_CHARS = 60

# One colour per series name, whatever panel shows it (a channel is the same colour in every chart), distinct
# within a domain. Names outside these lists get a colour from a hash of the name (render.series_color).
PALETTE = ["#7EB26D", "#EAB839", "#6ED0E0", "#EF843C", "#E24D42", "#1F78C1", "#BA43A9", "#705DA0", "#508642",
           "#CCA300", "#447EBC", "#C15C17", "#890F02", "#0A437C", "#6D1F62", "#584477"]
SERIES_DOMAINS = {
    "channel": ["email", "chat", "phone", "web", "app_store", "slack", "google", "intercom", "trustpilot"],
    "stage": ["validate", "score", "sink", "features", "learn", "metrics", "alerts_audit"],
    "reason": [r.value for r in Reason],
    "topic": [t.name for t in ALL_TOPICS],
}
SERIES_COLORS = {name: PALETTE[i % len(PALETTE)] for names in SERIES_DOMAINS.values() for i, name in enumerate(names)}


@dataclass
class Board:
    """A dashboard plus what the embedded renderer needs to know about it."""

    dashboard: dict
    #: SQL giving the board's "now" for the embedded renderer: the latest data it shows.
    anchor_sql: str
    #: Panel ids that show team-level employee data (the suppression tests look at these).
    team_panels: set[int] = field(default_factory=set)

    @property
    def uid(self) -> str:
        return self.dashboard["uid"]


class _Panels:
    """Accumulates panels with ids and grid positions."""

    def __init__(self):
        self.panels: list[dict] = []

    def add(self, kind: str, title: str, sql: str, grid: tuple[int, int, int, int], *, description: str = "",
            unit: str | None = None, decimals: int | None = None, interval: str | None = None,
            fmt: str | None = None, options: dict | None = None, custom: dict | None = None,
            defaults: dict | None = None, overrides: list | None = None, max_points: int | None = None) -> int:
        pid = len(self.panels) + 1
        x, y, w, h = grid
        if fmt is None:
            fmt = "timeseries" if kind in ("timeseries", "status-history") else "table"
        target = {
            "refId": "A",
            "datasource": dict(DS),
            "editorType": "sql",
            "queryType": "timeseries" if fmt == "timeseries" else "table",
            "format": 0 if fmt == "timeseries" else 1,
            "rawSql": _sql(sql),
        }
        fd: dict = {"color": {"mode": "palette-classic"}}
        if kind in ("stat",):
            fd["color"] = {"mode": "thresholds"}
        if unit:
            fd["unit"] = unit
        if decimals is not None:
            fd["decimals"] = decimals
        if custom:
            fd["custom"] = custom
        fd.update(defaults or {})
        panel = {
            "id": pid,
            "type": kind,
            "title": title,
            "description": description,
            "gridPos": {"x": x, "y": y, "w": w, "h": h},
            "datasource": dict(DS),
            "targets": [target],
            "fieldConfig": {"defaults": fd, "overrides": overrides or []},
            "options": options or {},
        }
        if interval:
            panel["interval"] = interval
        if max_points:
            panel["maxDataPoints"] = max_points
        self.panels.append(panel)
        return pid


def _sql(text: str) -> str:
    lines = [ln.rstrip() for ln in text.strip("\n").splitlines()]
    indent = min((len(ln) - len(ln.lstrip()) for ln in lines if ln.strip()), default=0)
    return "\n".join(ln[indent:] for ln in lines)


def _dashboard(uid: str, title: str, description: str, panels: list[dict], time_from: str, refresh: str) -> dict:
    return {
        "uid": uid,
        "title": title,
        "description": description,
        "tags": ["pulsewire"],
        "timezone": "utc",
        "editable": True,
        "graphTooltip": 1,
        "schemaVersion": SCHEMA_VERSION,
        "version": 1,
        "refresh": refresh,
        "time": {"from": time_from, "to": "now"},
        "timepicker": {"refresh_intervals": ["5s", "10s", "30s", "1m", "5m", "15m"]},
        "templating": {"list": []},
        "annotations": {"list": []},
        "links": [{"title": t, "type": "link", "url": f"/d/{u}", "targetBlank": False}
                  for u, t in (("pulsewire-customer", "Customer pulse"), ("pulsewire-workforce", "Workforce pulse"),
                               ("pulsewire-pipeline", "Pipeline health"), ("pulsewire-oversight", "Model oversight"))
                  if u != uid],
        "panels": panels,
    }


_STAT_OPTS = {"reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
              "colorMode": "value", "graphMode": "none", "textMode": "value_and_name", "justifyMode": "auto"}
_TS_OPTS = {"legend": {"displayMode": "list", "placement": "bottom", "showLegend": True},
            "tooltip": {"mode": "multi", "sort": "desc"}}
_TS_CUSTOM = {"drawStyle": "line", "lineWidth": 2, "fillOpacity": 8, "showPoints": "never", "spanNulls": False}
_BARS_CUSTOM = {"drawStyle": "bars", "fillOpacity": 80, "lineWidth": 1, "showPoints": "never",
                "stacking": {"mode": "normal", "group": "A"}}
_TABLE_OPTS = {"showHeader": True, "cellHeight": "sm", "footer": {"show": False}}


def _thresholds(*steps: tuple[float | None, str]) -> dict:
    return {"mode": "absolute", "steps": [{"value": v, "color": c} for v, c in steps]}


def _heat(column: str, *steps: tuple[float | None, str]) -> dict:
    return {"matcher": {"id": "byName", "options": column},
            "properties": [{"id": "custom.cellOptions", "value": {"type": "color-background", "mode": "basic"}},
                           {"id": "thresholds", "value": _thresholds(*steps)}]}


def _risk_heat(column: str, policy: AlertPolicy) -> dict:
    """Risk cells coloured by the alert policy: red where an alert fires, orange between re-arm and alert."""
    return _heat(column, (None, "green"), (policy.rearm_below, "orange"), (policy.threshold, "red"))


def _series_colors(domain: str) -> list[dict]:
    """Fixed-colour overrides for every series name of ``domain``, matched as a whole word of the field's
    display name (the plugin names long-format series 'value label' or 'label')."""
    return [{"matcher": {"id": "byRegexp", "options": f"^(.*[^A-Za-z0-9_.])?{re.escape(name)}([^A-Za-z0-9_.].*)?$"},
             "properties": [{"id": "color", "value": {"mode": "fixed", "fixedColor": SERIES_COLORS[name]}}]}
            for name in SERIES_DOMAINS[domain]]


def _category_colors(field_name: str, domain: str) -> tuple[dict, list[dict]]:
    """Bar charts colour each bar by its category: value mappings with the same fixed colours, and the
    option that tells the bar chart to use them."""
    mappings = [{"type": "value", "options": {name: {"color": SERIES_COLORS[name], "index": i}
                                              for i, name in enumerate(SERIES_DOMAINS[domain])}}]
    return ({"colorByField": field_name},
            [{"matcher": {"id": "byName", "options": field_name}, "properties": [{"id": "mappings", "value": mappings}]}])


#: How a table or heat map shows NaN (suppressed: too few people) and NULL (no data), in Grafana and the board.
_SUPPRESSED_OR_EMPTY = [
    {"type": "special", "options": {"match": "nan", "result": {"text": "suppressed", "color": "#8e8e8e", "index": 0}}},
    {"type": "special", "options": {"match": "null", "result": {"text": "no data", "color": "transparent",
                                                                "index": 1}}}]


def _ellipsis(expr: str, name: str, n: int = CELL_CHARS) -> str:
    """SQL that cuts ``expr`` (named ``name`` inside the expression) to ``n`` characters, the last one an
    ellipsis when anything was cut.

    >>> _ellipsis("lower(x)", "lx", 10)
    "if(lengthUTF8(lower(x) AS lx) > 10, concat(substringUTF8(lx, 1, 9), '…'), lx)"
    """
    return f"if(lengthUTF8({expr} AS {name}) > {n}, concat(substringUTF8({name}, 1, {n - 1}), '…'), {name})"


# --------------------------------------------------------------------------------------------------
def customer_pulse(learner: LearnerConfig | None = None) -> Board:
    churn = (learner or LearnerConfig()).policy("churn")
    held = (learner or LearnerConfig()).policy("churn", activity=True)
    held_words = (f" (a customer who sends activity events is alerted once the risk has held {held.threshold:g} "
                  f"for {held.hold_days:g} days, so may be alerted below it)" if held.hold_days > 0 else "")
    p = _Panels()
    p.add("stat", "Customer sentiment", """
        SELECT round(sum(score_sum) / nullIf(sum(scored), 0), 3) AS sentiment
        FROM customer_sentiment_minute
        WHERE $__timeFilter(minute)
        """, (0, 0, 6, 4), description="Mean sentiment score (p_positive - p_negative, -1..1) of customer text "
        "in the time range, from the per-minute aggregate.", decimals=3, options=_STAT_OPTS,
          defaults={"min": -1, "max": 1, "thresholds": _thresholds((None, "red"), (-0.1, "orange"), (0.1, "green"))})
    p.add("stat", "CSAT", """
        SELECT round(100 * countIf(csat >= 4) / nullIf(count(), 0), 1) AS CSAT
        FROM customer_events
        WHERE kind = 'ticket' AND csat IS NOT NULL AND $__timeFilter(occurred_at)
        """, (6, 0, 6, 4), description="Share of ticket ratings at 4 or 5 (of 5), exact (FINAL).", unit="percent",
          decimals=1, options=_STAT_OPTS,
          defaults={"thresholds": _thresholds((None, "red"), (70, "orange"), (80, "green"))})
    p.add("stat", "Retention", """
        SELECT value AS retention
        FROM customer_metrics_daily
        WHERE metric = 'retention_rate' AND dimension = 'all' AND day <= toDate($__toTime)
        ORDER BY day DESC
        LIMIT 1
        """, (12, 0, 6, 4), description="Latest customer retention rate up to the end of the range (metrics_daily).",
          unit="percent", decimals=1, options=_STAT_OPTS,
          defaults={"thresholds": _thresholds((None, "red"), (85, "orange"), (90, "green"))})
    p.add("stat", "Churn alerts", """
        SELECT count() AS "churn alerts"
        FROM customer_churn_alerts
        WHERE $__timeFilter(occurred_at)
        HAVING count() > 0
            OR (SELECT count() FROM customer_events WHERE customer_id != '' AND $__timeFilter(occurred_at)) > 0
        """, (18, 0, 6, 4), description="Churn alerts whose triggering event falls in the time range (no data "
        "when the range has no customer events).", decimals=0, options=_STAT_OPTS,
          defaults={"thresholds": _thresholds((None, "green"), (1, "orange"), (20, "red"))})
    p.add("timeseries", "Sentiment by channel", """
        SELECT $__timeInterval(minute) AS time, channel, round(sum(score_sum) / sum(scored), 3) AS sentiment
        FROM customer_sentiment_minute
        WHERE channel != '' AND scored > 0 AND $__timeFilter(minute)
        GROUP BY time, channel
        ORDER BY time
        """, (0, 4, 16, 9), description="Mean sentiment of customer text per channel over time "
        "(sentiment_minute; a batch replayed after a crash is weighted twice, see docs/dashboards.md).",
          decimals=2, interval="1d", options=_TS_OPTS, custom=_TS_CUSTOM, defaults={"min": -1, "max": 1},
          overrides=_series_colors("channel"))
    bar_opts, bar_overrides = _category_colors("channel", "channel")
    p.add("barchart", "Negative share by channel", """
        SELECT channel, round(sum(negative) / sum(scored), 3) AS negative_share
        FROM customer_sentiment_minute
        WHERE channel != '' AND scored > 0 AND $__timeFilter(minute)
        GROUP BY channel
        ORDER BY negative_share DESC
        """, (16, 4, 8, 9), description="Share of customer texts scored negative, per channel.",
          unit="percentunit", decimals=1,
          options={"orientation": "horizontal", "showValue": "auto", "legend": {"showLegend": False},
                   "xTickLabelRotation": 0, **bar_opts}, defaults={"min": 0}, overrides=bar_overrides)
    p.add("timeseries", "CSAT over time", """
        SELECT $__timeInterval(occurred_at) AS time, round(100 * countIf(csat >= 4) / count(), 1) AS csat_pct
        FROM customer_events
        WHERE kind = 'ticket' AND csat IS NOT NULL AND $__timeFilter(occurred_at)
        GROUP BY time
        ORDER BY time
        """, (0, 13, 12, 8), description="Share of satisfied ticket ratings (4-5 of 5) over time.",
          unit="percent", decimals=1, interval="1d", options=_TS_OPTS, custom=_TS_CUSTOM,
          defaults={"min": 0, "max": 100})
    p.add("timeseries", "Retention rate (daily)", """
        SELECT toDateTime(day, 'UTC') AS time, value AS retention
        FROM customer_metrics_daily
        WHERE metric = 'retention_rate' AND dimension = 'all' AND $__dateFilter(day)
        ORDER BY time
        """, (12, 13, 12, 8), description="Customer retention rate per day (28-day window), as the metrics job "
        "wrote it.", unit="percent", decimals=1, interval="1d", options=_TS_OPTS, custom=_TS_CUSTOM)
    p.add("table", "Top churn risks", f"""
        SELECT customer_id AS customer, round(probability, 3) AS "churn risk",
               {_ellipsis("arrayStringConcat(reasons, '; ')", "all_reasons")} AS why, model_version AS "model version",
               scored_at AS "scored at"
        FROM customer_churn_risk
        WHERE customer_id NOT IN (
              SELECT customer_id FROM customer_events
              WHERE kind = 'account' AND customer_id != ''
              GROUP BY customer_id HAVING argMax(type, occurred_at) = 'cancellation')
        ORDER BY probability DESC
        LIMIT 15
        """, (0, 21, 14, 10), description="Current customers with the highest latest churn risk, with the "
        "reasons the model gave (risk_latest, newest prediction per customer; customers who have cancelled "
        f"are left out). Red: at or above the alert threshold ({churn.threshold:g}){held_words}; orange: from the "
        f"re-arm level ({churn.rearm_below:g}) up to it.", options=_TABLE_OPTS,
        overrides=[_risk_heat("churn risk", churn)])
    p.add("table", "Recent churn alerts", f"""
        SELECT occurred_at AS "event time", created_at AS "sent at", customer_id AS customer,
               round(score, 3) AS "churn risk", {_ellipsis("arrayStringConcat(reasons, '; ')", "all_reasons")} AS why
        FROM customer_churn_alerts
        WHERE $__timeFilter(occurred_at)
        ORDER BY occurred_at DESC, created_at DESC
        LIMIT 20
        """, (14, 21, 10, 10), description="The latest churn alerts sent to alerts.churn (alerts_audit). "
        "'event time' is when the triggering event happened at the source (the board's time axis); 'sent at' "
        "is when pulsewire sent the alert (wall clock; later, and much later for events replayed from the past).",
          options=_TABLE_OPTS, overrides=[_risk_heat("churn risk", churn)])
    d = _dashboard("pulsewire-customer", "Customer pulse",
                   "Customer sentiment by channel, CSAT, retention, churn risks and alerts.", p.panels, "now-14d", "30s")
    return Board(d, "SELECT max(occurred_at) FROM customer_events")


#: Whole ISO weeks (the privacy views' windows) that overlap the panel's time range: moving the range
#: inside a week changes nothing.
WEEKS = "week >= toMonday($__fromTime, 'UTC') AND week <= toMonday($__toTime, 'UTC')"
#: The label of merged small groups, with the threshold the store applies (privacy_thresholds).
SUPPRESSED_LABEL = "concat('suppressed (<', toString((SELECT min_group FROM privacy_thresholds)), ')')"


def _measure(state: str, value: str) -> str:
    """A measure over the weeks of the range: the value over the weeks where it is shown, NaN
    (suppressed: too few people) when it was never shown but someone answered, NULL (no data) otherwise.

    >>> _measure("pulse_state", "sum(pulse_sum) / sum(pulse_k)")
    "multiIf(countIf(pulse_state = 'shown') > 0, sum(pulse_sum) / sum(pulse_k), countIf(pulse_state = 'suppressed') > 0, nan, NULL)"
    """
    return f"multiIf(countIf({state} = 'shown') > 0, {value}, countIf({state} = 'suppressed') > 0, nan, NULL)"


def workforce_pulse(min_group: int = 5, min_comment_group: int = 10, learner: LearnerConfig | None = None) -> Board:
    """Every panel reads the privacy views of migration 0042 (which apply the thresholds the store holds);
    ``min_group`` and ``min_comment_group`` only word the descriptions."""
    g, cg = int(min_group), int(min_comment_group)
    burnout = (learner or LearnerConfig()).policy("burnout")
    sup = SUPPRESSED.format(n=g)
    p = _Panels()
    team_panels: set[int] = set()
    p.add("stat", "eNPS", f"""
        SELECT if(sum(enps_k) > 0, round(100 * (sum(promoters) - sum(detractors)) / sum(enps_k), 1), NULL) AS eNPS
        FROM workforce_company_week
        WHERE enps_state != 'none' AND {WEEKS}
        HAVING count() > 0
        """, (0, 0, 6, 4), description=f"Employee net promoter score (% promoters 9-10 minus % detractors 0-6), "
        f"whole company, over the whole ISO weeks of the range that are over; a week counts only with at least "
        f"{g} respondents.", decimals=1, options=_STAT_OPTS,
          defaults={"noValue": f"suppressed (<{g} respondents)", "min": -100, "max": 100,
                    "thresholds": _thresholds((None, "red"), (0, "orange"), (20, "green"))})
    p.add("stat", "Voluntary turnover", """
        SELECT value AS "voluntary turnover"
        FROM workforce_metrics_daily
        WHERE metric = 'voluntary_turnover_rate' AND dimension = 'all' AND day <= toDate($__toTime)
        ORDER BY day DESC
        LIMIT 1
        """, (6, 0, 6, 4), description="Latest voluntary turnover rate up to the end of the range, whole company "
        "(metrics_daily, days that are over).", unit="percent", decimals=2, options=_STAT_OPTS,
          defaults={"thresholds": _thresholds((None, "green"), (1.5, "orange"), (3, "red"))})
    p.add("stat", "Burnout alerts", f"""
        SELECT if(countIf(alerts_state = 'suppressed') = count(), NULL, sum(ifNull(alerts, 0))) AS "burnout alerts"
        FROM workforce_company_week
        WHERE {WEEKS}
        HAVING count() > 0
        """, (12, 0, 6, 4), description=f"Employees with a burnout alert, summed over the ISO weeks of the range "
        f"with at least {g} employees (no data when the range has no employee events).", decimals=0,
          options=_STAT_OPTS, defaults={"noValue": "suppressed",
                                        "thresholds": _thresholds((None, "green"), (1, "orange"), (10, "red"))})
    p.add("stat", "Teams shown / suppressed", f"""
        SELECT countIf(team != '') AS "teams shown", sumIf(teams, team = '') AS "teams suppressed"
        FROM workforce_team_week
        WHERE week = (SELECT max(week) FROM workforce_team_week WHERE {WEEKS})
        HAVING count() > 0
        """, (18, 0, 6, 4), description=f"In the latest week of the range that is over: the teams shown by name, "
        f"and the teams merged into '{sup}' (fewer than {g} employees active that week). Both add up to the "
        f"teams active that week.", decimals=0,
          options={**_STAT_OPTS, "reduceOptions": {"calcs": ["lastNotNull"], "fields": "/.*/", "values": False}},
          defaults={"thresholds": _thresholds((None, "blue"))})
    team_panels.add(p.add("table", "Team heat map", f"""
        SELECT if(w.team = '', {SUPPRESSED_LABEL}, w.team) AS team,
               max(w.teams) AS teams,
               max(w.people) AS employees,
               {_measure("pulse_state", "round(sum(pulse_sum) / sum(pulse_k), 2)")} AS "pulse (1-5)",
               {_measure("enps_state", "round(100 * (sum(promoters) - sum(detractors)) / sum(enps_k), 0)")} AS eNPS,
               {_measure("comment_state", "round(sum(comment_sum) / sum(comment_k), 2)")} AS "comment sentiment",
               -- a team without a shown burnout row while some team's row is hidden may be that team
               multiIf(any(r.risk_state) = 'shown', round(any(r.risk), 2),
                       any(r.risk_state) = 'suppressed' OR any(h.hidden) > 0, nan, NULL) AS "burnout risk",
               {_measure("overtime_state", "round(sum(overtime_sum) / sum(overtime_n), 1)")} AS "overtime (h/week)",
               multiIf(w.team = '', concat('suppressed: fewer than ', toString(any(t.min_group)), ' employees'),
                       countIf(comment_state = 'suppressed') > 0 AND countIf(comment_state = 'shown') = 0,
                       concat('comments: fewer than ', toString(any(t.min_comment_group)), ' commenters'), '') AS note
        FROM workforce_team_week AS w
        LEFT JOIN
        (
            SELECT team, argMax(state, day) AS risk_state, argMax(value, day) AS risk
            FROM workforce_metrics_daily
            WHERE metric = 'burnout_mean_risk' AND dimension = 'team' AND day <= toDate($__toTime)
            GROUP BY team
        ) AS r ON r.team = w.team
        CROSS JOIN privacy_thresholds AS t
        CROSS JOIN
        (
            SELECT count() AS hidden
            FROM workforce_metrics_daily
            WHERE metric = 'burnout_mean_risk' AND dimension = 'team' AND team = '' AND day <= toDate($__toTime)
        ) AS h
        WHERE {WEEKS}
        GROUP BY w.team
        ORDER BY w.team = '', w.team
        """, (0, 4, 15, 9), description=f"Per team, over the whole ISO weeks of the range that are over: pulse "
        f"score (1-5), eNPS, sentiment of employee comments, latest mean burnout risk, overtime hours per week and "
        f"person with overtime, and the most employees active in one week. Each number counts only the weeks where at least {g} distinct people are behind "
        f"it ({cg} commenters for comment sentiment), and a team's week can also be hidden so that the company "
        f"total never gives away a hidden team. Teams with fewer than {g} employees in a week are merged into "
        f"'{sup}' with no numbers. A cell with too few people is 'suppressed', one without any is empty (no data). "
        f"Burnout risk is red at or above the alert threshold ({burnout.threshold:g}).", options=_TABLE_OPTS,
        defaults={"mappings": _SUPPRESSED_OR_EMPTY},
        overrides=[_heat("pulse (1-5)", (None, "red"), (3, "orange"), (3.5, "green")),
                   _heat("eNPS", (None, "red"), (0, "orange"), (20, "green")),
                   _heat("comment sentiment", (None, "red"), (-0.1, "orange"), (0.1, "green")),
                   _risk_heat("burnout risk", burnout),
                   _heat("overtime (h/week)", (None, "green"), (8, "orange"), (15, "red"))]))
    team_panels.add(p.add("barchart", "Burnout alerts by team", f"""
        SELECT if(team = '', {SUPPRESSED_LABEL}, team) AS team,
               if(countIf(alerts_state = 'shown') > 0, sum(alerts), NULL) AS alerts
        FROM workforce_team_week
        WHERE alerts_state != 'none' AND {WEEKS}
        GROUP BY team
        ORDER BY team = '', alerts DESC
        """, (15, 4, 9, 9), description=f"Employees with a burnout alert per team, over the whole ISO weeks of the "
        f"range; teams with fewer than {g} employees in a week show as '{sup}' without a count.", decimals=0,
          options={"orientation": "horizontal", "showValue": "auto", "legend": {"showLegend": False}},
          defaults={"noValue": "suppressed"}))
    team_panels.add(p.add("status-history", "Team pulse by week (heat map)", f"""
        SELECT toDateTime(week, 'UTC') AS time,
               if(team = '', {SUPPRESSED_LABEL}, team) AS team,
               -- NaN: there were respondents, too few to show; no row: no survey that week
               if(pulse_state = 'shown', round(pulse_sum / pulse_k, 2), nan) AS pulse
        FROM workforce_team_week
        WHERE pulse_state != 'none' AND {WEEKS}
        ORDER BY time, team
        """, (0, 13, 24, 9), description=f"Mean pulse answer (1-5) per team and ISO week. A week with 1 to {g - 1} "
        f"respondents is hatched (suppressed); a week without answers is empty (no survey); teams with fewer than "
        f"{g} employees that week show as '{sup}'.",
        decimals=2, interval="7d", options={"showValue": "never", "rowHeight": 0.85, "legend": {"showLegend": True}},
        defaults={"min": 2, "max": 4, "mappings": [
                      {"type": "special", "options": {"match": "nan", "result": {
                          "text": f"suppressed (<{g} respondents)", "color": "#8e8e8e", "index": 0}}},
                      {"type": "special", "options": {"match": "null", "result": {
                          "text": "no survey", "color": "transparent", "index": 1}}}],
                  "color": {"mode": "continuous-RdYlGr"},
                  "thresholds": _thresholds((None, "red"), (3, "orange"), (3.5, "green"))}))
    p.add("timeseries", "eNPS over time", f"""
        SELECT toDateTime(week, 'UTC') AS time,
               if(enps_state = 'shown', round(100 * (promoters - detractors) / enps_k, 1), NULL) AS enps
        FROM workforce_company_week
        WHERE enps_state != 'none' AND {WEEKS}
        ORDER BY time
        """, (0, 22, 12, 8), description=f"Whole-company eNPS per ISO week (at least {g} respondents per point).",
          decimals=1, interval="7d", options=_TS_OPTS, custom=_TS_CUSTOM, defaults={"min": -100, "max": 100})
    team_panels.add(p.add("timeseries", "Voluntary turnover by team", f"""
        SELECT toDateTime(m.day, 'UTC') AS time,
               multiIf(m.dimension = 'all', 'company', m.team = '', {SUPPRESSED_LABEL}, m.team) AS team,
               m.value AS turnover
        FROM workforce_metrics_daily AS m
        WHERE m.metric = 'voluntary_turnover_rate' AND $__dateFilter(m.day)
        -- by the view's columns: ClickHouse 26.9 loops optimising a sort by the label over this view
        ORDER BY m.day, m.dimension, m.team
        """, (12, 22, 12, 8), description=f"Voluntary turnover rate per day, company and teams with at least {g} "
        f"employees (metrics_daily, days that are over); smaller teams, and a team hidden so that the company rate "
        f"does not give a small team away, show as '{sup}' without a line.", unit="percent",
        decimals=2, interval="1d", options=_TS_OPTS, custom=_TS_CUSTOM))
    d = _dashboard("pulsewire-workforce", "Workforce pulse",
                   f"eNPS, team pulse and burnout, turnover, by whole ISO weeks (or days) that are over. Team-level "
                   f"numbers need at least {g} distinct people ({cg} for comment sentiment); smaller groups are shown "
                   f"as suppressed.", p.panels, "now-90d", "1m")
    # the end of the newest week the views show
    return Board(d, "SELECT toDateTime(max(week) + 7, 'UTC') FROM workforce_team_week", team_panels)


#: Consumer lag now: per consumer group and topic (partition -1: the topic's sum) the lag at its latest
#: sample (argMax over ts), not the largest one in the range.
LATEST_LAG = """FROM
        (
            SELECT consumer_group, topic, argMax(lag, ts) AS latest_lag
            FROM consumer_lag
            WHERE partition = -1 AND $__timeFilter(ts)
            GROUP BY consumer_group, topic
        )"""
#: Events and dead letters are counted where they are stored, once each: the sink's counter in
#: pipeline_health also counts replayed batches (re-reads after a restart, a connector re-run), and
#: only the validator counts its dead letters there.
STORED_EVENTS = "SELECT count() FROM pipeline_events_stored WHERE $__timeFilter(stored_at)"
DEAD_LETTER_COUNTS = f"""FROM
        (
            SELECT (SELECT count() FROM pipeline_dead_letters WHERE $__timeFilter(failed_at)) AS dead,
                   ({STORED_EVENTS}) AS stored
        )"""
DEAD_LETTER_RATE = "dead / nullIf(stored + dead, 0)"


def pipeline_health() -> Board:
    p = _Panels()
    p.add("stat", "Events stored", """
        SELECT count() AS stored
        FROM pipeline_events_stored
        WHERE $__timeFilter(stored_at)
        HAVING count() > 0
        """, (0, 0, 6, 4), description="Events first stored in events_scored in the time range, each once "
        "(a replayed event is not counted again).",
          decimals=0, options=_STAT_OPTS, defaults={"thresholds": _thresholds((None, "blue"))})
    p.add("stat", "Throughput", """
        SELECT round(sum(events) / greatest(1, dateDiff('second', $__fromTime, $__toTime)), 1) AS "events/s"
        FROM pipeline_health
        WHERE stage = 'validate' AND $__timeFilter(ts)
        HAVING count() > 0
        """, (6, 0, 6, 4), description="Mean events per second into the pipeline over the time range.",
          unit="short", decimals=1, options=_STAT_OPTS, defaults={"thresholds": _thresholds((None, "blue"))})
    p.add("stat", "Consumer lag (latest)", f"""
        SELECT sum(latest_lag) AS "total lag"
        {LATEST_LAG}
        HAVING count() > 0
        """, (12, 0, 6, 4), description="Messages not yet processed, summed over topics and consumer groups, "
        "each at its latest sample in the range.",
          decimals=0, options=_STAT_OPTS,
          defaults={"thresholds": _thresholds((None, "green"), (5000, "orange"), (20000, "red"))})
    p.add("stat", "Dead-letter rate", f"""
        SELECT round({DEAD_LETTER_RATE}, 4) AS "dead letters"
        {DEAD_LETTER_COUNTS}
        """, (18, 0, 6, 4), description="Dead letters (every stage: the dead_letters table) per record handled "
        "(stored events + dead letters) over the time range.",
          unit="percentunit", decimals=2, options=_STAT_OPTS,
          defaults={"thresholds": _thresholds((None, "green"), (0.01, "orange"), (0.05, "red"))})
    p.add("timeseries", "Throughput by stage", """
        SELECT $__timeInterval(ts) AS time, stage, sum(events) / $__interval_s AS events_per_s
        FROM pipeline_health
        WHERE $__timeFilter(ts)
        GROUP BY time, stage
        ORDER BY time
        """, (0, 4, 12, 8), description="Events per second through validate, score and sink (all workers).",
          unit="short", decimals=0, interval="10s", options=_TS_OPTS, custom=_TS_CUSTOM,
          overrides=_series_colors("stage"))
    p.add("timeseries", "Consumer lag by topic", """
        SELECT $__timeInterval(ts) AS time, topic, max(lag) AS max_lag
        FROM consumer_lag
        WHERE partition = -1 AND $__timeFilter(ts)
        GROUP BY time, topic
        ORDER BY time
        """, (12, 4, 12, 8), description="End offset minus committed offset of the worker group, per topic.",
          decimals=0, interval="10s", options=_TS_OPTS, custom=_TS_CUSTOM, defaults={"min": 0},
          overrides=_series_colors("topic"))
    p.add("timeseries", "Dead letters by reason", """
        SELECT $__timeInterval(failed_at) AS time, reason, count() AS dead_letters
        FROM pipeline_dead_letters
        WHERE $__timeFilter(failed_at)
        GROUP BY time, reason
        ORDER BY time
        """, (0, 12, 12, 8), description="Records refused by the pipeline per reason (dead_letters, mirrored "
        "from events.dlq).", decimals=0, interval="1m", options=_TS_OPTS, custom=_BARS_CUSTOM,
          overrides=_series_colors("reason"))
    p.add("timeseries", "Model latency", """
        SELECT $__timeInterval(ts) AS time,
               round(1000 * sum(busy_s) / nullIf(sum(events), 0), 3) AS "per text",
               round(1000 * sum(busy_s) / nullIf(sum(batches), 0), 1) AS "per batch"
        FROM pipeline_health
        WHERE stage = 'score' AND $__timeFilter(ts)
        GROUP BY time
        ORDER BY time
        """, (12, 12, 12, 8), description="Sentiment scoring time per text and per micro-batch (score stage).",
          unit="ms", decimals=1, interval="10s", options=_TS_OPTS, custom=_TS_CUSTOM, defaults={"min": 0})
    p.add("timeseries", "Batch latency by stage", """
        SELECT $__timeInterval(ts) AS time, stage, round(1000 * sum(busy_s) / nullIf(sum(batches), 0), 1) AS ms_per_batch
        FROM pipeline_health
        WHERE $__timeFilter(ts)
        GROUP BY time, stage
        ORDER BY time
        """, (0, 20, 12, 8), description="Time a worker spends per batch in each stage.", unit="ms", decimals=1,
          interval="10s", options=_TS_OPTS, custom=_TS_CUSTOM, defaults={"min": 0}, overrides=_series_colors("stage"))
    bar_opts, bar_overrides = _category_colors("reason", "reason")
    p.add("barchart", "Dead letters by reason (total)", """
        SELECT reason, count() AS dead_letters
        FROM pipeline_dead_letters
        WHERE $__timeFilter(failed_at)
        GROUP BY reason
        ORDER BY dead_letters DESC
        """, (12, 20, 12, 8), description="Dead letters per reason over the time range.", decimals=0,
          options={"orientation": "horizontal", "showValue": "auto", "legend": {"showLegend": False}, **bar_opts},
          overrides=bar_overrides)
    d = _dashboard("pulsewire-pipeline", "Pipeline health",
                   "Throughput, consumer lag, dead letters and model latency of the pulsewire workers.", p.panels,
                   "now-1h", "5s")
    # the newest of the pipeline's own samples: lag is sampled after the last batch is stored
    return Board(d, "SELECT greatest((SELECT max(ts) FROM pipeline_health), (SELECT max(ts) FROM consumer_lag), "
                    "(SELECT max(failed_at) FROM pipeline_dead_letters))")


def boards(min_group: int = 5, min_comment_group: int = 10, learner: LearnerConfig | None = None) -> list[Board]:
    """The boards; risk colours follow ``learner``'s alert policies (default: the learners' defaults,
    which the committed JSON uses)."""
    from .oversight import model_oversight  # it builds on this module's helpers

    return [customer_pulse(learner), workforce_pulse(min_group, min_comment_group, learner), pipeline_health(),
            model_oversight()]


# --------------------------------------------------------------------------------------------------
# Alert rules (Grafana-managed, evaluated by Grafana against the ClickHouse data source).
@dataclass(frozen=True)
class RuleSpec:
    uid: str
    title: str
    sql: str
    op: str           # gt | lt
    threshold: float
    window_s: int      # relativeTimeRange.from
    pending: str       # "for"
    summary: str
    severity: str = "warning"


RULES = [
    RuleSpec("pulsewire-negative-spike", "Negative customer sentiment spike", """
        SELECT ifNull(max(recent - baseline), 0) AS spike
        FROM
        (
            SELECT channel,
                   sumIf(negative, minute >= $__fromTime) / nullIf(sumIf(scored, minute >= $__fromTime), 0) AS recent,
                   sumIf(negative, minute < $__fromTime) / nullIf(sumIf(scored, minute < $__fromTime), 0) AS baseline
            FROM customer_sentiment_minute
            WHERE channel != ''
              AND minute >= $__fromTime - INTERVAL 1 DAY AND minute <= $__toTime
            GROUP BY channel
            HAVING sumIf(scored, minute >= $__fromTime) >= 20
        )
        """, "gt", 0.2, 900, "5m",
             "The share of negative customer texts on a channel rose more than 20 points above its 24-hour "
             "baseline in the last 15 minutes."),
    RuleSpec("pulsewire-dead-letter-rate", "Dead-letter rate high", f"""
        SELECT if(stored + dead >= 20, {DEAD_LETTER_RATE}, 0) AS dead_letter_rate
        {DEAD_LETTER_COUNTS}
        """, "gt", 0.05, 600, "5m", "More than 5% of the records handled in the last 10 minutes (at least 20) "
             "became dead letters."),
    RuleSpec("pulsewire-consumer-lag", "Consumer lag high", f"""
        SELECT ifNull(sum(latest_lag), 0) AS total_lag
        {LATEST_LAG}
        """, "gt", 10000, 300, "5m", "The worker group is more than 10,000 messages behind and not catching up.",
             severity="critical"),
    RuleSpec("pulsewire-bias-audit", "Bias audit: a group below four-fifths", f"""
        SELECT countIf(flagged = 1) AS flagged_groups
        FROM oversight_bias_audit
        WHERE {newest_audit("(SELECT max(day) FROM oversight_bias_audit)")} AND state = 'shown'
        """, "gt", 0, 86400, "5m", "The newest daily bias audit flags a group: the whole 95% interval of a "
             "disparity ratio to the best-treated group is below 0.8 (four-fifths rule), on groups of at least the "
             "minimum group size; where labels exist, on the false-positive rate or recall (alert rate and precision "
             "follow base rates). See `pulsewire audit` and docs/oversight.md."),
]


def alert_rule(spec: RuleSpec, *, folder_uid: str = FOLDER_UID, receiver: str | None = CONTACT_POINT,
               for_api: bool = True) -> dict:
    """One Grafana-managed alert rule. ``for_api`` gives the provisioning HTTP API shape
    (``folderUID``, ``ruleGroup``); otherwise the file-provisioning shape (inside a group)."""
    query = {
        "refId": "A",
        "relativeTimeRange": {"from": spec.window_s, "to": 0},
        "datasourceUid": DS_UID,
        "model": {"refId": "A", "datasource": dict(DS), "editorType": "sql", "queryType": "table", "format": 1,
                  "rawSql": _sql(spec.sql), "intervalMs": 1000, "maxDataPoints": 43200},
    }
    condition = {
        "refId": "C",
        "relativeTimeRange": {"from": 0, "to": 0},
        "datasourceUid": "__expr__",
        "model": {"refId": "C", "type": "threshold", "expression": "A",
                  "datasource": {"type": "__expr__", "uid": "__expr__"},
                  "conditions": [{"type": "query", "evaluator": {"type": spec.op, "params": [spec.threshold]}}]},
    }
    rule = {
        "uid": spec.uid,
        "title": spec.title,
        "condition": "C",
        "data": [query, condition],
        "noDataState": "OK",
        "execErrState": "Error",
        "for": spec.pending,
        "annotations": {"summary": spec.summary},
        "labels": {"service": "pulsewire", "severity": spec.severity},
        "isPaused": False,
    }
    if receiver:
        rule["notification_settings"] = {"receiver": receiver}
    if for_api:
        rule.update({"folderUID": folder_uid, "ruleGroup": RULE_GROUP, "orgID": 1})
    return rule


def rules_provisioning(receiver: str | None = CONTACT_POINT) -> dict:
    """The alert rules as a Grafana file-provisioning document."""
    return {"apiVersion": 1,
            "groups": [{"orgId": 1, "name": RULE_GROUP, "folder": FOLDER_TITLE, "interval": "1m",
                        "rules": [alert_rule(s, receiver=receiver, for_api=False) for s in RULES]}]}


def datasource(url: str = "http://clickhouse:8123", user: str = "pulsewire_grafana", database: str = "default",
               with_ca: bool = False) -> dict:
    """The ClickHouse data source for the HTTP API (the password and CA go in secureJsonData by the caller).
    ``user`` is Grafana's read-only store user (PULSEWIRE_GRAFANA_STORE_USER); ``with_ca``: verify the
    server's certificate against a CA the caller sends.

    >>> datasource("https://ch:8443", with_ca=True)["jsonData"]["tlsAuthWithCACert"]
    True
    """
    from urllib.parse import urlparse

    u = urlparse(url)
    json_data = {"host": u.hostname or "clickhouse", "port": u.port or (8443 if u.scheme == "https" else 8123),
                 "protocol": "http", "secure": u.scheme == "https", "username": user, "defaultDatabase": database}
    if with_ca:
        json_data.update(tlsAuthWithCACert=True, tlsSkipVerify=False)
    return {"uid": DS_UID, "name": "pulsewire ClickHouse", "type": DS_TYPE, "access": "proxy", "isDefault": False,
            "jsonData": json_data}


# --------------------------------------------------------------------------------------------------
REPO = Path(__file__).resolve().parents[1]
RULES_FILE = Path("infra/grafana/provisioning/alerting/pulsewire-rules.yaml")


def rendered_files(min_group: int = 5, min_comment_group: int = 10) -> dict[Path, str]:
    """Relative path -> file text for every generated file."""
    import yaml

    out: dict[Path, str] = {}
    for b in boards(min_group, min_comment_group):
        name = b.dashboard["title"].lower().replace(" ", "-")
        out[Path("dashboards") / f"{name}.json"] = json.dumps(b.dashboard, indent=2, ensure_ascii=False) + "\n"
    header = ("# Generated by `pulsewire grafana export` from pulsewire/dashboards/build.py: do not edit by hand.\n"
              "# Grafana-managed alert rules on the ClickHouse data source; notifications go to the\n"
              "# 'pulsewire' contact point (contact-points.yaml), filled from the environment.\n")
    out[RULES_FILE] = header + yaml.safe_dump(rules_provisioning(), sort_keys=False, width=120, allow_unicode=True)
    return out


def write_files(root: Path = REPO, min_group: int = 5, min_comment_group: int = 10) -> list[Path]:
    """Write the generated files under ``root``; return those whose content changed."""
    changed = []
    for rel, text in rendered_files(min_group, min_comment_group).items():
        path = root / rel
        if not path.exists() or path.read_text() != text:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
            changed.append(rel)
    return changed


if __name__ == "__main__":  # pragma: no cover
    for rel in write_files():
        print(f"wrote {rel}")
