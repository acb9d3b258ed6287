"""A replay adds no alert a consumer has not seen: ids come from the episode, state moves in event time."""

from pulsewire.models.learners.policy import DAY, AlertPolicy
from pulsewire.models.learners.processor import LearnerConfig, process_event, route
from pulsewire.models.learners.replay import Replay, hidden_label_sentiment
from pulsewire.schemas.alerts import MODELS, make_cloudevent
from pulsewire.streams.connectors.generator import GeneratorConfig, SmbSimulation

from .helpers import NEG, ev

CFG = LearnerConfig(min_positives_to_alert=0)  # alerts from the start, so a short stream has many


def _ids(alerts) -> list[str]:
    return [make_cloudevent(a)["id"] for a in alerts]


def test_same_events_twice_give_the_same_alerts():
    sim = SmbSimulation(GeneratorConfig(seed=11, activity=False))  # the text and account stream
    records = list(sim.records(limit=6000))
    sentiment = hidden_label_sentiment(sim.text_labels)
    scored = [(r, sentiment(r)) for r in records if isinstance(r, dict) and "kind" in r]
    r = Replay(CFG)
    for e, s in scored:
        r.feed(e, s)
    first = _ids(r.alerts)
    assert len(first) >= 20 and len(set(first)) == len(first)
    assert {a["alert_type"] for a in r.alerts} >= {"churn", "burnout"}
    for a in r.alerts:  # and every one is a valid CloudEvent of its kind
        MODELS[a["alert_type"]].model_validate(make_cloudevent(a))
    n_examples, n_rows, skipped = len(r.examples), len(r.metric_rows), dict(r.notes)

    # the same events again, into the same state (a new connector instance re-sends them): the models
    # have learned more since, but nothing is decided again
    for e, s in scored:
        r.feed(e, s)
    assert _ids(r.alerts) == first
    assert len(r.examples) == n_examples and len(r.metric_rows) == n_rows
    replayed = r.notes["duplicate_event"] + r.notes["too_late_event"] - sum(
        skipped.get(k, 0) for k in ("duplicate_event", "too_late_event"))
    assert replayed == sum(1 for e, _ in scored if route(e)) > 0

    # and from scratch: the same alerts, with the same ids
    again = Replay(CFG)
    for e, s in scored:
        again.feed(e, s)
    assert _ids(again.alerts) == first


def test_a_redelivered_event_changes_no_state():
    state, _ = process_event(None, ev("ticket", "created", 0, customer_id="c", ticket_id="t1", text="x",
                                      event_id="e1"), NEG, {}, CFG)
    before = repr(state)
    state, out = process_event(state, ev("ticket", "created", 0, customer_id="c", ticket_id="t1", text="x",
                                         event_id="e1"), NEG, {}, CFG)
    assert repr(state) == before and out.prediction is None and out.notes == ["duplicate_event"]


def test_one_episode_one_id_whichever_event_triggers_it():
    """Another model version may cross the threshold on another event of the same episode: same id."""
    pol = AlertPolicy(threshold=0.5, rearm_below=0.2, cooldown_days=0, confirm=2)
    ids = []
    for scores in ([0.1, 0.6, 0.7, 0.8], [0.1, 0.6, 0.55, 0.9]):
        st = {}
        for i, p in enumerate(scores):
            if pol.decide(st, p, i * DAY, f"ev{i}"):
                alert = {"alert_type": "churn", "subject": "c", "subject_type": "customer", "score": p,
                         "threshold": 0.5, "model_version": "m", "t": i * DAY, "trigger_event_id": f"ev{i}",
                         "episode": st["episode"]}
                ids.append(make_cloudevent(alert)["id"])
    assert len(ids) == 2 and ids[0] == ids[1]


def test_late_scores_do_not_move_the_policy():
    pol = AlertPolicy(threshold=0.5, rearm_below=0.2, cooldown_days=30)
    st = {}
    assert pol.decide(st, 0.9, 10 * DAY, "a")
    snapshot = dict(st)
    assert not any(pol.decide(st, p, d * DAY, f"old{d}") for d, p in [(1, 0.1), (2, 0.9), (9, 0.95)])
    assert st == snapshot
