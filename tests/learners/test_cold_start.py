"""Before the first model snapshot reaches a worker, predictions come from the untrained model, not a constant."""

from pulsewire.models.learners.processor import LearnerConfig, process_event


def _ticket(eid, customer, text_label, t):
    return ({"event_id": eid, "kind": "ticket", "type": "created", "customer_id": customer, "ticket_id": eid,
             "occurred_at": f"2026-05-0{t}T10:00:00+00:00", "text": "...", "priority": "urgent" if text_label < 0 else "low"},
            {"label": "negative" if text_label < 0 else "positive", "score": -0.9 if text_label < 0 else 0.8})


def test_a_worker_without_snapshots_ranks_by_the_prior_and_explains():
    cfg = LearnerConfig()
    state_upset = state_calm = None
    for i in range(1, 4):
        state_upset, upset = process_event(state_upset, *_ticket(f"u{i}", "cus-upset", -1, i), {}, cfg)
        state_calm, calm = process_event(state_calm, *_ticket(f"c{i}", "cus-calm", +1, i), {}, cfg)
    p_upset, p_calm = upset.prediction["probability"], calm.prediction["probability"]
    assert p_upset > 0.5 > 0.1 > p_calm
    assert upset.prediction["model_version"] == "churn-v0-n0"
    assert any("negative" in r["text"] for r in upset.prediction["reasons"])
