"""Consent end to end: no per-person burnout prediction, reason, risk row or example is stored for an
employee without an explicit yes (unknown means no); changes are audited; a withdrawal removes what was stored."""

import random
from datetime import datetime, timedelta, timezone

from pulsewire.models.learners.estimators import OnlineLearner
from pulsewire.models.learners.processor import LearnerConfig, process_event
from pulsewire.streams.agents.features import SignalRows, prediction_rows, publishable
from pulsewire.streams.agents.learn import example_row, storable
from pulsewire.streams.sinks import forget_burnout_rows

from .helpers import ev


def _trained():
    ln, rng = OnlineLearner("burnout"), random.Random(1)
    for i in range(300):
        y = rng.random() < 0.3
        ln.learn({"id": f"b{i}", "x": {"overtime_recent": rng.gauss(25 if y else 3, 3)}, "y": int(y)})
    return {"burnout": ln.handle(), "churn": OnlineLearner("churn").handle()}


def _person(who, consents):
    """A hire (with the first consent answer), weeks of overtime, later answers, then a burnout pulse (a label)."""
    first, *later = consents
    evs = [ev("hr", "hire", 0, employee_id=who, team_id="t", **({} if first is None else {"consent": first}))]
    evs += [ev("hr", "overtime", 7 * w, employee_id=who, team_id="t", hours=30.0) for w in range(1, 5)]
    evs += [ev("hr", "leave", 30 + i, employee_id=who, team_id="t", days=1.0, consent=c) for i, c in enumerate(later)]
    evs += [ev("hr", "pulse", 40, employee_id=who, team_id="t", question="burnout", score=5)]
    return evs


def _run(people):
    models, cfg = _trained(), LearnerConfig(min_positives_to_alert=0)
    rows, examples, alerts, risks = SignalRows(), [], [], []
    for who, consents in people.items():
        state = None
        for e in _person(who, consents):
            state, out = process_event(state, e, None, models, cfg)
            rows.add(e, out)
            examples += out.examples
            alerts += [out.alert] if out.alert and publishable(out) else []
            risks += [out.team_risk] if out.team_risk else []
    return rows, examples, alerts, risks


def test_only_people_who_said_yes_get_stored_predictions_rows_examples_and_alerts():
    rows, examples, alerts, risks = _run({"emp_yes": [True], "emp_no": [False], "emp_unknown": [None],
                                          "emp_withdrew": [True, False], "emp_late_yes": [None, True]})
    stored = {p["entity_id"] for p in rows.predictions} | {r["entity_id"] for r in rows.risks}
    assert stored == {"emp_yes", "emp_late_yes"}
    assert {r["entity_id"] for r in rows.risks} == stored  # reasons live in risk_latest: same people
    assert {e["entity_id"] for e in examples if storable(e)} == {"emp_yes", "emp_late_yes"}
    assert {e["entity_id"] for e in examples} >= {"emp_no", "emp_unknown"}  # the model still learns from everyone
    assert alerts and not {a["subject"] for a in alerts} & {"emp_no", "emp_unknown"}  # (emp_withdrew: while yes)
    assert len(risks) > 5 * 4  # everyone's probability feeds the team aggregates
    assert rows.withdrawn == {"emp_withdrew"}
    changes = [(c["entity_id"], c["old_consent"], c["new_consent"]) for c in rows.consents]
    assert changes == [("emp_yes", None, 1), ("emp_no", None, 0), ("emp_withdrew", None, 1), ("emp_withdrew", 1, 0),
                       ("emp_late_yes", None, 1)]
    assert all(c["source"] == "test" and c["event_id"].startswith("t-") for c in rows.consents)


def test_a_withdrawal_removes_the_stored_burnout_rows(store):
    now = datetime.now(timezone.utc).replace(microsecond=0)
    for who in ("emp_keepcons", "emp_withdrawn"):
        for model in ("burnout", "churn"):
            pred, risk = prediction_rows({"model": model, "entity_type": "employee", "entity_id": who, "team_id": "t",
                                          "event_id": f"ek_{who}", "t": now.timestamp(), "probability": 0.7,
                                          "baseline": 0.1, "model_version": "v", "n_labels": 1, "n_pos": 1,
                                          "alerted": False, "consent": True, "reasons": [{"text": "overtime"}]})
            store.insert_rows("predictions", [pred])
            store.insert_rows("risk_latest", [risk])
            store.insert_rows("learn_examples", [example_row(
                {"model": model, "id": f"x-{who}-{model}", "entity_id": who, "pred_event_id": "p",
                 "label_event_id": "l", "predicted_at": (now - timedelta(days=1)).timestamp(),
                 "labelled_at": now.timestamp(), "y": 1, "p": 0.7, "x": {}}, True)])
    forget_burnout_rows(store, ["emp_withdrawn"])
    for table in ("predictions", "risk_latest", "learn_examples"):
        left = store.query_dicts(f"SELECT entity_id, model FROM {table} FINAL "
                                 "WHERE entity_id IN ('emp_keepcons', 'emp_withdrawn') ORDER BY entity_id, model")
        assert [(r["entity_id"], r["model"]) for r in left] == [
            ("emp_keepcons", "burnout"), ("emp_keepcons", "churn"), ("emp_withdrawn", "churn")], table


MIGRATE_OLD_STORE = """
import json, sys
from datetime import datetime, timezone
import pulsewire.streams.store as st
from pulsewire.streams.agents.features import prediction_rows
every = st.load_migrations
st.load_migrations = lambda: [m for m in every() if m.version < 41]   # a store from before consent was enforced
s = st.open_store("chdb://" + sys.argv[1])
now = datetime.now(timezone.utc).timestamp()
for who, answers in (("emp_yes_now", [0, 1]), ("emp_no_now", [1, 0]), ("emp_never", [0])):
    for i, c in enumerate(answers):
        pred, risk = prediction_rows({"model": "burnout", "entity_type": "employee", "entity_id": who, "team_id": "t",
            "event_id": f"ek_{i}", "t": now + i, "probability": 0.5, "baseline": 0.0, "model_version": "v",
            "n_labels": 0, "n_pos": 0, "alerted": False, "consent": c, "reasons": []})
        s.insert_rows("predictions", [pred]); s.insert_rows("risk_latest", [risk])
st.load_migrations = every
applied = s.migrate()
print(json.dumps({"applied": applied, "predictions": sorted({r["entity_id"] for r in s.query_dicts("SELECT entity_id FROM predictions")}),
                  "risk": [r["entity_id"] for r in s.query_dicts("SELECT entity_id FROM risk_latest FINAL")]}))
"""


def test_the_migration_removes_burnout_rows_stored_before_consent_was_enforced(tmp_path):
    import json
    import subprocess
    import sys

    r = subprocess.run([sys.executable, "-c", MIGRATE_OLD_STORE, str(tmp_path / "store")], capture_output=True,
                       text=True, timeout=180)
    assert r.returncode == 0, r.stderr[-2000:]
    got = json.loads(r.stdout.strip().splitlines()[-1])
    assert 41 in got["applied"]
    assert got["predictions"] == ["emp_yes_now"] and got["risk"] == ["emp_yes_now"]


def test_a_person_who_moves_team_or_leaves_is_withdrawn_from_the_old_team():
    models, cfg = _trained(), LearnerConfig(min_positives_to_alert=0)
    state, out = process_event(None, ev("hr", "hire", 0, employee_id="emp_m", team_id="a", consent=False), None,
                               models, cfg)
    assert out.team_risk is not None and out.previous_team == ""
    state, out = process_event(state, ev("hr", "overtime", 7, employee_id="emp_m", team_id="b", hours=3.0), None,
                               models, cfg)
    assert out.previous_team == "a" and out.team_risk is not None and out.team_id == "b"
    state, out = process_event(state, ev("hr", "exit", 14, employee_id="emp_m", team_id="b", exit_type="involuntary"),
                               None, models, cfg)
    assert out.previous_team == "b" and out.team_risk is None
