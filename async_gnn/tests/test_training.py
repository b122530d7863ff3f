"""A smoke training run learns; the forward pass with regularisers equals the engine's synchronous pass."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from async_gnn.model import Model, batch_arrays, evaluate
from async_gnn.train import TrainConfig, train

from async_gnn import data, losses


@pytest.fixture(scope="module")
def tiny_bfs():
    return data.generate("bfs", num_samples=96, length=8, seed=7)


@pytest.mark.smoke
def test_smoke_training_learns_bfs_pointers(tiny_bfs):
    model = Model.build("mpnn", 16)
    train_set, test_set = tiny_bfs.take(np.arange(64)), tiny_bfs.take(np.arange(64, 96))
    steps = int(tiny_bfs.steps.max())
    untrained = evaluate(model, model.init(jax.random.PRNGKey(0)), test_set, steps).accuracy(test_set.target)
    result = train(model, train_set, TrainConfig(steps=80, batch_size=16, learning_rate=3e-3), (0,))
    first, last = result.task_curve[:5, 0].mean(), result.task_curve[-5:, 0].mean()
    trained = evaluate(model, result.params_of(0), test_set, steps).accuracy(test_set.target)
    assert last < 0.6 * first
    assert trained > untrained + 0.2 and trained > 0.6


def test_regularised_forward_equals_the_synchronous_engine(tiny_bfs):
    batch = tiny_bfs.take(np.arange(4))
    model = Model.build("mpnn", 8)
    params = model.init(jax.random.PRNGKey(1))
    arrays = batch_arrays(batch)
    steps = int(batch.steps.max())
    h0, edge_term = model.encode(params, arrays)
    split = jnp.asarray(np.random.default_rng(0).random((steps, *batch.mask.shape)) < 0.5)
    s_reg, inv = losses.sync_forward_with_invariance(model.layer, params["proc"], h0, edge_term, arrays["mask"],
                                                     arrays["steps"], steps, split)
    s_eng = model.process(params, h0, edge_term, arrays, steps)
    np.testing.assert_allclose(np.asarray(s_reg), np.asarray(s_eng), rtol=1e-5, atol=1e-5)
    assert set(inv) == set(losses.INVARIANCE_TERMS)
