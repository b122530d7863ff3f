"""Tiny end-to-end training runs that must learn, and the optimizer split."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from lru_universality.data import copy_task
from lru_universality.layers import RecurrenceConfig
from lru_universality.models import DeepRecurrentModel
from lru_universality.train import (
    OptimConfig,
    fit_mlp_regression,
    fit_sequence_classifier,
    make_optimizer,
    masked_accuracy,
    masked_cross_entropy,
)


def test_masked_losses_by_hand():
    logits = jnp.log(jnp.array([[[0.5, 0.5], [0.9, 0.1]]]))
    labels = jnp.array([[0, 1]])
    mask = jnp.array([[True, False]])
    assert float(masked_cross_entropy(logits, labels, mask)) == pytest.approx(np.log(2), rel=1e-5)
    assert float(masked_cross_entropy(logits, labels)) == pytest.approx((np.log(2) + np.log(10)) / 2, rel=1e-5)
    assert float(masked_accuracy(logits, labels)) == pytest.approx(0.5)


def test_recurrent_params_get_reduced_lr_and_no_weight_decay():
    params = {"rec": {"nu_log": jnp.ones(2), "C_re": jnp.ones(2)}}
    tx = make_optimizer(OptimConfig(lr=1.0, lr_factor=0.5, weight_decay=0.1, warmup_frac=0.0), total_steps=10)
    zero = jax.tree_util.tree_map(jnp.zeros_like, params)
    _, state = tx.update(zero, tx.init(params), params)  # step 0 of the schedule has lr 0 (warm-up start)
    updates, _ = tx.update(zero, state, params)  # zero gradient: only weight decay moves parameters
    assert float(jnp.abs(updates["rec"]["nu_log"]).max()) == 0.0
    assert float(jnp.abs(updates["rec"]["C_re"]).max()) > 0.0
    grad = jax.tree_util.tree_map(jnp.ones_like, params)
    tx2 = make_optimizer(OptimConfig(lr=1.0, lr_factor=0.5, weight_decay=0.0, warmup_frac=0.0), total_steps=10)
    _, state2 = tx2.update(grad, tx2.init(params), params)
    updates, _ = tx2.update(grad, state2, params)
    ratio = float(updates["rec"]["nu_log"][0] / updates["rec"]["C_re"][0])
    assert ratio == pytest.approx(0.5, rel=1e-4)


@pytest.mark.smoke
def test_lru_learns_a_short_copy_task():
    rng = np.random.default_rng(0)
    train, test = copy_task(rng, 2000, pattern_len=3, delay=2, n_symbols=4), copy_task(rng, 300, 3, 2, 4)
    model = DeepRecurrentModel(32, train.n_classes, RecurrenceConfig("lru", 32), n_layers=1, pooling="none")
    fit = fit_sequence_classifier(model, train, test, steps=200, batch_size=32, optim=OptimConfig(lr=5e-3), seed=0,
                                  log_every=20)
    assert fit.losses[-1] < 0.5 * fit.losses[0]
    assert fit.test_accuracy > 0.6  # chance is 0.25


def test_vmapped_mlp_regression_learns_and_seeds_differ():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 2000, 2)).astype(np.float32)
    y = (x[..., :1] * x[..., 1:]).astype(np.float32)  # a product: no linear part
    rel = fit_mlp_regression(64, x[:, :1500], y[:, :1500], x[:, 1500:], y[:, 1500:], seeds=[0, 1], steps=600,
                             batch_size=64, lr=3e-3)
    assert rel.shape == (2,) and np.all(rel < 0.2), rel
    assert rel[0] != rel[1]
    # the same setting without training is no better than predicting the mean
    untrained = fit_mlp_regression(64, x[:, :1500], y[:, :1500], x[:, 1500:], y[:, 1500:], seeds=[0, 1],
                                   steps=1, batch_size=64, lr=0.0)
    assert np.all(untrained > 0.5)
