"""Pointer loss and the asynchrony-invariance regularisers (follow-up: Monteagudo-Lago et al. 2024, L2/L3 losses).

At every synchronous step each node's inbox is split at random in two non-empty parts with aggregates M1, M2
(M1 ⊕ M2 = M). The regularisers are the mean squared violations of the paper's laws on those actual messages:

* action (Level 2): ``|(s·M1)·M2 − s·(M1 ⊕ M2)|²``;
* cocycle (Level 3): ``|D(M1 ⊕ M2)(s) − D(M1)(s) ⊕ D(M2)(s·M1)|²``;
* homomorphism in the sender argument (Level 3): ``|ψ(a1 ⊕ a2, ·) − ψ(a1, ·) ⊕ ψ(a2, ·)|²`` over the edges, with
  a1, a2 the two partial arguments a node emits.

They are exactly 0 for the invariant-by-construction layer and measure how far any other layer is from it.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from async_gnn.layers import Layer, Params

INVARIANCE_TERMS = ("action", "cocycle", "homomorphism")


def pointer_loss(logits: jax.Array, target: jax.Array) -> jax.Array:
    """Mean cross-entropy of the parent pointer over all nodes (logits (B, N, N) masked with -inf)."""
    logp = jax.nn.log_softmax(logits, axis=-1)
    return -jnp.take_along_axis(logp, target[..., None], axis=-1).mean()


def _masked_mean(x: jax.Array, where: jax.Array) -> tuple[jax.Array, jax.Array]:
    """(sum of x over ``where``, count) with ``where`` broadcast to x."""
    where = jnp.broadcast_to(where, x.shape)
    return jnp.sum(jnp.where(where, x, 0.0)), jnp.sum(where)


def sync_forward_with_invariance(layer: Layer, params: Params, h0: jax.Array, edge_term: jax.Array,
                                 mask: jax.Array, steps: jax.Array, num_steps: int,
                                 split: jax.Array) -> tuple[jax.Array, dict[str, jax.Array]]:
    """The synchronous forward pass (as ``engine.propagate(mode="sync")``) plus the three invariance losses.

    ``split`` (num_steps, B, N, N) bool: which part of its inbox each message goes to. Returns the final states and
    the mean squared violations over all active steps.
    """
    mm, am = layer.message_monoid, layer.arg_monoid

    def step(carry, xs):
        s, a, sums = carry
        sp, t = xs
        active = (t < steps)[:, None]
        msg = layer.message(params, a[:, None, :, :], a[:, :, None, :], edge_term)
        m_all = mm.reduce(msg, mask[..., None], axis=2)
        s_new, a_new = layer.update(params, s, m_all), layer.emit(params, s, m_all)
        sel1, sel2 = mask & sp, mask & ~sp
        both = sel1.any(-1) & sel2.any(-1) & active
        m1 = jnp.where(both[..., None], mm.reduce(msg, sel1[..., None], axis=2), 0.0)
        m2 = jnp.where(both[..., None], mm.reduce(msg, sel2[..., None], axis=2), 0.0)
        m12 = mm.op(m1, m2)
        s1 = layer.update(params, s, m1)
        a1, a2 = layer.emit(params, s, m1), layer.emit(params, s1, m2)
        action = (layer.update(params, s1, m2) - layer.update(params, s, m12)) ** 2
        cocycle = (layer.emit(params, s, m12) - am.op(a1, a2)) ** 2
        a_recv = a[:, :, None, :]
        hom = (layer.message(params, am.op(a1, a2)[:, None], a_recv, edge_term)
               - mm.op(layer.message(params, a1[:, None], a_recv, edge_term),
                       layer.message(params, a2[:, None], a_recv, edge_term))) ** 2
        edge_ok = (mask & both[:, None, :])[..., None]  # sender j split its inbox, message j→i exists
        new = [_masked_mean(action, both[..., None]), _masked_mean(cocycle, both[..., None]),
               _masked_mean(hom, edge_ok)]
        sums = tuple((acc[0] + v[0], acc[1] + v[1]) for acc, v in zip(sums, new))
        s = jnp.where(active[..., None], s_new, s)
        a = jnp.where(active[..., None], a_new, a)
        return (s, a, sums), None

    zero = (jnp.zeros((), h0.dtype), jnp.zeros((), h0.dtype))
    (s, _, sums), _ = jax.lax.scan(step, (h0, h0, (zero, zero, zero)), (split, jnp.arange(num_steps)))
    return s, {k: total / jnp.maximum(count, 1.0) for k, (total, count) in zip(INVARIANCE_TERMS, sums)}
