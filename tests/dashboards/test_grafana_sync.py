"""``pulsewire grafana sync`` against a local server that implements the Grafana endpoints it calls."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from grafana_client import GrafanaApi
from typer.testing import CliRunner

from pulsewire.dashboards import build
from pulsewire.dashboards.grafana_sync import SyncOptions, sync
from pulsewire.streams.cli import app

sys.path.insert(0, str(Path(__file__).resolve().parent))
from fake_grafana import FakeGrafana  # noqa: E402

OPTS = SyncOptions(clickhouse_url="http://clickhouse:8123", clickhouse_user="pulsewire",
                   clickhouse_password="s3cret", webhook_url="http://hooks.example/pulsewire")


@pytest.fixture
def grafana():
    with FakeGrafana() as g:
        yield g


def _api(g: FakeGrafana) -> GrafanaApi:
    return GrafanaApi.from_url(g.url, credential=g.token, timeout=5)


def _actions(changes) -> dict[str, str]:
    return {f"{c.kind}:{c.name}": c.action for c in changes}


def test_first_sync_creates_everything_second_changes_nothing(grafana):
    first = sync(_api(grafana), OPTS)
    assert grafana.problems == []
    acts = _actions(first)
    assert acts["datasource:pulsewire ClickHouse"] == "created"
    assert acts["folder:pulsewire"] == "created"
    assert [c.action for c in first if c.kind == "dashboard"] == ["created"] * 4
    assert [c.action for c in first if c.kind == "alert rule"] == ["created"] * 4
    assert acts["contact point:pulsewire"] == "created"
    assert acts["rule group:pulsewire/pulsewire"] == "updated"  # the new group's 10 s interval -> 60 s

    assert set(grafana.dashboards) == {"pulsewire-customer", "pulsewire-workforce", "pulsewire-pipeline",
                                      "pulsewire-oversight"}
    assert all(d["meta"]["folderUid"] == "pulsewire" for d in grafana.dashboards.values())
    assert grafana.datasources[build.DS_UID]["secureJsonFields"] == {"password": True}
    assert grafana.groups[("pulsewire", "pulsewire")]["interval"] == 60
    rule = grafana.rules["pulsewire-consumer-lag"]
    assert rule["notification_settings"] == {"receiver": "pulsewire"}
    assert "$__timeFilter(ts)" in rule["data"][0]["model"]["rawSql"]  # macros travel unexpanded

    n_writes = len(grafana.writes())
    second = sync(_api(grafana), OPTS)
    assert {c.action for c in second} == {"unchanged"}
    assert len(grafana.writes()) == n_writes  # nothing written the second time
    assert grafana.problems == []


def test_changes_made_in_grafana_are_put_back(grafana):
    sync(_api(grafana), OPTS)
    grafana.dashboards["pulsewire-customer"]["dashboard"]["panels"][0]["title"] = "edited in the UI"
    grafana.rules["pulsewire-dead-letter-rate"]["for"] = "1h"
    grafana.datasources[build.DS_UID]["jsonData"]["host"] = "elsewhere"
    acts = _actions(sync(_api(grafana), OPTS))
    assert acts["dashboard:Customer pulse"] == "updated"
    assert acts["alert rule:Dead-letter rate high"] == "updated"
    assert acts["datasource:pulsewire ClickHouse"] == "updated"
    assert acts["dashboard:Workforce pulse"] == "unchanged"
    assert grafana.dashboards["pulsewire-customer"]["dashboard"]["panels"][0]["title"] == "Customer sentiment"
    assert grafana.dashboards["pulsewire-customer"]["dashboard"]["version"] == 2
    assert grafana.rules["pulsewire-dead-letter-rate"]["for"] == "5m"
    assert grafana.problems == []


def test_dry_run_writes_nothing(grafana):
    changes = sync(_api(grafana), SyncOptions(dry_run=True, webhook_url="http://x.example/"))
    assert grafana.writes() == []
    assert {c.action for c in changes if c.kind != "rule group"} == {"created"}


def test_without_a_webhook_the_rules_use_the_default_policy(grafana):
    changes = sync(_api(grafana), SyncOptions())
    assert _actions(changes)["contact point:pulsewire"] == "skipped"
    assert grafana.contact_points == {}
    assert all("notification_settings" not in r for r in grafana.rules.values())
    assert grafana.problems == []


def test_cli_reads_the_token_from_the_environment(grafana, monkeypatch):
    runner = CliRunner()
    monkeypatch.delenv("GRAFANA_TOKEN", raising=False)
    monkeypatch.delenv("PULSEWIRE_GRAFANA_TOKEN", raising=False)
    monkeypatch.delenv("GRAFANA_USER", raising=False)
    res = runner.invoke(app, ["grafana", "sync", "--url", grafana.url])
    assert res.exit_code == 2 and "GRAFANA_TOKEN" in res.output
    monkeypatch.setenv("GRAFANA_TOKEN", grafana.token)
    monkeypatch.setenv("PULSEWIRE_ALERT_WEBHOOK_URL", "http://hooks.example/pulsewire")
    res = runner.invoke(app, ["grafana", "sync", "--url", grafana.url, "--json"])
    assert res.exit_code == 0, res.output
    changes = json.loads(res.output)
    assert sum(c["action"] == "created" for c in changes) == 11
    res = runner.invoke(app, ["grafana", "sync", "--url", grafana.url])
    assert res.exit_code == 0 and "changed 0 of 12" in res.output
    monkeypatch.setenv("GRAFANA_TOKEN", "wrong")
    res = runner.invoke(app, ["grafana", "sync", "--url", grafana.url])
    assert res.exit_code == 1 and "Unauthorized" in res.output


def test_the_data_source_verifies_clickhouse_tls_against_the_ca(grafana, tmp_path):
    from dataclasses import replace

    ca = "-----BEGIN CERTIFICATE-----\nMIIB...test only...\n-----END CERTIFICATE-----\n"
    sync(_api(grafana), replace(OPTS, clickhouse_url="https://clickhouse:8443", clickhouse_user="pulsewire_grafana",
                                clickhouse_ca_pem=ca))
    ds = grafana.datasources[build.DS_UID]
    assert ds["jsonData"]["secure"] is True and ds["jsonData"]["port"] == 8443
    assert ds["jsonData"]["tlsAuthWithCACert"] is True and ds["jsonData"]["tlsSkipVerify"] is False
    assert ds["jsonData"]["username"] == "pulsewire_grafana"
    assert ds["secureJsonFields"] == {"password": True, "tlsCACert": True}
