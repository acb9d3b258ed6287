"""The planted shift changes exactly what it says: one channel's texts from one week on, nothing else."""

from __future__ import annotations

from datetime import datetime

import pytest

from pulsewire.streams.connectors.generator import WEEK, GeneratorConfig, SmbSimulation


def test_the_shift_makes_one_channels_texts_negative_from_its_week_and_leaves_the_rest_alone():
    plain, shifted = SmbSimulation(GeneratorConfig(seed=5)), SmbSimulation(GeneratorConfig(seed=5, shift="channel:web@week4"))
    a, b = list(plain.records(limit=4000)), list(shifted.records(limit=4000))
    start = shifted.t0 + 4 * WEEK
    covered = 0
    assert len(a) == len(b)
    for x, y in zip(a, b):
        assert {k: v for k, v in x.items() if k != "text"} == {k: v for k, v in y.items() if k != "text"}
        late = datetime.fromisoformat(x["occurred_at"]).timestamp() >= start
        if x.get("channel") == "web" and x.get("text") and late:
            covered += 1
            assert shifted.text_labels[y["event_id"]] == -1
        else:
            assert x.get("text") == y.get("text")
            assert plain.text_labels.get(x["event_id"]) == shifted.text_labels.get(y["event_id"])
    assert covered >= 30


def test_a_malformed_shift_is_refused_with_the_form_it_needs():
    with pytest.raises(ValueError, match=r"channel:<name>@week<N>"):
        SmbSimulation(GeneratorConfig(shift="email from week 10"))
