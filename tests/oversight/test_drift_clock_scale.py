"""A change never begins after it was found, even when values arrive out of event-time order (labelled
examples do), and a baseline without spread does not turn a trivial change into many standard deviations;
the learner watchers, noisy on clean data, are off."""

from __future__ import annotations

import random

import pytest

from pulsewire.models.oversight.drift import DetectorParams, Watcher
from pulsewire.streams.agents import drift as drift_agent

P = DetectorParams(warmup=100, min_count=30)


@pytest.mark.parametrize("seed", range(8))
def test_a_change_found_among_out_of_order_times_begins_no_later_than_it_was_found(seed):
    rng = random.Random(seed)
    w = Watcher.new(P)
    found = []
    for i in range(1500):
        x = rng.gauss(0.0, 0.3) if i < 600 else rng.gauss(1.0, 0.3)
        t = 1e6 + 3600.0 * i + rng.uniform(-60, 60) * 86400  # up to two months early or late
        if (c := w.observe(x, t)) is not None:
            found.append(c)
    assert found and found[0].direction == "up"
    assert all(c.changed_since <= c.detected_at for c in found), [(c.changed_since, c.detected_at) for c in found]


def test_a_late_stamped_first_value_of_a_change_does_not_put_its_start_after_its_finding():
    rng = random.Random(4)
    w = Watcher.new(P)
    found = []
    for i in range(900):
        x = rng.gauss(0.0, 0.3) if i < 600 else rng.gauss(1.0, 0.3)
        t = 1e6 + 3600.0 * i + (100 * 86400 if i == 600 else 0)  # its label came with a late time
        if (c := w.observe(x, t)) is not None:
            found.append(c)
    assert len(found) == 1 and found[0].changed_since <= found[0].detected_at


def test_a_baseline_without_spread_does_not_make_a_rare_value_a_change():
    w = Watcher.new(P)
    values = [0.0] * 300 + [1.0 if i % 60 == 0 else 0.0 for i in range(6000)]  # 0 -> a mean of 0.017
    assert [c for i, x in enumerate(values) if (c := w.observe(x, float(i)))] == []


def test_a_constant_series_that_moves_is_still_reported():
    rng = random.Random(2)
    w = Watcher.new(P)
    values = [0.0] * 300 + [rng.gauss(1.0, 0.3) for _ in range(300)]
    found = [c for i, x in enumerate(values) if (c := w.observe(x, float(i)))]
    assert [c.direction for c in found] == ["up"] and found[0].changed_since == pytest.approx(300, abs=5)


def test_the_learner_watchers_are_off_by_default():
    assert drift_agent.LEARNER_WATCH is False
