"""Pure parts of the licence-clean candidate's training: temperature fit, ECE, the pos-vs-neg loss."""

from __future__ import annotations

import numpy as np
import pytest

from pulsewire.models.sentiment.calibration import apply_temperature, fit_temperature, logits_from_proba, neutral_figures
from pulsewire.models.sentiment.metrics import expected_calibration_error
from pulsewire.models.sentiment.train import balanced_weights, fit_linear_head, head_loss_grad

NEU = 1


def sample_labels(z: np.ndarray, t: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    p = apply_temperature(z, t)
    u = rng.random(len(p))[:, None]
    return (u > np.cumsum(p, axis=1)).sum(axis=1)


@pytest.mark.parametrize("true_t", [0.5, 1.0, 2.5, 6.0])
def test_fit_temperature_recovers_known_temperature(true_t):
    z = np.random.default_rng(1).normal(0, 5, size=(30000, 3))
    y = sample_labels(z, true_t, seed=2)
    assert fit_temperature(z, y) == pytest.approx(true_t, rel=0.05)


def test_fit_temperature_works_from_probabilities_alone():
    # log p differs from the logits by a per-row constant: same T
    z = np.random.default_rng(3).normal(0, 5, size=(30000, 3))
    y = sample_labels(z, 3.0, seed=4)
    p = apply_temperature(z, 1.0).astype(np.float32)
    assert fit_temperature(logits_from_proba(p), y) == pytest.approx(fit_temperature(z, y), rel=1e-3)


def test_temperature_lowers_ece_of_an_overconfident_model():
    z = np.random.default_rng(5).normal(0, 6, size=(20000, 3))
    y = sample_labels(z, 3.0, seed=6)  # the model is 3x too sure
    before = expected_calibration_error(y, apply_temperature(z, 1.0))
    after = expected_calibration_error(y, apply_temperature(z, fit_temperature(z, y)))
    assert before > 0.1 and after < 0.02
    # labels do not change
    assert (apply_temperature(z, 3.0).argmax(1) == z.argmax(1)).all()


def test_fit_temperature_refuses_empty_input():
    with pytest.raises(ValueError):
        fit_temperature(np.zeros((0, 3)), [])


def test_neutral_figures_count_polar_neutral_texts():
    p = np.array([[0.8, 0.1, 0.1], [0.1, 0.8, 0.1], [0.05, 0.2, 0.75], [0.1, 0.1, 0.8]])
    f = neutral_figures(p, [1, 1, 1, 0])
    assert f == {"neutral_recall": pytest.approx(1 / 3, abs=1e-4), "neutral_polar_rate": pytest.approx(2 / 3, abs=1e-4),
                 "neutral_mean_score": pytest.approx((-0.7 + 0.0 + 0.7) / 3, abs=1e-4)}


def test_pos_neg_loss_ignores_the_neutral_logit_of_two_class_rows():
    rng = np.random.default_rng(7)
    x = rng.normal(size=(6, 4))
    y = np.array([0, 2, 0, 2, 1, 2])
    two = np.array([True, True, True, True, False, False])
    w, b = rng.normal(size=(4, 3)), rng.normal(size=3)
    loss, gw, gb = head_loss_grad(w, b, x, y, two)
    w2, b2 = w.copy(), b.copy()
    w2[:, NEU] += 10.0  # a far louder neutral logit
    b2[NEU] += 10.0
    loss2_two, _, _ = head_loss_grad(w2, b2, x[two], y[two], two[two])
    loss_two, gw_two, gb_two = head_loss_grad(w, b, x[two], y[two], two[two])
    assert loss2_two == pytest.approx(loss_two)
    assert np.allclose(gw_two[:, NEU], 0.0) and gb_two[NEU] == 0.0
    # the same rows as 3-class rows do pay for it
    loss3, _, _ = head_loss_grad(w2, b2, x[two], y[two], np.zeros(two.sum(), bool))
    assert loss3 > loss2_two + 5


def test_head_gradient_matches_finite_differences():
    rng = np.random.default_rng(8)
    x = rng.normal(size=(10, 3))
    y = rng.integers(0, 3, size=10)
    two = (y != NEU) & (rng.random(10) < 0.5)
    sw = rng.random(10) + 0.5
    w, b = rng.normal(size=(3, 3)), rng.normal(size=3)
    _, gw, gb = head_loss_grad(w, b, x, y, two, l2=0.1, sample_weight=sw)
    eps = 1e-6
    for i in range(3):
        for j in range(3):
            wp, wm = w.copy(), w.copy()
            wp[i, j] += eps
            wm[i, j] -= eps
            num = (head_loss_grad(wp, b, x, y, two, 0.1, sw)[0] - head_loss_grad(wm, b, x, y, two, 0.1, sw)[0]) / (2 * eps)
            assert gw[i, j] == pytest.approx(num, abs=1e-6)
    for j in range(3):
        bp, bm = b.copy(), b.copy()
        bp[j] += eps
        bm[j] -= eps
        num = (head_loss_grad(w, bp, x, y, two, 0.1, sw)[0] - head_loss_grad(w, bm, x, y, two, 0.1, sw)[0]) / (2 * eps)
        assert gb[j] == pytest.approx(num, abs=1e-6)


def test_two_class_rows_do_not_push_neutral_text_to_a_pole():
    # 3-class rows: neutral texts near the origin. 2-class rows: every text is pos or neg, including
    # ones near the origin (a critic snippet always has a verdict). With the pos-vs-neg loss the head
    # still calls origin texts neutral; with a plain 3-class loss on those rows it would not.
    rng = np.random.default_rng(9)
    n = 600
    x3 = np.concatenate([rng.normal([-2, 0], 0.5, (n, 2)), rng.normal([0, 0], 0.5, (n, 2)),
                         rng.normal([2, 0], 0.5, (n, 2))])
    y3 = np.repeat([0, 1, 2], n)
    x2 = rng.normal([0, 0], 0.7, (4 * n, 2))
    y2 = np.where(x2[:, 0] > 0, 2, 0)
    x = np.concatenate([x3, x2])
    y = np.concatenate([y3, y2])
    origin = rng.normal([0, 0], 0.3, (200, 2))

    two = np.concatenate([np.zeros(len(y3), bool), np.ones(len(y2), bool)])
    w, b = fit_linear_head(x, y, two, l2=1e-3)
    plain_w, plain_b = fit_linear_head(x, y, np.zeros(len(y), bool), l2=1e-3)
    assert ((origin @ w + b).argmax(1) == NEU).mean() > 0.8
    assert ((origin @ plain_w + plain_b).argmax(1) == NEU).mean() < 0.5


def test_balanced_weights_leave_two_class_rows_at_one():
    y = np.array([0, 0, 1, 2, 2, 2, 0, 2])
    two = np.array([False] * 6 + [True, True])
    w = balanced_weights(y, two)
    assert w[6:].tolist() == [1.0, 1.0]
    assert [w[:6][y[:6] == c].sum() for c in range(3)] == pytest.approx([2.0, 2.0, 2.0])
