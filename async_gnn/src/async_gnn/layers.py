"""Message-passing layers as bundles of the paper's algebraic pieces (arXiv:2306.15632, Sec. 3-4).

A layer is (message monoid M with ⊕, argument monoid A, update ``s·m``, emission ``D(m)(s)``, message function
``ψ(a_sender, a_receiver, e)``). One synchronous step of any layer reads

    m_ji = ψ(a_j, a_i, e_ji),   M_i = ⊕_j m_ji,   s_i' = s_i · M_i,   a_i' = D(M_i)(s_i),

and the asynchronous engine (``engine.py``) evaluates the same bundle with split, reordered delivery.

* ``MPNN`` (Level 1 only): ⊕ = max or sum, ``s·M = LN(ReLU(O1 s + O2 M))``, ``D = s·M``, ψ = ReLU MLP.
  Aggregation is order invariant, but the update is no action, the emission no cocycle, ψ no homomorphism.
* ``L2`` (the follow-up's PGN_L2): ``s·M = max(s, M)`` (an action: max is idempotent, associative, commutative),
  ``D = s·M`` (a cocycle by idempotence), but ψ is a dense mixed-sign MLP (not a max-homomorphism).
* ``MaxMax`` (invariant by construction, our instance of the paper's recipe): as ``L2`` but
  ``ψ = g(a_j) + h(a_i) + k(e_ji)`` with g, h tropical (max-plus) affine maps: coordinatewise non-decreasing,
  hence max-homomorphisms in each argument exactly (also in floating point: rounding of + is monotone).
  k is an unconstrained edge MLP.

ψ is split in two: ``edge_map(e)``, the argument-free part computed once per graph, and ``message(a_send,
a_recv, edge_term)``. Shapes: ``message`` receives broadcastable arrays, e.g. a_sender (B, 1, N, H),
a_receiver (B, N, 1, H), edge_term (B, N, N, H) in the dense receiver-major layout (row = receiver i,
column = sender j); the law checkers call the same functions on flat (n, H) samples.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import jax
import jax.numpy as jnp

from async_gnn import algebra
from async_gnn.algebra import MAX, SUM, Monoid

Params = dict[str, Any]
LAYER_NAMES = ("mpnn", "mpnn_sum", "l2", "maxmax")


def dense_init(key: jax.Array, fan_in: int, fan_out: int, scale: float = 1.0) -> jax.Array:
    return scale * jax.random.normal(key, (fan_in, fan_out)) / jnp.sqrt(fan_in)


def _layer_norm(x: jax.Array, scale: jax.Array, bias: jax.Array, eps: float = 1e-5) -> jax.Array:
    mu = x.mean(-1, keepdims=True)
    var = ((x - mu) ** 2).mean(-1, keepdims=True)
    return (x - mu) / jnp.sqrt(var + eps) * scale + bias


@dataclasses.dataclass(frozen=True)
class Layer:
    """Base bundle: subclasses define ``init``, ``update``, ``emit`` and ``message``."""

    hidden: int
    edge_dim: int
    message_monoid: Monoid = MAX
    arg_monoid: Monoid = MAX

    name: str = "layer"

    def init(self, key: jax.Array) -> Params:
        raise NotImplementedError

    def update(self, params: Params, s: jax.Array, m: jax.Array) -> jax.Array:
        """The state update ``s·m`` after receiving the aggregated message ``m``."""
        raise NotImplementedError

    def emit(self, params: Params, s: jax.Array, m: jax.Array) -> jax.Array:
        """The arguments ``D(m)(s)`` emitted on receiving ``m`` in state ``s``."""
        raise NotImplementedError

    def edge_map(self, params: Params, e: jax.Array) -> jax.Array:
        """The argument-free part of ψ, computed once per graph (edge features → edge term)."""
        raise NotImplementedError

    def message(self, params: Params, a_send: jax.Array, a_recv: jax.Array, edge_term: jax.Array) -> jax.Array:
        """The message function ψ(a_sender, a_receiver, edge), given the precomputed ``edge_map(e)``."""
        raise NotImplementedError

    # expected laws (documentation and tests): which laws the construction guarantees
    guaranteed: tuple[str, ...] = ()


@dataclasses.dataclass(frozen=True)
class MPNN(Layer):
    """Standard max (or sum) MPNN with an MLP update (CLRS's MPNN processor, dense)."""

    name: str = "mpnn"
    layer_norm: bool = True
    guaranteed: tuple[str, ...] = ("message monoid", "argument monoid")

    def init(self, key: jax.Array) -> Params:
        h, he = self.hidden, self.edge_dim
        k = jax.random.split(key, 6)
        return {
            "w_send": dense_init(k[0], h, h), "w_recv": dense_init(k[1], h, h), "w_edge": dense_init(k[2], he, h),
            "b_msg": jnp.zeros(h), "w_out": dense_init(k[3], h, h),
            "o_self": dense_init(k[4], h, h), "o_msg": dense_init(k[5], h, h), "b_upd": jnp.zeros(h),
            "ln_scale": jnp.ones(h), "ln_bias": jnp.zeros(h),
        }

    def update(self, params: Params, s: jax.Array, m: jax.Array) -> jax.Array:
        out = jax.nn.relu(s @ params["o_self"] + m @ params["o_msg"] + params["b_upd"])
        return _layer_norm(out, params["ln_scale"], params["ln_bias"]) if self.layer_norm else out

    def emit(self, params: Params, s: jax.Array, m: jax.Array) -> jax.Array:
        return self.update(params, s, m)

    def edge_map(self, params: Params, e: jax.Array) -> jax.Array:
        return e @ params["w_edge"] + params["b_msg"]

    def message(self, params: Params, a_send: jax.Array, a_recv: jax.Array, edge_term: jax.Array) -> jax.Array:
        pre = a_send @ params["w_send"] + a_recv @ params["w_recv"] + edge_term
        return jax.nn.relu(pre) @ params["w_out"]


@dataclasses.dataclass(frozen=True)
class L2(Layer):
    """Idempotent max-action update with a dense MLP message (the follow-up's PGN_L2): Level 2, not Level 3."""

    name: str = "l2"
    guaranteed: tuple[str, ...] = ("message monoid", "argument monoid", "action", "action identity", "cocycle")

    def init(self, key: jax.Array) -> Params:
        h, he = self.hidden, self.edge_dim
        k = jax.random.split(key, 4)
        return {"w_send": dense_init(k[0], h, h), "w_recv": dense_init(k[1], h, h), "w_edge": dense_init(k[2], he, h),
                "b_msg": jnp.zeros(h), "w_out": dense_init(k[3], h, h), "b_out": jnp.zeros(h)}

    def update(self, params: Params, s: jax.Array, m: jax.Array) -> jax.Array:
        return jnp.maximum(s, m)

    def emit(self, params: Params, s: jax.Array, m: jax.Array) -> jax.Array:
        return jnp.maximum(s, m)  # always emit the new state: a cocycle because max is idempotent

    def edge_map(self, params: Params, e: jax.Array) -> jax.Array:
        return e @ params["w_edge"] + params["b_msg"]

    def message(self, params: Params, a_send: jax.Array, a_recv: jax.Array, edge_term: jax.Array) -> jax.Array:
        pre = a_send @ params["w_send"] + a_recv @ params["w_recv"] + edge_term
        return jax.nn.relu(pre) @ params["w_out"] + params["b_out"]


@dataclasses.dataclass(frozen=True)
class MaxMax(Layer):
    """Invariant by construction: max action, state emission, ψ = g(a_j) + h(a_i) + k(e) with monotone g, h.

    g and h are tropical (max-plus) affine maps, ``g(a)_c = max_d (W_cd + a_d) + β_c`` and
    ``h(a)_c = max(b_c, max_d (V_cd + a_d))``: built from max and + only, so they are max-homomorphisms
    exactly, in floating point too (rounding of + is monotone; no multiplication that a compiler could fuse
    into an FMA in one schedule's program and not in another's).
    """

    name: str = "maxmax"
    guaranteed: tuple[str, ...] = ("message monoid", "argument monoid", "action", "action identity", "cocycle",
                                   "homomorphism (sender)", "homomorphism (receiver)")

    def init(self, key: jax.Array) -> Params:
        h, he = self.hidden, self.edge_dim
        k = jax.random.split(key, 4)
        eye = jnp.eye(h, dtype=bool)
        # max-plus mixing near the identity: diagonal 0, off-diagonal around -2 (other channels matter less)
        mix_send = jnp.where(eye, 0.0, -2.0 + 0.5 * jax.random.normal(k[0], (h, h)))
        mix_recv = -3.0 + 0.5 * jax.random.normal(k[1], (h, h))
        return {"mix_send": mix_send, "bias_send": jnp.zeros(h), "mix_recv": mix_recv, "floor_recv": jnp.zeros(h),
                "k1": dense_init(k[2], he, h), "kb1": jnp.zeros(h), "k2": dense_init(k[3], h, h), "kb2": jnp.zeros(h)}

    def update(self, params: Params, s: jax.Array, m: jax.Array) -> jax.Array:
        return jnp.maximum(s, m)

    def emit(self, params: Params, s: jax.Array, m: jax.Array) -> jax.Array:
        return jnp.maximum(s, m)

    def sender_map(self, params: Params, a: jax.Array) -> jax.Array:
        """g(a)_c = max_d (W_cd + a_d) + β_c: non-decreasing in every a_d."""
        return algebra.max_plus_matvec(params["mix_send"], a) + params["bias_send"]

    def receiver_map(self, params: Params, a: jax.Array) -> jax.Array:
        """h(a)_c = max(b_c, max_d (V_cd + a_d)): non-decreasing in every a_d."""
        return jnp.maximum(params["floor_recv"], algebra.max_plus_matvec(params["mix_recv"], a))

    def edge_map(self, params: Params, e: jax.Array) -> jax.Array:
        return jax.nn.relu(e @ params["k1"] + params["kb1"]) @ params["k2"] + params["kb2"]

    def message(self, params: Params, a_send: jax.Array, a_recv: jax.Array, edge_term: jax.Array) -> jax.Array:
        return self.sender_map(params, a_send) + self.receiver_map(params, a_recv) + edge_term


def make_layer(name: str, hidden: int, edge_dim: int) -> Layer:
    """A layer by name: mpnn (max), mpnn_sum, l2, maxmax."""
    if name == "mpnn":
        return MPNN(hidden, edge_dim)
    if name == "mpnn_sum":
        return MPNN(hidden, edge_dim, message_monoid=SUM, name="mpnn_sum")
    if name == "l2":
        return L2(hidden, edge_dim)
    if name == "maxmax":
        return MaxMax(hidden, edge_dim)
    raise ValueError(f"invalid value for 'layer': {name!r} (allowed: {', '.join(LAYER_NAMES)})")


# --------------------------------------------------------------------------- the laws of a layer

LAYER_LAWS = ("message monoid", "argument monoid", "action", "action identity", "cocycle",
              "cocycle normalisation", "homomorphism (sender)", "homomorphism (receiver)")


def check_layer(layer: Layer, params: Params, key: jax.Array, n: int = 256, tol: float = 0.0,
                scale: float = 1.0) -> list[algebra.LawReport]:
    """Check every law of the paper on ``layer`` at ``params`` with ``n`` sampled states/messages/arguments.

    Samples are Gaussian (std ``scale``) in the dtype of ``params``; run inside ``jax.enable_x64(True)`` with
    float64 params to separate true violations from rounding. Returns one report per law (``LAYER_LAWS``), the
    monoid laws folded into one row each (the worst of associativity, commutativity and identity).
    """
    dtype = jax.tree_util.tree_leaves(params)[0].dtype
    h, he = layer.hidden, layer.edge_dim
    ks = jax.random.split(key, 7)
    s, m1, m2, a1, a2, b = (scale * jax.random.normal(k, (n, h), dtype) for k in ks[:6])
    e = layer.edge_map(params, jax.random.normal(ks[6], (n, he), dtype))
    upd = lambda s_, m_: layer.update(params, s_, m_)  # noqa: E731
    emt = lambda s_, m_: layer.emit(params, s_, m_)  # noqa: E731
    mm, am = layer.message_monoid, layer.arg_monoid
    viol = algebra.max_violation
    monoid_rows = []
    for label, mon in (("message monoid", mm), ("argument monoid", am)):
        worst = max(r.max_violation for r in algebra.check_monoid(mon, (m1, m2, s)))
        monoid_rows.append(algebra.LawReport(layer.name, label, worst, tol, n))
    return monoid_rows + [
        algebra.LawReport(layer.name, "action", viol(algebra.action_violation(upd, mm, s, m1, m2)), tol, n),
        algebra.LawReport(layer.name, "action identity",
                          viol(algebra.action_identity_violation(upd, mm, s, m1)), tol, n),
        algebra.LawReport(layer.name, "cocycle", viol(algebra.cocycle_violation(emt, upd, mm, am, s, m1, m2)), tol, n),
        algebra.LawReport(layer.name, "cocycle normalisation",
                          viol(algebra.cocycle_normalisation_violation(emt, mm, am, s, m1)), tol, n),
        algebra.LawReport(layer.name, "homomorphism (sender)", viol(algebra.homomorphism_violation(
            lambda a: layer.message(params, a, b, e), am, mm, a1, a2)), tol, n),
        algebra.LawReport(layer.name, "homomorphism (receiver)", viol(algebra.homomorphism_violation(
            lambda a: layer.message(params, b, a, e), am, mm, a1, a2)), tol, n),
    ]
