"""The generator's planted shift, scored by the real sentiment model and watched per channel as the
metrics agent watches ``signals.metrics``: found within the stated number of the channel's texts, and
the same stream without the shift raises no alarm on any channel.
"""

from __future__ import annotations

from datetime import datetime

import pytest

from pulsewire.models.oversight.drift import DetectorParams, WatchGroup, channel_observations
from pulsewire.models.sentiment.scorer import load_scorer
from pulsewire.streams.connectors.generator import WEEK, GeneratorConfig, SmbSimulation

SEED, EVENTS, SHIFT_WEEK = 7, 20_000, 10
SHIFT = f"channel:email@week{SHIFT_WEEK}"
#: The most texts of the shifted channel after the shift before the drift event (docs/oversight.md).
WITHIN = 100


def channel_texts(shift: str | None) -> tuple[list[dict], SmbSimulation]:
    sim = SmbSimulation(GeneratorConfig(seed=SEED, shift=shift, activity=False))  # texts are what drifts
    recs = [r for r in sim.records(limit=EVENTS)  # customers' own texts: agents' chat replies are not theirs
            if isinstance(r, dict) and r.get("customer_id") and r.get("text") and r.get("channel")
            and r.get("author_role") != "agent"]
    return recs, sim


@pytest.fixture(scope="module")
def scored():
    """(stable texts, their scores, shifted texts, their scores, the shift's time): the shifted stream differs
    only in the shifted channel's texts, so only those are scored twice."""
    scorer = load_scorer()
    stable, sim = channel_texts(None)
    shifted, _ = channel_texts(SHIFT)
    assert [r["event_id"] for r in stable] == [r["event_id"] for r in shifted]
    scores = [s.score for s in scorer.score([r["text"] for r in stable])]
    changed = [i for i, (a, b) in enumerate(zip(stable, shifted)) if a["text"] != b["text"]]
    new = dict(zip(changed, (s.score for s in scorer.score([shifted[i]["text"] for i in changed]))))
    return stable, scores, shifted, [new.get(i, s) for i, s in enumerate(scores)], sim.t0 + SHIFT_WEEK * WEEK


def watch(recs: list[dict], scores: list[float]) -> list[tuple[int, str, object]]:
    groups: dict[str, WatchGroup] = {}
    found = []
    for i, (r, s) in enumerate(zip(recs, scores)):
        dim = f"channel:{r['channel']}"
        g = groups.setdefault(dim, WatchGroup.restore(None, DetectorParams()))
        item = {"k": "cs", "s": s, "t": datetime.fromisoformat(r["occurred_at"]).timestamp()}
        found += [(i, dim, c) for _, c in g.feed("signals.metrics", 0, i, channel_observations([item]))]
    return found


def test_the_planted_shift_is_found_within_the_stated_number_of_the_channels_texts(scored):
    _, _, shifted, scores, shift_t = scored
    found = watch(shifted, scores)
    assert [(dim, c.direction) for _, dim, c in found] == [("channel:email", "down")]
    i, _, c = found[0]
    after_shift = [r for r in shifted[:i + 1] if r["channel"] == "email"
                   and datetime.fromisoformat(r["occurred_at"]).timestamp() >= shift_t]
    assert 0 < len(after_shift) <= WITHIN
    assert abs(c.changed_since - shift_t) < 2 * 86400
    assert c.before_mean > -0.3 and c.after_mean < -0.7 and c.after_count >= DetectorParams().min_count


def test_the_same_stream_without_the_shift_raises_no_alarm_on_any_channel(scored):
    stable, scores, *_ = scored
    assert len({r["channel"] for r in stable}) >= 8 and len(stable) > 6000
    assert watch(stable, scores) == []
