"""Hysteresis, cooldown, consent gating, reasons in plain words."""

import random

from pulsewire.models.learners.estimators import OnlineLearner
from pulsewire.models.learners.policy import DAY, AlertPolicy
from pulsewire.models.learners.processor import LearnerConfig, process_event, reasons_for
from pulsewire.streams.agents.features import publishable

from .helpers import NEG, ev


def test_one_bad_week_one_alert():
    pol = AlertPolicy(threshold=0.5, rearm_below=0.3, cooldown_days=21)
    rng = random.Random(0)
    st, fired = {}, 0
    for i in range(7 * 24):  # hourly scores bouncing around the threshold for a week
        fired += pol.decide(st, 0.5 + rng.uniform(-0.15, 0.15), i * 3600.0)
    assert fired == 1
    # the storm check over a noisy quarter: at most one alert per cooldown window
    st, times = {}, []
    for i in range(90 * 4):
        t = i * DAY / 4
        if pol.decide(st, rng.uniform(0.1, 0.9), t):
            times.append(t)
    assert all(b - a >= 21 * DAY for a, b in zip(times, times[1:]))


def test_rearm_requires_the_score_to_fall():
    pol = AlertPolicy(threshold=0.5, rearm_below=0.3, cooldown_days=0)
    st = {}
    assert pol.decide(st, 0.9, 0) and not pol.decide(st, 0.45, DAY) and not pol.decide(st, 0.9, 2 * DAY)
    assert not pol.decide(st, 0.2, 3 * DAY) and pol.decide(st, 0.9, 4 * DAY)


def _trained(name, feature, n=400):
    ln = OnlineLearner(name)
    rng = random.Random(1)
    for i in range(n):
        y = rng.random() < 0.3
        ln.learn({"id": f"{name}{i}", "x": {feature: rng.gauss(25 if y else 3, 3)}, "y": int(y)})
    return ln.handle()


def test_consent_gating_and_team_risk():
    cfg = LearnerConfig(min_positives_to_alert=0)
    models = {"burnout": _trained("burnout", "overtime_recent"), "churn": OnlineLearner("churn").handle()}
    outs = {}
    for consent in (True, False):
        state = None
        for e in [ev("hr", "hire", 0, employee_id=f"emp_{consent}", team_id="t", consent=consent),
                  *[ev("hr", "overtime", 7 * w, employee_id=f"emp_{consent}", team_id="t", hours=30.0, consent=consent)
                    for w in range(1, 5)]]:
            state, out = process_event(state, e, None, models, cfg)
            if out.alert:
                outs[consent] = out
    assert set(outs) == {True, False}  # the policy decides for everyone ...
    assert publishable(outs[True]) and not publishable(outs[False])  # ... only consenting people get alerts
    assert outs[False].team_risk["p"] >= 0.5  # ... and everyone's risk counts in the team aggregates


def test_reasons_in_plain_words():
    h = _trained("churn", "neg_tickets_7d")
    x = {"neg_tickets_7d": 30.0}
    rs = reasons_for(h, x, "customer")
    assert rs[0]["feature"] == "neg_tickets_7d" and rs[0]["text"] == "30 negative tickets in 7 days"


def test_no_alert_before_warm_up():
    cfg = LearnerConfig(min_positives_to_alert=10**6)
    models = {"churn": _trained("churn", "neg_texts_7d")}
    state = None
    for i in range(30):
        state, out = process_event(state, ev("ticket", "created", i * 0.3, customer_id="w", ticket_id=f"t{i}",
                                             text="x"), NEG, models, cfg)
        assert out.alert is None



def test_one_low_score_in_a_long_episode_does_not_start_a_new_one():
    """A burnout that lasts months, with one good day in it, is one episode: one alert (configured policy)."""
    pol = LearnerConfig().policy("burnout")
    scores = [0.7] * 10 + [0.1] + [0.8] * 60 + [0.1] * 20 + [0.8] * 5  # daily: one good day, later a recovery
    st: dict = {}
    fired = [d for d, p in enumerate(scores) if pol.decide(st, p, d * DAY)]
    assert len(fired) == 2 and fired[1] > 90  # the relapse after 20 good days is a new episode
    # a customer who recovered and went quiet (one low score, then nothing for a month) re-arms
    pol, st = LearnerConfig().policy("churn"), {}
    assert [pol.decide(st, p, d * DAY) for d, p in [(0, 0.9), (5, 0.1), (50, 0.9)]] == [True, False, True]
