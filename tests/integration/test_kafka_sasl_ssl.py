"""The real Apache Kafka with a SASL_SSL listener (TLS + SCRAM/PLAIN), its CA generated here.

A broker of its own (infra/kafka/kafka.sh with PULSEWIRE_KAFKA_SASL_SSL_DIR; the jars that `make test`
fetched), with StandardAuthorizer enforcing the ACLs docker-compose.yml sets up
(infra/kafka/compose/users-and-acls.sh, run here with its Kafka tools swapped for recorders, the
recorded ACLs then created through the admin API): the worker logs in with SCRAM-SHA-512, a
connector run by `pulsewire connect` with PLAIN, events reach the store; the worker may not write
events.hr, the connector may not write events.valid; a client that does not trust the broker's CA,
one with a wrong password and one without credentials are refused, each with one line; no password
appears in any output.
Skipped only when the Kafka jars or java are absent and PULSEWIRE_REQUIRE_KAFKA is not 1.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from pydantic import SecretStr

from pulsewire.streams.kafka_security import KafkaConnection
from pulsewire.streams.topics import BrokerUnreachable, ensure_topics

from ..connectors.conftest import REVIEWS_CSV
from ..tls import ThrowawayCA, make_ca
from .conftest import Pipeline

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
KAFKA_SH = REPO / "infra" / "kafka" / "kafka.sh"
KAFKA_VERSION = os.environ.get("PULSEWIRE_KAFKA_VERSION", "4.4.0")
KAFKA_HOME = Path(os.environ.get("PULSEWIRE_CACHE", Path.home() / ".cache" / "pulsewire")) / f"kafka-{KAFKA_VERSION}"
WORKER_PASSWORD = "worker-pw-" + "9c1f" * 6
CONNECTOR_PASSWORD = "connector-pw-" + "4e7b" * 6


@dataclass
class SecureKafka:
    bootstrap: str  # the SASL_SSL listener
    ca: ThrowawayCA
    superuser: str  # the loopback PLAINTEXT listener: ANONYMOUS is the super user that sets ACLs

    def connection(self, user: str, password: str, mechanism: str = "SCRAM-SHA-512") -> KafkaConnection:
        return KafkaConnection(self.bootstrap, tls=True, ca_file=self.ca.ca_file, sasl_mechanism=mechanism,
                               sasl_username=user, sasl_password=SecretStr(password))


@pytest.fixture(scope="module")
def secure_kafka(tmp_path_factory):
    missing = ("java is not on PATH" if shutil.which(os.environ.get("JAVA", "java")) is None
               else None if (KAFKA_HOME / ".complete").exists() else f"no Kafka jars in {KAFKA_HOME}")
    if missing:
        if os.environ.get("PULSEWIRE_REQUIRE_KAFKA") == "1":
            pytest.fail(f"{missing} (run infra/kafka/kafka.sh fetch), and PULSEWIRE_REQUIRE_KAFKA=1")
        pytest.skip(f"{missing}: run infra/kafka/kafka.sh fetch")
    root = tmp_path_factory.mktemp("sasl-ssl-kafka")
    ca = make_ca(root / "tls")
    sasl = root / "sasl"
    sasl.mkdir()
    shutil.copy(ca.keystore_file, sasl / "keystore.pem")
    (sasl / "users").write_text(f"pulsewire-worker {WORKER_PASSWORD}\npulsewire-connector {CONNECTOR_PASSWORD}\n")
    env = {**os.environ, "PULSEWIRE_KAFKA_DIR": str(root / "state"), "PULSEWIRE_KAFKA_SASL_SSL_DIR": str(sasl),
           "PULSEWIRE_KAFKA_ACLS": "1"}
    env.pop("PULSEWIRE_KAFKA_PORT", None)
    started = subprocess.run([str(KAFKA_SH), "start"], env=env, capture_output=True, text=True, timeout=240)
    try:
        assert started.returncode == 0, started.stderr[-3000:]
        yield SecureKafka((root / "state" / "bootstrap.sasl_ssl").read_text().strip(), ca,
                          started.stdout.strip().splitlines()[-1])
    finally:
        subprocess.run([str(KAFKA_SH), "stop"], env=env, capture_output=True, timeout=120)


RECORDER = """#!/bin/sh
printf '%s\\037' "$@" >> "$ACL_RECORD"
printf '\\n' >> "$ACL_RECORD"
"""


def compose_acls(prefix: str, group: str, tmp: Path) -> list:
    """The ACLs users-and-acls.sh creates for this topic prefix and group, as kafka-python ACL objects."""
    from kafka.admin._acls import (ACL, ACLOperation, ACLPermissionType, ACLResourcePatternType, ResourcePattern,
                                   ResourceType)

    tools, record = tmp / "kafka-tools", tmp / "acls.txt"
    tools.mkdir()
    (tools / "kafka-acls.sh").write_text(RECORDER)
    (tools / "kafka-configs.sh").write_text("#!/bin/sh\nexit 0\n")  # users: added at format time here
    for tool in tools.iterdir():
        tool.chmod(0o755)
    env = {"PATH": os.environ["PATH"], "KAFKA_BIN": str(tools), "ACL_RECORD": str(record),
           "ADMIN_CONFIG": str(tmp / "admin.properties"), "PULSEWIRE_KAFKA_ADMIN_PASSWORD": "unused",
           "PULSEWIRE_KAFKA_WORKER_PASSWORD": "unused", "PULSEWIRE_KAFKA_CONNECTOR_PASSWORD": "unused",
           "PULSEWIRE_TOPIC_PREFIX": prefix, "PULSEWIRE_APP_ID": group}
    r = subprocess.run(["sh", str(REPO / "infra/kafka/compose/users-and-acls.sh")], env=env, capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    acls = []
    for line in record.read_text().splitlines():
        args = line.rstrip("\037").split("\037")
        if "--add" not in args:
            continue
        opt = lambda name: [args[i + 1] for i, a in enumerate(args) if a == name]  # noqa: E731
        if "--cluster" in args:
            resource = ResourcePattern(ResourceType.CLUSTER, "kafka-cluster", ACLResourcePatternType.LITERAL)
        else:
            kind, name = ("topic", opt("--topic")[0]) if opt("--topic") else ("group", opt("--group")[0])
            pattern = ACLResourcePatternType[(opt("--resource-pattern-type") or ["literal"])[0].upper()]
            resource = ResourcePattern(ResourceType[kind.upper()], name, pattern)
        for op in opt("--operation"):
            acls.append(ACL(opt("--allow-principal")[0], "*",
                            ACLOperation[re.sub(r"(?<=[a-z])(?=[A-Z])", "_", op).upper()],
                            ACLPermissionType.ALLOW, resource))
    assert len(acls) > 40
    return acls


def apply_compose_acls(kafka: SecureKafka, prefix: str, group: str, tmp: Path) -> None:
    from kafka.admin import KafkaAdminClient

    admin = KafkaAdminClient(**KafkaConnection(kafka.superuser).kafka_python_kwargs(client_id="acl-setup"))
    try:
        result = admin.create_acls(compose_acls(prefix, group, tmp))
        assert result["failed"] == [], result["failed"]
    finally:
        admin.close()


def produce_one(conn: KafkaConnection, topic: str) -> str:
    from kafka import KafkaProducer

    producer = KafkaProducer(**conn.kafka_python_kwargs(acks="all", max_block_ms=10_000, request_timeout_ms=5_000,
                                                        delivery_timeout_ms=10_000))
    try:
        producer.send(topic, b"{}").get(timeout=15)
        return "ok"
    except Exception as exc:
        return type(exc).__name__
    finally:
        producer.close(timeout=5)


def _cli(args, env, cwd, timeout=120):
    clean = {k: v for k, v in os.environ.items() if not k.startswith("PULSEWIRE_BROKER_")}
    return subprocess.run([sys.executable, "-m", "pulsewire.streams.cli", *args], capture_output=True, text=True,
                          env={**clean, **env}, cwd=cwd, timeout=timeout)


LOG_RECORD = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d+ (INFO|WARNING) pulsewire")


def _one_line_error(res, *needles):
    """Exit != 0, no traceback, and the error in one line: the last on stderr. Before it only pulsewire's own
    log records (`connect` logs its start; a broker slow to answer under load logs a retry)."""
    assert res.returncode != 0 and "Traceback" not in res.stderr, res.stderr[-3000:]
    lines = res.stderr.strip().splitlines()
    errors = [line for line in lines if line.startswith("error: ")]
    assert errors == lines[-1:] and all(LOG_RECORD.match(line) for line in lines[:-1]), res.stderr[-3000:]
    for needle in needles:
        assert needle in errors[0], errors[0]


def test_worker_and_connector_through_sasl_ssl_events_reach_the_store(secure_kafka, namespace, tmp_path,
                                                                      pseudonym_key):
    worker = secure_kafka.connection("pulsewire-worker", WORKER_PASSWORD)
    group = namespace.rstrip(".")
    apply_compose_acls(secure_kafka, namespace, group, tmp_path)
    pipeline = Pipeline(worker, namespace, tmp_path / "data", pseudonym_key)  # topics + progress over SASL_SSL
    pipeline.data_dir.mkdir()
    try:
        pipeline.start()  # the worker's Faust consumer, producer and model follower log in as pulsewire-worker

        csv = tmp_path / "reviews.csv"
        csv.write_text(REVIEWS_CSV)
        cfg = tmp_path / "reviews.toml"
        cfg.write_text(f'path = "{csv}"\nsource = "secure-shop"\ninstance = "secure-shop"\n\n[columns]\n'
                       'event_id = "review_id"\ntext = "body"\noccurred_at = "created_at"\n')
        connector_env = {**secure_kafka.connection("pulsewire-connector", CONNECTOR_PASSWORD, "PLAIN").env(),
                         "PULSEWIRE_TOPIC_PREFIX": namespace, "PULSEWIRE_APP_ID": pipeline.group}
        r = _cli(["-v", "connect", "files", "--config", str(cfg)], connector_env, tmp_path)
        assert r.returncode == 0, r.stderr[-3000:]
        assert json.loads(r.stdout.strip().splitlines()[-1])["events"] == 4
        assert CONNECTOR_PASSWORD not in r.stdout + r.stderr  # -v: the Kafka clients' own logs included

        pipeline.wait_processed(4, timeout_s=150)
        pipeline.stop()
        rows = pipeline.query(rows="SELECT event_id FROM events_scored FINAL WHERE source = 'secure-shop' "
                                   "ORDER BY event_id")["rows"]
        assert [r["event_id"] for r in rows] == [f"secure-shop:rv-100{i}" for i in (1, 2, 3, 4)]
        log = (pipeline.data_dir / "worker.log").read_text(errors="replace")
        assert "SASL_SSL" in log or "kafka+ssl://" in log
        assert WORKER_PASSWORD not in log

        # the ACLs: raw events come from connectors only, validated events from the worker only
        connector = secure_kafka.connection("pulsewire-connector", CONNECTOR_PASSWORD)
        assert produce_one(worker, namespace + "events.hr") == "TopicAuthorizationFailedError"
        assert produce_one(connector, namespace + "events.valid") == "TopicAuthorizationFailedError"
        assert produce_one(connector, namespace + "events.hr") == "ok"
    finally:
        pipeline.close()


def test_a_wrong_ca_a_wrong_password_and_no_credentials_are_refused_in_one_line(secure_kafka, tmp_path):
    other_ca = make_ca(tmp_path / "other", name="someone else's CA")
    base = {"PULSEWIRE_BROKER_URL": f"kafka+ssl://{secure_kafka.bootstrap}", "PULSEWIRE_DATA_DIR": str(tmp_path)}
    login = {"PULSEWIRE_BROKER_SASL_MECHANISM": "SCRAM-SHA-512", "PULSEWIRE_BROKER_SASL_USERNAME": "pulsewire-worker"}

    wrong_ca = _cli(["topics"], {**base, **login, "PULSEWIRE_BROKER_SASL_PASSWORD": WORKER_PASSWORD,
                                 "PULSEWIRE_BROKER_CA_FILE": str(other_ca.ca_file)}, tmp_path)
    _one_line_error(wrong_ca, f"TLS to the broker at {secure_kafka.bootstrap} refused", "its certificate is not trusted")
    assert WORKER_PASSWORD not in wrong_ca.stderr

    wrong_password = _cli(["topics"], {**base, **login, "PULSEWIRE_BROKER_SASL_PASSWORD": "not-" + WORKER_PASSWORD,
                                       "PULSEWIRE_BROKER_CA_FILE": str(secure_kafka.ca.ca_file)}, tmp_path)
    _one_line_error(wrong_password, "refused the SASL SCRAM-SHA-512 login of pulsewire-worker")
    assert WORKER_PASSWORD not in wrong_password.stderr

    csv, cfg = tmp_path / "reviews.csv", tmp_path / "reviews.toml"
    csv.write_text(REVIEWS_CSV)
    cfg.write_text(f'path = "{csv}"\nsource = "s"\ninstance = "s"\n\n[columns]\n'
                   'event_id = "review_id"\ntext = "body"\noccurred_at = "created_at"\n')
    connector = _cli(["connect", "files", "--config", str(cfg)],  # a refusal stops a connector: no retrying
                     {**base, "PULSEWIRE_BROKER_SASL_MECHANISM": "PLAIN", "PULSEWIRE_BROKER_SASL_USERNAME":
                      "pulsewire-connector", "PULSEWIRE_BROKER_SASL_PASSWORD": "not-" + CONNECTOR_PASSWORD,
                      "PULSEWIRE_BROKER_CA_FILE": str(secure_kafka.ca.ca_file)}, tmp_path, timeout=60)
    _one_line_error(connector, "connector 's' stopped", "refused the SASL PLAIN login of pulsewire-connector")
    assert CONNECTOR_PASSWORD not in connector.stderr

    anonymous = KafkaConnection(secure_kafka.bootstrap, tls=True, ca_file=secure_kafka.ca.ca_file)
    from pulsewire.streams.topics import TopicMap

    with pytest.raises(BrokerUnreachable) as refused:
        ensure_topics(anonymous, TopicMap(prefix="anonymous."), timeout_s=1)
    assert len(str(refused.value).splitlines()) == 1
    assert "if its listener requires SASL, set PULSEWIRE_BROKER_SASL_MECHANISM" in str(refused.value)
