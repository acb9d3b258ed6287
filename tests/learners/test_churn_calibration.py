"""The churn calibrator's learning rate follows the churn definition (docs/learners.md, decision 0013)."""

import pytest

from pulsewire.models.learners.estimators import OnlineLearner
from pulsewire.models.learners.processor import LearnerConfig
from pulsewire.models.learners.replay import Replay
from pulsewire.streams.agents.learn import ModelRegistry

KEY = b"k" * 32


def _burst(ln: OnlineLearner, n: int = 60) -> float:
    """How far a burst of n lapse labels moves the calibrated probability of one unchanged customer."""
    x = {"days_since_active": 20.0, "sent_recent": 0.0}
    before = ln.model.predict_proba_one(x)[True]
    ln.learn_batch([{"id": f"lapse-{i}", "x": x, "y": 1, "w": 1.0} for i in range(n)])
    return ln.model.predict_proba_one(x)[True] - before


def test_a_burst_of_lapse_labels_moves_the_inactivity_calibration_less():
    sub = Replay(LearnerConfig()).learners["churn"]
    inact = Replay(LearnerConfig(churn_definition="inactivity")).learners["churn"]
    moved_sub, moved_inact = _burst(sub), _burst(inact)
    assert 0 < moved_inact < 0.8 * moved_sub
    # burnout keeps its own calibrator whatever the churn definition
    assert Replay(LearnerConfig(churn_definition="inactivity")).learners["burnout"].model.lr == \
        OnlineLearner("burnout").model.lr


def test_the_rate_is_set_from_its_variable_and_a_bad_one_is_one_line():
    env = {"PULSEWIRE_LEARN_CHURN_DEFINITION": "inactivity", "PULSEWIRE_LEARN_CHURN_INACTIVITY_CALIBRATION_LR": "0.01"}
    assert LearnerConfig.from_env(env).calibration_lr("churn") == 0.01
    assert LearnerConfig.from_env({"PULSEWIRE_LEARN_CHURN_CALIBRATION_LR": "0.03"}).calibration_lr("churn") == 0.03
    with pytest.raises(ValueError) as exc:
        LearnerConfig.from_env({**env, "PULSEWIRE_LEARN_CHURN_INACTIVITY_CALIBRATION_LR": "0"})
    assert str(exc.value) == "PULSEWIRE_LEARN_CHURN_INACTIVITY_CALIBRATION_LR must be in (0, 1] (got 0)"


def test_a_learner_resumed_from_a_snapshot_calibrates_at_the_configured_rate(tmp_path):
    old = OnlineLearner("churn")  # a snapshot written by a worker with the subscription rate
    old.learn({"id": "e1", "x": {"days_since_active": 3.0}, "y": 0})
    registry = ModelRegistry(KEY, tmp_path)
    assert registry.offer(old.snapshot(KEY))
    rate = LearnerConfig(churn_definition="inactivity").calibration_lr("churn")
    resumed = registry.learner("churn", None, rate)
    assert resumed.n_labels == 1 and resumed.model.lr == rate != old.model.lr
    assert registry.learner("churn", None).model.lr == old.model.lr  # no rate given: the snapshot's own
