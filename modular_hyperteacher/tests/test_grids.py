"""Compositional preference grid world: splits, value iteration goldens, demonstrations, masked loss."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from modular_hyperteacher.grids import PreferenceConfig, PreferenceGrid, masked_q_loss, optimal_action_accuracy


@pytest.fixture(scope="module")
def env():
    return PreferenceGrid(PreferenceConfig())


def test_splits(env):
    assert (len(env.codes_id), len(env.codes_ood)) == (69, 23)  # 8 + 28 + 56 = 92 combinations
    nc = PreferenceGrid(PreferenceConfig(task_support="non_compositional"))
    assert np.all(nc.codes_id[:, -1] == 0) and np.all(nc.codes_ood[:, -1] == 1)
    assert len(env.free) == 19


def test_value_iteration_golden(env):
    """One object of reward r right of the agent: Q(right) = r, Q(nothing) = gamma * r."""
    c0 = 0
    right = int(env.next_cell[c0, 2])
    assert right != c0
    far = [c for c in range(len(env.free)) if c not in (c0, right)][-3:]
    cells = jnp.asarray([right, *far])
    q = jax.jit(env.q_values)(jnp.asarray([0.7, 0.0, 0.0, 0.0]), cells)
    full = env.num_masks - 1
    assert float(q[c0, full, 2]) == pytest.approx(0.7, rel=1e-6)
    assert float(q[c0, full, 0]) == pytest.approx(0.9 * 0.7, rel=1e-6)
    assert float(jnp.max(q[right, full - 1])) == pytest.approx(0.0, abs=1e-7)  # nothing left to collect


def test_demonstrations(env):
    code = jax.jit(env.sample_code, static_argnums=1)(jax.random.PRNGKey(0), "train")
    obs, q, valid = jax.jit(env.demonstrate)(jax.random.PRNGKey(1), code)
    t = env.cfg.timelimit
    assert obs.shape == (t, env.observation_dim) and q.shape == (t, 5)
    v = np.asarray(valid)
    assert v[0] and np.all(v[np.argmin(v):] == v[np.argmin(v)])  # valid steps are a prefix
    grid = np.asarray(obs).reshape(t, 7, 7, -1)
    np.testing.assert_array_equal(grid[0, :, :, -1], env.walls)
    np.testing.assert_array_equal(grid[:, :, :, -2].sum((1, 2)), 1.0)
    # the episode ends exactly after the first greedy 'nothing' action
    greedy = np.asarray(jnp.argmax(q, -1))
    first_stop = int(np.argmax(greedy == 0)) if np.any(greedy[v] == 0) else t
    np.testing.assert_array_equal(v, np.arange(t) <= first_stop)


def test_sample_and_masked_loss(env):
    batch = jax.jit(env.sample, static_argnums=(1, 2, 3, 4))(jax.random.PRNGKey(0), 3, 2, 2, "ood")
    assert batch.x_support.shape == (3, 2 * env.cfg.timelimit, env.observation_dim)
    assert batch.y_query.shape == (3, 2 * env.cfg.timelimit, 6)
    ood = {c.tobytes() for c in env.codes_ood}
    assert all((np.asarray(c) > 0).astype(np.float32).tobytes() in ood for c in batch.codes)
    y = batch.y_support[0]
    assert float(masked_q_loss(y[:, :5], y)) == 0.0 and float(optimal_action_accuracy(y[:, :5], y)) == 1.0
    garbage = jnp.where(y[:, -1:] > 0, 0.0, 1e6) * jnp.ones((1, 5))
    assert float(masked_q_loss(y[:, :5] + garbage, y)) == 0.0  # masked steps do not count
