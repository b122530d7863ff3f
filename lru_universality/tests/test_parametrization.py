"""The exp-exp parametrization keeps |lambda| < 1; the ring init is uniform in area; gamma normalization keeps the
state variance near 1 (LRU paper Sec. 3.3, appendix A)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from lru_universality.layers import LRU
from lru_universality.scan import linear_recurrence
from scipy import stats

from lru_universality import parametrization as P


@pytest.mark.parametrize("dtype", [jnp.float32, "x64"])
def test_modulus_below_one_for_every_nu_log(dtype, request):
    if dtype == "x64":
        request.getfixturevalue("x64")
        dtype = jnp.float64
    nu = jnp.concatenate([jnp.linspace(-60, 60, 2001, dtype=dtype), jnp.array([-jnp.inf, jnp.inf], dtype)])
    theta = jnp.linspace(-10, 3, nu.size, dtype=dtype)
    lam = P.lambda_from_params(nu, theta)
    mod = jnp.abs(lam)
    assert bool(jnp.all(jnp.isfinite(lam))) and bool(jnp.all(mod < 1.0))
    np.testing.assert_allclose(np.asarray(P.lambda_modulus(nu)), np.asarray(mod), rtol=1e-5, atol=1e-30)
    # the phase is exp(theta_log) (mod 2 pi) where the modulus is not zero
    keep = np.asarray(mod) > 1e-3
    np.testing.assert_allclose(np.angle(np.asarray(lam))[keep],
                               np.angle(np.exp(1j * np.exp(np.asarray(theta, float))))[keep], atol=1e-4)


def test_exp_exp_formula_in_the_bulk(x64):
    nu, theta = jnp.array([-3.0, 0.0, 1.5]), jnp.array([-1.0, 0.5, 1.0])
    np.testing.assert_allclose(np.asarray(P.lambda_from_params(nu, theta)),
                               np.exp(-np.exp(np.asarray(nu)) + 1j * np.exp(np.asarray(theta))), rtol=1e-14)


def test_ring_init_uniform_in_area():
    r_min, r_max, max_phase = 0.4, 0.95, 3.0
    r, phase = P.ring_radii_phases(jax.random.PRNGKey(0), 100_000, r_min, r_max, max_phase)
    r, phase = np.asarray(r, float), np.asarray(phase, float)
    assert r.min() >= r_min - 1e-6 and r.max() <= r_max + 1e-6 and phase.min() >= 0 and phase.max() <= max_phase
    area = stats.kstest((r**2 - r_min**2) / (r_max**2 - r_min**2), "uniform")
    assert area.pvalue > 1e-3
    # a wrong sampler (r uniform instead of r^2) must fail the same test
    wrong = np.random.default_rng(0).uniform(r_min, r_max, 100_000)
    assert stats.kstest((wrong**2 - r_min**2) / (r_max**2 - r_min**2), "uniform").pvalue < 1e-6
    # and through the exp-exp parameters: nu_log = log(-log r)
    nu, th = P.ring_init(jax.random.PRNGKey(1), 1000, r_min, r_max, max_phase)
    mod = np.asarray(P.lambda_modulus(nu))
    assert mod.min() >= r_min - 1e-5 and mod.max() <= r_max + 1e-5
    assert np.exp(np.asarray(th)).max() <= max_phase + 1e-5


def test_ring_init_rejects_bad_radii():
    with pytest.raises(ValueError, match="r_min"):
        P.ring_radii_phases(jax.random.PRNGKey(0), 3, 0.9, 0.5)


def test_gamma_init_value(x64):
    nu = jnp.log(-jnp.log(jnp.array([0.5, 0.9, 0.99, 0.999999])))
    gamma = np.exp(np.asarray(P.gamma_log_init(nu)))
    np.testing.assert_allclose(gamma, np.sqrt(1 - np.array([0.5, 0.9, 0.99, 0.999999]) ** 2), rtol=1e-9)


@pytest.mark.parametrize("r", [0.5, 0.9, 0.99])
def test_gamma_normalization_keeps_state_variance_near_one(r):
    """White unit-variance input, B = 1: E|x_k|^2 = gamma^2 / (1 - r^2) = 1 at stationarity (LRU Sec. 3.3).
    Checked through the LRU layer (catches multiplying B by gamma_log instead of exp(gamma_log))."""
    nu, th = P.nu_theta_from_polar(jnp.array([r]), jnp.array([0.7]))
    params = {"params": {"nu_log": nu, "theta_log": th, "gamma_log": P.gamma_log_init(nu),
                         "B_re": jnp.ones((1, 1)), "B_im": jnp.zeros((1, 1)), "C_re": jnp.ones((1, 1)),
                         "C_im": jnp.zeros((1, 1)), "D": jnp.zeros((1,))}}
    u = jax.random.normal(jax.random.PRNGKey(int(r * 100)), (400, 1500, 1))
    layer = LRU(d_state=1)
    re = layer.apply(params, u)
    params["params"]["C_re"], params["params"]["C_im"] = jnp.zeros((1, 1)), -jnp.ones((1, 1))  # Re(-i x) = Im x
    im = layer.apply(params, u)
    burn = 1000  # r^(2 * 1000) is negligible for r <= 0.99
    var = float(jnp.mean(re[:, burn:] ** 2 + im[:, burn:] ** 2))
    assert abs(var - 1.0) < 0.05, var
    # without the normalization the variance is 1 / (1 - r^2)
    x = linear_recurrence(P.lambda_from_params(nu, th), u[:, :, 0].T.astype(jnp.complex64))
    raw = float(jnp.mean(jnp.abs(x[burn:]) ** 2))
    assert abs(raw * (1 - r**2) - 1.0) < 0.05
