"""Ridge decoding and the module-identification metric."""

import jax
import jax.numpy as jnp
import numpy as np

from modular_hyperteacher import identification


def test_ridge_matches_numpy_closed_form_primal_and_dual():
    rng = np.random.default_rng(0)
    for n, d in [(50, 5), (5, 50)]:
        x, y = rng.normal(size=(n, d)), rng.normal(size=(n, 3))
        w = identification.ridge_fit(jnp.asarray(x), jnp.asarray(y), 0.7)
        ref = np.linalg.solve(x.T @ x + 0.7 * np.eye(d), x.T @ y)
        np.testing.assert_allclose(np.asarray(w), ref, rtol=1e-3, atol=1e-4)


def test_r2_is_one_on_noiseless_linear_codes_and_low_on_noise():
    rng = np.random.default_rng(1)
    z = rng.uniform(size=(200, 4)).astype(np.float32)
    a = rng.normal(size=(4, 12)).astype(np.float32)
    x = z @ a
    r2 = identification.ridge_r2(x[:100], z[:100], x[100:], z[100:], l2=1e-3)
    np.testing.assert_allclose(np.asarray(r2), 1.0, atol=1e-3)
    noise = rng.normal(size=x.shape).astype(np.float32)
    assert float(jnp.mean(identification.ridge_r2(noise[:100], z[:100], noise[100:], z[100:], l2=1.0))) < 0.2


def test_intercept_column_is_row_not_all_zero():
    x = jnp.asarray([[1.0, 2.0], [0.0, 0.0]])
    np.testing.assert_array_equal(np.asarray(identification._with_intercept(x))[:, -1], [1.0, 0.0])


def _teacher_and_transformed_student(key):
    k1, k2, k3, k4 = jax.random.split(key, 4)
    m, d_in, h = 6, 16, 16
    teacher = jax.random.normal(k1, (m, d_in, h))
    f = jax.random.normal(k2, (m, m)) + 3 * jnp.eye(m)  # invertible code map: z_student = F z
    # student: Theta_hat = F^-T Theta over the module index, hidden units permuted, positively rescaled and duplicated
    theta = jnp.einsum("st,tih->sih", jnp.linalg.inv(f).T, teacher)
    perm = jax.random.permutation(k3, h)
    scale = jax.random.uniform(k4, (h,), minval=0.5, maxval=2.0)
    student = jnp.concatenate([theta[:, :, perm] * scale, theta[:, :, perm]], axis=2)
    return teacher, student, f, perm


def test_module_alignment_is_one_for_a_linearly_transformed_teacher():
    teacher, student, f, perm = _teacher_and_transformed_student(jax.random.PRNGKey(0))
    # the student reproduces the teacher's weights (up to unit permutation and scale) at the code F z
    z = jax.random.uniform(jax.random.PRNGKey(1), (6,))
    w_t = jnp.einsum("t,tih->ih", z, teacher)
    w_s = jnp.einsum("s,sih->ih", f @ z, student)
    np.testing.assert_allclose(np.asarray(w_s[:, 16:]), np.asarray(w_t[:, perm]), rtol=1e-3, atol=1e-3)
    zs = jax.random.uniform(jax.random.PRNGKey(2), (100, 6))
    g = identification.code_map(zs, zs @ f.T)
    np.testing.assert_allclose(np.asarray(g), np.asarray(f), atol=1e-3)
    assert float(identification.module_alignment(teacher, student, g)) > 0.999


def test_module_alignment_is_low_for_a_random_student():
    teacher, student, f, _ = _teacher_and_transformed_student(jax.random.PRNGKey(0))
    random_student = jax.random.normal(jax.random.PRNGKey(5), student.shape)
    assert float(identification.module_alignment(teacher, random_student, f)) < 0.5
