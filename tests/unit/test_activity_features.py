"""Churn features from what customers do (the 'activity' kind): rates, trends, purchases, rhythm, reasons."""

import json
import random
from datetime import datetime, timedelta, timezone

import pytest

from pulsewire.models.learners import activity
from pulsewire.models.learners.estimators import OnlineLearner
from pulsewire.models.learners.features import (CUSTOMER_FEATURES, customer_features, event_time, feature_spec,
                                                new_state, rhythm, update_customer)
from pulsewire.models.learners.processor import LearnerConfig, cold_handle, process_event, reasons_for, route
from pulsewire.models.learners.replay import Replay

# event time only: a fixed Monday noon (UTC); nothing here reads the clock
T0 = datetime(2026, 5, 4, 12, 0, tzinfo=timezone.utc)
NEW = ("activity_rate_7d", "activity_rate_long", "activity_trend_rel", "days_since_active", "active_overdue",
       "days_since_purchase",
       "purchases_90d", "spend_90d", "purchase_gap_days", "purchase_overdue")
_ids = iter(range(10**9))


def act(type_: str, days: float, **fields) -> dict:
    return {"event_id": f"a-{next(_ids)}", "source": "test", "kind": "activity", "type": type_,
            "customer_id": "cus-1", "occurred_at": (T0 + timedelta(days=days)).isoformat(), **fields}


def t_at(days: float) -> float:
    return (T0 + timedelta(days=days)).timestamp()


def fold(events, state=None) -> dict:
    state = state or new_state("customer")
    for e in events:
        update_customer(state, e, None, event_time(e))
    return state


def logins(per_week: int, weeks: range) -> list[dict]:
    return [act("login", 7 * w + 7 * i / per_week) for w in weeks for i in range(per_week)]


def test_rates_trend_and_days_since_follow_event_time():
    # 9 logins a week for 8 weeks, then 2 in the ninth week; one feature_used at the start
    s = fold([act("feature_used", 0.0)] + logins(9, range(8)) + logins(2, range(8, 9)))
    f = customer_features(s, t_at(62.5))   # midnight: the window is whole days
    assert f["act_login_rate_7d"] == 2.0
    assert 7.0 <= f["act_login_rate_long"] <= 9.0, f["act_login_rate_long"]   # 9 a week, the last week 2
    assert f["act_login_trend"] == pytest.approx(f["act_login_rate_7d"] - f["act_login_rate_long"], abs=1e-3)
    assert f["act_feature_used_days_since"] == pytest.approx(62.5)
    assert f["activity_rate_7d"] == 2.0 and -1.0 < f["activity_trend_rel"] < -0.7
    assert f["days_since_active"] == pytest.approx(62.5 - (56 + 3.5))
    # within the day a week ago the events are taken as spread evenly: 9:36 the next morning, 0.6 of it is left
    assert customer_features(s, t_at(62.9))["act_login_rate_7d"] == pytest.approx(1.6)
    # the same state read a week later: nothing happened, so the recent window is empty and days grow
    g = customer_features(s, t_at(69.5))
    assert g["act_login_rate_7d"] == 0.0 and g["activity_trend_rel"] == -1.0
    assert g["days_since_active"] == pytest.approx(f["days_since_active"] + 7)
    assert g["act_feature_used_days_since"] == 69.5  # capped at 90 later
    assert customer_features(s, t_at(300))["act_feature_used_days_since"] == 90.0


def test_a_steady_customer_has_no_trend_even_when_new():
    s = fold(logins(5, range(1)))
    f = customer_features(s, t_at(6.5))
    assert f["act_login_rate_7d"] == 5.0 and abs(f["act_login_trend"]) < 0.5 and abs(f["activity_trend_rel"]) < 0.1


def test_types_per_customer_are_bounded_and_the_rest_count_in_the_totals(monkeypatch):
    types = [f"t{i}" for i in range(12)]
    s = fold([act(ty, 0.1 * i) for i, ty in enumerate(types)])
    f = customer_features(s, t_at(2))
    per_type = {k.split("_")[1] for k in f if k.startswith("act_")}
    assert per_type == {f"t{i}" for i in range(activity.ACTIVITY_TYPES_MAX)} and activity.ACTIVITY_TYPES_MAX == 8
    assert f["activity_rate_7d"] == 12.0
    # an allow-list keeps exactly those types, whatever came first
    monkeypatch.setattr(activity, "ACTIVITY_TYPES", frozenset({"t11", "page_view"}))
    s = fold([act(ty, 0.1 * i) for i, ty in enumerate(types)] + [act("page.view", 1.5)])
    f = customer_features(s, t_at(2))
    assert {k for k in f if k.startswith("act_")} == {f"act_{ty}_{suffix}" for ty in ("t11", "page_view")
                                                     for suffix in ("rate_7d", "rate_long", "trend", "days_since")}
    assert f["activity_rate_7d"] == 13.0


def test_the_bound_comes_from_the_environment():
    assert activity.activity_settings({"PULSEWIRE_LEARN_ACTIVITY_TYPES_MAX": "3"}) == (3, frozenset())
    n, allow = activity.activity_settings({"PULSEWIRE_LEARN_ACTIVITY_TYPES": "Login,feature_used,page.view"})
    assert n == 8 and allow == {"login", "feature_used", "page_view"}
    with pytest.raises(ValueError, match="PULSEWIRE_LEARN_ACTIVITY_TYPES_MAX"):
        activity.activity_settings({"PULSEWIRE_LEARN_ACTIVITY_TYPES_MAX": "-1"})


def test_recency_frequency_monetary_and_the_overdue_ratio():
    orders = [act("order_placed", d, amount=30.0, currency="EUR") for d in (0, 12, 24, 36)]
    extra = [act("order_placed", 36.2, amount=5.0, currency="EUR"),      # same day: one occasion, no new gap
             act("checkout_completed", 30, amount=99.0, currency="USD"),  # other currency: counted, not added
             act("refund", 37, amount=-10.0, currency="EUR"),            # not a purchase; lowers the spend
             act("gift_card", 20, amount=15.0, currency="EUR")]          # any positive amount is a purchase
    s = fold(sorted(orders + extra, key=event_time))
    f = customer_features(s, t_at(77))
    assert f["days_since_purchase"] == pytest.approx(77 - 36.2)
    assert f["purchases_90d"] == 7.0 and f["spend_90d"] == 30 * 4 + 5 - 10 + 15
    # occasions on days 0, 12, 20, 24, 30, 36: gaps 12, 8, 4 (mean 8), then 6 and 6 weigh a third each
    assert f["purchase_gap_days"] == pytest.approx(8 + (6 - 8) / 3 + (6 - 8 - (6 - 8) / 3) / 3, abs=1e-3)
    assert f["purchase_overdue"] == pytest.approx(f["days_since_purchase"] / f["purchase_gap_days"], abs=1e-3)
    # a regular buyer: the sentence of the overdue ratio
    s = fold(orders)
    f = customer_features(s, t_at(77))
    assert (f["purchase_gap_days"], f["purchase_overdue"]) == (12.0, pytest.approx(41 / 12, abs=1e-4))
    assert CUSTOMER_FEATURES["purchase_overdue"].words(f) == "no order in 41 days, usually every 12"
    assert customer_features(s, t_at(150))["purchases_90d"] == 0.0   # the 90-day window has emptied


def test_overdue_is_zero_before_two_purchase_days():
    f = customer_features(fold([act("order", 0, amount=10.0, currency="EUR"), act("order", 0.2)]), t_at(50))
    assert f["days_since_purchase"] == pytest.approx(49.8) and f["purchase_overdue"] == 0.0
    assert f["purchase_gap_days"] == 0.0 and f["purchases_90d"] == 2.0


def test_out_of_order_events_give_the_same_features():
    rng = random.Random(5)
    evs = (logins(6, range(6)) + [act("feature_used", rng.uniform(0, 42)) for _ in range(30)]
           + [act("order", d, amount=20.0, currency="EUR") for d in (3, 17, 31)])
    shuffled = list(evs)
    rng.shuffle(shuffled)
    t = t_at(43)
    a, b = customer_features(fold(evs), t), customer_features(fold(shuffled), t)
    assert set(a) == set(b)
    for k in a:
        # a late purchase (or active day) cannot split a gap already counted
        if k not in ("purchase_gap_days", "purchase_overdue", "active_overdue"):
            assert a[k] == pytest.approx(b[k], abs=1e-3), k


@pytest.mark.parametrize("name, values, sentence", [
    ("purchase_overdue", {"days_since_purchase": 41.0, "purchase_gap_days": 12.0},
     "no order in 41 days, usually every 12"),
    ("act_login_trend", {"act_login_rate_7d": 2.0, "act_login_rate_long": 9.0}, "logins down from 9 to 2 a week"),
    ("act_feature_used_days_since", {"act_feature_used_days_since": 23.0}, "no feature_used in 23 days"),
    ("act_feature_used_rate_7d", {"act_feature_used_rate_7d": 1.0}, "feature_used 1 time in the last 7 days"),
    ("act_login_rate_long", {"act_login_rate_long": 9.2}, "usually 9 logins a week"),
    ("activity_trend_rel", {"activity_rate_7d": 3.0, "activity_rate_long": 12.0}, "activity down from 12 to 3 a week"),
    ("days_since_active", {"days_since_active": 16.0}, "no activity in 16 days"),
    ("active_overdue", {"active_overdue": 5.25}, "quiet for 5.2 times their usual gap between active days"),
])
def test_plain_words_for_fixed_and_per_type_features(name, values, sentence):
    spec = feature_spec("customer", name)
    assert spec is not None and spec.doc
    assert spec.words(values) == sentence


def test_active_overdue_measures_the_same_silence_against_each_customers_rhythm():
    daily = fold([act("login", d) for d in range(28)])
    weekly = fold([act("login", 7 * w) for w in range(4)])
    # last seen on day 27 and day 21; each read after 8 quiet days
    f_daily, f_weekly = customer_features(daily, t_at(27 + 8)), customer_features(weekly, t_at(21 + 8))
    assert f_daily["days_since_active"] == f_weekly["days_since_active"] == pytest.approx(8.0)
    assert f_daily["active_overdue"] == pytest.approx(8.0)   # 8 usual gaps of a day
    assert f_weekly["active_overdue"] == pytest.approx(8 / 7, abs=1e-4)   # a week and a day (rounded to 4 places)
    assert customer_features(daily, t_at(27 + 400))["active_overdue"] == 10.0   # capped
    # a text counts as being active: a daily user who writes a ticket is not silent
    ticket = {"event_id": "t-late", "kind": "ticket", "type": "created", "customer_id": "cus-1", "ticket_id": "t",
              "priority": "low", "occurred_at": (T0 + timedelta(days=40)).isoformat(), "text": "one question"}
    assert customer_features(fold([ticket], daily), t_at(41))["active_overdue"] < 1.0
    # one active day gives no rhythm yet
    assert customer_features(fold([act("login", 0)]), t_at(20))["active_overdue"] == 0.0


def test_reasons_name_per_type_features_in_plain_words():
    ln = OnlineLearner("churn")
    for i in range(300):
        quitting = i % 3 == 0
        x = {"act_login_rate_7d": 2.0 if quitting else 9.0, "act_login_rate_long": 9.0,
             "act_login_trend": -7.0 if quitting else 0.0, "tickets_7d": float(i % 2)}
        ln.learn({"id": f"x{i}", "x": x, "y": int(quitting), "p": 0.5})
    x = {"act_login_rate_7d": 2.0, "act_login_rate_long": 9.0, "act_login_trend": -7.0, "tickets_7d": 0.0}
    texts = [r["text"] for r in reasons_for(ln.handle(), x, "customer")]
    assert "logins down from 9 to 2 a week" in texts


def test_without_activity_the_new_features_are_neutral_and_the_prior_unchanged():
    s = fold([{"event_id": "t1", "kind": "ticket", "type": "created", "customer_id": "cus-1", "ticket_id": "t",
               "priority": "urgent", "occurred_at": T0.isoformat(), "text": "broken"}])
    f = customer_features(s, t_at(30))
    assert set(f) == set(CUSTOMER_FEATURES) and not any(k.startswith("act_") for k in f)
    assert all(f[k] == 0.0 for k in NEW)
    before = {k: v for k, v in f.items() if k not in NEW}
    handle = cold_handle("churn")
    assert handle.predict(f) == pytest.approx(handle.predict(before), abs=1e-12)


def test_rhythm_reports_last_activity_texts_included_and_purchase_rhythm():
    s = fold([act("login", 0), act("login", 3), act("order", 5, amount=10.0, currency="EUR"),
              act("order", 15, amount=10.0, currency="EUR")])
    text = {"event_id": "c1", "kind": "chat", "type": "message", "author_role": "customer", "customer_id": "cus-1",
            "conversation_id": "c", "occurred_at": (T0 + timedelta(days=21)).isoformat(), "text": "hi"}
    update_customer(s, text, {"label": "neutral", "score": 0.0}, event_time(text))
    r = rhythm(s)
    assert r == {"last_active_t": t_at(21), "last_purchase_t": t_at(15), "purchase_gap_days": 10.0,
                 "active_gap_days": pytest.approx((3 + 2 + 10 + 6) / 4 * 1 + 0, abs=3), "purchases": 2}
    assert rhythm(new_state("customer")) == {"last_active_t": None, "last_purchase_t": None,
                                             "purchase_gap_days": None, "active_gap_days": None, "purchases": 0}


def test_state_stays_small_and_json_after_ten_thousand_activity_events():
    rng = random.Random(1)
    cfg, models, state = LearnerConfig(), {}, None
    types = [f"type_{i}" for i in range(20)] + ["order_placed"]
    for i in range(10_000):
        d = 200 * i / 10_000
        e = act(rng.choice(types), d, **({"amount": 12.5, "currency": "EUR"} if rng.random() < 0.02 else {}))
        state, out = process_event(state, e, None, models, cfg)
        assert out.entity_type == "customer"
    assert json.loads(json.dumps(state)) == state
    bookkeeping = len(json.dumps({k: state["f"].get(k) for k in ("act", "buy", "active")}))
    assert bookkeeping < 12_000, bookkeeping
    # what else the state holds (pending predictions, the event ids remembered against replays) is the
    # processor's; the activity bookkeeping does not grow with the number of events
    assert state["f"]["act"]["all"]["d"] and len(state["f"]["act"]["types"]) == 8


def test_activity_events_are_routed_in_the_fast_replay():
    e = act("login", 0)
    assert route(e) == ("customer", "cus-1")
    r = Replay(LearnerConfig(min_positives_to_alert=0), publish_every=1)
    r.feed(e)
    r.feed(act("login", 1))
    st = r.states["customer:cus-1"]
    assert st["events"] == 2 and st["f"]["act"]["types"]["login"]
    assert r.predictions[-1]["entity_id"] == "cus-1"


def test_docs_and_card_list_the_activity_features_from_their_declarations(monkeypatch, tmp_path):
    from pulsewire.models.learners import card, features

    docs = card.DOCS_FILE.read_text()
    assert not card.docs_drift()
    assert '| `act_<type>_trend` | Events of this type in the last 7 days minus the long-run weekly rate' in docs
    assert '"logins down from 9 to 2 a week" |' in docs and '"no order in 41 days, usually every 12" |' in docs
    churn_card = (card.CARD_DIR / "CHURN_CARD.md").read_text()
    assert "| `act_<type>_days_since` | Days since the last event of this type (capped at 90). | more risk |" in churn_card
    # a changed declaration makes the committed tables drift (the --check fails)
    spec = features.CUSTOMER_FEATURES["purchase_overdue"]
    monkeypatch.setitem(features.CUSTOMER_FEATURES, "purchase_overdue",
                        features.Feature(spec.name, "Something else.", spec.words, spec.direction))
    assert card.docs_drift()
    bad = tmp_path / "learners.md"
    bad.write_text("# no markers\n")
    with pytest.raises(card.CardError, match="markers"):
        card.docs_drift(bad)
