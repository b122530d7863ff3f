"""Theory teacher/student: code goldens, invariances, and a tiny meta-training run."""

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
from modular_hyperteacher.supports import theory_supports

from modular_hyperteacher import theory

TINY = theory.TheoryConfig(steps=40, log_every=20, inner_steps=20, inner_lr=3e-2, meta_batch_size=8, batch_size=32,
                           eval_tasks=16, eval_batch_size=32, lr=3e-3)


def test_code_goldens():
    np.testing.assert_allclose(np.asarray(theory.discrete_code(jnp.asarray([1.0, 1, 0, 0, 0, 0]))),
                               [0.70710677, 0.70710677, 0, 0, 0, 0], rtol=1e-6)
    code = theory.continuous_code_from_draws(jnp.asarray([1.0, 1.0, 5.0]), jnp.asarray([1.0, 1.0, 0.0]))
    np.testing.assert_allclose(np.asarray(code), [2 / 3, 2 / 3, 0.0], rtol=1e-6)  # w = 1/3 -> 0.5 + 0.5 w
    c = theory.continuous_code(jax.random.PRNGKey(0), jnp.asarray([1.0, 0, 1, 0]))
    assert c[1] == 0 and c[3] == 0 and 0.5 <= c[0] < 1 and 0.5 <= c[2] < 1
    assert theory.all_k_hot(6, 3).shape == (20, 6)


def test_teacher_is_linear_in_code_and_positively_homogeneous():
    model = theory.TheoryModel(TINY)
    state = model.init(0)
    net, params = model.teacher, state.teacher
    z1, z2 = jax.random.uniform(jax.random.PRNGKey(1), (2, 6))
    w = lambda z: net.apply(params, z, method=net.weights)  # noqa: E731
    np.testing.assert_allclose(np.asarray(w(2 * z1 + 3 * z2)), np.asarray(2 * w(z1) + 3 * w(z2)), rtol=1e-4, atol=1e-5)
    x = theory.sample_inputs(jax.random.PRNGKey(2), 10, 16)
    np.testing.assert_allclose(np.asarray(net.apply(params, x, 2.5 * z1)), np.asarray(2.5 * net.apply(params, x, z1)),
                               rtol=1e-4, atol=1e-5)


def test_student_with_transformed_teacher_modules_matches_the_teacher():
    """Theta_hat = F^-T Theta (module index), z_hat = F z reproduces the teacher on every code (Thm. 1)."""
    model = theory.TheoryModel(TINY)
    t = model.init(0).teacher["params"]
    f = jax.random.normal(jax.random.PRNGKey(3), (6, 6)) + 3 * jnp.eye(6)
    student = {"params": {"modules": jnp.linalg.inv(f).T @ t["modules"], "head": t["head"]}}
    x = theory.sample_inputs(jax.random.PRNGKey(4), 50, 16)
    z = theory.continuous_code(jax.random.PRNGKey(5), jnp.asarray([1.0, 0, 1, 1, 0, 0]))
    y_t = model.teacher.apply({"params": t}, x, z)
    y_s = model.teacher.apply(student, x, f @ z)
    np.testing.assert_allclose(np.asarray(y_s), np.asarray(y_t), rtol=1e-3, atol=1e-4)


def test_inner_loop_reduces_the_task_loss():
    cfg = dataclasses.replace(TINY, inner_steps=200)
    model = theory.TheoryModel(cfg)
    state = model.init(0)
    z = jnp.asarray([[1.0, 0, 0, 0, 0, 0], [0, 0.6, 0.7, 0, 0, 0]])
    x = theory.sample_inputs(jax.random.PRNGKey(9), 256, 16)
    y = jax.vmap(model.teacher.apply, in_axes=(None, None, 0))(state.teacher, x, z)

    def loss(z_hat):
        pred = jax.vmap(model.student.apply, in_axes=(None, None, 0))(state.student, x, z_hat)
        return float(theory.half_mse(pred, y))

    before = loss(jnp.broadcast_to(state.z_init, (2, 12)))
    after = loss(model.infer_codes(jax.random.PRNGKey(0), state.student, state.teacher, z, state.z_init))
    assert after < 0.7 * before


def test_tiny_meta_training_lowers_the_loss_and_reports_every_metric():
    supports = [s for s in theory_supports("discrete") if s.generalizing][:1] + theory_supports("discrete")[:1]
    out = theory.train_theory(TINY, supports, [0, 1])
    curve = out["curve"]  # (supports, seeds, chunks)
    assert curve.shape == (2, 2, 2)
    assert np.all(curve[..., -1] < curve[..., 0])
    final = out["final"]
    for h in range(1, 7):
        assert final[f"ood{h}_rel_loss"].shape == (2, 2)
        assert np.all(np.isfinite(final[f"ood{h}_r2"]))
    assert np.all((final["module_alignment"] > 0) & (final["module_alignment"] <= 1.0 + 1e-5))
