"""Structure of the generated Grafana files: dashboards, alert rules, provisioning."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import jsonschema
import pytest
import yaml

from pulsewire.dashboards import build
from pulsewire.dashboards.macros import TimeRange, expand, macros_used

REPO = Path(__file__).resolve().parents[2]
PROV = REPO / "infra" / "grafana" / "provisioning"
PLUGIN_MACROS = {"fromTime", "toTime", "fromTime_ms", "toTime_ms", "timeFilter", "timeFilter_ms", "dateFilter",
                 "dateTimeFilter", "dt", "timeInterval", "timeInterval_ms", "interval_s"}
PANEL_TYPES = {"timeseries", "stat", "table", "barchart", "status-history"}

# The parts of Grafana's dashboard model (schemaVersion 39) that provisioning and the UI rely on.
DASHBOARD_SCHEMA = {
    "type": "object",
    "required": ["uid", "title", "panels", "schemaVersion", "time", "tags", "templating", "annotations"],
    "properties": {
        "uid": {"type": "string", "pattern": "^[a-zA-Z0-9_-]{1,40}$"},
        "title": {"type": "string", "minLength": 1},
        "schemaVersion": {"type": "integer", "minimum": 36},
        "time": {"type": "object", "required": ["from", "to"]},
        "refresh": {"type": "string"},
        "templating": {"type": "object", "required": ["list"]},
        "annotations": {"type": "object", "required": ["list"]},
        "panels": {"type": "array", "minItems": 1, "items": {
            "type": "object",
            "required": ["id", "type", "title", "gridPos", "datasource", "targets", "fieldConfig", "options"],
            "properties": {
                "id": {"type": "integer", "minimum": 1},
                "type": {"enum": sorted(PANEL_TYPES)},
                "gridPos": {"type": "object", "required": ["x", "y", "w", "h"], "properties": {
                    "x": {"type": "integer", "minimum": 0, "maximum": 23},
                    "y": {"type": "integer", "minimum": 0},
                    "w": {"type": "integer", "minimum": 1, "maximum": 24},
                    "h": {"type": "integer", "minimum": 1}}},
                "datasource": {"type": "object", "required": ["type", "uid"]},
                "fieldConfig": {"type": "object", "required": ["defaults", "overrides"]},
                "targets": {"type": "array", "minItems": 1, "items": {
                    "type": "object",
                    "required": ["refId", "datasource", "editorType", "rawSql", "format", "queryType"],
                    "properties": {"editorType": {"const": "sql"}, "format": {"enum": [0, 1]},
                                   "queryType": {"enum": ["timeseries", "table"]},
                                   "rawSql": {"type": "string", "minLength": 10}}}},
            }}},
    },
}


def _dashboards() -> list[dict]:
    files = sorted((REPO / "dashboards").glob("*.json"))
    assert len(files) == 4, files
    return [json.loads(f.read_text()) for f in files]


def _datasource_uids() -> set[str]:
    uids = set()
    for f in (PROV / "datasources").glob("*.yaml"):
        for ds in yaml.safe_load(f.read_text())["datasources"]:
            assert ds["type"] == build.DS_TYPE
            uids.add(ds["uid"])
    return uids


def test_committed_files_are_what_the_code_builds():
    for rel, text in build.rendered_files().items():
        path = REPO / rel
        assert path.exists(), f"{rel} missing: run `pulsewire grafana export`"
        assert path.read_text() == text, f"{rel} is out of date: run `pulsewire grafana export`"


def test_dashboards_are_valid_grafana_json():
    boards = _dashboards()
    assert {d["title"] for d in boards} == {"Customer pulse", "Workforce pulse", "Pipeline health", "Model oversight"}
    for d in boards:
        jsonschema.validate(d, DASHBOARD_SCHEMA)
    uids = [d["uid"] for d in boards]
    assert len(set(uids)) == len(uids)


@pytest.mark.parametrize("dash", _dashboards(), ids=lambda d: d["uid"])
def test_panel_ids_unique_and_grid_does_not_overlap(dash):
    ids = [p["id"] for p in dash["panels"]]
    assert len(ids) == len(set(ids))
    cells: dict[tuple[int, int], str] = {}
    for p in dash["panels"]:
        g = p["gridPos"]
        assert g["x"] + g["w"] <= 24, p["title"]
        for x in range(g["x"], g["x"] + g["w"]):
            for y in range(g["y"], g["y"] + g["h"]):
                assert (x, y) not in cells, f"{p['title']!r} overlaps {cells[(x, y)]!r} at {(x, y)}"
                cells[(x, y)] = p["title"]


@pytest.mark.parametrize("dash", _dashboards(), ids=lambda d: d["uid"])
def test_datasource_references_resolve_and_macros_are_the_plugins(dash):
    provisioned = _datasource_uids()
    assert provisioned == {build.DS_UID}
    tr = TimeRange(datetime(2026, 1, 1, tzinfo=timezone.utc), datetime(2026, 1, 2, tzinfo=timezone.utc), 60)
    for p in dash["panels"]:
        assert p["datasource"]["uid"] in provisioned and p["datasource"]["type"] == build.DS_TYPE
        for t in p["targets"]:
            assert t["datasource"]["uid"] in provisioned, p["title"]
            used = macros_used(t["rawSql"])
            assert used <= PLUGIN_MACROS, (p["title"], used - PLUGIN_MACROS)
            if p["type"] != "table" or "$__" in t["rawSql"]:
                assert used, f"{p['title']!r} ignores the time range"
            assert "$__" not in expand(t["rawSql"], tr)
            # time-series panels ask the plugin for time-series frames
            assert t["format"] == (0 if p["type"] in ("timeseries", "status-history") else 1)


def test_team_level_panels_read_the_privacy_views():
    """Suppression is the views' job (migration 0042); a team panel reads them and labels merged small
    teams with the threshold the store applies, whatever the settings say."""
    wf = build.workforce_pulse()
    assert wf.team_panels
    for p in wf.dashboard["panels"]:
        if p["id"] in wf.team_panels:
            sql = p["targets"][0]["rawSql"]
            assert "FROM workforce_" in sql and build.SUPPRESSED_LABEL in sql, p["title"]
    # descriptions follow the settings (they can only be raised)
    raised = build.workforce_pulse(min_group=7, min_comment_group=12)
    heat = next(p for p in raised.dashboard["panels"] if p["title"] == "Team heat map")
    assert "at least 7 distinct people" in heat["description"] and "12 commenters" in heat["description"]


def test_alert_rules_file():
    doc = yaml.safe_load((PROV / "alerting" / "pulsewire-rules.yaml").read_text())
    assert doc["apiVersion"] == 1
    (group,) = doc["groups"]
    assert {"orgId", "name", "folder", "interval", "rules"} <= set(group)
    uids = [r["uid"] for r in group["rules"]]
    assert len(uids) == len(set(uids)) == len(build.RULES)
    provisioned = _datasource_uids()
    for r in group["rules"]:
        assert {"uid", "title", "condition", "data", "noDataState", "execErrState", "for"} <= set(r)
        refs = {q["refId"] for q in r["data"]}
        assert r["condition"] in refs
        for q in r["data"]:
            assert q["datasourceUid"] in provisioned | {"__expr__"}
            assert "relativeTimeRange" in q
            if q["datasourceUid"] == "__expr__":
                assert q["model"]["expression"] in refs
            else:
                assert macros_used(q["model"]["rawSql"]) <= PLUGIN_MACROS
        # rule models are not env-interpolated by Grafana; labels are: keep '$' out of labels
        assert all("$" not in v for v in r["labels"].values())
        assert r["notification_settings"]["receiver"] == build.CONTACT_POINT


def test_provisioning_files():
    cps = yaml.safe_load((PROV / "alerting" / "contact-points.yaml").read_text())
    (cp,) = cps["contactPoints"]
    assert cp["name"] == build.CONTACT_POINT
    assert cp["receivers"][0]["settings"]["url"] == "${PULSEWIRE_ALERT_WEBHOOK_URL}"
    prov = yaml.safe_load((PROV / "dashboards" / "pulsewire.yaml").read_text())
    (provider,) = prov["providers"]
    assert provider["type"] == "file" and provider["folderUid"] == build.FOLDER_UID
    compose = yaml.safe_load((REPO / "docker-compose.yml").read_text())
    mounts = compose["services"]["grafana"]["volumes"]
    assert f"./dashboards:{provider['options']['path']}:ro" in mounts
    ds = yaml.safe_load((PROV / "datasources" / "clickhouse.yaml").read_text())["datasources"][0]
    assert ds["secureJsonData"]["password"].startswith("${")  # never a literal password
