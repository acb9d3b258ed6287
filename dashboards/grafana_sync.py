"""Push the data source, folder, dashboards, contact point and alert rules to a Grafana
through its HTTP API (``grafana-client``), idempotently: read first, write only what differs,
and report what changed.

Endpoints used (Grafana 10.4+/11 HTTP API):

* ``GET /api/datasources/uid/:uid``, ``POST /api/datasources``, ``PUT /api/datasources/uid/:uid``
* ``GET /api/folders/:uid``, ``POST /api/folders``, ``PUT /api/folders/:uid``
* ``GET /api/dashboards/uid/:uid``, ``POST /api/dashboards/db``
* ``GET /api/v1/provisioning/contact-points``, ``POST /api/v1/provisioning/contact-points``,
  ``PUT /api/v1/provisioning/contact-points/:uid``
* ``GET|POST /api/v1/provisioning/alert-rules[/:uid]``, ``PUT /api/v1/provisioning/alert-rules/:uid``
* ``GET|PUT /api/v1/provisioning/folder/:folderUid/rule-groups/:group``
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from pulsewire.models.learners.processor import LearnerConfig

from . import build

RULE_GROUP_INTERVAL_S = 60
CONTACT_POINT_UID = "pulsewire-webhook"


@dataclass
class Change:
    kind: str
    name: str
    action: str  # created | updated | unchanged | skipped
    detail: str = ""

    def as_dict(self) -> dict:
        return asdict(self)


def _is_404(exc: Exception) -> bool:
    return getattr(exc, "status_code", None) == 404


def _get(fn, *args):
    """Call a grafana-client getter; None when Grafana answers 404."""
    from grafana_client.client import GrafanaClientError

    try:
        return fn(*args)
    except GrafanaClientError as exc:
        if _is_404(exc):
            return None
        raise


def subset_equal(want, have) -> bool:
    """True when everything in ``want`` is in ``have`` with the same value (extra keys in ``have``,
    such as ids, versions and timestamps Grafana adds, are ignored).

    >>> subset_equal({"a": 1, "b": [{"c": 2}]}, {"a": 1.0, "b": [{"c": 2, "id": 7}], "version": 3})
    True
    >>> subset_equal({"a": [1, 2]}, {"a": [1]})
    False
    """
    if isinstance(want, dict):
        return isinstance(have, dict) and all(k in have and subset_equal(v, have[k]) for k, v in want.items())
    if isinstance(want, list):
        return isinstance(have, list) and len(want) == len(have) and all(
            subset_equal(a, b) for a, b in zip(want, have))
    if isinstance(want, bool) or isinstance(have, bool):
        return want == have
    if isinstance(want, (int, float)) and isinstance(have, (int, float)):
        return abs(float(want) - float(have)) < 1e-9
    return want == have


@dataclass
class SyncOptions:
    clickhouse_url: str = "http://clickhouse:8123"
    clickhouse_user: str = "default"
    clickhouse_password: str = ""
    #: PEM of the CA that signed the ClickHouse server's certificate (https URLs)
    clickhouse_ca_pem: str = ""
    database: str = "default"
    webhook_url: str | None = None
    min_group: int = 5
    min_comment_group: int = 10
    dry_run: bool = False


def sync(api, opts: SyncOptions) -> list[Change]:
    """Bring Grafana in line with the code. ``api`` is a ``grafana_client.GrafanaApi``."""
    changes: list[Change] = []
    changes.append(_sync_datasource(api, opts))
    changes.append(_sync_folder(api, opts))
    # risk colours follow the alert policy the learners run with (PULSEWIRE_LEARN_*)
    for b in build.boards(opts.min_group, opts.min_comment_group, LearnerConfig.from_env()):
        changes.append(_sync_dashboard(api, b.dashboard, opts))
    receiver = None
    if opts.webhook_url:
        changes.append(_sync_contact_point(api, opts))
        receiver = build.CONTACT_POINT
    else:
        changes.append(Change("contact point", build.CONTACT_POINT, "skipped",
                              "PULSEWIRE_ALERT_WEBHOOK_URL is not set: rules use Grafana's default notification policy"))
    for spec in build.RULES:
        changes.append(_sync_rule(api, build.alert_rule(spec, receiver=receiver), opts))
    changes.append(_sync_rule_group(api, opts))
    return changes


def _sync_datasource(api, o: SyncOptions) -> Change:
    want = build.datasource(o.clickhouse_url, o.clickhouse_user, o.database, with_ca=bool(o.clickhouse_ca_pem))
    name = want["name"]
    have = _get(api.datasource.get_datasource_by_uid, build.DS_UID)
    body = dict(want)
    secure = {"password": o.clickhouse_password} if o.clickhouse_password else {}
    if o.clickhouse_ca_pem:
        secure["tlsCACert"] = o.clickhouse_ca_pem
    if secure:
        body["secureJsonData"] = secure
    if have is None:
        if not o.dry_run:
            api.datasource.create_datasource(body)
        return Change("datasource", name, "created")
    if subset_equal(want, have):
        return Change("datasource", name, "unchanged",
                      "password not compared (Grafana never returns it)" if o.clickhouse_password else "")
    if not o.dry_run:
        api.datasource.update_datasource_by_uid(build.DS_UID, body)
    return Change("datasource", name, "updated")


def _sync_folder(api, o: SyncOptions) -> Change:
    have = _get(api.folder.get_folder, build.FOLDER_UID)
    if have is None:
        if not o.dry_run:
            api.folder.create_folder(build.FOLDER_TITLE, uid=build.FOLDER_UID)
        return Change("folder", build.FOLDER_TITLE, "created")
    if have.get("title") == build.FOLDER_TITLE:
        return Change("folder", build.FOLDER_TITLE, "unchanged")
    if not o.dry_run:
        api.folder.update_folder(build.FOLDER_UID, title=build.FOLDER_TITLE, overwrite=True)
    return Change("folder", build.FOLDER_TITLE, "updated")


def _sync_dashboard(api, dashboard: dict, o: SyncOptions) -> Change:
    title = dashboard["title"]
    have = _get(api.dashboard.get_dashboard, dashboard["uid"])
    want = {k: v for k, v in dashboard.items() if k not in ("id", "version")}
    if have is not None:
        same_folder = (have.get("meta") or {}).get("folderUid") == build.FOLDER_UID
        if same_folder and subset_equal(want, have.get("dashboard") or {}):
            return Change("dashboard", title, "unchanged")
    if not o.dry_run:
        api.dashboard.update_dashboard({"dashboard": {**want, "id": None}, "folderUid": build.FOLDER_UID,
                                        "overwrite": True, "message": "pulsewire grafana sync"})
    return Change("dashboard", title, "created" if have is None else "updated")


def _sync_contact_point(api, o: SyncOptions) -> Change:
    want = {"uid": CONTACT_POINT_UID, "name": build.CONTACT_POINT, "type": "webhook",
            "settings": {"url": o.webhook_url, "httpMethod": "POST"}, "disableResolveMessage": False}
    existing = api.alertingprovisioning.get_contactpoints(name=build.CONTACT_POINT) or []
    have = next((c for c in existing if c.get("uid") == CONTACT_POINT_UID), None)
    if have is None:
        if not o.dry_run:
            api.alertingprovisioning.create_contactpoint(want)
        return Change("contact point", build.CONTACT_POINT, "created")
    if subset_equal(want, have):
        return Change("contact point", build.CONTACT_POINT, "unchanged")
    if not o.dry_run:
        api.alertingprovisioning.update_contactpoint(CONTACT_POINT_UID, want)
    return Change("contact point", build.CONTACT_POINT, "updated")


def _sync_rule(api, want: dict, o: SyncOptions) -> Change:
    have = _get(api.alertingprovisioning.get_alertrule, want["uid"])
    if have is None:
        if not o.dry_run:
            api.alertingprovisioning.create_alertrule(want)
        return Change("alert rule", want["title"], "created")
    if subset_equal(want, have):
        return Change("alert rule", want["title"], "unchanged")
    if not o.dry_run:
        api.alertingprovisioning.update_alertrule(want["uid"], want)
    return Change("alert rule", want["title"], "updated")


def _sync_rule_group(api, o: SyncOptions) -> Change:
    name = f"{build.FOLDER_TITLE}/{build.RULE_GROUP}"
    group = _get(api.alertingprovisioning.get_rule_group, build.FOLDER_UID, build.RULE_GROUP)
    if group is None:
        return Change("rule group", name, "skipped", "no rules in the group yet (dry run)")
    if int(group.get("interval", 0)) == RULE_GROUP_INTERVAL_S:
        return Change("rule group", name, "unchanged")
    if not o.dry_run:
        api.alertingprovisioning.update_rule_group(build.FOLDER_UID, build.RULE_GROUP,
                                                   {**group, "interval": RULE_GROUP_INTERVAL_S})
    return Change("rule group", name, "updated", f"evaluation interval {RULE_GROUP_INTERVAL_S}s")
