"""Bilevel meta-learning: hand-computed meta-gradients, the cached ANIL path, inner adaptation."""

import dataclasses

import jax
import jax.flatten_util
import jax.numpy as jnp
import numpy as np
import pytest
from modular_hyperteacher.hyperteacher import HyperTeacher, HyperTeacherConfig, TaskBatch
from modular_hyperteacher.metalearn import METHOD_DEFAULTS, MetaLearner, MetaLearnerConfig, kl_loss
from modular_hyperteacher.students import make_student


class ScalarStudent:
    """phi_0 = theta; prediction = phi for every shot."""

    def init(self, rng):
        return {"theta": jnp.zeros(())}

    def reset(self, meta):
        return meta["theta"]

    def apply(self, meta, fast, x):
        return jnp.broadcast_to(fast, x.shape)


def half_sq(pred, target):
    return 0.5 * jnp.mean((pred - target) ** 2)


@pytest.mark.parametrize("steps,first_order,expected", [
    (1, False, -0.75), (1, True, -1.5), (2, False, -0.3125), (2, True, -1.25)])
def test_meta_gradient_by_hand(steps, first_order, expected):
    """L_s = (phi - 1)^2 / 2, L_q = (phi - 2)^2 / 2, SGD lr 0.5 from phi_0 = theta = 0."""
    cfg = MetaLearnerConfig(inner_steps=steps, inner_lr=0.5, inner_optimizer="sgd", first_order=first_order)
    learner = MetaLearner(ScalarStudent(), cfg, loss_fn=half_sq, metric_fn=half_sq)
    task = TaskBatch(jnp.zeros((1, 1)), jnp.ones((1, 1)), jnp.zeros((1, 1)), 2 * jnp.ones((1, 1)), jnp.zeros(1))
    grad = jax.grad(lambda m: learner.task_loss(m, task, jax.random.PRNGKey(0))[0])({"theta": jnp.zeros(())})
    assert float(grad["theta"]) == pytest.approx(expected, rel=1e-6)


@pytest.fixture(scope="module")
def tasks():
    teacher = HyperTeacher(HyperTeacherConfig(num_experts=4))
    return teacher.sample(jax.random.PRNGKey(0), 4, 32, 32, "train")


def test_cached_anil_equals_per_step_recomputation(tasks):
    """Adapting the head on cached body features = the reference's recomputation at every inner step."""
    student = make_student("anil", input_dim=16, output_dim=8, hidden_dim=16, num_hidden=2)
    cfg = dataclasses.replace(METHOD_DEFAULTS["anil"], inner_steps=5, inner_batch_size=8)
    cached = MetaLearner(student, cfg)
    naive = MetaLearner(student, dataclasses.replace(cfg, cache_features=False))
    assert cached.uses_cached_features and not naive.uses_cached_features
    meta = cached.init(jax.random.PRNGKey(1)).meta
    rng = jax.random.PRNGKey(2)
    task = jax.tree_util.tree_map(lambda a: a[0], tasks)
    fast_c = cached.adapt(meta, task.x_support, task.y_support, rng)
    fast_n = naive.adapt(meta, task.x_support, task.y_support, rng)
    for a, b in zip(jax.tree_util.tree_leaves(fast_c), jax.tree_util.tree_leaves(fast_n)):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-4, atol=1e-6)
    two = jax.tree_util.tree_map(lambda a: a[:2], tasks)
    g_c = jax.jit(jax.grad(lambda m: cached.batch_loss(m, two, rng)[0]))(meta)
    g_n = jax.jit(jax.grad(lambda m: naive.batch_loss(m, two, rng)[0]))(meta)
    for a, b in zip(jax.tree_util.tree_leaves(g_c), jax.tree_util.tree_leaves(g_n)):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-3, atol=1e-6)


@pytest.mark.parametrize("name", ["hnet_linear", "hnet_deepmlp", "anil", "learned_init"])
def test_inner_loop_reduces_the_support_loss(name, tasks):
    student = make_student(name, input_dim=16, output_dim=8, hidden_dim=32, num_hidden=3, num_modules=16)
    learner = MetaLearner(student, METHOD_DEFAULTS[name])
    meta = learner.init(jax.random.PRNGKey(0)).meta
    task = jax.tree_util.tree_map(lambda a: a[0], tasks)
    loss = jax.jit(lambda fast: kl_loss(student.apply(meta, fast, task.x_support), task.y_support))
    before = loss(student.reset(meta))
    after = loss(jax.jit(learner.adapt)(meta, task.x_support, task.y_support, jax.random.PRNGKey(1)))
    assert float(after) < float(before)


def test_second_order_meta_gradient_matches_finite_differences(tasks):
    """AdamW inner loop with eps_root > 0: autodiff through the unroll = central differences (float64).

    MAML (no stop-gradient anywhere; the hypernetworks' embedding normalization stops the gradient of its scale
    on purpose, so their meta-gradient is not the derivative of the loss)."""
    with jax.enable_x64(True):
        student = make_student("learned_init", input_dim=16, output_dim=8, hidden_dim=8, num_hidden=1)
        learner = MetaLearner(student, dataclasses.replace(METHOD_DEFAULTS["learned_init"], inner_steps=3))
        meta = jax.tree_util.tree_map(lambda a: a.astype(jnp.float64), learner.init(jax.random.PRNGKey(0)).meta)
        task = jax.tree_util.tree_map(lambda a: jnp.asarray(a[0, :8], jnp.float64), tasks)
        flat, unravel = jax.flatten_util.ravel_pytree(meta)

        def loss(v):
            return learner.task_loss(unravel(v), task, jax.random.PRNGKey(1))[0]

        g = jax.grad(loss)(flat)
        assert bool(jnp.all(jnp.isfinite(g)))
        for i in (0, 37, len(flat) - 1):
            d = jnp.zeros_like(flat).at[i].set(1.0)
            fd = (loss(flat + 1e-6 * d) - loss(flat - 1e-6 * d)) / 2e-6
            assert float(g[i]) == pytest.approx(float(fd), rel=1e-4, abs=1e-9)


@pytest.mark.parametrize("name", ["hnet_linear", "learned_init"])
def test_remat_of_the_inner_steps_keeps_the_meta_gradient(name, tasks):
    """inner_remat="dots" (recompute the elementwise residuals in the backward pass) = keeping them all."""
    student = make_student(name, input_dim=16, output_dim=8, hidden_dim=16, num_hidden=3, num_modules=8)
    cfg = dataclasses.replace(METHOD_DEFAULTS[name], inner_steps=4)
    grads = {}
    for remat in ("all", "dots"):
        learner = MetaLearner(student, dataclasses.replace(cfg, inner_remat=remat))
        meta = learner.init(jax.random.PRNGKey(0)).meta
        grads[remat] = jax.jit(jax.grad(lambda m, lr=learner: lr.batch_loss(m, tasks, jax.random.PRNGKey(1))[0]))(meta)
    for a, b in zip(jax.tree_util.tree_leaves(grads["all"]), jax.tree_util.tree_leaves(grads["dots"])):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-3, atol=1e-6)
    assert any(float(jnp.max(jnp.abs(g))) > 0 for g in jax.tree_util.tree_leaves(grads["dots"]))


def test_unknown_inner_remat_raises():
    with pytest.raises(ValueError, match="inner_remat must be one of"):
        MetaLearner(ScalarStudent(), MetaLearnerConfig(inner_remat="everything"))
