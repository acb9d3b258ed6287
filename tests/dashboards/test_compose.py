"""docker-compose.yml against the Compose Specification schema, plus what the issue asks of it."""

from __future__ import annotations

import json
import re
from pathlib import Path

import jsonschema
import yaml

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]


def _compose() -> dict:
    return yaml.safe_load((REPO / "docker-compose.yml").read_text())


def test_compose_file_validates_against_the_compose_spec():
    schema = json.loads((HERE / "compose-spec.json").read_text())
    jsonschema.Draft7Validator(schema).validate(_compose())  # the spec declares draft-07


def test_services_health_checks_and_volumes():
    c = _compose()
    services = c["services"]
    assert {"kafka", "clickhouse", "grafana", "worker", "connector", "init"} <= set(services)
    for name, s in services.items():
        if name != "init":
            assert "healthcheck" in s, f"{name} has no health check"
    assert set(c["volumes"]) == {"kafka-data", "clickhouse-data", "grafana-data"}
    assert "KAFKA_PROCESS_ROLES" in services["kafka"]["environment"]  # KRaft, no ZooKeeper
    assert "grafana-clickhouse-datasource" in services["grafana"]["environment"]["GF_INSTALL_PLUGINS"]


def test_worker_can_be_scaled():
    w = _compose()["services"]["worker"]
    assert "container_name" not in w and "ports" not in w  # --scale worker=N needs neither
    assert not any(str(v).split(":")[0] in ("kafka-data", "clickhouse-data", "grafana-data")
                   for v in w.get("volumes", []))
    assert w["build"]["dockerfile"] == "infra/docker/Dockerfile"
    assert (REPO / w["build"]["dockerfile"]).exists()


def test_no_secrets_in_the_file():
    text = (REPO / "docker-compose.yml").read_text()
    for name, s in _compose()["services"].items():
        for key, value in (s.get("environment") or {}).items():
            if re.search(r"PASSWORD|KEY|TOKEN|SECRET", key) and key != "KAFKA_CLUSTER_ID":
                assert re.fullmatch(r"\$\{[A-Z_]+:\?[^}]+\}", str(value)), f"{name}.{key} must come from the environment"
    assert "PULSEWIRE_PSEUDONYM_KEY=" not in text


def test_mounted_paths_exist():
    for name, s in _compose()["services"].items():
        for v in s.get("volumes", []):
            src = str(v).split(":")[0]
            if src.startswith("./"):
                assert (REPO / src).exists(), f"{name} mounts {src}, which does not exist"
