"""One settings object for the whole pipeline.

Read from the environment (prefix ``PULSEWIRE_``) and, optionally, from a
``.env``-style file named by ``PULSEWIRE_CONFIG``. URLs decide the backend:

* broker: ``kafka://host:port[,host:port]``, or ``kafka+ssl://...`` for TLS, with optional SASL
  (``broker_sasl_*``; how every client connects: ``kafka_security.py``);
* store: ``chdb:///abs/path`` (in-process ClickHouse) or ``http(s)://host:8123``.

Secrets (the pseudonymisation key, the ClickHouse and Kafka passwords) are ``SecretStr``:
they never appear in ``repr()`` or logs.
"""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from .kafka_security import KafkaConnection, KafkaSecurityError, split_broker_url
from .time_window import EARLIEST_EVENT_DATE, MAX_FUTURE_DAYS
from .validation import DEFAULT_CONSENT_SOURCES

#: The smallest team-level group ever shown; settings may only raise it.
MIN_GROUP_FLOOR = 5
MIN_COMMENT_GROUP_FLOOR = 10


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="PULSEWIRE_",
        env_file=os.environ.get("PULSEWIRE_CONFIG"),
        extra="ignore",
        hide_input_in_errors=True,  # a rejected setting's error must not print the secrets beside it
    )

    data_dir: Path = Field(default=Path("pulsewire-data"), description="Where embedded state lives.")
    broker_url: str = Field(default="kafka://127.0.0.1:9092", description="kafka:// or kafka+ssl:// (TLS).")
    broker_sasl_mechanism: Literal["SCRAM-SHA-512", "SCRAM-SHA-256", "PLAIN"] | None = None
    broker_sasl_username: str | None = None
    broker_sasl_password: SecretStr | None = None
    broker_ca_file: Path | None = Field(default=None, description="CA that signed the brokers' certificates.")
    broker_cert_file: Path | None = Field(default=None, description="Client certificate (mutual TLS), PEM.")
    broker_key_file: Path | None = Field(default=None, description="Its private key, PEM, not encrypted.")
    store_url: str | None = Field(default=None, description="Defaults to chdb://<data_dir>/clickhouse.")
    store_user: str = "default"
    store_password: SecretStr = SecretStr("")
    store_ca_file: Path | None = Field(default=None, description="CA that signed the ClickHouse server's certificate.")

    app_id: str = Field(default="pulsewire", description=(
        "Consumer group and the prefix of Faust's changelog topics; defaults to <topic_prefix>pulsewire."))
    topic_prefix: str = Field(default="", description="Prefix for every topic name (tenants, isolated tests).")
    topic_partitions: int = Field(default=4, ge=1)
    worker_web_port: int | None = Field(default=None, description="Port of the readiness probe (GET /ready); None = a free one.")
    worker_web_bind: str = Field(default="127.0.0.1", description="Address the readiness probe listens on.")

    signals_enabled: bool = Field(default=True, description="Run the churn/burnout/metrics agents too.")

    stall_check_interval_s: float = Field(default=10.0, gt=0, description="How often to look for stuck partitions.")
    lag_interval_s: float = Field(default=10.0, gt=0, description="How often the worker records consumer lag.")

    # Micro-batches: stream.take(n, within=s). A record can wait a whole window at each stage, so the two
    # windows bound how fresh the store can be (0.75 s together; they were 1.5 s, most of a 2 s target).
    score_batch_size: int = Field(default=64, ge=1)
    score_batch_within_s: float = Field(default=0.25, gt=0)
    sink_batch_size: int = Field(default=2000, ge=1)
    sink_batch_within_s: float = Field(default=0.5, gt=0)

    model_dir: Path | None = None
    model_threads: int = Field(default=2, ge=1)
    model_max_tokens: int = Field(default=128, ge=8)

    # Bad input limits
    max_text_chars: int = Field(default=20_000, ge=1)
    max_payload_bytes: int = Field(default=256 * 1024, ge=1024)
    max_future_days: float = Field(default=MAX_FUTURE_DAYS, ge=0, description="Later event times are dead letters.")
    earliest_event_date: date = Field(default=EARLIEST_EVENT_DATE, description="Earlier event times are dead letters.")

    # Privacy
    pseudonym_key: SecretStr | None = None
    min_group_size: int = MIN_GROUP_FLOOR
    min_comment_group_size: int = MIN_COMMENT_GROUP_FLOOR
    raw_text_ttl_days: int = Field(default=90, ge=1)
    consent_sources: str = Field(default=",".join(DEFAULT_CONSENT_SOURCES), description=(
        "Comma-separated event sources whose consent field is honoured; consent from others is ignored."))
    # How long the store keeps rows (streams/retention.py; the worker applies them, 0044 sets these defaults)
    events_ttl_days: int = Field(default=365, ge=1, description="events_scored rows, sentiment_minute, activity_daily")
    activity_raw_days: int = Field(default=7, ge=1, description="activity_events (raw activity rows; the daily "
                                   "totals stay events_ttl_days); also how long a re-sent activity is a replay")
    predictions_ttl_days: int = Field(default=180, ge=1, description="predictions, risk_latest, learn_examples")
    audit_ttl_days: int = Field(default=365, ge=1, description="alerts_audit, alert_outcomes, consent_audit, "
                                "data_access_audit")
    metrics_ttl_days: int = Field(default=730, ge=1, description="metrics_daily")
    dead_letter_ttl_days: int = Field(default=30, ge=1, description="ClickHouse drops dead letters after this.")
    dlq_retention_days: float = Field(default=7, gt=0, description="events.dlq (raw rejected records) keeps them "
                                      "this long; `pulsewire topics` applies a change to an existing topic.")
    # Human oversight (docs/oversight.md): a person's "wrong" on a churn alert teaches the churn learner only when on
    outcomes_as_labels: bool = Field(default=False, description=(
        "Offer churn alerts people judged 'wrong' to the churn learner as negative examples (logged, counted)."))
    outcome_webhook_secret: SecretStr | None = Field(default=None, description=(
        "The shared secret `pulsewire outcome-webhook` checks request signatures with (HMAC-SHA256)."))
    # Grafana's read-only ClickHouse user, created by the worker's store set-up on a server
    grafana_store_user: str | None = Field(default=None, description="May read only the privacy views.")
    grafana_store_password: SecretStr | None = None

    # Faust/Kafka consumer tuning (short timeouts keep rebalances quick on one machine)
    session_timeout_s: float = 10.0
    heartbeat_interval_s: float = 1.0
    commit_interval_s: float = 1.0
    # At most this many fetched records are handed to the agents per round. A round waits while any agent's
    # queue is full, so an unbounded one (Faust's default: everything fetched, thousands of backlog records)
    # holds back the records of every other agent, the sink's included.
    max_poll_records: int = Field(default=500, ge=1)
    # The embedded broker answers an empty fetch at once instead of holding it (see fetch_pacing.py)
    empty_fetch_pause_s: float = Field(default=0.1, ge=0, description="Least time between empty fetches; 0 = off.")

    @field_validator("min_group_size")
    @classmethod
    def _group_floor(cls, v: int) -> int:
        if v < MIN_GROUP_FLOOR:
            raise ValueError(f"min_group_size can only be raised (floor {MIN_GROUP_FLOOR})")
        return v

    @field_validator("min_comment_group_size")
    @classmethod
    def _comment_floor(cls, v: int) -> int:
        if v < MIN_COMMENT_GROUP_FLOOR:
            raise ValueError(f"min_comment_group_size can only be raised (floor {MIN_COMMENT_GROUP_FLOOR})")
        return v

    @field_validator("grafana_store_user")
    @classmethod
    def _grafana_user_name(cls, v: str | None) -> str | None:
        from .store_access import valid_user_name

        return valid_user_name(v) if v else None

    @field_validator("broker_url")
    @classmethod
    def _broker_scheme(cls, v: str) -> str:
        try:
            split_broker_url(v)
        except KafkaSecurityError as exc:
            raise ValueError(str(exc)) from None
        return v

    @model_validator(mode="after")
    def _broker_security(self) -> "Settings":
        """TLS and SASL settings that contradict each other are refused here, naming the variables."""
        try:
            KafkaConnection.from_settings(self)
        except KafkaSecurityError as exc:
            raise ValueError(str(exc)) from None
        return self

    @model_validator(mode="after")
    def _group_per_prefix(self) -> "Settings":
        """A tenant's prefix isolates its consumer group and changelog topics too, not only its topics:
        two prefixed workers in one group would rebalance each other and read each other's table state.

        >>> Settings(topic_prefix="acme.").app_id, Settings(topic_prefix="acme.", app_id="x").app_id
        ('acme.pulsewire', 'x')
        """
        if "app_id" not in self.model_fields_set and self.topic_prefix:
            self.app_id = self.topic_prefix + "pulsewire"
        return self

    @model_validator(mode="after")
    def _default_store(self) -> "Settings":
        if self.store_url is None:
            self.store_url = f"chdb://{self.data_dir.resolve() / 'clickhouse'}"
        return self

    @property
    def consent_source_names(self) -> frozenset[str]:
        """>>> sorted(Settings(consent_sources=" hris, bamboo ,").consent_source_names)
        ['bamboo', 'hris']
        """
        return frozenset(s.strip() for s in self.consent_sources.split(",") if s.strip())

    @property
    def bootstrap_servers(self) -> str:
        return split_broker_url(self.broker_url)[0]

    @property
    def kafka(self) -> KafkaConnection:
        """The broker and how to authenticate to it: what every Kafka client is built from."""
        return KafkaConnection.from_settings(self)

    def load_scorer(self):
        """The sentiment scorer these settings name: what the worker's score agent uses (loaded once per
        process and argument set)."""
        from pulsewire.models.sentiment import load_scorer

        return load_scorer(model_dir=self.model_dir, threads=self.model_threads, max_tokens=self.model_max_tokens)

    def require_pseudonym_key(self) -> bytes:
        """The key for pseudonymising employee ids; the worker refuses to start without it."""
        if self.pseudonym_key is None or len(self.pseudonym_key.get_secret_value()) < 16:
            raise SystemExit(
                "PULSEWIRE_PSEUDONYM_KEY is not set (or shorter than 16 characters). "
                "The worker pseudonymises employee ids with this key before they reach any topic "
                "or table, and refuses to start without it. Generate one with: "
                "python -c 'import secrets; print(secrets.token_hex(32))'"
            )
        return self.pseudonym_key.get_secret_value().encode()
