"""CLRS data layout, the pointer loss and the invariance regularisers."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from async_gnn.model import Model, invariance_losses

from async_gnn import data, losses
from repro_shared import clrs

BF_VAL_DIGEST = "8863f47fbff88cb0e8a7e4002c46711de520ff08"  # pinned in repro_shared's tests too


@pytest.fixture(scope="module")
def bf_val():
    return data.load("bellman_ford", "val")


def test_clrs30_bellman_ford_val_split_is_the_pinned_one():
    assert clrs.digest(clrs.load_split("bellman_ford", "val")) == BF_VAL_DIGEST


def test_batches_are_receiver_major_and_targets_are_in_neighbours(bf_val):
    b = bf_val
    assert b.nodes.shape == (32, 16, 2) and b.edges.shape == (32, 16, 16, 2) and b.mask.shape == (32, 16, 16)
    np.testing.assert_array_equal(b.edges[..., 0], b.A.transpose(0, 2, 1).astype(np.float32))
    assert b.mask[:, np.arange(16), np.arange(16)].all()  # self-loops
    # the parent u of v sends to v: mask[v, u]
    rows = np.arange(32)[:, None], np.arange(16)[None, :]
    assert b.mask[rows[0], rows[1], b.target].all()
    np.testing.assert_array_equal(b.nodes[..., 1].argmax(-1), b.source)
    assert b.steps.min() >= 1 and b.steps.max() <= 16
    sub = b.take(np.array([[0, 1], [2, 3]]))  # a leading axis of seeds
    assert sub.nodes.shape == (2, 2, 16, 2) and sub.target.shape == (2, 2, 16)


def test_bad_task_is_rejected():
    with pytest.raises(ValueError, match="'algorithm'"):
        data.load("dijkstra", "val")


def test_pointer_loss_by_hand():
    logits = jnp.array([[[0.0, np.log(3.0), -np.inf], [0.0, 0.0, 0.0]]])
    target = jnp.array([[1, 2]])
    # node 0: p(1) = 3/4; node 1: p(2) = 1/3
    want = -(np.log(0.75) + np.log(1 / 3)) / 2
    np.testing.assert_allclose(float(losses.pointer_loss(logits, target)), want, rtol=1e-6)


@pytest.fixture(scope="module")
def measured(bf_val):
    batch = bf_val.take(np.arange(8))
    out = {}
    for name in ("mpnn", "l2", "maxmax"):
        model = Model.build(name, 8)
        out[name] = invariance_losses(model, model.init(jax.random.PRNGKey(0)), batch, int(batch.steps.max()),
                                      np.random.default_rng(0))
    return out


def test_invariance_losses_vanish_exactly_for_the_invariant_layer(measured):
    assert measured["maxmax"] == {"action": 0.0, "cocycle": 0.0, "homomorphism": 0.0}


def test_invariance_losses_detect_what_each_layer_lacks(measured):
    assert measured["l2"]["action"] == 0.0 and measured["l2"]["cocycle"] == 0.0
    assert measured["l2"]["homomorphism"] > 1e-4
    assert all(v > 1e-4 for v in measured["mpnn"].values())
