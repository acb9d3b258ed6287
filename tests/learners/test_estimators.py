"""One generic check suite, run against every estimator we wrote (River conventions)."""

import copy
import math
import pickle
import random

import pytest
from river import linear_model, preprocessing

from pulsewire.models.learners.estimators import (Calibrated, GaussianNBRisk, LinearDiscriminantRisk, OnlineLearner,
                                                  PriorBlend, RiskPrior, Shape, SnapshotError, explain,
                                                  handle_from_snapshot, make_model)

KEY = b"k" * 32


def _data(n=600, seed=1):
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        y = rng.random() < 0.25
        x = {"neg_7d": float(rng.randint(2, 6) if y else rng.randint(0, 2)), "csat": rng.gauss(2.0 if y else 4.2, 0.6),
             "noise": rng.gauss(0, 1)}
        out.append((x, y))
    return out


CLASSIFIERS = {
    "GaussianNBRisk": lambda: GaussianNBRisk(),
    "LinearDiscriminantRisk": lambda: LinearDiscriminantRisk(),
    "churn model: Calibrated(PriorBlend(Shape|LinearDiscriminantRisk, Shape|RiskPrior))": lambda: make_model("churn"),
    "PriorBlend(GaussianNBRisk, RiskPrior)": lambda: PriorBlend(
        GaussianNBRisk(), RiskPrior({"neg_7d": (1.0, 0.0, 1.0)}), strength=20),
    "Calibrated(StandardScaler|LogisticRegression)": lambda: Calibrated(
        preprocessing.StandardScaler() | linear_model.LogisticRegression()),
    "burnout model": lambda: make_model("burnout"),
}


@pytest.fixture(params=sorted(CLASSIFIERS))
def make(request):
    return CLASSIFIERS[request.param]


def test_untrained_predicts_a_distribution(make):
    p = make().predict_proba_one({"a": 1.0})
    assert set(p) <= {True, False} and abs(sum(p.values()) - 1) < 1e-9


def test_learns_returns_none_and_ranks(make):
    m = make()
    data = _data()
    for x, y in data:
        assert m.learn_one(x, y) is None
    pos = sum(m.predict_proba_one(x)[True] for x, y in data if y) / sum(1 for _, y in data if y)
    neg = sum(m.predict_proba_one(x)[True] for x, y in data if not y) / sum(1 for _, y in data if not y)
    assert pos > neg + 0.3


def test_probabilities_valid_on_odd_input(make):
    m = make()
    for x, y in _data(200):
        m.learn_one(x, y)
    for x in ({}, {"unknown": 3.0}, {"neg_7d": 1e6, "csat": -1e6}, {"neg_7d": 0.0}):
        p = m.predict_proba_one(x)
        assert 0.0 <= p[True] <= 1.0 and abs(p[True] + p[False] - 1) < 1e-9


def test_clone_is_fresh_and_pickle_round_trips(make):
    m = make()
    for x, y in _data(200):
        m.learn_one(x, y)
    x0 = {"neg_7d": 3.0, "csat": 2.0, "noise": 0.0}
    fresh = m.clone()
    assert fresh.predict_proba_one(x0) == make().predict_proba_one(x0)
    again = pickle.loads(pickle.dumps(m))
    assert again.predict_proba_one(x0) == m.predict_proba_one(x0)


def test_deterministic(make):
    a, b = make(), make()
    for x, y in _data(300):
        a.learn_one(x, y)
        b.learn_one(copy.deepcopy(x), y)
    x0 = {"neg_7d": 2.0, "csat": 3.0, "noise": 0.5}
    assert a.predict_proba_one(x0) == b.predict_proba_one(x0)


SUM_MODELS = [GaussianNBRisk, LinearDiscriminantRisk]


@pytest.mark.parametrize("cls", SUM_MODELS, ids=lambda c: c.__name__)
def test_weights_count(cls):
    a, b = cls(), cls()
    for x, y in _data(300):
        a.learn_one(x, y, w=2.0)
        b.learn_one(x, y)
        b.learn_one(x, y)
    x0 = {"neg_7d": 2.0, "csat": 3.0}
    assert abs(a.predict_proba_one(x0)[True] - b.predict_proba_one(x0)[True]) < 1e-6


@pytest.mark.parametrize("cls", SUM_MODELS, ids=lambda c: c.__name__)
def test_order_invariance(cls):
    data = _data(400)
    a, b = cls(), cls()
    for x, y in data:
        a.learn_one(x, y)
    for x, y in sorted(data, key=lambda d: d[1]):  # all negatives first: a burst, as delayed labels come
        b.learn_one(x, y)
    x0 = {"neg_7d": 3.0, "csat": 2.5, "noise": 0.0}
    assert abs(a.predict_proba_one(x0)[True] - b.predict_proba_one(x0)[True]) < 1e-6


def test_linear_discriminant_counts_redundant_features_once():
    """Three ticket counts that rise together are one piece of evidence: naive Bayes triples it."""
    data = _data(1500, seed=5)

    def trained(model, copies):
        for x, y in data:
            model.learn_one({**{f"neg_{i}": x["neg_7d"] for i in range(copies)}, "csat": x["csat"]}, y)
        return model

    def logit(model, copies):  # a moderate case: inside the per-term clip
        p = model.predict_proba_one({**{f"neg_{i}": 3.0 for i in range(copies)}, "csat": 3.0})[True]
        return math.log(p / (1 - p))

    lda_once, lda_thrice = trained(LinearDiscriminantRisk(), 1), trained(LinearDiscriminantRisk(), 3)
    nb_once, nb_thrice = trained(GaussianNBRisk(), 1), trained(GaussianNBRisk(), 3)
    assert abs(logit(lda_thrice, 3) - logit(lda_once, 1)) < 0.25
    assert logit(nb_thrice, 3) - logit(nb_once, 1) > 0.5


def test_calibration_is_reasonable():
    m = make_model("churn")
    data = _data(3000, seed=3)
    for x, y in data[:2000]:
        m.learn_one(x, y)
    test = data[2000:]
    mean_p = sum(m.predict_proba_one(x)[True] for x, _ in test) / len(test)
    rate = sum(y for _, y in test) / len(test)
    assert abs(mean_p - rate) < 0.08


def test_explain_names_the_driving_feature():
    m = make_model("churn")
    for x, y in _data(800):
        m.learn_one(x, y)
    top = explain(m, {"neg_7d": 6.0, "csat": 4.2, "noise": 0.0})[0]
    assert top[0] == "neg_7d" and top[1] > 0
    assert Shape().transform_one({"neg_7d": 0.0, "x": 5.0}) == {"neg_7d": 0.0, "x": 5.0}


def test_snapshot_signed_versioned_and_tamper_proof():
    ln = OnlineLearner("churn")
    for i, (x, y) in enumerate(_data(100)):
        ln.learn({"id": f"e{i}", "x": x, "y": int(y)})
    raw = ln.snapshot(KEY)
    h = handle_from_snapshot(raw, KEY)
    assert (h.version, h.n_labels, h.version_str) == (1, 100, "churn-v1-n100")
    assert ln.snapshot(KEY) and ln.version == 2  # monotonic
    with pytest.raises(SnapshotError):
        handle_from_snapshot(raw, b"another-key-0123456789")
    tampered = raw.replace(b'"n_labels": 100', b'"n_labels": 101')
    with pytest.raises(SnapshotError):
        handle_from_snapshot(tampered, KEY)
    resumed = OnlineLearner.from_snapshot(raw, KEY)
    assert resumed.n_labels == 100 and not resumed.learn({"id": "e5", "x": {}, "y": 1})  # remembers what it learned


def test_learner_skips_replayed_offsets_and_duplicate_ids():
    ln = OnlineLearner("burnout")
    ex = [{"id": f"e{i}", "x": {"a": float(i)}, "y": i % 2} for i in range(10)]
    assert ln.learn_batch(ex, partition=0, offsets=list(range(10))) == 10
    resumed = OnlineLearner.from_snapshot(ln.snapshot(KEY), KEY)
    more = ex[5:] + [{"id": "new", "x": {"a": 1.0}, "y": 1}]
    assert resumed.learn_batch(more, partition=0, offsets=list(range(5, 11))) == 1  # replay after a crash
    assert resumed.learn({"id": "new", "x": {}, "y": 1}) is False


def test_churn_model_ranks_by_obvious_signals_before_any_label():
    """Cold start: the prior ranks a distressed customer above a calm one before any label arrives."""
    m = make_model("churn")
    calm = {"sent_recent": 0.4, "neg_texts_7d": 0.0, "urgent_tickets_28d": 0.0, "csat_recent": 4.6,
            "rating_last": 5.0, "downgrades_90d": 0.0}
    upset = {"sent_recent": -0.7, "neg_texts_7d": 3.0, "urgent_tickets_28d": 2.0, "csat_recent": 2.0,
             "rating_last": 2.0, "downgrades_90d": 1.0}
    assert m.predict_proba_one(upset)[True] > 0.5 > 0.1 > m.predict_proba_one(calm)[True]
    top = [name for name, _ in explain(m, upset)[:3]]
    assert top and all(c > 0 for _, c in explain(m, upset)[:3]), top


def test_prior_blend_hands_over_to_the_data():
    blend = PriorBlend(GaussianNBRisk(), RiskPrior({"neg_7d": (-1.0, 0.0, 1.0)}), strength=20, floor=0.0)
    x_hi, x_lo = {"neg_7d": 5.0, "csat": 2.0}, {"neg_7d": 0.0, "csat": 4.2}
    assert blend.predict_proba_one(x_lo)[True] > blend.predict_proba_one(x_hi)[True]  # a wrong prior...
    for x, y in _data(2000):
        blend.learn_one(x, y)
    assert blend.predict_proba_one(x_hi)[True] > blend.predict_proba_one(x_lo)[True]  # ...is overruled by data
    assert blend.lam < 0.1
