"""A planted shift for the drift watch: from a given week, one channel's texts turn negative.

``GeneratorConfig(shift="channel:email@week10")`` makes every customer text on the ``email`` channel
from simulated week 10 on a negative one (two negative sentences, drawn with a separate RNG so that the
rest of the stream is the same as without the shift). Nothing else changes: the customers' hidden state,
their events and the other channels stay as they were, so a detector that fires elsewhere is wrong.

>>> parse_shift("channel:email@week10")
Shift(dimension='channel', value='email', week=10)
>>> parse_shift(None) is None
True
>>> parse_shift("team:x@week3")
Traceback (most recent call last):
...
ValueError: shift must look like 'channel:<name>@week<N>' (e.g. channel:email@week10), got 'team:x@week3'
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass

_SHIFT = re.compile(r"channel:(?P<value>[A-Za-z0-9_.:#-]+)@week(?P<week>\d+)")
SENTENCES = 2


@dataclass(frozen=True)
class Shift:
    dimension: str
    value: str
    week: int


def parse_shift(text: str | None) -> Shift | None:
    if text is None:
        return None
    m = _SHIFT.fullmatch(str(text).strip())
    if not m:
        raise ValueError(f"shift must look like 'channel:<name>@week<N>' (e.g. channel:email@week10), got {text!r}")
    return Shift("channel", m["value"], int(m["week"]))


class PlantedShift:
    """Rewrites the texts the shift covers; ``apply`` is called on every record with a chosen text label."""

    def __init__(self, shift: Shift, seed: int, pools: dict):
        self.shift, self.pools = shift, pools
        self.rng = random.Random(f"pulsewire-generator-shift:{seed}")

    def covers(self, rec: dict, week: int) -> bool:
        return week >= self.shift.week and rec.get("channel") == self.shift.value and bool(rec.get("text"))

    def apply(self, rec: dict, label: int, week: int) -> int:
        """Make ``rec``'s text negative if the shift covers it; return the text's label."""
        if not self.covers(rec, week):
            return label
        pool = self.pools["customer" if rec.get("customer_id") else "employee"][-1]
        rec["text"] = " ".join(pool[self.rng.randrange(len(pool))] for _ in range(SENTENCES))
        return -1


def planted(text: str | None, seed: int, pools: dict) -> PlantedShift | None:
    """The shift a ``GeneratorConfig.shift`` asks for, or None (a malformed one is a ValueError)."""
    shift = parse_shift(text)
    return PlantedShift(shift, seed, pools) if shift else None
