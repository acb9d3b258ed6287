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
        assert words in notice.markdown(f, "customers"), definition


def test_a_subscription_threshold_set_alone_under_inactivity_is_refused_not_ignored():
    for var in ("PULSEWIRE_LEARN_CHURN_THRESHOLD", "PULSEWIRE_LEARN_CHURN_CALIBRATION_LR"):
        with pytest.raises(ValueError, match=var + " does not apply to the inactivity"):
            LearnerConfig.from_env({"PULSEWIRE_LEARN_CHURN_DEFINITION": "inactivity", var: "0.4"})
    both = {"PULSEWIRE_LEARN_CHURN_DEFINITION": "inactivity", "PULSEWIRE_LEARN_CHURN_THRESHOLD": "0.6",
            "PULSEWIRE_LEARN_CHURN_INACTIVITY_THRESHOLD": "0.35"}
    assert LearnerConfig.from_env(both).policy("churn").threshold == 0.35  # one env file for both is fine
