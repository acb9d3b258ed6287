"""Dead letters: bad input is never dropped, it lands on ``events.dlq`` with a reason.

>>> dl = DeadLetter.make("events.review", b"{oops", Reason.MALFORMED_JSON, "Expecting value")
>>> dl.reason.value, dl.payload
('malformed_json', '{oops')

A dead letter carries its source's declaration of personal fields. Nothing declared means
personal (fail closed): the ``dead_letters`` table then keeps no value of it, only on ``events.dlq``.

>>> dl.personal
True
>>> DeadLetter.make("shop", b"{}", Reason.MISSING_FIELD, "x", personal_fields=[]).personal
False
>>> DeadLetter.make("shop", b'{"employee_id": "E-1"}', Reason.MISSING_FIELD, "x", personal_fields=[]).personal
True
"""

from __future__ import annotations

import base64
from datetime import datetime, timezone
from enum import Enum

from pydantic import BaseModel, Field


class Reason(str, Enum):
    MALFORMED_JSON = "malformed_json"
    NOT_AN_OBJECT = "not_an_object"
    MISSING_FIELD = "missing_field"
    WRONG_TYPE = "wrong_type"
    INVALID_VALUE = "invalid_value"
    UNKNOWN_KIND = "unknown_kind"
    WRONG_TOPIC = "wrong_topic"
    TEXT_TOO_LARGE = "text_too_large"
    PAYLOAD_TOO_LARGE = "payload_too_large"
    NAIVE_TIMESTAMP = "naive_timestamp"
    SCHEMA_DRIFT = "schema_drift"
    UNSUPPORTED_VERSION = "unsupported_version"
    INVALID_ENCODING = "invalid_encoding"
    MAPPING_FAILED = "mapping_failed"
    PROCESSING_FAILED = "processing_failed"
    NESTING_TOO_DEEP = "nesting_too_deep"
    NON_FINITE_NUMBER = "non_finite_number"
    INVALID_SOURCE_ID = "invalid_source_id"
    TIMESTAMP_OUT_OF_RANGE = "timestamp_out_of_range"
    STORE_REJECTED = "store_rejected"
    CONFLICTING_DUPLICATE = "conflicting_duplicate"
    CONSENT_SOURCE_NOT_ALLOWED = "consent_source_not_allowed"
    UNKNOWN_ALERT = "unknown_alert"  # an alert outcome about an alert id alerts_audit does not hold


class DeadLetter(BaseModel):
    schema_version: int = 1
    source_topic: str = Field(description="Where the record was read from (or the connector name).")
    reason: Reason
    detail: str = Field(description="Human-readable explanation, e.g. the validation errors.")
    payload: str = Field(description="The original payload (UTF-8, or base64 when payload_encoding says so).")
    payload_encoding: str = "utf-8"
    where: str = Field(default="validate", description="The stage that rejected it.")
    partition: int | None = None
    offset: int | None = None
    failed_at: datetime = Field(default_factory=lambda: datetime.now(timezone.utc))
    personal_fields: list[str] | None = Field(
        default=None, description="The source's declared personal fields; null (undeclared) is treated as personal.")
    known_fields: list[str] = Field(
        default_factory=list, description="Other source field names the connector declares (its configured "
                                          "columns): the only names besides the canonical and personal ones that "
                                          "the dead_letters table lists.")

    def payload_bytes(self) -> bytes:
        """The payload as the source sent it."""
        if self.payload_encoding == "base64":
            try:
                return base64.b64decode(self.payload, validate=True)
            except ValueError:
                pass
        return self.payload.encode("utf-8", "surrogatepass")

    @property
    def personal(self) -> bool:
        """Whether this may hold personal data: undeclared, declared fields, or a payload that names a
        canonical personal field although its source declared none."""
        if self.personal_fields is None or self.personal_fields:
            return True
        from .events import PERSONAL_FIELDS

        return any(f'"{name}"' in self.payload for name in PERSONAL_FIELDS) or self.payload_encoding != "utf-8"

    @classmethod
    def make(cls, source_topic: str, raw: bytes | str, reason: Reason, detail: str, **kw) -> "DeadLetter":
        if isinstance(raw, bytes):
            try:
                payload, enc = raw.decode("utf-8"), "utf-8"
            except UnicodeDecodeError:
                payload, enc = base64.b64encode(raw).decode(), "base64"
        else:
            payload, enc = raw, "utf-8"
        return cls(source_topic=source_topic, reason=reason, detail=detail[:4000], payload=payload,
                   payload_encoding=enc, **kw)
