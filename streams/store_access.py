"""Who may read what in the store: the small-group thresholds the privacy views apply, and Grafana's
read-only ClickHouse user.

Migration 0042 creates the views; this module is the part SQL files cannot do, run by the store after
migrating: it writes the thresholds from the settings into ``privacy_settings`` (the views read them
there, never below the floors 5 and 10), and on a ClickHouse server creates (or updates) the user
Grafana logs in as, with SELECT on :data:`GRANTED` only. The password never appears in a statement:
ClickHouse gets its SHA-256.
"""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass

log = logging.getLogger(__name__)

#: What Grafana's user may read: the privacy views (migration 0042) and the pipeline's own aggregates.
GRANTED = (
    "privacy_thresholds",
    "workforce_team_week",
    "workforce_company_week",
    "workforce_metrics_daily",
    "customer_metrics_daily",
    "customer_sentiment_minute",
    "customer_events",
    "customer_churn_risk",
    "customer_churn_alerts",
    "pipeline_dead_letters",
    "pipeline_events_stored",
    "pipeline_health",
    "consumer_lag",
    "oversight_drift_events",
    "oversight_bias_audit",
    "oversight_outcome_week",
)

#: Never granted, never read by a panel: tables and views with a row per person (or a raw payload), and the
#: internal views and settings behind the privacy views.
NOT_GRANTED = (
    "events_scored", "dead_letters", "risk_latest", "predictions", "learn_examples", "alerts_audit",
    "sentiment_minute", "team_risk_latest", "metrics_daily", "privacy_settings", "privacy_now",
    "employee_person_week", "employee_team_week", "employee_team_week_cells",
    "drift_events",  # read through oversight_drift_events (one row per event id)
    "bias_audit_daily",  # read through oversight_bias_audit (group aggregates)
    "alert_outcomes", "alert_outcome_first_last",  # read through oversight_outcome_week (weekly counts)
)

_USER_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")


def valid_user_name(name: str) -> str:
    """A ClickHouse user name we can write into DDL without quoting surprises.

    >>> valid_user_name("pulsewire_grafana")
    'pulsewire_grafana'
    >>> valid_user_name("x`; DROP TABLE t")
    Traceback (most recent call last):
    ...
    ValueError: the Grafana store user must be letters, digits and '_' (not starting with a digit), got 'x`; DROP TABLE t'
    """
    if not _USER_NAME.fullmatch(name):
        raise ValueError(f"the Grafana store user must be letters, digits and '_' (not starting with a digit), "
                         f"got {name!r}")
    return name


def grafana_user_statements(user: str, password: str, objects: tuple[str, ...] = GRANTED) -> list[str]:
    """DDL that makes ``user`` a read-only user with SELECT on ``objects`` and nothing else; safe to
    re-run (a changed password or list of objects replaces the old one).

    >>> for s in grafana_user_statements("gr", "pw", ("a", "b")): print(s)
    CREATE USER IF NOT EXISTS `gr` IDENTIFIED WITH sha256_hash BY '30c952fab122c3f9759f02a6d95c3758b246b4fee239957b2d4fee46e26170c4' SETTINGS readonly = 2
    ALTER USER `gr` IDENTIFIED WITH sha256_hash BY '30c952fab122c3f9759f02a6d95c3758b246b4fee239957b2d4fee46e26170c4' SETTINGS readonly = 2
    REVOKE ALL ON *.* FROM `gr`
    GRANT SELECT ON a TO `gr`
    GRANT SELECT ON b TO `gr`
    """
    valid_user_name(user)
    if not password:
        raise ValueError("the Grafana store user needs a password (PULSEWIRE_GRAFANA_STORE_PASSWORD)")
    digest = hashlib.sha256(password.encode()).hexdigest()
    # readonly = 2: no writes or DDL, but the Grafana plugin may still set per-query settings
    auth = f"IDENTIFIED WITH sha256_hash BY '{digest}' SETTINGS readonly = 2"
    return ([f"CREATE USER IF NOT EXISTS `{user}` {auth}", f"ALTER USER `{user}` {auth}",
             f"REVOKE ALL ON *.* FROM `{user}`"]
            + [f"GRANT SELECT ON {obj} TO `{user}`" for obj in objects])


@dataclass(frozen=True)
class StoreAccess:
    """What the store sets up after migrating: thresholds always, the Grafana user when configured."""

    min_group_size: int = 5
    min_comment_group_size: int = 10
    grafana_user: str | None = None
    grafana_password: str | None = None

    @classmethod
    def from_settings(cls, settings) -> "StoreAccess":
        pw = settings.grafana_store_password
        return cls(settings.min_group_size, settings.min_comment_group_size, settings.grafana_store_user,
                   pw.get_secret_value() if pw is not None else None)

    def apply(self, store) -> None:
        current = {r[0]: r[1] for r in store.client.query(
            "SELECT name, argMax(value, set_at) FROM privacy_settings GROUP BY name").result_rows}
        wanted = {"min_group_size": self.min_group_size, "min_comment_group_size": self.min_comment_group_size}
        changed = [[k, v] for k, v in wanted.items() if current.get(k) != v]
        if changed:
            store.client.insert("privacy_settings", changed, column_names=["name", "value"])
        if not self.grafana_user:
            return
        if store.backend != "server":
            log.info("PULSEWIRE_GRAFANA_STORE_USER is set, but chDB has no users: Grafana reads a server")
            return
        for stmt in grafana_user_statements(self.grafana_user, self.grafana_password or ""):
            store.client.command(stmt)
        log.info("the Grafana store user %s may read %d views and tables", self.grafana_user, len(GRANTED))
