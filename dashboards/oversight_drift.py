"""The drift panels of the "Model oversight" board: what drifted, since when, and by how much.

``add_panels(p, y)`` adds them to a board's ``_Panels`` at grid row ``y`` and returns the row after them.
They read only ``oversight_drift_events`` (migration 0047, granted to Grafana's user): means over a channel
or a model, never a person's value, so no small-group rule applies.
"""

from __future__ import annotations

from .build import _TABLE_OPTS, _Panels, _heat, _thresholds

VIEW = "oversight_drift_events"
_STAT = {"reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
         "colorMode": "value", "graphMode": "none", "textMode": "value_and_name", "justifyMode": "auto"}


def add_panels(p: _Panels, y: int) -> int:
    p.add("stat", "Drift events", f"""
        SELECT countIf(watcher = 'sentiment') AS sentiment, countIf(watcher = 'error') AS "model error",
               countIf(watcher = 'feature') AS features
        FROM {VIEW}
        WHERE $__timeFilter(detected_at)
        HAVING count() > 0
        """, (0, y, 6, 8), description="Changes the drift watch reported in the time range (by the event time "
        "that confirmed them): sentiment per channel, a learner's error on labelled examples, a learner's "
        "numeric features. No data: nothing drifted in the range.", decimals=0, options=_STAT,
          defaults={"thresholds": _thresholds((None, "green"), (1, "orange"))})
    p.add("table", "What drifted, since when, by how much", f"""
        SELECT detected_at AS "found", series, direction,
               changed_since AS "since",
               round(before_mean, 3) AS "mean before", before_count AS "n before",
               round(after_mean, 3) AS "mean after", after_count AS "n after",
               round(change_sd, 2) AS "change (sd)"
        FROM {VIEW}
        WHERE $__timeFilter(detected_at)
        ORDER BY detected_at DESC, series
        LIMIT 200
        """, (6, y, 18, 8), description="One row per drift event (the CloudEvents on alerts.drift): the series "
        "(sentiment/channel:<name>, <model>/error, <model>/feature:<name>), where the change began (event time), "
        "the means before and after it with their counts, and the change in standard deviations of the "
        "watcher's baseline. A prompt to look at the model and the data, not a verdict.",
          options=_TABLE_OPTS, overrides=[_heat("change (sd)", (None, "red"), (-0.75, "transparent"),
                                                 (0.75, "red"))])
    return y + 8
