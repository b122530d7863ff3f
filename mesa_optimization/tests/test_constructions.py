"""Hand-built mesa-optimizers: Prop. 1 as a linear-attention layer, GD, least squares, Prop. 2 (float64)."""

import jax
import jax.numpy as jnp
import numpy as np

from mesa_optimization import constructions as cons
from mesa_optimization import data, models

CausalAttention = models.CausalAttention


def _traj(batch=8, T=30, d=4, seed=0):
    s = data.sample_batch(jax.random.PRNGKey(seed), batch, T, d)
    return data.inputs_targets(s.astype(jnp.float64))


def test_prop1_layer_is_one_gd_step_from_any_phi0(x64):
    """Slot 1 after the layer equals (Phi_0 - eta grad L_t(Phi_0)) s_t for every t (Prop. 1)."""
    d, eta = 4, 0.37
    x, _ = _traj(d=d)
    phi0 = jnp.asarray(np.random.default_rng(0).normal(size=(d, d)))
    prev = cons.previous(x)
    tokens = jnp.concatenate([x @ phi0.T, x, x, prev], axis=-1)
    layer = CausalAttention("linear", num_heads=1, key_size=d, out_dim=4 * d)
    out = layer.apply({"params": cons.prop1_linsa_params(d, eta, np.asarray(phi0))}, tokens)
    new_slot = tokens[..., :d] + out[..., :d]
    grad = jnp.cumsum(jnp.einsum("ij,btj,btk->btik", phi0, prev, prev)
                      - x[..., :, None] * prev[..., None, :], axis=1)  # sum_{t'<=t} (Phi0 s' - s) s'^T
    expected = jnp.einsum("btij,btj->bti", phi0 - eta * grad, x)
    np.testing.assert_allclose(new_slot, expected, atol=1e-12)
    np.testing.assert_allclose(out[..., d:], 0, atol=0)  # nothing else is written


def test_gd1_loss_equals_closed_form_at_line_searched_eta(x64):
    x, y = _traj(batch=64, T=40, d=5)
    g = cons.gd1_predict(x, 1.0)
    b, c = jnp.sum(g * y), jnp.sum(g * g)
    eta = cons.gd1_optimal_eta(x, y)
    np.testing.assert_allclose(eta, b / c, rtol=1e-12)
    n = y.shape[0] * y.shape[1]
    closed = 0.5 * (jnp.sum(y * y) - b ** 2 / c) / n  # min_eta 1/2 ||y - eta g||^2, per position
    loss = jnp.mean(cons.half_squared_error(cons.gd1_predict(x, eta), y))
    np.testing.assert_allclose(loss, closed, rtol=1e-10)
    # and the layer of Prop. 1 on the paper's constructed tokens realises exactly this predictor
    layer = CausalAttention("linear", num_heads=1, key_size=5, out_dim=20)
    out = layer.apply({"params": cons.prop1_linsa_params(5, float(eta))}, data.constructed_tokens(x))
    np.testing.assert_allclose(out[..., :5], cons.gd1_predict(x, eta), atol=1e-12)


def test_gd_steps_and_least_squares(x64):
    x, _ = _traj(d=4)
    eta = 0.01
    np.testing.assert_allclose(cons.gd_predict(x, eta, 1), cons.gd1_predict(x, eta), atol=1e-12)
    a, b = cons.cumulative_moments(x)
    # many small GD steps converge to the (ridge-free) least-squares solution where A_t is well conditioned
    lsq = cons.lsq_predict(x, lam=1e-12)
    gd = cons.gd_predict(x, 0.05, 3000)
    np.testing.assert_allclose(gd[:, -5:], lsq[:, -5:], atol=1e-6)
    # least squares with the current pair fits that pair better than the repo variant without it
    t = 20
    phi = b[:, t] @ jnp.linalg.inv(a[:, t] + 1e-3 * jnp.eye(4))
    np.testing.assert_allclose(cons.lsq_predict(x, 1e-3)[:, t], jnp.einsum("bij,bj->bi", phi, x[:, t]), atol=1e-9)
    assert cons.lsq_predict(x, include_current=False).shape == x.shape


def test_richardson_is_truncated_neumann_series_and_converges(x64):
    rng = np.random.default_rng(1)
    m = rng.normal(size=(5, 5))
    a = jnp.asarray(m @ m.T + 0.5 * np.eye(5))
    s = jnp.asarray(rng.normal(size=5))
    omega = 1.0 / float(jnp.linalg.eigvalsh(a).max())  # omega ||A|| < 2
    k = 7
    x = cons.richardson(a, s, [omega] * k, x0=jnp.zeros(5))
    series = sum(jnp.linalg.matrix_power(jnp.eye(5) - omega * a, j) @ (omega * s) for j in range(k))
    np.testing.assert_allclose(x, series, atol=1e-12)
    x_inf = cons.richardson(a, s, [omega] * 3000, x0=jnp.zeros(5))
    np.testing.assert_allclose(x_inf, jnp.linalg.solve(a, s), atol=1e-8)


def test_prop2_with_many_steps_is_least_squares(x64):
    """Perfect preconditioning (K -> inf) plus one GD step with eta = 1 is ridge least squares (Prop. 2)."""
    x, _ = _traj(d=4)
    mu = 1e-3
    pred = cons.prop2_predict(x, jnp.full((4000,), 0.5), jnp.asarray(1.0), mu=mu)
    np.testing.assert_allclose(pred[:, 10:], cons.lsq_predict(x, mu)[:, 10:], atol=1e-6)
