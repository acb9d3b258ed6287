"""``generator``: the simulated SMB (``generator.SmbSimulation``) as a connector on the SDK.

Deterministic for a seed, so the cursor is simply how many records were read; the
deliberately bad records (``bad_record_rate``) go to the dead letters from here.
"""

from __future__ import annotations

import json
import time
from typing import Iterator

from pydantic import Field

from pulsewire.schemas.events import KINDS, PERSONAL_FIELDS

from ..sdk import Connector, ConnectorConfig, Raw, Reason, Reject

MAX_TEXT_CHARS = 20_000  # settings.max_text_chars' default: the worker would refuse longer texts anyway


class SimulatedConfig(ConnectorConfig):
    seed: int = 7
    events: int = Field(20_000, ge=0, description="How many records to generate (bad ones included).")
    bad_record_rate: float = Field(0.0, ge=0.0, lt=1.0)
    rate_per_s: float | None = Field(None, gt=0, description="Pace the generator (default: as fast as possible).")
    bias: str | None = Field(None, description="A planted bias for testing the audit, e.g. 'plan:business'.")
    start: str | None = Field(None, description="Start of simulated time, with a time zone (default: the "
                                                "generator's, 2026-05-01T00:00:00+00:00).")


class Simulated(Connector):
    """The simulated SMB (customers, employees, reviews, tickets, chat, HR) for demos and load tests."""

    name = "generator"
    kinds = KINDS
    Config = SimulatedConfig
    personal_fields = PERSONAL_FIELDS  # its records are canonical events about simulated people

    def setup(self) -> None:
        from .generator import GeneratorConfig, SmbSimulation

        start = {"start": self.config.start} if self.config.start else {}
        self.sim = SmbSimulation(GeneratorConfig(seed=self.config.seed, bad_record_rate=self.config.bad_record_rate,
                                                 bias=self.config.bias, **start))

    def poll(self, cursor: str | None) -> Iterator[Raw]:
        skip, t0, pace = int(cursor or 0), time.monotonic(), self.config.rate_per_s
        for i, rec in enumerate(self.sim.records(limit=self.config.events)):
            if i < skip:
                continue
            if pace and (ahead := (i - skip) / pace - (time.monotonic() - t0)) > 0:
                time.sleep(ahead)
            yield Raw(rec, cursor=str(i + 1), raw=rec if isinstance(rec, bytes) else None)

    def map(self, rec: dict | bytes) -> dict:
        if isinstance(rec, bytes):
            try:
                rec = json.loads(rec)
            except ValueError as exc:
                raise Reject(Reason.MALFORMED_JSON, f"not valid JSON: {exc}") from None
        if isinstance(rec.get("text"), str) and len(rec["text"]) > MAX_TEXT_CHARS:
            raise Reject(Reason.TEXT_TOO_LARGE, f"text has {len(rec['text'])} characters; limit {MAX_TEXT_CHARS}")
        return dict(rec)  # already canonical: the runtime validates it
