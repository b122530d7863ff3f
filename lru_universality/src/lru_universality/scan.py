"""The diagonal linear recurrence x_t = lam * x_{t-1} + bu_t, x_0 = 0 (LRU paper, Sec. 3 and appendix A).

Three implementations that agree to rounding (tests check 1e-10 in complex128, values and gradients):

* :func:`linear_recurrence_associative`: ``jax.lax.associative_scan`` over time with the operator
  (a_i, b_i) • (a_j, b_j) = (a_j a_i, a_j b_i + b_j) (i earlier than j); O(log T) depth, O(T N) extra memory.
* :func:`linear_recurrence_sequential`: ``jax.lax.scan``, one step per time index; O(T) depth.
* :func:`linear_recurrence_loop`: a plain Python loop, the reference the other two are tested against.

:func:`linear_recurrence` dispatches on ``method``; the default is the faster one on CPU per ``bench.py`` (see the
package README, "Performance").
"""

from __future__ import annotations

from typing import Literal

import jax
import jax.numpy as jnp

Method = Literal["associative", "sequential", "loop"]
METHODS: tuple[str, ...] = ("associative", "sequential", "loop")
# lax.scan was faster on 2 CPU cores at T = 1k and 16k in bench.py (README, "Performance").
DEFAULT_METHOD: Method = "sequential"


def binary_operator(e_i: tuple[jax.Array, jax.Array], e_j: tuple[jax.Array, jax.Array]) -> tuple[jax.Array, jax.Array]:
    """Compose two affine maps x -> a x + b, ``e_i`` applied first: (a_j a_i, a_j b_i + b_j).

    Associative but not commutative: swapping the arguments changes the result (tests check both).
    """
    a_i, b_i = e_i
    a_j, b_j = e_j
    return a_j * a_i, a_j * b_i + b_j


def _promote(lam: jax.Array, bu: jax.Array) -> tuple[jax.Array, jax.Array]:
    lam, bu = jnp.asarray(lam), jnp.asarray(bu)
    if bu.ndim < 1 or lam.shape[-1:] != bu.shape[-1:] and lam.size != 1:
        raise ValueError(f"lam shape {lam.shape} must match the last axis of bu shape {bu.shape} (time on axis 0)")
    dtype = jnp.result_type(lam, bu)
    return lam.astype(dtype), bu.astype(dtype)


def linear_recurrence_associative(lam: jax.Array, bu: jax.Array) -> jax.Array:
    """All states x_1..x_T of x_t = lam x_{t-1} + bu_t by a parallel (associative) scan over axis 0.

    ``lam``: (N,) (broadcast against every ``bu[t]``); ``bu``: (T, ..., N). Returns (T, ..., N).
    """
    lam, bu = _promote(lam, bu)
    lams = jnp.broadcast_to(lam, bu.shape)
    _, xs = jax.lax.associative_scan(binary_operator, (lams, bu), axis=0)
    return xs


def linear_recurrence_sequential(lam: jax.Array, bu: jax.Array, *, unroll: int = 1) -> jax.Array:
    """All states of x_t = lam x_{t-1} + bu_t by ``lax.scan`` (one step per time index). Shapes as above."""
    lam, bu = _promote(lam, bu)

    def step(x: jax.Array, b: jax.Array) -> tuple[jax.Array, jax.Array]:
        x = lam * x + b
        return x, x

    _, xs = jax.lax.scan(step, jnp.zeros(bu.shape[1:], bu.dtype), bu, unroll=unroll)
    return xs


def linear_recurrence_loop(lam: jax.Array, bu: jax.Array) -> jax.Array:
    """Reference: a Python loop over time (differentiable, slow; for tests and the benchmark baseline)."""
    lam, bu = _promote(lam, bu)
    x = jnp.zeros(bu.shape[1:], bu.dtype)
    xs = []
    for t in range(bu.shape[0]):
        x = lam * x + bu[t]
        xs.append(x)
    return jnp.stack(xs)


_IMPLEMENTATIONS = {
    "associative": linear_recurrence_associative,
    "sequential": linear_recurrence_sequential,
    "loop": linear_recurrence_loop,
}


def linear_recurrence(lam: jax.Array, bu: jax.Array, method: Method = DEFAULT_METHOD) -> jax.Array:
    """x_t = lam * x_{t-1} + bu_t elementwise, x_0 = 0; ``lam`` (N,), ``bu`` (T, N) (extra batch axes allowed
    between time and N); returns all states (T, N).

    ``method``: "associative" (``lax.associative_scan``), "sequential" (``lax.scan``) or "loop" (Python reference).
    """
    if method not in _IMPLEMENTATIONS:
        raise ValueError(f"invalid value for 'method': {method!r} (allowed: {', '.join(METHODS)})")
    return _IMPLEMENTATIONS[method](lam, bu)
