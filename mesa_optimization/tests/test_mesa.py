"""The mesa-layer core: ridge semantics, the two implementations, the custom backward pass (float64)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from mesa_optimization import mesa


def _inputs(T=30, d=6, dv=4, seed=0):
    rng = np.random.default_rng(seed)
    return (jnp.asarray(rng.normal(size=(T, d))), jnp.asarray(rng.normal(size=(T, d))),
            jnp.asarray(rng.normal(size=(T, dv))))


@pytest.mark.parametrize("lam", [0.1, 1.0, 10.0])
def test_both_implementations_equal_direct_ridge_solve(x64, lam):
    q, k, v = _inputs()
    ref = mesa.ridge_reference(q, k, v, lam)
    par = mesa.mesa_attention(q, k, v, lam, method="parallel")
    rec = mesa.mesa_attention(q, k, v, lam, method="recurrent")
    assert par.dtype == jnp.float64 and par.shape == v.shape
    np.testing.assert_allclose(par, ref, atol=1e-8, rtol=0)
    np.testing.assert_allclose(rec, ref, atol=1e-8, rtol=0)
    assert float(jnp.max(jnp.abs(par - rec))) < 1e-10


def test_ridge_normal_equations_hold(x64):
    """W_t from the layer satisfies W_t (sum k k^T + lam I) = sum v k^T, via outputs on a basis of queries."""
    q, k, v = _inputs(T=12, d=5, dv=3)
    lam = 0.7
    t = 9
    basis = jnp.eye(5)
    # W_t e_j = output at step t with query e_j
    w = jax.vmap(lambda e: mesa.mesa_attention(q.at[t].set(e), k, v, lam)[t], out_axes=1)(basis)
    lhs = w @ (k[: t + 1].T @ k[: t + 1] + lam * jnp.eye(5))
    np.testing.assert_allclose(lhs, v[: t + 1].T @ k[: t + 1], atol=1e-10)


def test_large_lambda_limit_is_linear_attention(x64):
    q, k, v = _inputs()
    lam = 1e6
    out = lam * mesa.mesa_attention(q, k, v, lam)
    lin = mesa.causal_linear_attention(q, k, v)
    assert float(jnp.max(jnp.abs(out - lin)) / jnp.max(jnp.abs(lin))) < 1e-4


def test_small_lambda_limit_is_min_norm_least_squares(x64):
    """lam -> 0: W_t = V^T pinv(K^T), including the under-determined steps t < d_k."""
    q, k, v = _inputs(T=10, d=6)
    out = mesa.mesa_attention(q, k, v, 1e-9, method="parallel")
    for t in (2, 5, 9):
        w = v[: t + 1].T @ jnp.linalg.pinv(k[: t + 1].T)
        np.testing.assert_allclose(out[t], w @ q[t], atol=1e-5)


@pytest.mark.parametrize("method", mesa.METHODS)
def test_causality(x64, method):
    q, k, v = _inputs()
    out = mesa.mesa_attention(q, k, v, 1.0, method=method)
    t = 17
    q2, k2, v2 = (a.at[t + 1:].add(3.0) for a in (q, k, v))
    out2 = mesa.mesa_attention(q2, k2, v2, 1.0, method=method)
    np.testing.assert_allclose(out2[: t + 1], out[: t + 1], atol=1e-12)
    assert float(jnp.max(jnp.abs(out2[t + 1:] - out[t + 1:]))) > 1e-3


@pytest.mark.parametrize("lam", [0.05, 1.0, 20.0])
def test_custom_backward_matches_autodiff(x64, lam):
    q, k, v = _inputs(T=25, d=5, dv=3, seed=1)
    w = jnp.asarray(np.random.default_rng(2).normal(size=v.shape))

    def loss(fn):
        return lambda q, k, v, lam: jnp.sum(w * fn(q, k, v, lam)) + 0.3 * jnp.sum(fn(q, k, v, lam) ** 2)

    def autodiff_scan(q, k, v, lam):  # autodiff straight through the forward scan (no custom rule)
        return mesa.causal_linear_attention(mesa._rls_scan(q, k, lam)[0], k, v)

    args = (q, k, v, jnp.float64(lam))
    grad = lambda fn: jax.jit(jax.grad(loss(fn), argnums=(0, 1, 2, 3)))
    custom = grad(mesa.mesa_attention_recurrent)(*args)
    for ref_fn in (autodiff_scan, mesa.mesa_attention_parallel):
        ref = grad(ref_fn)(*args)
        for name, a, b in zip("qkvl", custom, ref):
            np.testing.assert_allclose(a, b, rtol=1e-7, atol=1e-9, err_msg=f"d/d{name}")
    assert abs(float(custom[3])) > 1e-6  # d/dlam is exercised, not trivially zero


def test_custom_backward_under_vmap_and_jit(x64):
    rng = np.random.default_rng(3)
    q, k = (jnp.asarray(rng.normal(size=(3, 2, 15, 4))) for _ in range(2))
    v = jnp.asarray(rng.normal(size=(3, 2, 15, 3)))
    lam = jnp.asarray([0.5, 2.0])
    batched = lambda fn: jax.vmap(jax.vmap(fn, in_axes=(0, 0, 0, 0)), in_axes=(0, 0, 0, None))
    f = lambda fn: jax.jit(jax.grad(lambda *a: jnp.sum(batched(fn)(*a) ** 2), argnums=(0, 1, 2, 3)))
    g1 = f(mesa.mesa_attention_recurrent)(q, k, v, lam)
    g2 = f(mesa.mesa_attention_parallel)(q, k, v, lam)
    for a, b in zip(g1, g2):
        np.testing.assert_allclose(a, b, rtol=1e-8, atol=1e-10)


@pytest.mark.parametrize("lam_paper", [1.0, 100.0])
def test_reverse_sherman_morrison_recovers_initial_state(x64, lam_paper):
    """R_{t-1} = R_t + R_t k k^T R_t / (1 - k^T R_t k) walks back to R_0 = lam_paper I (T=200, d=16)."""
    rng = np.random.default_rng(4)
    k = jnp.asarray(rng.normal(size=(200, 16)) / 4)
    _, r_T = mesa._rls_scan(k, k, jnp.float64(1.0 / lam_paper))

    def back(r, k_t):
        rk = r @ k_t
        return r + jnp.outer(rk, rk) / (1.0 - k_t @ rk), None

    r, _ = jax.lax.scan(back, r_T, k, reverse=True)
    err = float(jnp.max(jnp.abs(r - lam_paper * jnp.eye(16)))) / lam_paper
    assert err < 1e-10


def test_float32_default_and_errors():
    q, k, v = _inputs()
    q, k, v = (a.astype(jnp.float32) for a in (q, k, v))
    out = mesa.mesa_attention(q, k, v, 1.0)
    assert out.dtype == jnp.float32
    np.testing.assert_allclose(out, mesa.mesa_attention(q, k, v, 1.0, method="parallel"), atol=1e-4)
    with pytest.raises(ValueError, match="method"):
        mesa.mesa_attention(q, k, v, 1.0, method="cg")
    with pytest.raises(ValueError, match="vmap"):
        mesa.mesa_attention(q[None], k[None], v[None], 1.0)
