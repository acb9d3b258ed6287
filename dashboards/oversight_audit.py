"""The bias audit's panels for the "Model oversight" board: ``add_panels(p, y)`` adds them at row ``y``
and returns the row below them. They read only the granted view ``oversight_bias_audit`` (group
aggregates of ``bias_audit_daily``; groups below the small-group threshold are already merged into
``(suppressed)`` rows without numbers), the newest audit day up to the end of the time range.
"""

from __future__ import annotations

#: The newest audit whose window the time range reaches (an audit covers the data up to its window's end, in
#: event time; a range inside one day still shows the day's audit).
LATEST_DAY = "(SELECT max(day) FROM oversight_bias_audit WHERE toDateTime(window_to, 'UTC') <= $__toTime)"


def newest_audit(day_sql: str) -> str:
    """The rows of the newest computation of the day ``day_sql`` selects: the worker recomputes today's
    audit every hour, and a group only an earlier (partial) computation reported must not linger.

    >>> newest_audit("(SELECT max(day) FROM oversight_bias_audit)").startswith("day = (SELECT max(day)")
    True
    """
    return (f"day = {day_sql} AND computed_at = "
            f"(SELECT max(computed_at) FROM oversight_bias_audit WHERE day = {day_sql})")


def add_panels(p, y: int) -> int:
    from .build import _STAT_OPTS, _TABLE_OPTS, _heat, _thresholds

    p.add("stat", "Groups flagged by the bias audit", f"""
        SELECT countIf(flagged = 1) AS "flagged", uniqExactIf((model, attribute, group_name), state = 'shown') AS "groups audited"
        FROM oversight_bias_audit
        WHERE {newest_audit(LATEST_DAY)}
        HAVING count() > 0
        """, (0, y, 6, 8), description="Newest daily bias audit: how many (group, measure) pairs are flagged (the "
        "whole interval of the disparity ratio to the best-treated group is below 0.8, the four-fifths rule, at "
        "the family-wise level: Bonferroni-corrected for the number of ratios the audit tests, so wider than the "
        "95% interval the table shows), and how many groups were large enough to report. Run `pulsewire audit` "
        "for the full report.",
          options=_STAT_OPTS, defaults={"thresholds": _thresholds((None, "green"), (1, "red"))})
    p.add("table", "Bias audit: disparity ratios", f"""
        SELECT model, attribute, group_name AS "group", measure,
               people, round(value, 3) AS value, reference AS "best-treated",
               round(ratio, 2) AS ratio, concat(toString(round(ratio_lo, 2)), ' - ', toString(round(ratio_hi, 2))) AS "ratio 95% CI",
               multiIf(flagged = 1, 'flagged (family-wise interval below 0.8)',
                       four_fifths = 1 AND measure = 'mean_risk', 'below 4/5 (a score: never flagged)',
                       four_fifths = 1, 'below 4/5, not confirmed family-wise', '') AS flag
        FROM oversight_bias_audit
        WHERE {newest_audit(LATEST_DAY)} AND state = 'shown' AND ratio IS NOT NULL AND group_name != reference
        ORDER BY flagged DESC, (four_fifths = 1 AND measure != 'mean_risk') DESC, measure = 'mean_risk' ASC,
                 ratio_hi ASC, model, attribute, group_name, measure
        LIMIT 40
        """, (6, y, 18, 8), description="Each reported group's ratio to the best-treated group of its attribute "
        "(alert rate, mean risk, false-positive rate: the lowest; precision, recall, AUC, judged useful: the "
        "highest), with its 95% interval: flagged rows first, then ratios below 4/5 that could be flagged, "
        "lowest upper bound first, mean risk (a score, never flagged) last. A flag needs the ratio's interval at "
        "the family-wise level (Bonferroni-corrected for the number of ratios tested, wider than the 95% one "
        "shown) below 0.8. Groups below the minimum group size are not reported.",
          options=_TABLE_OPTS, overrides=[_heat("ratio", (None, "red"), (0.8, "green"))])
    return y + 8
