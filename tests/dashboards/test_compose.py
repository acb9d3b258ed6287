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
        if s.get("restart") != "no":  # one-shot jobs (init, tls-init, kafka-setup) end instead
            assert "healthcheck" in s, f"{name} has no health check"
    assert set(c["volumes"]) == {"kafka-data", "clickhouse-data", "grafana-data", "tls"}
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


# Variables the third-party images read themselves (their documented configuration), by service.
IMAGE_ENV = {
    "kafka": lambda k: k.startswith("KAFKA_") or k == "CLUSTER_ID",  # apache/kafka: KAFKA_* -> server.properties
    "clickhouse": lambda k: k in {"CLICKHOUSE_USER", "CLICKHOUSE_PASSWORD", "CLICKHOUSE_DEFAULT_ACCESS_MANAGEMENT"},
    "grafana": lambda k: k.startswith("GF_"),  # Grafana: GF_<SECTION>_<KEY>
}


def _settings_env() -> set[str]:
    from pulsewire.streams.settings import Settings

    return {f"PULSEWIRE_{name.upper()}" for name in Settings.model_fields}


def _provisioning_text() -> str:
    return "\n".join(p.read_text() for p in (REPO / "infra/grafana/provisioning").rglob("*.yaml"))


def _mounted_scripts(service: dict) -> str:
    """The text of the files a service mounts from the repository (scripts that read variables)."""
    texts = []
    for v in service.get("volumes", []):
        src = REPO / str(v).split(":")[0]
        if str(v).startswith("./"):
            texts += [p.read_text() for p in ([src] if src.is_file() else src.rglob("*.sh"))]
    return "\n".join(texts)


def test_every_variable_the_compose_file_sets_is_read():
    """No dead knobs: a variable nothing reads misleads whoever sets it."""
    settings, provisioning = _settings_env(), _provisioning_text()
    unread = []
    for name, s in _compose()["services"].items():
        scripts = _mounted_scripts(s)
        for key in s.get("environment") or {}:
            if re.search(r"\$\{?%s\b" % key, scripts):  # read by a script the service runs
                continue
            if name in IMAGE_ENV:
                # pulsewire's own variables in a third-party container are read by our provisioning files
                read = IMAGE_ENV[name](key) or "${%s}" % key in provisioning
            else:  # the pulsewire image: the settings object reads PULSEWIRE_*
                read = key in settings
            if not read:
                unread.append(f"{name}.{key}")
    dockerfile = (REPO / "infra/docker/Dockerfile").read_text()
    unread += [f"Dockerfile {k}" for k in re.findall(r"\b(PULSEWIRE_[A-Z_]+)=", dockerfile) if k not in settings]
    assert not unread, f"set but never read: {unread}"


def _values(node) -> list[str]:
    """Every string value in the compose file (comments excluded)."""
    if isinstance(node, dict):
        return [v for x in node.values() for v in _values(x)]
    if isinstance(node, list):
        return [v for x in node for v in _values(x)]
    return [str(node)]


def _substituted(pattern: str = r"\$\{([A-Z_][A-Z0-9_]*)") -> set[str]:
    return {m for v in _values(_compose()) for m in re.findall(pattern, v)}


def test_env_example_lists_exactly_the_variables_compose_substitutes():
    substituted = _substituted()
    example = set(re.findall(r"^#?\s*([A-Z_][A-Z0-9_]*)=", (REPO / "infra/docker/env.example").read_text(), re.M))
    assert example - substituted == set(), "env.example lists variables docker compose never reads"
    assert substituted - example == set(), "compose reads variables env.example does not document"


def test_only_secrets_are_required():
    """``docker compose up`` refuses to start while a ``${VAR:?...}`` is unset: only secrets may be required."""
    required = _substituted(r"\$\{([A-Z_][A-Z0-9_]*):\?")
    assert required == {"CLICKHOUSE_PASSWORD", "PULSEWIRE_PSEUDONYM_KEY", "GRAFANA_ADMIN_PASSWORD",
                        "KAFKA_ADMIN_PASSWORD", "KAFKA_WORKER_PASSWORD", "KAFKA_CONNECTOR_PASSWORD",
                        "GRAFANA_STORE_PASSWORD"}


def test_grafana_reads_with_its_own_read_only_user_over_tls():
    """Grafana sends the query text from the browser: its ClickHouse user must be the read-only one the
    store creates (SELECT on the privacy views only), never the worker's read-write account."""
    from pulsewire.streams.settings import Settings

    services = _compose()["services"]
    grafana, init = services["grafana"]["environment"], services["init"]["environment"]
    assert grafana["PULSEWIRE_CLICKHOUSE_USER"] == "${GRAFANA_STORE_USER:-pulsewire_grafana}"
    assert grafana["PULSEWIRE_CLICKHOUSE_PASSWORD"].startswith("${GRAFANA_STORE_PASSWORD:?")
    assert "CLICKHOUSE_USER" not in grafana["PULSEWIRE_CLICKHOUSE_USER"].replace("GRAFANA_STORE_USER", "")
    # the service that migrates the store creates that user, before Grafana starts
    assert init["PULSEWIRE_GRAFANA_STORE_USER"] == grafana["PULSEWIRE_CLICKHOUSE_USER"]
    assert init["PULSEWIRE_GRAFANA_STORE_PASSWORD"] == grafana["PULSEWIRE_CLICKHOUSE_PASSWORD"]
    assert {"grafana_store_user", "grafana_store_password"} <= set(Settings.model_fields)
    assert services["grafana"]["depends_on"]["init"]["condition"] == "service_completed_successfully"
    assert services["clickhouse"]["environment"]["CLICKHOUSE_DEFAULT_ACCESS_MANAGEMENT"] == "1"
    ds = yaml.safe_load((REPO / "infra/grafana/provisioning/datasources/clickhouse.yaml").read_text())["datasources"][0]
    assert ds["jsonData"]["username"] == "${PULSEWIRE_CLICKHOUSE_USER}"
    assert ds["jsonData"]["secure"] is True and ds["jsonData"]["tlsAuthWithCACert"] is True
    assert ds["jsonData"]["tlsSkipVerify"] is False and grafana["PULSEWIRE_CLICKHOUSE_PORT"] == "8443"
    ca = ds["secureJsonData"]["tlsCACert"]
    assert ca.startswith("$__file{") and any(str(v).startswith("tls:") and ca[8:-1].startswith(str(v).split(":")[1])
                                            for v in services["grafana"]["volumes"])


def test_worker_health_check_probes_the_readiness_endpoint_the_worker_serves(tmp_path):
    from pulsewire.streams import readiness
    from pulsewire.streams.app import create_app
    from pulsewire.streams.settings import Settings

    worker = _compose()["services"]["worker"]
    port = int(worker["environment"]["PULSEWIRE_WORKER_WEB_PORT"])
    test = worker["healthcheck"]["test"]
    # CMD form runs without a shell: the first word must be a program in the image (python is)
    assert test[0] == "CMD" and test[1] == "python"
    assert f"http://127.0.0.1:{port}{readiness.PATH}" in " ".join(test)

    app, _ = create_app(Settings(worker_web_port=port, data_dir=tmp_path), key=b"k" * 32)
    assert app.conf.web_enabled and app.conf.web_port == port
    assert app.conf.web_bind in ("127.0.0.1", "0.0.0.0")  # reachable from inside the container
    assert readiness.PATH in {view.view_path for view in app.web.views.values()}


def test_clickhouse_server_is_the_release_chdb_embeds():
    """SQL is tested on chDB; the server in compose must be the same ClickHouse major.minor."""
    import chdb

    image = _compose()["services"]["clickhouse"]["image"]
    m = re.fullmatch(r"clickhouse/clickhouse-server:\$\{CLICKHOUSE_VERSION:-(\d+)\.(\d+)\}", image)
    assert m, image
    engine = chdb.engine_version  # SELECT version() in chDB; no query: chDB allows one store per process
    assert tuple(m.groups()) == tuple(engine.split(".")[:2]), f"compose runs {image}, chDB embeds {engine}"


def test_kafka_and_clickhouse_accept_only_tls_and_the_clients_verify_it():
    services = _compose()["services"]
    kafka = services["kafka"]["environment"]
    protocols = dict(p.split(":") for p in kafka["KAFKA_LISTENER_SECURITY_PROTOCOL_MAP"].split(","))
    assert set(protocols.values()) == {"SASL_SSL"}, protocols
    listeners = {entry.split("://")[0] for entry in kafka["KAFKA_LISTENERS"].split(",")}
    assert listeners <= set(protocols)
    assert kafka["KAFKA_AUTHORIZER_CLASS_NAME"].endswith("StandardAuthorizer")
    assert kafka["KAFKA_ALLOW_EVERYONE_IF_NO_ACL_FOUND"] == "false" and kafka["KAFKA_SUPER_USERS"] == "User:admin"
    principals = {}
    for name in ("init", "worker", "connector"):
        env = services[name]["environment"]
        assert env["PULSEWIRE_BROKER_URL"].startswith("kafka+ssl://"), name
        assert env["PULSEWIRE_BROKER_SASL_MECHANISM"] == "SCRAM-SHA-512"
        assert env["PULSEWIRE_BROKER_CA_FILE"] == env["PULSEWIRE_STORE_CA_FILE"] == "/tls/ca.pem"
        assert env["PULSEWIRE_STORE_URL"].startswith("https://")
        assert "tls:/tls:ro" in services[name]["volumes"]
        principals[name] = env["PULSEWIRE_BROKER_SASL_USERNAME"]
    assert principals == {"init": "pulsewire-worker", "worker": "pulsewire-worker",
                          "connector": "pulsewire-connector"}
    clickhouse = services["clickhouse"]
    assert clickhouse["ports"] == ["127.0.0.1:8443:8443"]
    config = (REPO / "infra/docker/clickhouse-tls.xml").read_text()
    assert '<http_port remove="1"/>' in config and "<https_port>8443</https_port>" in config
    assert any(v.endswith("/etc/clickhouse-server/config.d/tls.xml:ro") for v in clickhouse["volumes"])


def _acl_lines(principal: str) -> list[str]:
    script = (REPO / "infra/kafka/compose/users-and-acls.sh").read_text().replace("\\\n", " ")
    return [line for line in script.splitlines() if line.strip().startswith(f"allow {principal} ")]


def test_only_the_connector_principal_may_write_raw_events():
    """events.<kind> (events.hr: personal data) is written by connectors only; the worker reads it."""
    worker, connector = _acl_lines("pulsewire-worker"), _acl_lines("pulsewire-connector")
    assert worker and connector
    worker_writes = [line for line in worker if "--operation Write" in line]
    assert all('"${P}events.valid"' in line or '"${P}events.dlq"' in line or '"$P$prefix"' in line
               or '"$GROUP-"' in line for line in worker_writes), worker_writes
    connector_topics = {re.search(r'--topic "([^"]+)"', line).group(1) for line in connector
                        if "--operation Write" in line}
    assert connector_topics == {"${P}events.$kind", "${P}events.dlq", "${P}connectors.cursors",
                                "${P}connectors.deliveries"}
    assert not any("--resource-pattern-type prefixed" in line for line in connector)
    kinds = re.search(r'KINDS="([^"]+)"', (REPO / "infra/kafka/compose/users-and-acls.sh").read_text()).group(1)
    from pulsewire.schemas.events import KINDS

    assert kinds.split() == list(KINDS)
