"""Causal attention layers and the sequence models of arXiv:2309.05858 (Sec. 3-4, App. A), in flax.linen.

* ``kind="linear"``: linear self-attention, e_t <- e_t + sum_h P_h sum_{t'<=t} v_{h,t'} (k_{h,t'}^T q_{h,t}); no
  softmax, no 1/sqrt(d) (Eq. 1). The causal mask includes the current token.
* ``kind="softmax"``: softmax attention with 1/sqrt(d_k) and -1e30 masking.
* ``kind="mesa"``: the mesa-layer (Eq. 10): per head the ridge prediction (sum v k^T)(sum k k^T + lam_h I)^{-1} q_t
  with a learned lam_h > 0 per head (softplus; the paper leaves it unconstrained).

All three share the parameter names ``query``, ``key``, ``value``, ``out`` so that a layer can be swapped for
another kind with the same weights (the linearisation experiment, Sec. 4.2). :class:`SequenceModel` stacks them:
constructed tokens [0, s_t, s_t, s_{t-1}] (the LinSA-k models), a linear embedding of s_t with pre-LN blocks and
MLPs (the softmax / hybrid Transformers, positional encodings concatenated to layer-1 queries and keys only),
or a character embedding (the language model). Synthetic models read their prediction from the first D channels of
the residual stream. Residual streams (after every block) and softmax attention weights are sown into the
``intermediates`` collection for probes.
"""

from __future__ import annotations

import math
from typing import Literal

import flax.linen as nn
import jax
import jax.numpy as jnp

from mesa_optimization.data import constructed_tokens
from mesa_optimization.mesa import METHODS, mesa_attention

LayerKind = Literal["linear", "softmax", "mesa"]
LAYER_KINDS: tuple[str, ...] = ("linear", "softmax", "mesa")
TOKENS: tuple[str, ...] = ("constructed", "embed", "vocab")
NEG_INF = -1e30


def _inverse_softplus(y: float) -> float:
    return math.log(math.expm1(y))


def sinusoidal_positions(length: int, dim: int) -> jax.Array:
    """Fixed sinusoidal positional encodings of shape (length, dim) (Vaswani et al.)."""
    pos = jnp.arange(length)[:, None]
    freq = jnp.exp(-math.log(10_000.0) * jnp.arange(0, dim, 2) / dim)[None, :]
    pe = jnp.zeros((length, dim))
    pe = pe.at[:, 0::2].set(jnp.sin(pos * freq))
    return pe.at[:, 1::2].set(jnp.cos(pos * freq)[:, : dim // 2])


def _l2_normalise(x: jax.Array) -> jax.Array:
    return x / jnp.sqrt(jnp.sum(x * x, axis=-1, keepdims=True) + 1e-6)


class CausalAttention(nn.Module):
    """Multi-head causal attention of one ``kind``; returns (B, T, out_dim)."""

    kind: LayerKind
    num_heads: int
    key_size: int
    out_dim: int
    init_std: float = 0.02
    qk_norm: bool = False
    lam_init: float = 1.0
    mesa_method: str = "parallel"

    @nn.compact
    def __call__(self, x: jax.Array, qk_extra: jax.Array | None = None) -> jax.Array:
        if self.kind not in LAYER_KINDS:
            raise ValueError(f"invalid value for 'kind': {self.kind!r} (allowed: {', '.join(LAYER_KINDS)})")
        init = nn.initializers.normal(self.init_std)
        heads = (self.num_heads, self.key_size)
        qk_in = x if qk_extra is None else jnp.concatenate([x, qk_extra], axis=-1)
        q = nn.DenseGeneral(heads, use_bias=False, kernel_init=init, name="query")(qk_in)
        k = nn.DenseGeneral(heads, use_bias=False, kernel_init=init, name="key")(qk_in)
        v = nn.DenseGeneral(heads, use_bias=False, kernel_init=init, name="value")(x)
        if self.qk_norm:
            q, k = _l2_normalise(q), _l2_normalise(k)
        T = x.shape[-2]
        if self.kind == "linear":
            scores = jnp.einsum("bthd,bshd->bhts", q, k) * jnp.tril(jnp.ones((T, T), q.dtype))
            o = jnp.einsum("bhts,bshd->bthd", scores, v)
        elif self.kind == "softmax":
            scores = jnp.einsum("bthd,bshd->bhts", q, k) / math.sqrt(self.key_size)
            scores = jnp.where(jnp.tril(jnp.ones((T, T), bool)), scores, NEG_INF)
            weights = jax.nn.softmax(scores, axis=-1)
            self.sow("intermediates", "attention", weights)
            o = jnp.einsum("bhts,bshd->bthd", weights, v)
        else:
            if self.mesa_method not in METHODS:
                raise ValueError(f"invalid value for 'mesa_method': {self.mesa_method!r} "
                                 f"(allowed: {', '.join(METHODS)})")
            raw = self.param("lam_raw", nn.initializers.constant(_inverse_softplus(self.lam_init)),
                             (self.num_heads,))
            lam = jax.nn.softplus(raw) + 1e-6
            per_head = jax.vmap(lambda qh, kh, vh, lh: mesa_attention(qh, kh, vh, lh, method=self.mesa_method),
                                in_axes=(1, 1, 1, 0), out_axes=1)  # over heads of (T, H, d)
            o = jax.vmap(per_head, in_axes=(0, 0, 0, None))(q, k, v, lam)
        return nn.DenseGeneral(self.out_dim, axis=(-2, -1), use_bias=False, kernel_init=init, name="out")(o)


class MLP(nn.Module):
    hidden: int
    init_std: float = 0.02

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        init = nn.initializers.normal(self.init_std)
        h = jax.nn.gelu(nn.Dense(self.hidden, kernel_init=init, name="fc1")(x))
        return nn.Dense(x.shape[-1], kernel_init=init, name="fc2")(h)


class SequenceModel(nn.Module):
    """A causal residual stack of attention layers (optionally pre-LN blocks with MLPs).

    tokens: "constructed" (input s of shape (B, T, D) -> [0, s_t, s_t, s_{t-1}], width must be 4D),
    "embed" (a linear map D -> width), "vocab" (integer ids -> embedding; logits out).
    Returns (B, T, out_dim): the first ``out_dim`` residual channels for synthetic tokens, logits for "vocab".
    """

    layers: tuple[str, ...]
    out_dim: int
    width: int = 40
    num_heads: int = 4
    key_size: int = 20
    tokens: str = "constructed"
    mlp_ratio: int = 0
    layer_norm: bool = False
    clip: float | None = 4.0
    init_std: float = 0.02
    pos_concat_dim: int = 0
    pos_embed_len: int = 0
    qk_norm: bool = False
    vocab_size: int = 0
    lam_init: float = 1.0
    mesa_method: str = "parallel"

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        if self.tokens not in TOKENS:
            raise ValueError(f"invalid value for 'tokens': {self.tokens!r} (allowed: {', '.join(TOKENS)})")
        init = nn.initializers.normal(self.init_std)
        if self.tokens == "constructed":
            h = constructed_tokens(x)
            if h.shape[-1] != self.width:
                raise ValueError(f"invalid value for 'width': {self.width} (constructed tokens need 4*D = "
                                 f"{h.shape[-1]})")
        elif self.tokens == "embed":
            h = nn.Dense(self.width, use_bias=False, kernel_init=nn.initializers.lecun_normal(), name="embed")(x)
        else:
            h = nn.Embed(self.vocab_size, self.width, embedding_init=nn.initializers.normal(0.02), name="embed")(x)
        T = x.shape[1]
        if self.pos_embed_len:
            pos = self.param("pos_embed", nn.initializers.normal(0.02), (self.pos_embed_len, self.width))
            h = h + pos[:T]
        pe = None
        if self.pos_concat_dim:
            pe = jnp.broadcast_to(sinusoidal_positions(T, self.pos_concat_dim), (h.shape[0], T, self.pos_concat_dim))
        for i, kind in enumerate(self.layers):
            a_in = nn.LayerNorm(name=f"ln_attn_{i}")(h) if self.layer_norm else h
            a_out = CausalAttention(kind, self.num_heads, self.key_size, self.width, self.init_std, self.qk_norm,
                                    self.lam_init, self.mesa_method, name=f"attn_{i}")(a_in, pe if i == 0 else None)
            self.sow("intermediates", "attn_in", a_in)
            self.sow("intermediates", "attn_out", a_out)
            h = self._clip(h + a_out)
            if self.mlp_ratio:
                m_in = nn.LayerNorm(name=f"ln_mlp_{i}")(h) if self.layer_norm else h
                h = self._clip(h + MLP(self.mlp_ratio * self.width, self.init_std, name=f"mlp_{i}")(m_in))
            self.sow("intermediates", "residual", h)
        if self.tokens == "vocab":
            h = nn.LayerNorm(name="ln_final")(h) if self.layer_norm else h
            return nn.Dense(self.vocab_size, kernel_init=init, name="unembed")(h)
        return h[..., : self.out_dim]

    def _clip(self, h: jax.Array) -> jax.Array:
        return h if self.clip is None else jnp.clip(h, -self.clip, self.clip)


def apply_with_intermediates(model: SequenceModel, params, x: jax.Array) -> tuple[jax.Array, dict]:
    """Run the model; return (output, intermediates).

    intermediates: "residual", "attn_in", "attn_out": lists over layers of (B, T, width) arrays (the residual stream
    after each block, the (normalised) attention input, the attention output); "attention": {"attn_i": (B, H, T, T)}
    softmax weights of the softmax layers.
    """
    out, state = model.apply({"params": params}, x, mutable=["intermediates"])
    inter = state["intermediates"]
    res = {k: list(inter.get(k, ())) for k in ("residual", "attn_in", "attn_out")}
    res["attention"] = {name: v["attention"][0] for name, v in inter.items()
                        if isinstance(v, dict) and "attention" in v}
    return out, res
