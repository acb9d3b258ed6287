"""The churn alert threshold follows the deployment's churn definition (docs/learners.md, "Alerts")."""

import pytest

from pulsewire.models.learners.processor import LearnerConfig
from pulsewire.streams.settings import Settings
from pulsewire.streams.transparency import notice


def _alerts(cfg: LearnerConfig, scores: list[float]) -> int:
    pol, st = cfg.policy("churn"), {}
    return sum(pol.decide(st, p, i * 86400.0, f"e{i}") for i, p in enumerate(scores))


def test_a_risk_between_the_two_thresholds_alerts_only_where_churn_is_inactivity():
    scores = [0.05, 0.38, 0.41, 0.40]   # a customer whose risk rises to about 0.4 and stays there
    assert _alerts(LearnerConfig(), scores) == 0
    assert _alerts(LearnerConfig(churn_definition="inactivity"), scores) == 1
    assert _alerts(LearnerConfig(), scores + [0.56]) == 1


def test_each_threshold_is_set_from_its_own_variable():
    env = {"PULSEWIRE_LEARN_CHURN_THRESHOLD": "0.6", "PULSEWIRE_LEARN_CHURN_INACTIVITY_THRESHOLD": "0.2"}
    assert LearnerConfig.from_env(env).policy("churn").threshold == 0.6
    inactive = LearnerConfig.from_env({**env, "PULSEWIRE_LEARN_CHURN_DEFINITION": "inactivity"})
    assert inactive.policy("churn").threshold == 0.2
    assert LearnerConfig.from_env({"PULSEWIRE_LEARN_CHURN_INACTIVITY_THRESHOLD": "0.2"}).policy("churn").threshold \
        == LearnerConfig().churn_threshold


def test_a_threshold_below_the_rearm_level_is_refused_at_start_naming_the_variable():
    env = {"PULSEWIRE_LEARN_CHURN_DEFINITION": "inactivity", "PULSEWIRE_LEARN_CHURN_INACTIVITY_THRESHOLD": "0.1"}
    with pytest.raises(ValueError) as exc:
        LearnerConfig.from_env(env)
    assert str(exc.value) == ("PULSEWIRE_LEARN_CHURN_REARM_BELOW (0.15) must not exceed "
                              "PULSEWIRE_LEARN_CHURN_INACTIVITY_THRESHOLD (0.1)")
    LearnerConfig.from_env({**env, "PULSEWIRE_LEARN_CHURN_DEFINITION": "subscription"})  # not the one in use


def test_the_customers_notice_states_the_threshold_that_applies(tmp_path):
    settings = Settings(data_dir=tmp_path, pseudonym_key="k" * 32)
    for definition, words in (("subscription", "your churn risk reaches 0.55"),
                              ("inactivity", "your churn risk reaches 0.30")):
        f = notice.facts(settings, [], LearnerConfig(churn_definition=definition))
        text = notice.markdown(f, "customers")
        assert words in text, definition
        held = "if we also see how you use the product: when it has stayed at or above 0.35 for 2 days"
        assert (held in text) == (definition == "subscription"), definition


def test_a_subscription_threshold_set_alone_under_inactivity_is_refused_not_ignored():
    for var in ("PULSEWIRE_LEARN_CHURN_THRESHOLD", "PULSEWIRE_LEARN_CHURN_CALIBRATION_LR"):
        with pytest.raises(ValueError, match=var + " does not apply to the inactivity"):
            LearnerConfig.from_env({"PULSEWIRE_LEARN_CHURN_DEFINITION": "inactivity", var: "0.4"})
    both = {"PULSEWIRE_LEARN_CHURN_DEFINITION": "inactivity", "PULSEWIRE_LEARN_CHURN_THRESHOLD": "0.6",
            "PULSEWIRE_LEARN_CHURN_INACTIVITY_THRESHOLD": "0.35"}
    assert LearnerConfig.from_env(both).policy("churn").threshold == 0.35  # one env file for both is fine


def test_a_bad_day_that_passes_does_not_alert_a_customer_seen_through_activity_a_lasting_decline_does():
    pol, day = LearnerConfig().policy("churn", activity=True), 86400.0
    st = {}
    assert not any(pol.decide(st, p, d * day, f"a{d}") for d, p in [(0, 0.9), (1, 0.2), (2, 0.1)])
    st = {}
    fired = [pol.decide(st, p, d * day, f"b{d}") for d, p in [(0, 0.4), (1, 0.45), (2, 0.38), (3, 0.5)]]
    assert fired == [False, False, True, False] and st["episode"]["event_id"] == "b0"
    # a customer seen only through texts is judged on the first score, as before
    assert _alerts(LearnerConfig(), [0.6]) == 1 and _alerts(LearnerConfig(), [0.45, 0.45, 0.45]) == 0


def test_the_worker_holds_the_score_only_for_customers_who_send_activity_events():
    from pulsewire.models.learners.estimators import ModelHandle, RiskPrior
    from pulsewire.models.learners.processor import process_event

    from .helpers import NEG, ev

    # a real estimator whose risk is set by this week's tickets: 0.5 with one, 0.73 with two
    model = RiskPrior({"tickets_7d": (1.0, 0.0, 1.0)}, base_rate=0.27)
    models, cfg = {"churn": ModelHandle("churn", model, version=3, n_labels=400, n_pos=60)}, LearnerConfig()

    def run(events):
        state, alerts = None, []
        for e in events:
            state, out = process_event(state, e, NEG if e.get("text") else None, models, cfg)
            if out.alert:
                alerts.append((e["occurred_at"], out.alert["threshold"]))
        return alerts

    def ticket(d, cid):
        return ev("ticket", "created", d, customer_id=cid, ticket_id=f"t-{cid}-{d}", priority="high", text="broken")

    texts_only = [ticket(0, "c1"), ticket(0.5, "c1")]
    assert len(run(texts_only)) == 1 and run(texts_only)[0][1] == 0.55   # 0.73 at once
    logins = [ev("activity", "login", d, customer_id="c2") for d in range(0, 12)]
    incident = sorted(logins + [ticket(10, "c2"), ticket(10.5, "c2")], key=lambda e: e["occurred_at"])
    # the same two tickets from a customer scored daily: high for the last day and a half seen, not yet 2 days
    assert run(incident) == []
    lasting = sorted(logins + [ticket(d, "c2") for d in (8, 8.5, 9.5, 10.5)], key=lambda e: e["occurred_at"])
    alerts = run(lasting)
    assert len(alerts) == 1 and alerts[0][1] == 0.35


def test_the_hold_settings_are_read_checked_and_refused_where_they_do_not_apply():
    env = {"PULSEWIRE_LEARN_CHURN_ACTIVITY_THRESHOLD": "0.4", "PULSEWIRE_LEARN_CHURN_ACTIVITY_HOLD_DAYS": "3"}
    pol = LearnerConfig.from_env(env).policy("churn", activity=True)
    assert (pol.threshold, pol.hold_days) == (0.4, 3.0)
    with pytest.raises(ValueError, match="PULSEWIRE_LEARN_CHURN_ACTIVITY_HOLD_DAYS must be >= 0"):
        LearnerConfig.from_env({"PULSEWIRE_LEARN_CHURN_ACTIVITY_HOLD_DAYS": "-1"})
    with pytest.raises(ValueError, match="must not exceed PULSEWIRE_LEARN_CHURN_ACTIVITY_THRESHOLD"):
        LearnerConfig.from_env({"PULSEWIRE_LEARN_CHURN_ACTIVITY_THRESHOLD": "0.1"})
    with pytest.raises(ValueError, match="applies to the subscription churn definition only"):
        LearnerConfig.from_env({**env, "PULSEWIRE_LEARN_CHURN_DEFINITION": "inactivity"})
    off = LearnerConfig.from_env({"PULSEWIRE_LEARN_CHURN_ACTIVITY_HOLD_DAYS": "0"}).policy("churn", activity=True)
    assert (off.threshold, off.hold_days) == (0.55, 0.0)   # off: everyone at 0.55 at once, as before
