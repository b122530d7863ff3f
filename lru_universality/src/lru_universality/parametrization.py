"""The LRU's eigenvalue parametrization and initialization (LRU paper, Sec. 3.3 and appendix A).

* exp-exp ("stable exponential") parametrization: lam = exp(-exp(nu_log) + i exp(theta_log)), so
  |lam| = exp(-exp(nu_log)) < 1 for every real nu_log;
* ring initialization: |lam|^2 uniform on [r_min^2, r_max^2] (uniform in *area* of the ring), phase uniform on
  [0, max_phase];
* gamma normalization: gamma = sqrt(1 - |lam|^2) multiplies the rows of B so that a unit-variance white input gives
  a unit-variance state.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp


def _min_decay(dtype: jnp.dtype) -> float:
    # exp(-d) rounds to 1 once d < eps/2, and |exp(-d + i theta)| carries a few ulps of rounding: clamping the decay
    # rate at 16 eps keeps |lam| < 1 in floating point (|lam| <= 1 - 1.9e-6 in float32, 1 - 3.6e-15 in float64).
    return 16 * float(jnp.finfo(dtype).eps)


def lambda_from_params(nu_log: jax.Array, theta_log: jax.Array) -> jax.Array:
    """lam = exp(-exp(nu_log) + i exp(theta_log)) (LRU eq. 6).

    The decay exp(nu_log) is clamped below at 16 machine epsilons (|lam| <= 1 - 1.9e-6 in float32): without it
    nu_log < -17 would round |lam| to exactly 1. The clamp only acts beyond any radius the LRU paper uses (PathX:
    r_max = 0.9999, a decay of 1e-4).
    """
    nu_log, theta_log = jnp.asarray(nu_log), jnp.asarray(theta_log)
    decay = jnp.maximum(jnp.exp(nu_log), _min_decay(nu_log.dtype))
    return jnp.exp(-decay + 1j * jnp.exp(theta_log))


def lambda_modulus(nu_log: jax.Array) -> jax.Array:
    """|lam| = exp(-exp(nu_log)), with the same clamp as :func:`lambda_from_params`."""
    nu_log = jnp.asarray(nu_log)
    return jnp.exp(-jnp.maximum(jnp.exp(nu_log), _min_decay(nu_log.dtype)))


def ring_radii_phases(key: jax.Array, n: int, r_min: float = 0.0, r_max: float = 1.0,
                      max_phase: float = 2 * jnp.pi, dtype=jnp.float32) -> tuple[jax.Array, jax.Array]:
    """Radii and phases of n eigenvalues sampled uniformly in area on the ring r_min <= |lam| <= r_max with
    phase in [0, max_phase] (LRU Lemma 3.2): r^2 ~ U[r_min^2, r_max^2], not r ~ U[r_min, r_max]."""
    if not 0.0 <= r_min <= r_max <= 1.0:
        raise ValueError(f"need 0 <= r_min <= r_max <= 1, got r_min={r_min}, r_max={r_max}")
    k_r, k_p = jax.random.split(key)
    u1 = jax.random.uniform(k_r, (n,), dtype)
    u2 = jax.random.uniform(k_p, (n,), dtype)
    r2 = u1 * (r_max**2 - r_min**2) + r_min**2
    return jnp.sqrt(r2), max_phase * u2


def nu_theta_from_polar(radius: jax.Array, phase: jax.Array) -> tuple[jax.Array, jax.Array]:
    """Invert the exp-exp parametrization: nu_log = log(-log r), theta_log = log(phase).

    Radii are clipped into (0, 1) so that r = 0 or r = 1 give finite parameters.
    """
    radius = jnp.asarray(radius)
    tiny = jnp.finfo(radius.dtype).tiny
    r = jnp.clip(radius, tiny, 1.0 - jnp.finfo(radius.dtype).epsneg)
    phase = jnp.maximum(jnp.asarray(phase, radius.dtype), tiny)
    return jnp.log(-jnp.log(r)), jnp.log(phase)


def ring_init(key: jax.Array, n: int, r_min: float = 0.0, r_max: float = 1.0, max_phase: float = 2 * jnp.pi,
              dtype=jnp.float32) -> tuple[jax.Array, jax.Array]:
    """(nu_log, theta_log) for n eigenvalues drawn by :func:`ring_radii_phases` (LRU appendix A defaults:
    r_min 0, r_max 1, max_phase 2 pi)."""
    return nu_theta_from_polar(*ring_radii_phases(key, n, r_min, r_max, max_phase, dtype))


def gamma_log_init(nu_log: jax.Array) -> jax.Array:
    """log gamma = log sqrt(1 - |lam|^2) (LRU Sec. 3.3, "normalization"); computed from nu_log stably."""
    # 1 - |lam|^2 = 1 - exp(-2 exp(nu_log)) = -expm1(-2 exp(nu_log)): no cancellation for |lam| near 1.
    decay = jnp.maximum(jnp.exp(nu_log), _min_decay(jnp.asarray(nu_log).dtype))
    return 0.5 * jnp.log(-jnp.expm1(-2.0 * decay))
