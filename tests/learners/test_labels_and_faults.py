"""Delayed labels: joins without leakage, unknown entities, duplicates, out of order, restarts."""

import json

from pulsewire.models.learners.estimators import OnlineLearner
from pulsewire.models.learners.features import event_time
from pulsewire.models.learners.labels import DROP, label_of
from pulsewire.models.learners.processor import LearnerConfig, process_event

from .helpers import NEG, ev

CFG = LearnerConfig(min_positives_to_alert=0)


def _models():
    return {m: OnlineLearner(m).handle() for m in ("churn", "burnout")}


def _run(events, state=None, models=None):
    models = models or _models()
    outs = []
    for e, s in events:
        state, out = process_event(state, e, s, models, CFG)
        outs.append(out)
    return state, outs


def test_label_rules():
    assert label_of("customer", {"kind": "account", "type": "cancellation"}) == 1
    assert label_of("customer", {"kind": "account", "type": "renewal"}) == 0
    assert label_of("customer", {"kind": "account", "type": "plan_change"}) is None
    assert label_of("employee", {"kind": "hr", "type": "exit", "exit_type": "voluntary"}) == 1
    assert label_of("employee", {"kind": "hr", "type": "exit", "exit_type": "involuntary"}) == DROP
    assert label_of("employee", {"kind": "hr", "type": "pulse", "question": "burnout", "score": 4}) == 1
    assert label_of("employee", {"kind": "hr", "type": "pulse", "question": "burnout", "score": 2}) == 0
    assert label_of("employee", {"kind": "hr", "type": "pulse", "question": "workload", "score": 1}) is None


def test_examples_use_features_known_at_prediction_time():
    evs = [(ev("account", "signup", 0, customer_id="c", plan="growth"), None),
           (ev("ticket", "created", 3, customer_id="c", ticket_id="t1", text="x", priority="low"), NEG)]
    state, outs = _run(evs)
    pred_x = outs[-1].prediction and state["pending"][-1]["x"]
    # after the prediction, a burst of urgent tickets: must not leak into the example
    more = [(ev("ticket", "created", 5 + i * 0.6, customer_id="c", ticket_id=f"u{i}", priority="urgent", text="x"),
             NEG) for i in range(4)]
    cancel = ev("account", "cancellation", 9, customer_id="c")
    state, outs = _run(more + [(cancel, None)], state)
    exs = outs[-1].examples
    by_pred = {e["pred_event_id"]: e for e in exs}
    first = by_pred[evs[1][0]["event_id"]]
    assert first["x"] == pred_x and first["x"]["urgent_tickets_28d"] == 0 and first["y"] == 1
    assert all(e["predicted_at"] <= e["labelled_at"] for e in exs)
    assert state["pending"] == [] and "ended" in outs[-1].notes
    # events after the cancellation do not predict (no alerts for churned customers)
    state, outs = _run([(ev("review", "review", 10, customer_id="c", rating=1, text="x"), NEG)], state)
    assert outs[0].prediction is None and "after_end" in outs[0].notes


def test_label_for_unknown_entity_and_label_twice():
    state, outs = _run([(ev("account", "cancellation", 1, customer_id="ghost", event_id="lab-1"), None)])
    assert outs[0].examples == [] and "label_unknown_entity" in outs[0].notes
    evs = [(ev("ticket", "created", 0, customer_id="d", ticket_id="t", text="x"), NEG)]
    renewal = ev("account", "renewal", 2, customer_id="d", event_id="ren-1")
    state, outs = _run(evs + [(renewal, None), (renewal, None)])
    assert len(outs[1].examples) == 1 and outs[2].examples == [] and "label_duplicate" in outs[2].notes


def test_out_of_order_label_only_labels_earlier_predictions():
    evs = [(ev("ticket", "created", d, customer_id="o", ticket_id=f"t{d}", text="x"), NEG) for d in (1, 5)]
    late_label = ev("account", "renewal", 3, customer_id="o")  # arrives after the day-5 event
    state, outs = _run(evs + [(late_label, None)])
    assert [e["pred_event_id"] for e in outs[-1].examples] == [evs[0][0]["event_id"]]
    assert evs[1][0]["event_id"] in [p["id"] for p in state["pending"]]


def test_event_arriving_after_a_later_label_is_labelled_at_once():
    evs = [(ev("ticket", "created", 1, customer_id="l", ticket_id="a", text="x"), NEG),
           (ev("account", "cancellation", 9, customer_id="l", event_id="cancel-l"), None)]
    state, outs = _run(evs)
    late = ev("ticket", "created", 6, customer_id="l", ticket_id="b", text="x")  # happened before, arrives after
    state, outs = _run([(late, NEG)], state)
    assert [(e["pred_event_id"], e["y"], e["label_event_id"]) for e in outs[0].examples] == [
        (late["event_id"], 1, "cancel-l")]


def test_restart_between_prediction_and_label():
    """The state (pending predictions included) is what the Faust changelog stores: JSON."""
    evs = [(ev("hr", "hire", 0, employee_id="emp_r", team_id="t", consent=False), None),
           (ev("hr", "overtime", 4, employee_id="emp_r", team_id="t", hours=20.0), None)]
    state, _ = _run(evs)
    restored = json.loads(json.dumps(state))  # the worker died; another recovers the table from the changelog
    exit_ = ev("hr", "exit", 20, employee_id="emp_r", team_id="t", exit_type="voluntary")
    _, outs = _run([(exit_, None)], restored, _models())
    assert {e["pred_event_id"] for e in outs[0].examples} == {e["event_id"] for e, _ in evs}
    assert all(e["y"] == 1 and e["model"] == "burnout" for e in outs[0].examples)


def test_involuntary_exit_drops_pending_without_a_label():
    evs = [(ev("hr", "overtime", 1, employee_id="emp_i", team_id="t", hours=5.0), None),
           (ev("hr", "exit", 2, employee_id="emp_i", team_id="t", exit_type="involuntary"), None)]
    state, outs = _run(evs)
    assert outs[-1].examples == [] and state["pending"] == []


def test_pending_is_thinned_and_capped():
    evs = [(ev("chat", "message", i * 0.05, customer_id="p", author_role="customer", conversation_id="c",
               text="x"), NEG) for i in range(400)]  # 20 days of chatter, every 72 minutes
    state, _ = _run(evs)
    ts = [p["t"] for p in state["pending"]]
    slots = [t // (12 * 3600) for t in ts]
    assert len(slots) == len(set(slots)) and 38 <= len(ts) <= 41  # one per half day of the 20, not one in all
    assert event_time(evs[-1][0]) == ts[-1]  # the newest prediction is kept


def test_a_customer_active_every_few_hours_keeps_one_pending_prediction_per_half_day():
    """High-volume activity (an event every 6 hours for 10 days) must leave a prediction per half day to
    label, not one entry that keeps moving forward: a label then yields one example per half day."""
    from pulsewire.models.learners.labels import MIN_GAP_S, add_pending, join_label

    t0 = 1_800_000_000.0 // MIN_GAP_S * MIN_GAP_S
    st = {"pending": [], "labels_seen": []}
    for i in range(40):
        add_pending(st, {"id": f"e{i}", "t": t0 + i * 6 * 3600.0, "x": {"a": float(i)}, "p": 0.1, "b": 0.0, "v": "m"})
    assert len(st["pending"]) == 20
    assert [e["id"] for e in st["pending"][:2]] == ["e1", "e3"]  # the newest of each half-day slot
    exs = join_label(st, "churn", "cus-1", "lab-1", 1, t0 + 11 * 86400.0)
    assert len(exs) == 20
