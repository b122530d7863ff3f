"""The Triplet-GMPNN processor with the paper's softmax aggregation (Mirjanić et al. 2023, Sec. 4).

The processor reads dm-clrs's own parameter tree (the sub-tree of ``nets.Net`` whose module name
ends in ``clrs_processor``), so weights move freely between this implementation and dm-clrs's
``processors.PGN`` / ``MPNN``; ``tests/test_processor.py`` checks the outputs match.

One step (Ibarz et al. 2022, Eq. 1-4; dm-clrs ``PGN.__call__``)::

    z_i    = [x_i || h_i]
    m_ij   = MLP(relu(W1 z_j + W2 z_i + We e_ij + Wg g))      # msgs[b, i(sender), j(receiver)]
    M_j    = AGG_i m_ij                                         # max, or softmax (the paper's change)
    u_j    = LN(relu(O1 z_j + O2 M_j))
    gate_j = sigmoid(G3 relu(G1 z_j + G2 M_j))                  # G3 bias initialised to -3
    h'_j   = gate_j * u_j + (1 - gate_j) * h_j
    t_jk   = relu(O3 max_i (T1 z_i + T2 z_j + T3 z_k + Te1 e_ij + Te2 e_ik + Te3 e_jk + Tg g))

Edge features are kept in *factored* form (:class:`EdgeFeatures`): every CLRS edge encoder is a
linear map of a few raw channels, so any linear layer of the edge features is applied to the raw
channels with the composed weights (``K x H`` work per edge instead of ``H x H``). This is exact up
to floating-point reassociation.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

BIG_NUMBER = 1e6  # dm-clrs processors.BIG_NUMBER: the masked value before max / softmax

Params = dict[str, dict[str, jax.Array]]


class EdgeFeatures(NamedTuple):
    """Edge features ``e = raw @ w + b`` of shape (B, N, N, H), never materialised.

    ``raw`` (B, N, N, K) holds the raw edge channels (edge inputs/hints, node pointers as one-hot
    or soft adjacency, means of edge pointers); ``w`` (K, H) the stacked encoder weights; ``b`` (H,)
    the sum of all edge encoders' biases.
    """

    raw: jax.Array
    w: jax.Array
    b: jax.Array

    @classmethod
    def dense(cls, edge_fts: jax.Array) -> EdgeFeatures:
        """Wrap materialised features (B, N, N, H) (identity weights)."""
        h = edge_fts.shape[-1]
        return cls(edge_fts, jnp.eye(h, dtype=edge_fts.dtype), jnp.zeros((h,), edge_fts.dtype))

    def materialise(self) -> jax.Array:
        return self.raw @ self.w + self.b

    def linear(self, w: jax.Array, b: jax.Array | None = None) -> jax.Array:
        """``Linear(e)`` with weight ``w`` (H, O) and bias ``b``: ``raw @ (W w) + (b_e w + b)``."""
        out = _small_matmul(self.raw, self.w @ w) + self.b @ w
        return out if b is None else out + b

    def concat(self, other: EdgeFeatures) -> EdgeFeatures:
        return EdgeFeatures(jnp.concatenate([self.raw, other.raw], -1), jnp.concatenate([self.w, other.w], 0),
                            self.b + other.b)


def _small_matmul(x: jax.Array, w: jax.Array) -> jax.Array:
    """``x @ w`` for a small contraction: a fused broadcast multiply-add is faster on CPU than a dot."""
    if w.shape[0] > 8:
        return x @ w
    return _broadcast_matmul(x, w)


@jax.custom_vjp
def _broadcast_matmul(x: jax.Array, w: jax.Array) -> jax.Array:
    """``x @ w`` as K broadcast multiply-adds (K = ``w.shape[0]`` small). The backward pass uses dots
    (``g @ w.T``, ``x.T @ g``): autodiff of the forward would reduce the (..., H) cotangent K times."""
    out = x[..., 0:1] * w[0]
    for k in range(1, w.shape[0]):
        out = out + x[..., k:k + 1] * w[k]
    return out


def _broadcast_matmul_fwd(x, w):
    return _broadcast_matmul(x, w), (x, w)


def _broadcast_matmul_bwd(res, g):
    x, w = res
    gx = g @ w.T
    gw = x.reshape(-1, x.shape[-1]).T @ g.reshape(-1, g.shape[-1])
    return gx, gw


_broadcast_matmul.defvjp(_broadcast_matmul_fwd, _broadcast_matmul_bwd)


def linear(p: dict[str, jax.Array], x: jax.Array) -> jax.Array:
    """haiku ``Linear``: ``x @ w + b`` with ``w`` of shape (in, out)."""
    return x @ p["w"] + p["b"]


def layer_norm(p: dict[str, jax.Array], x: jax.Array, eps: float = 1e-5) -> jax.Array:
    """haiku ``LayerNorm(axis=-1, create_scale=True, create_offset=True)``."""
    mean = jnp.mean(x, -1, keepdims=True)
    var = jnp.var(x, -1, keepdims=True)
    return p["scale"] * jax.lax.rsqrt(var + eps) * (x - mean) + p["offset"]


def sum_over(x: jax.Array, axis: int) -> jax.Array:
    """``jnp.sum(x, axis)`` as a chain of slice additions (one fused elementwise loop). XLA:CPU's fused
    multiply-reduce over a non-minor axis is up to ~30x slower once the trainer's two ``vmap`` axes make the
    array 6-D or 7-D (6.4 vs 0.2 ms on the (1, 4, 16, 16, 16, 64) messages); the poolings and VJPs below use it."""
    out = jax.lax.index_in_dim(x, 0, axis, keepdims=False)
    for i in range(1, x.shape[axis]):
        out = out + jax.lax.index_in_dim(x, i, axis, keepdims=False)
    return out


# --------------------------------------------------------------------------- aggregation

def aggregate(msgs: jax.Array, adj: jax.Array, softmax: bool | jax.Array, beta: float = 1.0) -> jax.Array:
    """Reduce messages (B, N_send, N_recv, H) over senders (axis 1), masked by ``adj`` (B, N, N).

    ``softmax=False``: max (Triplet-GMPNN). ``softmax=True``: per-channel softmax weights
    ``softmax_i(beta * m_ij)`` times the messages, the paper's change (inverse temperature
    ``beta = 1`` in the authors' code); ``beta -> inf`` recovers max, ``beta -> 0`` the masked
    mean. A traced boolean computes both and selects (used when variants are vmapped).
    """
    mask = adj[..., None] > 0
    masked = jnp.where(mask, msgs, -BIG_NUMBER)

    def _max() -> jax.Array:
        return max_pool(masked)

    def _soft() -> jax.Array:
        return softmax_pool(msgs, jnp.where(mask, beta * msgs, -BIG_NUMBER), beta)  # scores = beta * masked

    if isinstance(softmax, bool):
        return _soft() if softmax else _max()
    return jnp.where(softmax, _soft(), _max())


@jax.custom_vjp
def max_pool(x: jax.Array) -> jax.Array:
    """``jnp.max(x, axis=1)`` with jax's gradient (ties share it equally), summed by :func:`sum_over`."""
    return jnp.max(x, axis=1)


def _max_pool_fwd(x):
    out = jnp.max(x, axis=1)
    return out, (x, out)


def _max_pool_bwd(res, g):
    x, out = res
    hits = (x == out[:, None]).astype(g.dtype)
    return (hits * (g / sum_over(hits, 1))[:, None],)


max_pool.defvjp(_max_pool_fwd, _max_pool_bwd)


@functools.partial(jax.custom_vjp, nondiff_argnums=(2,))
def softmax_pool(msgs: jax.Array, scores: jax.Array, beta: float) -> jax.Array:
    """``sum_i softmax_i(scores) * msgs_i`` over axis 1, where ``scores = beta * msgs`` (masked entries -BIG).

    Its gradient with respect to the messages is written out, ``w_i * (1 + beta * (m_i - out))`` times the
    incoming gradient (``w`` the softmax weights): one fused elementwise pass instead of autodiff through the
    softmax's max, exp, sum and division. ``scores`` gets no gradient of its own (it is a function of
    ``msgs``, accounted for in the formula) and ``beta`` none.
    """
    return _softmax_pool_fwd(msgs, scores, beta)[0]


def _softmax_pool_fwd(msgs, scores, beta):
    weights = jax.nn.softmax(scores, axis=1)
    out = sum_over(msgs * weights, 1)
    return out, (msgs, weights, out)


def _softmax_pool_bwd(beta, res, g):
    msgs, weights, out = res
    grad = weights * (1.0 + beta * (msgs - out[:, None])) * g[:, None]
    return grad, jnp.zeros_like(msgs)


softmax_pool.defvjp(_softmax_pool_fwd, _softmax_pool_bwd)


# --------------------------------------------------------------------------- the processor

@dataclasses.dataclass(frozen=True)
class ProcessorConfig:
    """Flags of dm-clrs's ``PGN`` family; the defaults are ``triplet_gmpnn`` with LayerNorm."""

    use_ln: bool = True
    use_triplets: bool = True
    gated: bool = True
    nb_triplet_fts: int = 8
    fully_connected: bool = True  # MPNN (adjacency of ones) rather than PGN (graph adjacency)

    def linear_names(self) -> dict[str, str]:
        """Roles -> haiku module names, in dm-clrs's creation order (``linear``, ``linear_1``, ...)."""
        roles = ["m_1", "m_2", "m_e", "m_g", "o1", "o2"]
        if self.use_triplets:
            roles += ["t_1", "t_2", "t_3", "t_e_1", "t_e_2", "t_e_3", "t_g", "o3"]
        if self.gated:
            roles += ["gate1", "gate2", "gate3"]
        return {r: ("linear" if k == 0 else f"linear_{k}") for k, r in enumerate(roles)}


def processor_params(params: Params) -> Params:
    """The processor's sub-tree of a dm-clrs parameter tree, keyed relative to the processor module."""
    out = {}
    for key, value in params.items():
        if "clrs_processor/" in key:
            out[key.split("clrs_processor/", 1)[1]] = value
    if not out:
        raise KeyError("no dm-clrs processor parameters (module names ending in 'clrs_processor') found")
    return out


@jax.custom_vjp
def max_plus(a: jax.Array, b: jax.Array, c: jax.Array) -> jax.Array:
    """``max_i (a[:, i] + b[:, i, j] + c[:, i, k])`` -> (B, j, k, F), for a (B, N, F), b, c (B, N, N, F).

    Same values and gradients as ``jnp.max`` of the broadcast sum (ties share the gradient, as in
    jax's max rule), but the backward pass recomputes the (B, N, N, N, F) scores instead of storing
    them for every hint step.
    """
    return jnp.max(_max_plus_scores(a, b, c), axis=1)


def _max_plus_scores(a, b, c):
    return a[:, :, None, None] + b[:, :, :, None] + c[:, :, None, :]


def _max_plus_fwd(a, b, c):
    out = max_plus(a, b, c)
    return out, (a, b, c, out)


def _max_plus_bwd(res, g):
    a, b, c, out = res
    hits = (_max_plus_scores(a, b, c) == out[:, None]).astype(g.dtype)
    share = hits * (g / sum_over(hits, 1))[:, None]
    share_b = sum_over(share, 3)
    return sum_over(share_b, 2), share_b, sum_over(share, 2)


max_plus.defvjp(_max_plus_fwd, _max_plus_bwd)


def triplet_messages(p: Params, names: dict[str, str], z: jax.Array, edge: EdgeFeatures,
                     graph_fts: jax.Array) -> jax.Array:
    """``max_i`` of the triplet scores (Dudzik & Veličković 2022), shape (B, N, N, nb_triplet_fts).

    dm-clrs reduces axis 1 of ``tri[b, i, j, k]``; the terms without ``i`` are added after the max.
    """
    nb = p[names["t_1"]]["w"].shape[1]
    t_1, t_2, t_3 = (linear(p[names[k]], z) for k in ("t_1", "t_2", "t_3"))
    w_e = jnp.concatenate([p[names[k]]["w"] for k in ("t_e_1", "t_e_2", "t_e_3")], 1)
    b_e = jnp.concatenate([p[names[k]]["b"] for k in ("t_e_1", "t_e_2", "t_e_3")], 0)
    t_e = edge.linear(w_e, b_e)
    t_e_1, t_e_2, t_e_3 = t_e[..., :nb], t_e[..., nb:2 * nb], t_e[..., 2 * nb:]
    t_g = linear(p[names["t_g"]], graph_fts)
    return max_plus(t_1, t_e_1, t_e_2) + t_2[:, :, None] + t_3[:, None, :] + t_e_3 + t_g[:, None, None]


def process(p: Params, node_fts: jax.Array, edge: EdgeFeatures, graph_fts: jax.Array, adj: jax.Array,
            hidden: jax.Array, *, config: ProcessorConfig = ProcessorConfig(),
            softmax: bool | jax.Array = False, beta: float = 1.0) -> tuple[jax.Array, jax.Array | None]:
    """One processor step: returns the next node state (B, N, H) and triplet edge features (B, N, N, H).

    ``hidden`` is the state the processor sees (the caller applies the latent decay to it).
    """
    names = config.linear_names()
    z = jnp.concatenate([node_fts, hidden], -1)
    if config.fully_connected:
        adj = jnp.ones_like(adj)

    tri_msgs = None
    if config.use_triplets:
        tri = triplet_messages(p, names, z, edge, graph_fts)
        tri_msgs = jax.nn.relu(linear(p[names["o3"]], tri))

    msg_1 = linear(p[names["m_1"]], z)
    msg_2 = linear(p[names["m_2"]], z)
    msg_e = edge.linear(p[names["m_e"]]["w"], p[names["m_e"]]["b"])
    msg_g = linear(p[names["m_g"]], graph_fts)
    msgs = msg_1[:, None] + msg_2[:, :, None] + msg_e + msg_g[:, None, None]
    msgs = linear(p["mlp/~/linear_1"], jax.nn.relu(linear(p["mlp/~/linear_0"], jax.nn.relu(msgs))))
    agg = aggregate(msgs, adj, softmax, beta)

    ret = jax.nn.relu(linear(p[names["o1"]], z) + linear(p[names["o2"]], agg))
    if config.use_ln:
        ret = layer_norm(p["layer_norm"], ret)
    if config.gated:
        pre = jax.nn.relu(linear(p[names["gate1"]], z) + linear(p[names["gate2"]], agg))
        gate = jax.nn.sigmoid(linear(p[names["gate3"]], pre))
        ret = ret * gate + hidden * (1.0 - gate)
    return ret, tri_msgs


def describe(config: ProcessorConfig) -> dict[str, Any]:
    return dataclasses.asdict(config)
