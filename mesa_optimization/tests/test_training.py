"""End-to-end: tiny training runs learn (beat the zero predictor; LinSA-1 reaches GD-1, Mesa-1 beats it)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from mesa_optimization import constructions as cons
from mesa_optimization import data, zoo
from mesa_optimization import training as tr


@pytest.fixture(scope="module")
def eval_data():
    return data.inputs_targets(data.sample_batch(jax.random.PRNGKey(99), 512, 50))


@pytest.mark.smoke
def test_linsa1_learns_one_gd_step(eval_data):
    x, y = eval_data
    model = zoo.linsa(1)
    tc = tr.TrainConfig(steps=200, batch=128, lr=1e-3, warmup=40)
    res = tr.train(model, tr.dynamics_task(128, 50), tc, seeds=[0])
    loss = float(tr.per_position_loss(model, res.params, x, y).mean())
    zero = float(jnp.mean(cons.half_squared_error(0 * y, y)))
    gd1 = float(jnp.mean(cons.half_squared_error(cons.gd1_predict(x, cons.gd1_optimal_eta(x, y)), y)))
    assert res.loss_curve.shape == (1, 4)
    assert loss < 0.7 * zero
    assert abs(loss - gd1) / gd1 < 0.10, (loss, gd1)


def test_mesa1_beats_gd1_quickly_and_seeds_are_vmapped(eval_data):
    x, y = eval_data
    model = zoo.mesa_constructed(1)
    tc = tr.TrainConfig(steps=100, batch=64, lr=3e-3, warmup=20)
    res = tr.train(model, tr.dynamics_task(64, 50), tc, seeds=[0, 1])
    losses = np.asarray(tr.per_position_loss(model, res.params, x, y).mean(axis=1))
    gd1 = float(jnp.mean(cons.half_squared_error(cons.gd1_predict(x, cons.gd1_optimal_eta(x, y)), y)))
    assert losses.shape == (2,) and losses[0] != losses[1]  # two different seeds trained side by side
    assert losses.max() < gd1, (losses, gd1)


def test_optimizer_config_errors():
    from repro_shared.cli import ConfigError

    with pytest.raises(ConfigError, match="grad_clip"):
        tr.make_optimizer(tr.TrainConfig(grad_clip="norm"))
