"""The "Model oversight" board: how the people who receive alerts judge them, the bias audit and the
drift watch.

The board is a list of ``SECTIONS``: functions ``add_panels(p, y) -> y`` that add their panels to a
``_Panels`` from row ``y`` down and return the next free row (the bias audit's in ``oversight_audit``,
the drift watch's in ``oversight_drift``). Every outcome panel reads the weekly aggregate
``oversight_outcome_week`` (migration 0045, granted to Grafana): counts per ISO week of the alert,
alert kind and model version, never a row per alert or person.

Precision as judged by people is ``acted / (acted + not_useful + wrong)``: ``already_known`` alerts
were right but told nobody anything new, so they are shown on their own and left out of precision.
Alerts "nobody looked at" are those older than 7 days without any outcome.
"""

from __future__ import annotations

from . import oversight_audit, oversight_drift
from .build import _BARS_CUSTOM, _STAT_OPTS, _TABLE_OPTS, _TS_CUSTOM, _TS_OPTS, Board, _dashboard, _Panels, _thresholds

UID = "pulsewire-oversight"
TITLE = "Model oversight"
UNSEEN_AFTER_DAYS = 7  # migration 0045's oversight_outcome_week counts 'due' alerts from this age
PRECISION = "round(sum(acted) / nullIf(sum(acted + not_useful + wrong), 0), 3)"
UNSEEN = "round(sum(unjudged_due) / nullIf(sum(due), 0), 3)"
# the view keeps one median and p90 per week, kind and model version: panels that merge versions weight
# them by the alerts judged
MEDIAN_H = "round(sum(median_hours_to_outcome * judged) / nullIf(sum(judged), 0), 1)"
P90_H = "round(sum(p90_hours_to_outcome * judged) / nullIf(sum(judged), 0), 1)"


def add_outcome_panels(p: _Panels, y: int) -> int:
    """Alert outcomes: precision as judged, already known, nobody looked, time to outcome."""
    p.add("stat", "Precision as judged by people", f"""
        SELECT {PRECISION} AS precision
        FROM oversight_outcome_week
        WHERE $__dateFilter(week)
        """, (0, y, 6, 4), description="Of the alerts people judged in the range (by the week of the alert): acted "
        "on / (acted on + not useful + wrong). 'Already known' is left out (right, but nothing new).",
          unit="percentunit", decimals=1, options=_STAT_OPTS,
          defaults={"min": 0, "max": 1, "thresholds": _thresholds((None, "red"), (0.5, "orange"), (0.7, "green"))})
    p.add("stat", "Already known", """
        SELECT round(sum(already_known) / nullIf(sum(judged), 0), 3) AS "already known"
        FROM oversight_outcome_week
        WHERE $__dateFilter(week)
        """, (6, y, 6, 4), description="Share of judged alerts whose recipient already knew (right, but not news).",
          unit="percentunit", decimals=1, options=_STAT_OPTS, defaults={"min": 0, "max": 1})
    p.add("stat", "Nobody looked", f"""
        SELECT {UNSEEN} AS "nobody looked"
        FROM oversight_outcome_week
        WHERE $__dateFilter(week)
        """, (12, y, 6, 4), description=f"Share of the alerts older than {UNSEEN_AFTER_DAYS} days that nobody has "
        "reported an outcome for.", unit="percentunit", decimals=1, options=_STAT_OPTS,
          defaults={"min": 0, "max": 1, "thresholds": _thresholds((None, "green"), (0.3, "orange"), (0.6, "red"))})
    p.add("stat", "Alerts judged", """
        SELECT sumOrNull(judged) AS judged, sumOrNull(alerts) AS alerts
        FROM oversight_outcome_week
        WHERE $__dateFilter(week)
        """, (18, y, 6, 4), description="Alerts with at least one outcome, and all alerts, in the range.",
          decimals=0, options=_STAT_OPTS)
    p.add("timeseries", "Precision as judged, by model version", f"""
        SELECT toDateTime(week, 'UTC') AS time, model_version, {PRECISION} AS precision
        FROM oversight_outcome_week
        WHERE $__dateFilter(week)
        GROUP BY time, model_version
        ORDER BY time
        """, (0, y + 4, 12, 8), description="Per week of the alert and model version (churn, burnout and "
        "sentiment alerts together): acted / (acted + not useful + wrong).", unit="percentunit", decimals=1,
          interval="7d", options=_TS_OPTS, custom=_TS_CUSTOM, defaults={"min": 0, "max": 1})
    p.add("timeseries", "Outcomes per week", """
        SELECT toDateTime(week, 'UTC') AS time, sum(acted) AS "acted on", sum(not_useful) AS "not useful",
               sum(wrong) AS wrong, sum(already_known) AS "already known", sum(alerts - judged) AS "no outcome"
        FROM oversight_outcome_week
        WHERE $__dateFilter(week)
        GROUP BY time
        ORDER BY time
        """, (12, y + 4, 12, 8), description="What came of the alerts of each week (the latest outcome per alert).",
          decimals=0, interval="7d", options=_TS_OPTS, custom=_BARS_CUSTOM)
    p.add("timeseries", "Time to outcome (hours)", f"""
        SELECT toDateTime(week, 'UTC') AS time, {MEDIAN_H} AS median, {P90_H} AS p90
        FROM oversight_outcome_week
        WHERE $__dateFilter(week) AND judged > 0
        GROUP BY time
        ORDER BY time
        """, (0, y + 12, 12, 8), description="Hours from an alert's trigger to its first outcome: median and 90th "
        "percentile per week, kind and model version, weighted by the alerts judged where they are merged.",
          unit="h", decimals=1, interval="7d", options=_TS_OPTS, custom=_TS_CUSTOM, defaults={"min": 0})
    p.add("timeseries", "Nobody looked, by alert kind", f"""
        SELECT toDateTime(week, 'UTC') AS time, alert_type, {UNSEEN} AS unseen
        FROM oversight_outcome_week
        WHERE $__dateFilter(week) AND due > 0
        GROUP BY time, alert_type
        ORDER BY time
        """, (12, y + 12, 12, 8), description=f"Share of each week's alerts (once {UNSEEN_AFTER_DAYS} days old) "
        "without any outcome, per alert kind.", unit="percentunit", decimals=1, interval="7d", options=_TS_OPTS,
          custom=_TS_CUSTOM, defaults={"min": 0, "max": 1})
    p.add("table", "Outcomes by model version, kind and week", f"""
        SELECT toString(week) AS "week of", alert_type AS kind, model_version AS "model version", alerts,
               acted AS "acted on",
               not_useful AS "not useful", wrong, already_known AS "already known",
               round(acted / nullIf(acted + not_useful + wrong, 0), 3) AS precision,
               round(unjudged_due / nullIf(due, 0), 3) AS "nobody looked",
               round(median_hours_to_outcome, 1) AS "median h", round(p90_hours_to_outcome, 1) AS "p90 h"
        FROM oversight_outcome_week
        WHERE $__dateFilter(week)
        ORDER BY "week of" DESC, kind, "model version"
        LIMIT 60
        """, (0, y + 20, 24, 10), description="One row per week of the alert, alert kind and model version. Rows "
        "with burnout alerts about fewer employees than the minimum group size are not shown.", options=_TABLE_OPTS)
    return y + 30


#: The board's sections, top to bottom.
SECTIONS = [add_outcome_panels, oversight_audit.add_panels, oversight_drift.add_panels]


def model_oversight() -> Board:
    p = _Panels()
    y = 0
    for add_panels in SECTIONS:
        y = add_panels(p, y)
    d = _dashboard(UID, TITLE, "How the people who receive alerts judge them, per model version, alert kind and "
                   "week (precision as judged, time to outcome, alerts nobody looked at); the newest bias audit; "
                   "what drifted, since when and by how much.", p.panels, "now-90d", "1m")
    # the newest data any section shows, in event time: the end of the newest week an alert fell in, the end of
    # the newest audit's window (not when it was computed: a backfilled store's audit runs months after its data)
    # and the newest drift detection
    return Board(d, ANCHOR_SQL)


ANCHOR_SQL = """SELECT greatest(
    (SELECT toDateTime(max(week) + 7, 'UTC') FROM oversight_outcome_week),
    (SELECT toDateTime(max(window_to), 'UTC') FROM oversight_bias_audit),
    (SELECT toDateTime(max(detected_at), 'UTC') FROM oversight_drift_events))"""
