"""Churn by inactivity: the label rule, rhythm-based N, reactivation, idempotence and the win-back alert,
through the in-process replay (the same pure functions and the same daily sweep as the worker).

Event times are fixed dates: nothing here depends on today's date.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from pulsewire.models.learners.estimators import OnlineLearner
from pulsewire.models.learners.features import customer_features, new_state, update_customer
from pulsewire.models.learners.inactivity import ChurnDefinitionError
from pulsewire.models.learners.processor import LearnerConfig, sweep_entity
from pulsewire.models.learners.replay import Replay
from pulsewire.schemas.alerts import ChurnAlert, make_cloudevent

BASE = datetime(2026, 1, 5, 10, tzinfo=timezone.utc)
DAY = 86400.0
NEUTRAL = {"label": "neutral", "score": 0.0}


def chat(eid: str, cid: str, day: float) -> dict:
    return {"event_id": eid, "kind": "chat", "type": "message", "author_role": "customer", "customer_id": cid,
            "conversation_id": f"conv-{cid}", "channel": "web", "text": "hello",
            "occurred_at": (BASE + timedelta(days=day)).isoformat()}


def order(eid: str, cid: str, day: float) -> dict:
    return {"event_id": eid, "kind": "activity", "type": "order_placed", "customer_id": cid,
            "occurred_at": (BASE + timedelta(days=day)).isoformat()}


def clock(upto_day: int) -> list[dict]:
    """Another customer's daily orders: they move event time (the watermark) on."""
    return [order(f"clk-{d}", "clock", d) for d in range(upto_day + 1)]


def cfg(**kw) -> LearnerConfig:
    return LearnerConfig(**{"churn_definition": "inactivity", "churn_inactive_days": 30,
                            "min_positives_to_alert": 0, **kw})


def run(events: list[dict], c: LearnerConfig, r: Replay | None = None) -> Replay:
    r = r or Replay(c, publish_every=10_000)  # no learning in between: the prior scores everything
    for e in sorted(events, key=lambda e: e["occurred_at"]):
        r.feed(e, NEUTRAL if e.get("text") else None)
    return r


def of(r: Replay, cid: str, what: str = "examples") -> list[dict]:
    return [x for x in getattr(r, what) if x["entity_id"] == cid]


def test_active_again_within_n_days_labels_0_and_n_days_of_silence_label_1_at_last_activity_plus_n():
    r = run([chat("a1", "a", 0), chat("a2", "a", 20), chat("a3", "a", 45)] + clock(120), cfg())
    ex = {x["pred_event_id"]: x for x in of(r, "a")}
    assert ex["a1"]["y"] == 0 and ex["a1"]["label_event_id"] == "a2"        # back after 20 < 30 days
    assert ex["a2"]["y"] == 0 and ex["a2"]["label_event_id"] == "a3"        # back after 25 days
    lapse = [x for x in of(r, "a") if x["pred_event_id"] == "a3"]
    assert [x["y"] for x in lapse] == [1]
    assert lapse[0]["labelled_at"] == (BASE + timedelta(days=75)).timestamp()   # D = last activity + N
    # every prediction made in the silence after a3 is labelled 1 by that lapse, none before it
    a3_t = (BASE + timedelta(days=45)).timestamp()
    silent = [x for x in of(r, "a") if x["pred_event_id"].startswith("silence:a:")]
    after = [x for x in silent if x["predicted_at"] > a3_t]
    assert after and all(x["y"] == 1 and x["labelled_at"] == lapse[0]["labelled_at"] for x in after)
    assert all(x["y"] == 0 for x in silent if x["predicted_at"] < a3_t)   # quiet, then back in time
    assert all(x["predicted_at"] < x["labelled_at"] for x in of(r, "a"))
    assert r.notes["lapsed"] == 1   # 'a' only: 'clock' is active every day


def test_an_example_carries_the_features_as_they_were_when_predicted_not_at_the_label():
    r = run([chat("a1", "a", 0), chat("a2", "a", 10)] + clock(60), cfg())
    preds = {p["event_id"]: p for p in of(r, "a", "predictions")}
    ex = {x["pred_event_id"]: x for x in of(r, "a")}
    a2 = ex["a2"]
    assert a2["y"] == 1 and a2["labelled_at"] == (BASE + timedelta(days=40)).timestamp()
    assert a2["x"]["days_since_activity"] == 0.0          # at a2 itself, not 30 days of silence later
    assert a2["p"] == preds["a2"]["probability"]
    later = ex[f"silence:a:{(BASE + timedelta(days=30)).date().isoformat()}"]
    assert 19 < later["x"]["days_since_activity"] < 21    # the sweep's prediction: recency as of its day


def test_rhythm_based_n_lapses_a_weekly_customer_after_k_times_their_gap():
    events = [chat(f"w{i}", "w", 7 * i) for i in range(5)] + clock(100)   # every 7 days; last on day 28
    fixed = run(events, cfg(churn_inactive_days=45))
    own = run(events, cfg(churn_inactive_days=45, churn_inactive_rhythm=3, churn_inactive_min_days=14))
    lapse_fixed = [x for x in of(fixed, "w") if x["pred_event_id"] == "w4"]
    lapse_own = [x for x in of(own, "w") if x["pred_event_id"] == "w4"]
    assert lapse_fixed[0]["labelled_at"] == (BASE + timedelta(days=28 + 45)).timestamp()
    assert lapse_own[0]["labelled_at"] == (BASE + timedelta(days=28 + 21)).timestamp()   # 3 x 7 days


def test_a_lapsed_customer_who_comes_back_starts_a_new_life_labelled_again():
    events = [chat("a1", "a", 0), chat("a2", "a", 50), chat("a3", "a", 55)] + clock(120)
    r = run(events, cfg())
    ys = {x["pred_event_id"]: x["y"] for x in of(r, "a") if not x["pred_event_id"].startswith("silence:")}
    assert ys == {"a1": 1, "a2": 0, "a3": 1}
    assert r.notes["reactivated"] == 1
    lapses = {x["label_event_id"] for x in of(r, "a") if x["y"] == 1}
    assert len(lapses) == 2   # one lapse per life, each with its own id


def test_sweeping_again_and_replaying_everything_change_nothing():
    c = cfg()
    events = [chat("a1", "a", 0), chat("a2", "a", 5)] + clock(80)
    r = run(events, c)
    before = (len(r.examples), len(r.predictions), len(r.alerts))
    state = r.states["customer:a"]
    for day in (40, 41, 79):   # the sweep of days already swept
        out = sweep_entity(state, (BASE + timedelta(days=day)).timestamp(), r.handles, c)
        assert out.examples == [] and out.prediction is None and out.alert is None
    run(events, c, r)          # every event again: duplicates, and the watermark passes the same days
    assert (len(r.examples), len(r.predictions), len(r.alerts)) == before
    assert len({x["id"] for x in r.examples}) == len(r.examples)


def test_a_silent_customer_is_predicted_at_most_once_a_day_however_often_the_sweep_runs():
    c = cfg()
    r = run([chat("a1", "a", 0), chat("a2", "a", 5)] + clock(20), c)
    day20 = (BASE.replace(hour=0) + timedelta(days=20)).timestamp()
    assert [p["t"] for p in of(r, "a", "predictions")][-1] == day20      # swept at 00:00 UTC of day 20
    n = len(r.predictions)
    state = r.states["customer:a"]
    for now in (day20, day20 + 3600, day20 + 20 * 3600):
        assert sweep_entity(state, now, r.handles, c).prediction is None
    assert sweep_entity(state, day20 + DAY, r.handles, c).prediction["event_id"] == f"silence:a:{(BASE + timedelta(days=21)).date()}"
    assert len(r.predictions) == n


def test_subscription_definition_has_no_sweep_and_no_inactivity_labels():
    r = run([chat("a1", "a", 0), chat("a2", "a", 5)] + clock(80), LearnerConfig(min_positives_to_alert=0))
    assert of(r, "a") == [] and not [p for p in r.predictions if p["event_id"].startswith("silence:")]


def test_a_cancellation_is_churn_under_the_inactivity_definition_too_and_ends_the_customer():
    cancel = {"event_id": "a-x", "kind": "account", "type": "cancellation", "customer_id": "a",
              "occurred_at": (BASE + timedelta(days=3)).isoformat()}
    r = run([chat("a1", "a", 0), cancel] + clock(80), cfg())
    assert {(x["y"], x["label_event_id"]) for x in of(r, "a")} == {(1, "a-x")}
    assert "a1" in {x["pred_event_id"] for x in of(r, "a")}
    assert not [p for p in of(r, "a", "predictions") if p["t"] > (BASE + timedelta(days=3)).timestamp()]
    assert r.notes["lapsed"] == 0


def silence_teacher() -> OnlineLearner:
    """A churn model that has learned that silence precedes churn (trained on real feature vectors)."""
    ln = OnlineLearner("churn")
    t0 = BASE.timestamp()
    exs = []
    for i in range(300):
        st = new_state("customer")
        update_customer(st, chat("t", "t", 0) | {"text": "hi"}, NEUTRAL, t0)
        silent_days = (i % 30) * 2
        x = customer_features(st, t0 + silent_days * DAY)
        exs.append({"id": f"teach-{i}", "x": x, "y": int(silent_days >= 20), "w": 1.0})
    for _ in range(3):
        ln.learn_batch([dict(e, id=f"{e['id']}-{_}") for e in exs])
    return ln


def test_a_silent_customer_gets_one_win_back_alert_with_what_a_crm_needs_and_a_replay_adds_none():
    c = cfg(churn_threshold=0.5, churn_rearm_below=0.2)
    r = Replay(c, publish_every=10_000)
    r.handles["churn"] = silence_teacher().publish_handle()
    events = [chat(f"a{i}", "a", 3 * i) for i in range(6)] + clock(80)   # every 3 days until day 15
    run(events, c, r)
    alerts = of(r, "a", "alerts") if r.alerts and "entity_id" in r.alerts[0] else [
        a for a in r.alerts if a.get("subject") == "a"]
    assert len(alerts) == 1, alerts
    a = alerts[0]
    assert a["action"] == "win_back" and a["churn_definition"] == "inactivity"
    assert a["trigger_event_id"].startswith("silence:a:") and a["t"] < (BASE + timedelta(days=45)).timestamp()
    wb = a["win_back"]
    assert wb["usual_gap_days"] == 3.0 and wb["inactive_days"] == 30.0
    assert wb["text"] == f"no activity in {wb['silent_days']:.0f} days, usually every 3"
    ce = make_cloudevent(a)
    ChurnAlert.model_validate(ce)
    assert ce["data"]["action"] == "win_back" and ce["data"]["summary"].startswith("no activity in ")
    assert ce["data"]["win_back"]["churned_at"].startswith((BASE + timedelta(days=45)).date().isoformat())
    stored = [p for p in of(r, "a", "predictions") if p["event_id"] == a["trigger_event_id"]]
    assert len(stored) == 1 and stored[0]["alerted"]
    run(events, c, r)
    assert len([x for x in r.alerts if x.get("subject") == "a"]) == 1


@pytest.mark.parametrize("env, words", [
    ({"PULSEWIRE_LEARN_CHURN_DEFINITION": "silence"},
     "^PULSEWIRE_LEARN_CHURN_DEFINITION: 'silence' is not one of subscription, inactivity$"),
    ({"PULSEWIRE_LEARN_CHURN_INACTIVE_DAYS": "-3"}, r"^PULSEWIRE_LEARN_CHURN_INACTIVE_DAYS must be > 0"),
    ({"PULSEWIRE_LEARN_CHURN_INACTIVE_MIN_DAYS": "90"},
     r"^PULSEWIRE_LEARN_CHURN_INACTIVE_MIN_DAYS must be > 0 and <= PULSEWIRE_LEARN_CHURN_INACTIVE_DAYS"),
    ({"PULSEWIRE_LEARN_CHURN_INACTIVE_RHYTHM": "often"}, "PULSEWIRE_LEARN_CHURN_INACTIVE_RHYTHM: expected a number"),
])
def test_a_bad_churn_setting_is_a_clear_error(env, words):
    with pytest.raises(ChurnDefinitionError, match=words):
        LearnerConfig.from_env(env)


def test_a_worker_with_an_unknown_churn_definition_stops_at_start_with_one_line(tmp_path):
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if not k.startswith("PULSEWIRE_")}
    env.update(PULSEWIRE_PSEUDONYM_KEY="k" * 32, PULSEWIRE_DATA_DIR=str(tmp_path),
               PULSEWIRE_BROKER_URL="kafka://127.0.0.1:1", PULSEWIRE_LEARN_CHURN_DEFINITION="silence")
    r = subprocess.run([sys.executable, "-m", "pulsewire.streams.cli", "worker"], env=env, capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 2, r.stderr
    assert r.stderr.strip().splitlines() == [
        "error: PULSEWIRE_LEARN_CHURN_DEFINITION: 'silence' is not one of subscription, inactivity"]


def test_a_customer_back_after_more_than_n_days_was_churned_even_before_any_sweep_saw_it():
    # back 30 days 10 hours later (N = 30): no sweep has passed D yet, the return itself establishes the lapse
    r = run([chat("a1", "a", 0), chat("a2", "a", 30 + 10 / 24)], cfg())
    ex = [(x["pred_event_id"], x["y"], x["labelled_at"]) for x in of(r, "a") if x["pred_event_id"] == "a1"]
    assert ex == [("a1", 1, (BASE + timedelta(days=30)).timestamp())]
    assert r.notes["reactivated"] == 1
