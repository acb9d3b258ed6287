"""How every Kafka client connects: TLS and SASL from the settings (streams/kafka_security.py).

The broker end to end (SASL_SSL on a real Apache Kafka) is tests/integration/test_kafka_sasl_ssl.py;
here: what the settings turn into for each client library, what is refused, and that the password
never shows."""

from __future__ import annotations

import ast
import re
import asyncio
import logging
import ssl
from pathlib import Path

import pytest
from pydantic import ValidationError

from pulsewire.streams.kafka_security import KafkaConnection, KafkaSecurityError
from pulsewire.streams.settings import Settings

from ..tls import make_ca
from .test_cli_user_errors import assert_user_error, pulsewire

PASSWORD = "correct-horse-battery-staple-7f3a"
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def ca(tmp_path_factory):
    return make_ca(tmp_path_factory.mktemp("ca"))


def sasl_ssl_settings(ca, tmp_path, **kw) -> Settings:
    return Settings(data_dir=tmp_path, broker_url="kafka+ssl://127.0.0.1:9093", broker_ca_file=ca.ca_file,
                    broker_sasl_mechanism="SCRAM-SHA-512", broker_sasl_username="pulsewire-worker",
                    broker_sasl_password=PASSWORD, **kw)


def test_a_kafka_ssl_url_with_scram_gives_every_library_the_same_verified_tls_and_credentials(ca, tmp_path):
    conn = sasl_ssl_settings(ca, tmp_path).kafka
    kw = conn.kafka_python_kwargs(client_id="x")
    assert kw["bootstrap_servers"] == "127.0.0.1:9093" and kw["client_id"] == "x"
    assert kw["security_protocol"] == "SASL_SSL" and kw["sasl_mechanism"] == "SCRAM-SHA-512"
    assert kw["sasl_plain_username"] == "pulsewire-worker" and kw["sasl_plain_password"] == PASSWORD
    ctx = kw["ssl_context"]
    assert ctx.verify_mode == ssl.CERT_REQUIRED and ctx.check_hostname
    assert [dict(x[0] for x in c["subject"])["commonName"] for c in ctx.get_ca_certs()] == ["pulsewire test CA"]
    assert conn.aiokafka_kwargs()["security_protocol"] == "SASL_SSL"


def test_the_faust_worker_gets_sasl_ssl_credentials(ca, tmp_path):
    from pulsewire.streams.app import create_app

    app, _ = create_app(sasl_ssl_settings(ca, tmp_path), key=b"k" * 32)
    assert str(app.conf.broker[0]) == "kafka://127.0.0.1:9093"

    async def consumer():
        return app.consumer._thread._create_worker_consumer(app.transport)

    client = asyncio.run(consumer())._client  # what faust-streaming builds its aiokafka consumer with
    assert client._security_protocol == "SASL_SSL" and client._sasl_mechanism == "SCRAM-SHA-512"
    assert client._sasl_plain_username == "pulsewire-worker" and client._sasl_plain_password == PASSWORD
    assert client._ssl_context.verify_mode == ssl.CERT_REQUIRED
    assert app.producer._settings_auth()["security_protocol"] == "SASL_SSL"


def test_tls_without_sasl_and_plain_without_either(ca, tmp_path):
    tls = Settings(data_dir=tmp_path, broker_url="kafka+ssl://k:9093", broker_ca_file=ca.ca_file).kafka
    assert tls.security_protocol == "SSL" and tls.faust_credentials().context.verify_mode == ssl.CERT_REQUIRED
    plain = Settings(data_dir=tmp_path).kafka
    assert plain.security_protocol == "PLAINTEXT" and plain.faust_credentials() is None
    assert "ssl_context" not in plain.kafka_python_kwargs()
    scram_256 = Settings(data_dir=tmp_path, broker_url="kafka+ssl://k:9093", broker_sasl_mechanism="SCRAM-SHA-256",
                         broker_sasl_username="u", broker_sasl_password="p").kafka
    assert scram_256.kafka_python_kwargs()["sasl_mechanism"] == "SCRAM-SHA-256"


@pytest.mark.parametrize("env, needle", [
    ({"PULSEWIRE_BROKER_URL": "ssl://k:9093"}, "kafka+ssl://"),
    ({"PULSEWIRE_BROKER_SASL_MECHANISM": "PLAIN", "PULSEWIRE_BROKER_SASL_USERNAME": "u",
      "PULSEWIRE_BROKER_SASL_PASSWORD": PASSWORD}, "SASL PLAIN sends the password as it is"),
    ({"PULSEWIRE_BROKER_URL": "kafka+ssl://k:9093", "PULSEWIRE_BROKER_SASL_MECHANISM": "SCRAM-SHA-512",
      "PULSEWIRE_BROKER_SASL_USERNAME": "u"}, "PULSEWIRE_BROKER_SASL_PASSWORD are required"),
    ({"PULSEWIRE_BROKER_SASL_USERNAME": "u", "PULSEWIRE_BROKER_SASL_PASSWORD": PASSWORD},
     "PULSEWIRE_BROKER_SASL_MECHANISM is not"),
    ({"PULSEWIRE_BROKER_URL": "kafka+ssl://k:9093", "PULSEWIRE_BROKER_CA_FILE": "/nonexistent/ca.pem"},
     "PULSEWIRE_BROKER_CA_FILE=/nonexistent/ca.pem: no such file"),
    ({"PULSEWIRE_BROKER_CA_FILE": "/etc/hostname"}, "no TLS): use kafka+ssl://"),
    ({"PULSEWIRE_BROKER_URL": "kafka+ssl://k:9093", "PULSEWIRE_BROKER_SASL_MECHANISM": "GSSAPI",
      "PULSEWIRE_BROKER_SASL_USERNAME": "u", "PULSEWIRE_BROKER_SASL_PASSWORD": PASSWORD}, "SASL_MECHANISM"),
])
def test_contradictory_broker_settings_fail_with_one_line_that_never_shows_the_password(tmp_path, env, needle):
    res = pulsewire("topics", cwd=tmp_path, env=env, timeout=60)
    assert_user_error(res, "invalid configuration", needle)
    assert PASSWORD not in res.stderr + res.stdout


def test_the_password_never_shows_in_repr_str_or_a_logged_client_configuration(ca, tmp_path):
    s = sasl_ssl_settings(ca, tmp_path)
    conn = s.kafka
    for text in (repr(s), str(s.model_dump()), repr(conn), str(conn), repr(conn.kafka_python_kwargs()),
                 "%s" % conn.aiokafka_kwargs(), repr(conn.faust_credentials())):
        assert PASSWORD not in text
    # kafka-python logs every client's whole configuration at DEBUG (what `pulsewire -v` shows)
    from kafka.admin import KafkaAdminClient

    records: list[logging.LogRecord] = []
    handler = logging.Handler(logging.DEBUG)
    handler.emit = records.append
    kafka_log = logging.getLogger("kafka")
    level = kafka_log.level
    kafka_log.addHandler(handler)
    kafka_log.setLevel(logging.DEBUG)
    try:
        with pytest.raises(Exception):
            KafkaAdminClient(**KafkaConnection("127.0.0.1:1", tls=True, ca_file=ca.ca_file, sasl_mechanism="PLAIN",
                                               sasl_username="u", sasl_password=s.broker_sasl_password)
                             .kafka_python_kwargs(request_timeout_ms=300, bootstrap_timeout_ms=300))
    finally:
        kafka_log.removeHandler(handler)
        kafka_log.setLevel(level)
    logged = "\n".join(r.getMessage() for r in records)
    assert "sasl_plain_password" in logged and PASSWORD not in logged


def test_an_untrusted_broker_certificate_is_named_in_one_line(tmp_path, ca):
    """A TLS listener whose certificate another CA signed: refused at once, saying why."""
    import socket
    import threading

    other = make_ca(tmp_path / "other", name="someone else's CA")
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_ctx.load_cert_chain(other.cert_file, other.key_file)
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]

    def serve():
        for _ in range(2):
            conn, _ = listener.accept()
            try:
                server_ctx.wrap_socket(conn, server_side=True).close()
            except (ssl.SSLError, OSError):
                conn.close()

    threading.Thread(target=serve, daemon=True).start()
    try:
        with pytest.raises(KafkaSecurityError, match="its certificate is not trusted"):
            KafkaConnection(f"127.0.0.1:{port}", tls=True, ca_file=ca.ca_file).check_tls()
        res = pulsewire("topics", cwd=tmp_path, timeout=60, env={
            "PULSEWIRE_BROKER_URL": f"kafka+ssl://127.0.0.1:{port}", "PULSEWIRE_BROKER_CA_FILE": str(ca.ca_file)})
        assert_user_error(res, f"TLS to the broker at 127.0.0.1:{port} refused", "PULSEWIRE_BROKER_CA_FILE")
    finally:
        listener.close()


def test_a_refused_port_and_a_plaintext_port_under_kafka_ssl_are_named():
    """Not "the broker closes our connections ... SASL": what a plain connect finds out."""
    import socket
    import threading

    from pulsewire.infra.broker.embedded import free_port
    from pulsewire.streams.kafka_security import ClientFailureReasons

    closed = free_port()
    assert ClientFailureReasons().hint(KafkaConnection(f"127.0.0.1:{closed}")) == (
        f" (connection refused at 127.0.0.1:{closed})")
    listener = socket.create_server(("127.0.0.1", 0))  # reads a request, then hangs up: a plaintext Kafka port
    port = listener.getsockname()[1]

    def serve():
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            with conn:
                conn.recv(4096)

    threading.Thread(target=serve, daemon=True).start()
    try:
        hint = ClientFailureReasons().hint(KafkaConnection(f"127.0.0.1:{port}", tls=True))
        assert hint.startswith(f" (the broker does not speak TLS at 127.0.0.1:{port}") and "SASL" not in hint
        assert ClientFailureReasons().hint(KafkaConnection(f"127.0.0.1:{port}")) == ""  # it accepts plaintext
    finally:
        listener.close()


KAFKA_CLIENTS = {"KafkaProducer", "KafkaConsumer", "KafkaAdminClient", "AIOKafkaProducer", "AIOKafkaConsumer",
                 "AIOKafkaAdminClient", "AIOKafkaClient", "KafkaClient"}


def _clients_built_without_the_connection(path: Path) -> list[str]:
    bad = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if not isinstance(node, ast.Call):
            continue
        name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
        if name not in KAFKA_CLIENTS:
            continue
        spread = [k.value for k in node.keywords if k.arg is None]
        if not any(isinstance(v, ast.Call) and isinstance(v.func, ast.Attribute)
                   and v.func.attr in ("kafka_python_kwargs", "aiokafka_kwargs") for v in spread):
            where = path.relative_to(REPO) if path.is_relative_to(REPO) else path.name
            bad.append(f"{where}:{node.lineno} {name}")
    return bad


def test_every_kafka_client_in_the_code_is_built_from_the_connection():
    sources = [p for d in ("streams", "infra", "bench", "dashboards", "models") for p in (REPO / d).rglob("*.py")]
    assert len(sources) > 50
    bad = [b for p in sources for b in _clients_built_without_the_connection(p)]
    # bench/ drives the embedded broker only; its clients still go through the connection (plain)
    assert bad == [], "Kafka clients that would ignore TLS/SASL settings:\n" + "\n".join(bad)


def test_the_scan_finds_a_client_built_without_the_connection(tmp_path):
    rogue = tmp_path / "rogue.py"
    rogue.write_text("from kafka import KafkaConsumer\nimport aiokafka\nc = KafkaConsumer(bootstrap_servers='x:1')\n"
                     "p = aiokafka.AIOKafkaProducer(**{'bootstrap_servers': 'x:1'})\n"
                     "ok = KafkaConsumer(**conn.kafka_python_kwargs(group_id=None))\n")
    assert _clients_built_without_the_connection(rogue) == ["rogue.py:3 KafkaConsumer", "rogue.py:4 AIOKafkaProducer"]


def test_every_transport_setting_is_in_the_readme_configuration_table():
    table = (REPO / "README.md").read_text().split("## Configuration", 1)[1].split("\n## ", 1)[0]
    named = set(re.findall(r"`(PULSEWIRE_\w+|_\w+)`", table))
    for field in Settings.model_fields:
        if field.startswith("broker_") or field == "store_ca_file":
            env = f"PULSEWIRE_{field.upper()}"
            short = "_" + env.removeprefix("PULSEWIRE_BROKER_")
            assert env in named or short in named, f"{env} is not in README's configuration table"


def test_a_client_certificate_is_loaded_and_a_broken_one_named(ca, tmp_path):
    conn = Settings(data_dir=tmp_path, broker_url="kafka+ssl://k:9093", broker_ca_file=ca.ca_file,
                    broker_cert_file=ca.cert_file, broker_key_file=ca.key_file).kafka
    assert conn.ssl_context() is not None
    other = make_ca(tmp_path / "other")
    mismatched = KafkaConnection("k:9093", tls=True, cert_file=ca.cert_file, key_file=other.key_file)
    with pytest.raises(KafkaSecurityError, match="cannot load the broker TLS files"):
        mismatched.kafka_python_kwargs()
    with pytest.raises(ValidationError, match="go together"):
        Settings(data_dir=tmp_path, broker_url="kafka+ssl://k:9093", broker_cert_file=ca.cert_file)
