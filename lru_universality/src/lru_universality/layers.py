"""Diagonal linear recurrent layers (flax linen): the LRU and the two baselines it is compared with.

All three map u (B, T, H) -> y (B, T, H) through a diagonal state x_t = lam * x_{t-1} + B u_t of size N
(:func:`lru_universality.scan.linear_recurrence`), then y_t = Re(C x_t) + D * u_t.

* :class:`LRU` (LRU paper, appendix A): complex lam = exp(-exp(nu_log) + i exp(theta_log)), ring init, trained
  gamma normalization of B, complex B and C.
* :class:`RealDiagonalRecurrence`: the real-eigenvalue ablation: lam = exp(-exp(nu_log)) in (0, 1), real B and C.
  Give it twice the state size of a complex layer to compare at equal state memory.
* :class:`S4DRecurrence`: S4D/S5-style: continuous-time diagonal A = -exp(log_a_re) + i a_im with the S4D-Lin init
  (-1/2 + i pi n), a learnt step size per state and zero-order-hold discretization lam = exp(dt A),
  B_bar = (lam - 1) / A * B (S5 uses a MIMO B and C like here).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable

import flax.linen as nn
import jax
import jax.numpy as jnp

from lru_universality import parametrization as P
from lru_universality.scan import DEFAULT_METHOD, METHODS, linear_recurrence

KINDS: tuple[str, ...] = ("lru", "real", "s4d")
# Parameters that the LRU paper trains with a reduced learning rate and no weight decay (appendix D).
RECURRENT_PARAM_NAMES = frozenset({"nu_log", "theta_log", "gamma_log", "B_re", "B_im", "B", "log_a_re", "a_im",
                                   "log_step"})


@dataclasses.dataclass(frozen=True)
class RecurrenceConfig:
    """Which diagonal recurrence a block uses and how it is initialised.

    ``d_state`` is N: complex units for "lru" and "s4d", real units for "real".
    """

    kind: str = "lru"
    d_state: int = 64
    r_min: float = 0.0
    r_max: float = 1.0
    max_phase: float = 2 * math.pi
    gamma_norm: bool = True
    scan_method: str = DEFAULT_METHOD
    dt_min: float = 1e-3  # s4d only: step-size init range (log-uniform)
    dt_max: float = 1e-1

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"invalid value for 'kind': {self.kind!r} (allowed: {', '.join(KINDS)})")
        if self.scan_method not in METHODS:
            raise ValueError(f"invalid value for 'scan_method': {self.scan_method!r} (allowed: {', '.join(METHODS)})")
        if not 0.0 <= self.r_min <= self.r_max <= 1.0:
            raise ValueError(f"invalid ring radii: need 0 <= r_min <= r_max <= 1, got {self.r_min}, {self.r_max}")


def _normal(std: float) -> Callable:
    return lambda key, shape, dtype=jnp.float32: std * jax.random.normal(key, shape, dtype)


def _run(lam: jax.Array, b: jax.Array, u: jax.Array, method: str) -> jax.Array:
    """States (B, T, N) for inputs u (B, T, H) and input matrix b (N, H); time-major inside for the scan."""
    bu = jnp.einsum("bth,nh->tbn", u.astype(b.dtype), b)
    return jnp.swapaxes(linear_recurrence(lam, bu, method), 0, 1)


def _batched(fn: Callable[[jax.Array], jax.Array], u: jax.Array) -> jax.Array:
    if u.ndim == 2:
        return fn(u[None])[0]
    if u.ndim != 3:
        raise ValueError(f"expected inputs of shape (B, T, H) or (T, H), got {u.shape}")
    return fn(u)


class LRU(nn.Module):
    """Linear Recurrent Unit (LRU paper, appendix A): y_t = Re(C x_t) + D u_t, x_t = lam x_{t-1} + gamma B u_t."""

    d_state: int
    r_min: float = 0.0
    r_max: float = 1.0
    max_phase: float = 2 * math.pi
    gamma_norm: bool = True
    scan_method: str = DEFAULT_METHOD

    @nn.compact
    def __call__(self, u: jax.Array) -> jax.Array:
        n, h = self.d_state, u.shape[-1]
        nu_log = self.param("nu_log", lambda k: P.nu_theta_from_polar(
            P.ring_radii_phases(k, n, self.r_min, self.r_max, self.max_phase)[0], 1.0)[0])
        theta_log = self.param("theta_log", lambda k: P.nu_theta_from_polar(
            0.5, P.ring_radii_phases(k, n, self.r_min, self.r_max, self.max_phase)[1])[1])
        b_re = self.param("B_re", _normal(1 / math.sqrt(2 * h)), (n, h))
        b_im = self.param("B_im", _normal(1 / math.sqrt(2 * h)), (n, h))
        c_re = self.param("C_re", _normal(1 / math.sqrt(n)), (h, n))
        c_im = self.param("C_im", _normal(1 / math.sqrt(n)), (h, n))
        d = self.param("D", _normal(1.0), (h,))
        lam = P.lambda_from_params(nu_log, theta_log)
        b = b_re + 1j * b_im
        if self.gamma_norm:
            gamma_log = self.param("gamma_log", lambda _: P.gamma_log_init(nu_log))
            b = b * jnp.exp(gamma_log)[:, None]
        c = c_re + 1j * c_im

        def forward(u3: jax.Array) -> jax.Array:
            x = _run(lam, b, u3, self.scan_method)
            return jnp.einsum("btn,hn->bth", x, c).real + d * u3

        return _batched(forward, u)


class RealDiagonalRecurrence(nn.Module):
    """Real-eigenvalue baseline: lam = exp(-exp(nu_log)) in (0, 1), radii ring-initialised like the LRU's;
    real B (optionally gamma-normalised) and C; y_t = C x_t + D u_t."""

    d_state: int
    r_min: float = 0.0
    r_max: float = 1.0
    gamma_norm: bool = True
    scan_method: str = DEFAULT_METHOD

    @nn.compact
    def __call__(self, u: jax.Array) -> jax.Array:
        n, h = self.d_state, u.shape[-1]
        nu_log = self.param("nu_log", lambda k: P.nu_theta_from_polar(
            P.ring_radii_phases(k, n, self.r_min, self.r_max, 0.0)[0], 1.0)[0])
        b = self.param("B", _normal(1 / math.sqrt(h)), (n, h))
        c = self.param("C", _normal(1 / math.sqrt(n)), (h, n))
        d = self.param("D", _normal(1.0), (h,))
        lam = P.lambda_modulus(nu_log)
        if self.gamma_norm:
            gamma_log = self.param("gamma_log", lambda _: P.gamma_log_init(nu_log))
            b = b * jnp.exp(gamma_log)[:, None]

        def forward(u3: jax.Array) -> jax.Array:
            x = _run(lam, b, u3, self.scan_method)
            return jnp.einsum("btn,hn->bth", x, c) + d * u3

        return _batched(forward, u)


class S4DRecurrence(nn.Module):
    """S4D/S5-style diagonal SSM: A_n = -exp(log_a_re_n) + i a_im_n (S4D-Lin init -1/2 + i pi n), step
    dt_n = exp(log_step_n) log-uniform in [dt_min, dt_max], ZOH: lam = exp(dt A), B_bar = (lam - 1) / A * B."""

    d_state: int
    dt_min: float = 1e-3
    dt_max: float = 1e-1
    scan_method: str = DEFAULT_METHOD

    @nn.compact
    def __call__(self, u: jax.Array) -> jax.Array:
        n, h = self.d_state, u.shape[-1]
        log_a_re = self.param("log_a_re", lambda _: jnp.full((n,), math.log(0.5)))
        a_im = self.param("a_im", lambda _: math.pi * jnp.arange(n, dtype=jnp.float32))
        log_step = self.param("log_step", lambda k: jax.random.uniform(
            k, (n,), minval=math.log(self.dt_min), maxval=math.log(self.dt_max)))
        b_re = self.param("B_re", _normal(1 / math.sqrt(2 * h)), (n, h))
        b_im = self.param("B_im", _normal(1 / math.sqrt(2 * h)), (n, h))
        c_re = self.param("C_re", _normal(1 / math.sqrt(n)), (h, n))
        c_im = self.param("C_im", _normal(1 / math.sqrt(n)), (h, n))
        d = self.param("D", _normal(1.0), (h,))
        a = -jnp.exp(log_a_re) + 1j * a_im
        dt_a = jnp.exp(log_step) * a
        lam = jnp.exp(dt_a)
        # (lam - 1) / A = dt * expm1(dt A) / (dt A): written with dt to stay finite as A -> 0.
        b = (jnp.expm1(dt_a) / a)[:, None] * (b_re + 1j * b_im)
        c = c_re + 1j * c_im

        def forward(u3: jax.Array) -> jax.Array:
            x = _run(lam, b, u3, self.scan_method)
            return jnp.einsum("btn,hn->bth", x, c).real + d * u3

        return _batched(forward, u)


def make_recurrence(cfg: RecurrenceConfig, name: str | None = None) -> nn.Module:
    """The recurrent layer a :class:`RecurrenceConfig` names."""
    if cfg.kind == "lru":
        return LRU(cfg.d_state, cfg.r_min, cfg.r_max, cfg.max_phase, cfg.gamma_norm, cfg.scan_method, name=name)
    if cfg.kind == "real":
        return RealDiagonalRecurrence(cfg.d_state, cfg.r_min, cfg.r_max, cfg.gamma_norm, cfg.scan_method, name=name)
    return S4DRecurrence(cfg.d_state, cfg.dt_min, cfg.dt_max, cfg.scan_method, name=name)
