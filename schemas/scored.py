"""What the scoring agent emits to ``scored.text``: the canonical event plus its sentiment."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from .events import Event


class Sentiment(BaseModel):
    model_config = ConfigDict(frozen=True)

    label: Literal["negative", "neutral", "positive"]
    probabilities: dict[str, float]
    score: float = Field(ge=-1, le=1, description="p(positive) - p(negative)")
    model_version: str
    truncated: bool = Field(description="Part of the text was not read: it was longer than the scorer reads "
                                        "(max_windows sentence windows of max_tokens each).")
    min_window_score: float | None = Field(default=None, ge=-1, le=1,
                                           description="Score of the most negative sentence window (equals score "
                                                       "for a text of one window).")
    windows: int | None = Field(default=None, ge=0, description="Sentence windows read (0 for blank text).")


class ScoredEvent(BaseModel):
    model_config = ConfigDict(frozen=True)

    schema_version: Literal[1] = 1
    event: Event
    sentiment: Sentiment | None = Field(default=None, description="None when the event has no text.")
