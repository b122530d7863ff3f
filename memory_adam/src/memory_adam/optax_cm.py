"""Adam+CM and Adam+CG as optax ``GradientTransformation``s, with the reference semantics of ``memory_adam.optim``.

Optional (``pip install './memory_adam[jax]'``). Branch-free, so it jits and vmaps: the buffer is a pytree of
arrays with a leading axis C, one priority vector per transform (the reference's ``synced=True``), and the
first-step, fill and replacement decisions are ``jnp.where`` selections. Checked against the reference fixture in
float64 (``jax.enable_x64``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import optax

__all__ = ["CriticalState", "adam_cm", "adam_cg"]


class CriticalState(NamedTuple):
    count: jax.Array  # number of update calls so far (the reference's step counter)
    fill: jax.Array  # entries in the buffer (<= C)
    mu: Any  # m
    nu: Any  # v
    nu_max: Any  # running max of v (amsgrad; zeros otherwise)
    buffer: Any  # pytree of (C, *shape)
    priorities: jax.Array  # (C,)


def _critical(momenta: bool, learning_rate: float | Callable, b1: float, b2: float, eps: float, weight_decay: float,
              buffer_size: int, decay: float, amsgrad: bool) -> optax.GradientTransformation:
    if buffer_size < 1:
        raise ValueError(f"invalid buffer_size: {buffer_size!r} (allowed: an int >= 1)")

    def init_fn(params):
        leaves = jax.tree_util.tree_leaves(params)
        dtype = leaves[0].dtype if leaves else jnp.float32
        zeros = jax.tree_util.tree_map(jnp.zeros_like, params)
        return CriticalState(
            count=jnp.zeros((), jnp.int32), fill=jnp.zeros((), jnp.int32), mu=zeros, nu=zeros, nu_max=zeros,
            buffer=jax.tree_util.tree_map(lambda p: jnp.zeros((buffer_size, *p.shape), p.dtype), params),
            priorities=jnp.zeros((buffer_size,), dtype))

    def update_fn(updates, state, params=None):
        if weight_decay != 0 and params is None:
            raise ValueError("weight_decay needs params in update()")
        tmap = jax.tree_util.tree_map
        lr = learning_rate(state.count) if callable(learning_rate) else learning_rate
        priority = sum(jnp.sqrt(jnp.sum(jnp.square(g))) for g in jax.tree_util.tree_leaves(updates))
        first = state.count == 0
        t = state.count + 1
        fill_f = jnp.maximum(state.fill, 1).astype(state.priorities.dtype)
        mask = (jnp.arange(buffer_size) < state.fill).astype(state.priorities.dtype)

        def buffer_mean(buf):  # mean over the current fill, before this step's insertion
            return jnp.tensordot(mask, buf, axes=1) / fill_f

        if momenta:
            mu = tmap(lambda m, g: jnp.where(first, m, m * b1 + g * (1 - b1)), state.mu, updates)
            aggregate = tmap(lambda m, buf: m + buffer_mean(buf), mu, state.buffer)
            value = tmap(lambda m, g: jnp.where(first, g, m), mu, updates)  # t = 1 seeds B with g_1
            second = aggregate
        else:
            value = updates
            aggregate = tmap(lambda g, buf: g + buffer_mean(buf), updates, state.buffer)
            if weight_decay != 0:  # coupled L2 on the aggregate
                aggregate = tmap(lambda a, p: a + weight_decay * p, aggregate, params)
            mu = tmap(lambda m, a: m * b1 + a * (1 - b1), state.mu, aggregate)
            second = aggregate

        lowest = jnp.argmin(state.priorities)  # ties -> lowest index
        not_full = state.fill < buffer_size
        slot = jnp.where(not_full, state.fill, lowest)
        accept = not_full | (priority > state.priorities[lowest])
        buffer = tmap(lambda buf, x: buf.at[slot].set(jnp.where(accept, x, buf[slot])), state.buffer, value)
        priorities = state.priorities.at[slot].set(jnp.where(accept, priority, state.priorities[slot])) * decay

        nu = tmap(lambda v, a: v * b2 + a * a * (1 - b2), state.nu, second)
        nu_max = tmap(jnp.maximum, state.nu_max, nu) if amsgrad else state.nu_max
        denom_src = nu_max if amsgrad else nu
        bc1 = 1 - b1 ** t.astype(state.priorities.dtype)
        bc2 = 1 - b2 ** t.astype(state.priorities.dtype)
        numerator = aggregate if momenta else mu
        step = tmap(lambda n, v: (lr / bc1) * n / (jnp.sqrt(v) / jnp.sqrt(bc2) + eps), numerator, denom_src)
        if momenta and weight_decay != 0:  # decoupled: p (1 - lr wd) - step, written as an update
            new = tmap(lambda s, p: -(p - p * (1 - lr * weight_decay)) - s, step, params)
        else:
            new = tmap(lambda s: -s, step)
        state = CriticalState(count=t, fill=jnp.minimum(state.fill + 1, buffer_size), mu=mu, nu=nu, nu_max=nu_max,
                              buffer=buffer, priorities=priorities)
        return new, state

    return optax.GradientTransformation(init_fn, update_fn)


def adam_cm(learning_rate: float | Callable = 1e-3, b1: float = 0.9, b2: float = 0.999, eps: float = 1e-8,
            weight_decay: float = 0.0, buffer_size: int = 5, decay: float = 0.7,
            amsgrad: bool = False) -> optax.GradientTransformation:
    """Adam with critical momenta (arXiv:2307.09638), reference semantics (see :class:`memory_adam.AdamCM`)."""
    return _critical(True, learning_rate, b1, b2, eps, weight_decay, buffer_size, decay, amsgrad)


def adam_cg(learning_rate: float | Callable = 1e-3, b1: float = 0.9, b2: float = 0.999, eps: float = 1e-8,
            weight_decay: float = 0.0, buffer_size: int = 5, decay: float = 0.7,
            amsgrad: bool = False) -> optax.GradientTransformation:
    """Adam with critical gradients (McRae et al.), reference semantics (see :class:`memory_adam.AdamCG`)."""
    return _critical(False, learning_rate, b1, b2, eps, weight_decay, buffer_size, decay, amsgrad)
