"""Drift events on ``alerts.drift``: CloudEvents 1.0, structured JSON mode, like the alerts (``schemas/alerts.py``).

A drift event says that a series the models depend on has changed: what (``watcher``, ``model``,
``dimension``, ``feature``), since when (``changed_since``, the event time where the change began) and by
how much (the mean before and after, with how many values each), with the detector and its parameters.
It holds no per-person data: only means over at least the detector's ``min_count`` values.
``id`` derives from the series and the change point, and ``time`` is an event time, so a replay that finds
the same change sends a byte-for-byte equal record; consumers de-duplicate on ``id``.

>>> from pulsewire.models.oversight.drift import Change, DetectorParams
>>> c = Change("down", 1_780_000_000.0, 1_780_090_000.0, 0.12, 640, -0.71, 30, 0.55)
>>> ce = make_drift_cloudevent(series("sentiment", "sentiment", dimension="channel:email"), c, DetectorParams())
>>> ce["type"], ce["subject"], ce["data"]["direction"]
('dev.pulsewire.drift.v1', 'sentiment/channel:email', 'down')
>>> ce["data"]["summary"]
'Sentiment score on channel email fell from +0.120 (mean of 640) to -0.710 (mean of 30) since 2026-05-28 20:26 UTC, a change of -1.51 standard deviations of its baseline (found 2026-05-29 21:26 UTC).'
>>> _ = DriftEvent.model_validate(ce)
>>> drift_row(ce)["before_count"], drift_row(ce)["detector"]["name"]
(640, 'river.drift.PageHinkley')
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from pulsewire.models.oversight.drift import Change, DetectorParams, drift_event_id

from .alerts import KAFKA_HEADERS, SCHEMA_BASE

TYPE = "dev.pulsewire.drift.v1"
SCHEMA_NAME = "drift.v1.schema.json"
NOTICE = ("A drift event says a model's inputs or its accuracy changed; it is a prompt for a person to look at "
          "the model and the data, not a verdict on anyone.")


@dataclass(frozen=True)
class Series:
    """What one watcher watches: kind, model, and the channel or feature that narrows it."""

    watcher: str    # sentiment | error | feature
    model: str      # sentiment | churn | burnout
    dimension: str = ""  # channel:<name> for sentiment
    feature: str = ""    # the feature's name for feature watchers

    @property
    def key(self) -> str:
        """``sentiment/channel:email``, ``churn/error``, ``churn/feature:neg_tickets_7d``."""
        what = self.dimension if self.watcher == "sentiment" else (
            "error" if self.watcher == "error" else f"feature:{self.feature}")
        return f"{self.model}/{what}"

    def measure(self) -> str:
        if self.watcher == "sentiment":
            return f"Sentiment score on channel {self.dimension.removeprefix('channel:')}"
        if self.watcher == "error":
            return f"Absolute error |y - p| of the {self.model} model"
        return f"Feature {self.feature} of the {self.model} model's labelled examples"


def series(watcher: str, model: str, *, dimension: str = "", feature: str = "") -> Series:
    return Series(watcher, model, dimension, feature)


class Side(BaseModel):
    model_config = ConfigDict(extra="forbid")

    mean: float = Field(description="Mean of the values on this side of the change point.")
    count: int = Field(ge=1, description="How many values that mean is over.")


class DriftData(BaseModel):
    model_config = ConfigDict(extra="forbid")

    watcher: Literal["sentiment", "error", "feature"] = Field(description=(
        "sentiment: sentiment scores of customers' texts per channel; error: a learner's |y - p| on labelled "
        "examples (p predicted before the label was learned); feature: a learner's numeric feature."))
    model: Literal["sentiment", "churn", "burnout"]
    dimension: str = Field(default="", description="channel:<name> for sentiment watchers, else empty.")
    feature: str = Field(default="", description="The feature's name for feature watchers, else empty.")
    measure: str = Field(description="What was measured, in plain words.")
    direction: Literal["up", "down"] = Field(description="Whether the mean rose or fell.")
    changed_since: datetime = Field(description="Event time of the first value after the estimated change point.")
    detected_at: datetime = Field(description="Event time of the value that confirmed the change.")
    before: Side = Field(description="Since the watcher's baseline began, up to the change point.")
    after: Side = Field(description="From the change point to the detection.")
    change: float = Field(description="after.mean - before.mean.")
    change_sd: float = Field(description="The change in standard deviations of the baseline.")
    baseline_sd: float = Field(description="Standard deviation of the baseline (the warm-up values).")
    detector: dict[str, float | int | str] = Field(description=(
        "The detector and its parameters (delta, threshold and min_effect in baseline standard deviations)."))
    summary: str = Field(description="The same in one line of plain words.")
    notice: str = Field(default=NOTICE)


class DriftEvent(BaseModel):
    """A change in a series a model depends on (CloudEvents 1.0, structured mode)."""

    model_config = ConfigDict(extra="forbid")

    specversion: Literal["1.0"] = "1.0"
    id: str = Field(min_length=1, description="sha256(drift | series | direction | change point)[:32]: one id per "
                                              "change; a replay re-sends the same id. De-duplicate on it.")
    source: Literal["/pulsewire/oversight/drift"] = "/pulsewire/oversight/drift"
    type: Literal["dev.pulsewire.drift.v1"]
    subject: str = Field(description="The series: sentiment/channel:<name>, <model>/error or <model>/feature:<name>; "
                                     "also the Kafka record key.")
    time: datetime = Field(description="Event time of the detection (RFC 3339), not the time the record was sent.")
    datacontenttype: Literal["application/json"] = "application/json"
    dataschema: str
    data: DriftData


def _iso(t: float) -> str:
    return datetime.fromtimestamp(float(t), timezone.utc).isoformat()


def _when(t: float) -> str:
    return datetime.fromtimestamp(float(t), timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def make_drift_cloudevent(s: Series, c: Change, params: DetectorParams) -> dict:
    """A JSON-ready drift CloudEvent for the change ``c`` of the series ``s``."""
    verb = "rose" if c.direction == "up" else "fell"
    summary = (f"{s.measure()} {verb} from {c.before_mean:+.3f} (mean of {c.before_count}) to {c.after_mean:+.3f} "
               f"(mean of {c.after_count}) since {_when(c.changed_since)}, a change of {c.effect_sd:+.2f} standard "
               f"deviations of its baseline (found {_when(c.detected_at)}).")
    return {
        "specversion": "1.0", "id": drift_event_id(s.key, c), "source": "/pulsewire/oversight/drift", "type": TYPE,
        "subject": s.key, "time": _iso(c.detected_at), "datacontenttype": "application/json",
        "dataschema": SCHEMA_BASE + SCHEMA_NAME,
        "data": {
            "watcher": s.watcher, "model": s.model, "dimension": s.dimension, "feature": s.feature,
            "measure": s.measure(), "direction": c.direction, "changed_since": _iso(c.changed_since),
            "detected_at": _iso(c.detected_at),
            "before": {"mean": round(c.before_mean, 6), "count": c.before_count},
            "after": {"mean": round(c.after_mean, 6), "count": c.after_count},
            "change": round(c.after_mean - c.before_mean, 6), "change_sd": round(c.effect_sd, 4),
            "baseline_sd": round(c.baseline_sd, 6), "detector": params.detector(), "summary": summary,
            "notice": NOTICE,
        },
    }


def kafka_record(ce: dict) -> tuple[bytes, bytes, list[tuple[str, bytes]]]:
    """(key, value, headers) of the Kafka record that carries the drift CloudEvent ``ce`` (structured mode)."""
    return ce["subject"].encode(), json.dumps(ce, separators=(",", ":")).encode(), list(KAFKA_HEADERS)


def drift_row(ce: dict) -> dict:
    """The ``drift_events`` row (migration 0047) of a drift CloudEvent."""
    d = ce["data"]
    return {"event_id": ce["id"], "series": ce["subject"], "watcher": d["watcher"], "model": d["model"],
            "dimension": d["dimension"], "feature": d["feature"], "direction": d["direction"],
            "changed_since": datetime.fromisoformat(d["changed_since"]),
            "detected_at": datetime.fromisoformat(d["detected_at"]),
            "before_mean": float(d["before"]["mean"]), "before_count": int(d["before"]["count"]),
            "after_mean": float(d["after"]["mean"]), "after_count": int(d["after"]["count"]),
            "change_sd": float(d["change_sd"]), "baseline_sd": float(d["baseline_sd"]),
            "detector": {k: str(v) for k, v in d["detector"].items()}, "summary": d["summary"]}


def drift_schemas() -> dict[str, dict]:
    """{filename: JSON Schema} for ``schemas/generate.py``."""
    schema = DriftEvent.model_json_schema()
    return {SCHEMA_NAME: {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": SCHEMA_BASE + SCHEMA_NAME,
                          "title": "pulsewire drift event (CloudEvents 1.0, structured JSON), version 1",
                          **{k: v for k, v in schema.items() if k != "title"}}}
