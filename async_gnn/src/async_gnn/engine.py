"""Asynchronous execution of a learned layer, step by step (arXiv:2306.15632, Sec. 3: Levels 1-3).

A schedule assigns every edge j→i of every step to one of K delivery batches (each message delivered exactly
once). Node i processes its non-empty batches in order — it "fires" once per batch: ``s ← s·(⊕ batch)`` and emits
the partial argument ``D(⊕ batch)(s)``. The three modes differ in what the next step's messages are made from:

* ``sync``: one batch per node (K = 1): the ordinary synchronous layer.
* ``level2``: random batches; a node's partial arguments are combined locally (⊕_A) and sent once at the end of
  the step. Invariant when the update is a monoid action and the emission a cocycle.
* ``level3``: random batches; every partial argument is sent on its own and receivers combine the messages
  ψ(a^(1)), ψ(a^(2)), ... with ⊕. Invariant when, in addition, ψ is a homomorphism in its sender argument.

Receivers read their own argument as the ⊕_A of what they emitted in the previous step. Everything is dense
(B, N, N) and runs under ``jax.lax.scan`` over steps; samples stop updating after their own ``steps``.
"""

from __future__ import annotations

from typing import Literal

import jax
import jax.numpy as jnp
import numpy as np

from async_gnn.layers import Layer, Params

Mode = Literal["sync", "level2", "level3"]
MODES: tuple[str, ...] = ("sync", "level2", "level3")


def random_batches(rng: np.random.Generator, mask: np.ndarray, num_steps: int, num_batches: int) -> np.ndarray:
    """A random schedule: batch index in [0, K) for every (step, edge); -1 off the edges.

    ``mask`` (B, N, N) is receiver-major (``mask[b, i, j]``: j sends to i). Each edge gets exactly one batch,
    drawn uniformly, so every message is delivered exactly once and the batches a node fires on (the non-empty
    ones) come in random number, size and order.
    """
    ids = rng.integers(0, num_batches, size=(num_steps, *mask.shape), dtype=np.int32)
    return np.where(mask[None], ids, -1).astype(np.int32)


def _masked_fill(monoid_name: str, like: jax.Array) -> jax.Array:
    return jnp.full_like(like, -jnp.inf if monoid_name == "max" else (jnp.inf if monoid_name == "min" else 0.0))


def propagate(layer: Layer, params: Params, h0: jax.Array, edge_term: jax.Array, mask: jax.Array, steps: jax.Array,
              num_steps: int, mode: Mode = "sync", batch_ids: jax.Array | None = None,
              num_batches: int = 1) -> jax.Array:
    """Run ``num_steps`` message-passing steps of ``layer`` under a schedule; return the final states (B, N, H).

    h0 (B, N, H) initial states (also the initial arguments); edge_term (B, N, N, H) the receiver-major edge terms
    ``layer.edge_map(params, e)`` (computed by the caller, once for every schedule of the same graphs);
    mask (B, N, N) bool, receiver-major, every node with at least one in-edge (self-loops); steps (B,) the number
    of steps each sample runs. ``batch_ids`` (num_steps, B, N, N) from :func:`random_batches` for the
    asynchronous modes (``num_batches`` = K, static).
    """
    if mode not in MODES:
        raise ValueError(f"invalid value for 'mode': {mode!r} (allowed: {', '.join(MODES)})")
    if mode == "sync":
        num_batches = 1
        batch_ids = jnp.zeros((num_steps, *mask.shape), jnp.int32)
    elif batch_ids is None:
        raise ValueError("asynchronous modes need batch_ids (see random_batches)")
    mm, am = layer.message_monoid, layer.arg_monoid
    K = num_batches

    def step(carry, xs):
        s, parts, valid = carry  # states (B,N,H); partial arguments (K,B,N,H) and which were emitted (K,B,N)
        ids, t = xs
        a_acc = am.reduce(parts, valid[..., None], axis=0)
        a_recv = a_acc[:, :, None, :]
        if mode == "level3":
            msg = None
            for k in range(K):
                m_k = layer.message(params, parts[k][:, None, :, :], a_recv, edge_term)
                m_k = jnp.where(valid[k][:, None, :, None], m_k, _masked_fill(mm.name, m_k))
                msg = m_k if msg is None else mm.op(msg, m_k)
        else:
            msg = layer.message(params, a_acc[:, None, :, :], a_recv, edge_term)
        new_parts, new_valid = [], []
        s_cur = s
        for k in range(K):
            sel = mask & (ids == k)
            fired = sel.any(-1)
            m_in = mm.reduce(msg, sel[..., None], axis=2)
            m_in = jnp.where(fired[..., None], m_in, 0.0)  # unused where not fired; keeps NaNs out of gradients
            new_parts.append(layer.emit(params, s_cur, m_in))
            new_valid.append(fired)
            s_cur = jnp.where(fired[..., None], layer.update(params, s_cur, m_in), s_cur)
        active = (t < steps)[:, None]
        s = jnp.where(active[..., None], s_cur, s)
        parts = jnp.where(active[None, ..., None], jnp.stack(new_parts), parts)
        valid = jnp.where(active[None], jnp.stack(new_valid), valid)
        return (s, parts, valid), None

    parts0 = jnp.zeros((K, *h0.shape), h0.dtype).at[0].set(h0)
    valid0 = jnp.zeros((K, *h0.shape[:2]), bool).at[0].set(True)
    (s, _, _), _ = jax.lax.scan(step, (h0, parts0, valid0), (batch_ids, jnp.arange(num_steps)))
    return s
