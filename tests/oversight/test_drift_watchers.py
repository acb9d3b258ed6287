"""The drift watchers on synthetic series: abrupt shifts found quickly, stationary noise left alone,
one alarm per change, and state that survives a restart or a replay without losing or repeating a change."""

from __future__ import annotations

import json
import random

import pytest

from pulsewire.models.oversight.drift import DetectorParams, Observation, Watcher, WatchGroup, example_observations

P = DetectorParams()
#: The most values after an abrupt shift of 1.5 baseline standard deviations before it is reported
#: (min_count is 30; measured 37-70 over these seeds).
WITHIN = 100


def trimodal(rng: random.Random) -> float:
    """Scores like the sentiment model's: negative, neutral and positive clusters."""
    r = rng.random()
    return rng.uniform(-1, -0.6) if r < 0.3 else (rng.uniform(-0.2, 0.2) if r < 0.6 else rng.uniform(0.6, 1))


def feed(w: Watcher, values, t0: float = 0.0) -> list:
    return [(i, c) for i, v in enumerate(values) if (c := w.observe(v, t0 + i))]


@pytest.mark.parametrize("seed", range(12))
def test_an_abrupt_shift_is_found_within_the_stated_number_of_values_with_its_start_and_size(seed):
    rng = random.Random(seed)
    w = Watcher.new(P)
    assert feed(w, [rng.gauss(0.2, 0.4) for _ in range(600)]) == []
    found = feed(w, [rng.gauss(-0.4, 0.4) for _ in range(2000)], t0=600.0)
    assert len(found) == 1, found  # one alarm per change: the new level is the new normal
    i, c = found[0]
    assert i < WITHIN
    assert c.direction == "down" and abs(c.changed_since - 600.0) <= 15
    assert c.before_count >= P.warmup and c.after_count >= P.min_count
    assert c.before_mean == pytest.approx(0.2, abs=0.08) and c.after_mean == pytest.approx(-0.4, abs=0.15)


@pytest.mark.parametrize("seed", range(3))
def test_stationary_noise_raises_no_alarm_over_long_runs(seed):
    rng = random.Random(1000 + seed)
    for values in ([rng.gauss(0.0, 1.0) for _ in range(60_000)], [trimodal(rng) for _ in range(60_000)]):
        w = Watcher.new(P)
        assert feed(w, values) == []


def test_no_alarm_during_warm_up_and_each_change_gets_its_own_alarm():
    rng = random.Random(5)
    w = Watcher.new(P)
    # a jump inside the warm-up is part of the baseline, not a change
    assert feed(w, [rng.gauss(0, 0.3) for _ in range(50)] + [rng.gauss(2, 0.3) for _ in range(500)]) == []
    levels = [2.0, 0.5, 2.0]
    alarms = [feed(w, [rng.gauss(mu, 0.3) for _ in range(600)], t0=1000.0 * (k + 1)) for k, mu in enumerate(levels[1:])]
    assert [len(a) for a in alarms] == [1, 1]
    assert [a[0][1].direction for a in alarms] == ["down", "up"]


def test_a_restart_from_the_json_snapshot_finds_the_same_change_once():
    rng = random.Random(9)
    values = [rng.gauss(0, 1) for _ in range(700)] + [rng.gauss(1.5, 1) for _ in range(300)]
    straight = feed(Watcher.new(P), values)
    assert len(straight) == 1
    for cut in (650, 705, 720):  # before the change, inside the confirmation, after the test fired
        w = Watcher.new(P)
        first = feed(w, values[:cut])
        restored = Watcher.restore(json.loads(json.dumps(w.snapshot())), P)
        rest = [(cut + i, c) for i, c in feed(restored, values[cut:], t0=cut)]
        assert first + rest == straight


def test_a_replayed_record_is_not_new_evidence():
    params = DetectorParams(warmup=10, min_count=5)
    g = WatchGroup.restore(None, params)
    for off in range(20):
        g.feed("signals.metrics", 2, off, [Observation("sentiment", 0.1, 1000.0 + off)])
    before = json.dumps(g.snapshot(), sort_keys=True)
    for off in range(5, 20):  # a batch replayed after a crash: offsets already taken
        assert g.feed("signals.metrics", 2, off, [Observation("sentiment", -0.9, 1000.0 + off)]) == []
    assert json.dumps(g.snapshot(), sort_keys=True) == before
    g.feed("signals.metrics", 3, 5, [Observation("sentiment", -0.9, 1030.0)])  # another partition: taken
    assert g.snapshot()["watchers"]["sentiment"]["n"] == 21


def test_a_learner_whose_predictions_go_wrong_is_reported_on_its_error():
    rng = random.Random(3)
    g = WatchGroup.restore(None, P)
    found = []
    for i in range(1200):
        y = int(rng.random() < 0.2)
        good = i < 700  # then the world changes: the same predictions miss
        p = (0.7 if y else 0.1) if good else (0.1 if y else 0.6)
        ex = {"y": y, "p": p + rng.uniform(-0.05, 0.05), "labelled_at": 1e6 + 3600 * i,
              "x": {"tickets_7d": rng.gauss(2, 1) if i < 900 else rng.gauss(5, 1)}}
        found += [(i, name, c) for name, c in g.feed("learn.churn", 0, i, example_observations(ex))]
    assert [(name, c.direction) for _, name, c in found] == [("error", "up"), ("feature:tickets_7d", "up")]
    (i_err, _, err), (i_feat, _, feat) = found
    assert 700 <= i_err < 700 + WITHIN and 900 <= i_feat < 900 + WITHIN
    assert err.before_mean < 0.2 < 0.4 < err.after_mean
