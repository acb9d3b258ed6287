"""How every Kafka client of pulsewire connects: TLS and SASL from the settings, in one place.

``KafkaConnection`` is the broker address plus how to authenticate to it. Each client library gets
its arguments from it, never builds them itself (a test scans the code for Kafka clients built
without it):

* ``kafka_python_kwargs()``: KafkaProducer, KafkaConsumer, KafkaAdminClient (kafka-python);
* ``aiokafka_kwargs()``: AIOKafkaConsumer / AIOKafkaProducer;
* ``faust_url`` + ``faust_credentials()``: ``faust.App(broker=..., broker_credentials=...)``.

URL schemes: ``kafka://`` (no TLS) and ``kafka+ssl://`` (TLS, the broker's certificate checked
against ``PULSEWIRE_BROKER_CA_FILE``, or the system's CAs without one, and its host name verified).
SASL (``PLAIN``, ``SCRAM-SHA-256``, ``SCRAM-SHA-512``) comes on top of either; ``PLAIN`` only
over TLS, since it sends the password as it is.

The password is a ``SecretStr`` until a client library needs it, and even then a ``str`` whose
``repr`` and ``str`` hide it: kafka-python logs its whole configuration at DEBUG (``pulsewire -v``).
"""

from __future__ import annotations

import logging
import socket
import ssl
from dataclasses import dataclass
from pathlib import Path

from pydantic import SecretStr

SCHEMES = {"kafka://": False, "kafka+ssl://": True}
SASL_MECHANISMS = ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512")


class KafkaSecurityError(ValueError):
    """The broker settings contradict each other, or a certificate file cannot be used."""


class _HiddenPassword(str):
    """A password handed to a client library: usable as a ``str``, printed as stars.

    >>> p = _HiddenPassword("s3cret")
    >>> repr(p), str(p), f"{p}", "%s" % {"sasl_plain_password": p}
    ("'**********'", '**********', '**********', "{'sasl_plain_password': '**********'}")
    >>> p.encode(), "\\0".join(["u", p]) == "u\\0s3cret"
    (b's3cret', True)
    """

    def __repr__(self) -> str:
        return "'**********'"

    def __str__(self) -> str:
        return "**********"

    def __format__(self, spec: str) -> str:
        return "**********"


def split_broker_url(url: str) -> tuple[str, bool]:
    """``(bootstrap servers, tls)`` of a broker URL.

    >>> split_broker_url("kafka://a:9092,b:9092"), split_broker_url("kafka+ssl://kafka:9093")
    (('a:9092,b:9092', False), ('kafka:9093', True))
    >>> split_broker_url("ssl://kafka:9093")
    Traceback (most recent call last):
    ...
    pulsewire.streams.kafka_security.KafkaSecurityError: broker URL must look like kafka://host:port[,host:port] or kafka+ssl://host:port[,host:port] (TLS), not 'ssl://kafka:9093'
    """
    for scheme, tls in SCHEMES.items():
        if url.startswith(scheme) and url[len(scheme):]:
            return url[len(scheme):], tls
    raise KafkaSecurityError("broker URL must look like kafka://host:port[,host:port] or "
                             f"kafka+ssl://host:port[,host:port] (TLS), not {url!r}")


@dataclass(frozen=True)
class KafkaConnection:
    """A broker's address and how to authenticate to it. ``repr`` and ``str`` never show the password.

    >>> c = KafkaConnection("k:9093", tls=True, sasl_mechanism="SCRAM-SHA-512", sasl_username="worker",
    ...                     sasl_password=SecretStr("pw"))
    >>> c.security_protocol, str(c)
    ('SASL_SSL', 'kafka+ssl://k:9093 (SASL SCRAM-SHA-512 as worker)')
    >>> "pw" in repr(c)
    False
    """

    bootstrap: str
    tls: bool = False
    ca_file: Path | None = None
    cert_file: Path | None = None
    key_file: Path | None = None
    sasl_mechanism: str | None = None
    sasl_username: str | None = None
    sasl_password: SecretStr | None = None

    def __post_init__(self) -> None:
        check(self)

    @classmethod
    def of(cls, broker: "str | KafkaConnection") -> "KafkaConnection":
        """A connection as given, or a plain ``host:port`` (an embedded or test broker) without TLS or SASL."""
        return broker if isinstance(broker, KafkaConnection) else cls(broker)

    @classmethod
    def from_settings(cls, settings) -> "KafkaConnection":
        bootstrap, tls = split_broker_url(settings.broker_url)
        return cls(bootstrap, tls=tls, ca_file=settings.broker_ca_file, cert_file=settings.broker_cert_file,
                   key_file=settings.broker_key_file, sasl_mechanism=settings.broker_sasl_mechanism,
                   sasl_username=settings.broker_sasl_username, sasl_password=settings.broker_sasl_password)

    @property
    def security_protocol(self) -> str:
        return ("SASL_" if self.sasl_mechanism else "") + ("SSL" if self.tls else "PLAINTEXT")

    @property
    def url(self) -> str:
        return ("kafka+ssl://" if self.tls else "kafka://") + self.bootstrap

    @property
    def faust_url(self) -> str:
        """Faust picks its driver by scheme and knows only ``kafka://``; TLS comes with the credentials."""
        return "kafka://" + self.bootstrap

    def __str__(self) -> str:
        who = f" (SASL {self.sasl_mechanism} as {self.sasl_username})" if self.sasl_mechanism else ""
        return self.url + who

    def ssl_context(self) -> ssl.SSLContext | None:
        """The TLS context every client uses: certificate and host name verified; None without TLS."""
        if not self.tls:
            return None
        try:
            ctx = ssl.create_default_context(cafile=str(self.ca_file) if self.ca_file else None)
            if self.cert_file:
                ctx.load_cert_chain(str(self.cert_file), str(self.key_file))
        except (OSError, ssl.SSLError) as exc:
            raise KafkaSecurityError(f"cannot load the broker TLS files (PULSEWIRE_BROKER_CA_FILE="
                                     f"{self.ca_file}, _CERT_FILE={self.cert_file}, _KEY_FILE={self.key_file}): "
                                     f"{exc}") from None
        return ctx

    def _sasl(self) -> dict:
        if not self.sasl_mechanism:
            return {}
        return {"sasl_mechanism": self.sasl_mechanism, "sasl_plain_username": self.sasl_username,
                "sasl_plain_password": _HiddenPassword(self.sasl_password.get_secret_value())}

    def kafka_python_kwargs(self, **kwargs) -> dict:
        """Arguments for kafka-python's KafkaProducer, KafkaConsumer and KafkaAdminClient.

        >>> KafkaConnection("a:9092").kafka_python_kwargs(acks="all")
        {'bootstrap_servers': 'a:9092', 'security_protocol': 'PLAINTEXT', 'acks': 'all'}
        """
        out = {"bootstrap_servers": self.bootstrap, "security_protocol": self.security_protocol}
        if self.tls:
            out["ssl_context"] = self.ssl_context()
        return {**out, **self._sasl(), **kwargs}

    def aiokafka_kwargs(self, **kwargs) -> dict:
        """Arguments for AIOKafkaConsumer / AIOKafkaProducer (same names as kafka-python's for these)."""
        return self.kafka_python_kwargs(**kwargs)

    def faust_credentials(self):
        """``broker_credentials`` for ``faust.App``; None for a plain connection."""
        import faust

        if self.sasl_mechanism:
            return faust.SASLCredentials(username=self.sasl_username, mechanism=self.sasl_mechanism,
                                         password=_HiddenPassword(self.sasl_password.get_secret_value()),
                                         ssl_context=self.ssl_context())
        if self.tls:
            return faust.SSLCredentials(self.ssl_context())
        return None

    def env(self) -> dict[str, str]:
        """The ``PULSEWIRE_BROKER_*`` variables that make a child process (a worker) connect the same way.

        >>> KafkaConnection("a:9092").env()["PULSEWIRE_BROKER_URL"]
        'kafka://a:9092'
        """
        values = {"URL": self.url, "SASL_MECHANISM": self.sasl_mechanism, "SASL_USERNAME": self.sasl_username,
                  "SASL_PASSWORD": self.sasl_password.get_secret_value() if self.sasl_password else None,
                  "CA_FILE": self.ca_file, "CERT_FILE": self.cert_file, "KEY_FILE": self.key_file}
        return {f"PULSEWIRE_BROKER_{k}": str(v) for k, v in values.items() if v is not None}

    def check_tls(self, timeout_s: float = 5.0) -> None:
        """Fail with one line if a bootstrap server presents a certificate we do not trust.

        Kafka clients retry a refused handshake until their timeout and then report only that no
        broker is available; this names the reason (an untrusted certificate, a wrong host name).
        Only a certificate refusal is final: a server that is down or still starting is retried."""
        if not self.tls:
            return
        ctx = self.ssl_context()
        for server in self.bootstrap.split(","):
            host, _, port = server.strip().rpartition(":")
            try:
                with socket.create_connection((host, int(port)), timeout=timeout_s) as sock:
                    with ctx.wrap_socket(sock, server_hostname=host):
                        return
            except ssl.SSLCertVerificationError as exc:
                raise KafkaSecurityError(
                    f"TLS to the broker at {server} refused: its certificate is not trusted ({exc.verify_message}; "
                    f"is PULSEWIRE_BROKER_CA_FILE="
                    f"{self.ca_file or '(system CAs)'} the CA that signed it, "
                    "and is the host name in it?)") from None
            except (OSError, ValueError):
                # unreachable, still starting, or not speaking TLS: the clients retry and report it
                continue

    def unreachable_reason(self, timeout_s: float = 3.0) -> str | None:
        """Why no bootstrap server answered, when a plain connect says so: refused, or not TLS.

        >>> from pulsewire.infra.broker.embedded import free_port
        >>> KafkaConnection(f"127.0.0.1:{free_port()}").unreachable_reason().startswith("connection refused at ")
        True
        """
        reasons = []
        for server in self.bootstrap.split(","):
            host, _, port = server.strip().rpartition(":")
            try:
                with socket.create_connection((host, int(port)), timeout=timeout_s) as sock:
                    if not self.tls:
                        return None
                    ctx = ssl.create_default_context()
                    ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE  # only: does it speak TLS?
                    with ctx.wrap_socket(sock, server_hostname=host):
                        return None
            except ConnectionRefusedError:
                reasons.append(f"connection refused at {server.strip()}")
            except (ssl.SSLError, ConnectionResetError, EOFError):
                reasons.append(f"the broker does not speak TLS at {server.strip()}: use its TLS listener, "
                               "or kafka:// for a plaintext one")
            except (OSError, ValueError):
                return None  # a timeout or a name that does not resolve: the client's own error says it
        return "; ".join(reasons) or None


class ClientFailureReasons(logging.Handler):
    """What the Kafka client libraries log while they fail to connect: kafka-python raises only
    "Unable to bootstrap", and logs why (a failed SASL login) as warnings on the way.

    >>> with ClientFailureReasons() as reasons:
    ...     logging.getLogger("kafka.net.manager").warning("Bootstrap connection to bootstrap-0 failed: "
    ...         "[Error 58] SaslAuthenticationFailedError: Authentication failed during authentication")
    >>> reasons.refusal(KafkaConnection("k:9093", tls=True, sasl_mechanism="SCRAM-SHA-512", sasl_username="w",
    ...                                 sasl_password=SecretStr("p")))
    'Kafka at kafka+ssl://k:9093 refused the SASL SCRAM-SHA-512 login of w: check PULSEWIRE_BROKER_SASL_USERNAME and _PASSWORD (and that the broker has SCRAM-SHA-512 credentials for w)'
    """

    LOGGERS = ("kafka", "aiokafka")

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())

    def __enter__(self) -> "ClientFailureReasons":
        for name in self.LOGGERS:
            logging.getLogger(name).addHandler(self)
        return self

    def __exit__(self, *exc) -> None:
        for name in self.LOGGERS:
            logging.getLogger(name).removeHandler(self)

    def _seen(self, *needles: str) -> bool:
        return any(n in m for m in self.messages for n in needles)

    def refusal(self, conn: KafkaConnection) -> str | None:
        """One line for a refusal that retrying cannot fix; None if nothing says so."""
        if self._seen("SaslAuthenticationFailedError", "Authentication failed"):
            return (f"Kafka at {conn.url} refused the SASL {conn.sasl_mechanism} login of {conn.sasl_username}: "
                    "check PULSEWIRE_BROKER_SASL_USERNAME and _PASSWORD (and that the broker has "
                    f"{conn.sasl_mechanism} credentials for {conn.sasl_username})")
        if self._seen("UnsupportedSaslMechanismError"):
            return (f"Kafka at {conn.url} does not accept SASL {conn.sasl_mechanism}: set "
                    "PULSEWIRE_BROKER_SASL_MECHANISM to one its listener enables")
        return None

    def hint(self, conn: KafkaConnection) -> str:
        """A likely cause to add to a timeout: a refused connect or a port without TLS, checked
        directly; else what the logs point at."""
        if reason := conn.unreachable_reason():
            return f" ({reason})"
        if not conn.sasl_mechanism and self._seen("socket disconnected", "Connection lost"):
            return (" (the broker closes our connections: if its listener requires SASL, set "
                    "PULSEWIRE_BROKER_SASL_MECHANISM, _USERNAME and _PASSWORD)")
        return ""


def check(conn: KafkaConnection) -> None:
    """Refuse contradictory or unsafe combinations, naming the settings.

    >>> KafkaConnection("k:9092", sasl_mechanism="PLAIN", sasl_username="u", sasl_password=SecretStr("p"))
    Traceback (most recent call last):
    ...
    pulsewire.streams.kafka_security.KafkaSecurityError: SASL PLAIN sends the password as it is: use a kafka+ssl:// broker URL (or SCRAM-SHA-512)
    """
    if conn.sasl_mechanism is not None:
        if conn.sasl_mechanism not in SASL_MECHANISMS:
            raise KafkaSecurityError(f"PULSEWIRE_BROKER_SASL_MECHANISM must be one of {', '.join(SASL_MECHANISMS)}, "
                                     f"not {conn.sasl_mechanism!r}")
        if not conn.sasl_username or conn.sasl_password is None or not conn.sasl_password.get_secret_value():
            raise KafkaSecurityError("PULSEWIRE_BROKER_SASL_MECHANISM is set: PULSEWIRE_BROKER_SASL_USERNAME and "
                                     "PULSEWIRE_BROKER_SASL_PASSWORD are required too")
        if conn.sasl_mechanism == "PLAIN" and not conn.tls:
            raise KafkaSecurityError("SASL PLAIN sends the password as it is: use a kafka+ssl:// broker URL "
                                     "(or SCRAM-SHA-512)")
    elif conn.sasl_username or conn.sasl_password is not None:
        raise KafkaSecurityError("PULSEWIRE_BROKER_SASL_USERNAME/_PASSWORD are set but "
                                 "PULSEWIRE_BROKER_SASL_MECHANISM is not (SCRAM-SHA-512, SCRAM-SHA-256 or PLAIN)")
    files = {"PULSEWIRE_BROKER_CA_FILE": conn.ca_file, "PULSEWIRE_BROKER_CERT_FILE": conn.cert_file,
             "PULSEWIRE_BROKER_KEY_FILE": conn.key_file}
    given = [name for name, path in files.items() if path is not None]
    if given and not conn.tls:
        raise KafkaSecurityError(f"{', '.join(given)} set but the broker URL is kafka:// (no TLS): use kafka+ssl://")
    if (conn.cert_file is None) != (conn.key_file is None):
        raise KafkaSecurityError("PULSEWIRE_BROKER_CERT_FILE and PULSEWIRE_BROKER_KEY_FILE go together "
                                 "(a client certificate and its private key)")
    for name, path in files.items():
        if path is not None and not Path(path).is_file():
            raise KafkaSecurityError(f"{name}={path}: no such file")
