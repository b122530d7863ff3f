"""The named models of the paper (App. A, Tables 1-3) as :class:`SequenceModel` instances.

* ``linsa(k)``: LinSA-k on constructed tokens [0, s_t, s_t, s_{t-1}] (width 40), k linear self-attention layers,
  key size 20, 2 heads for k = 1 and 4 heads otherwise, no LayerNorm / MLP, activations clipped to [-4, 4].
* ``mesa_constructed(k)``: the same with mesa-layers (Mesa-1: 4 heads, key size 20).
* ``transformer(kinds)``: pre-LN blocks with MLP (4x), 4 heads, key size 20, width 40, a linear embedding
  R^10 -> R^40, sinusoidal positions concatenated to layer-1 queries and keys only; kinds e.g.
  ("softmax",) * 4 (Transformer-4) or ("softmax", "mesa") (the hybrid-mesa model).
* ``char_lm(kind, ...)``: a small character-level language model (2 blocks of one attention kind).
"""

from __future__ import annotations

from mesa_optimization.models import LAYER_KINDS, SequenceModel

D = 10  # state dimension n_s


def linsa(depth: int, *, heads: int | None = None, init_std: float = 0.02) -> SequenceModel:
    return SequenceModel(layers=("linear",) * depth, out_dim=D, width=4 * D,
                         num_heads=heads or (2 if depth == 1 else 4), key_size=20, tokens="constructed",
                         clip=4.0, init_std=init_std)


def mesa_constructed(depth: int = 1, *, heads: int = 4, mesa_method: str = "recurrent") -> SequenceModel:
    return SequenceModel(layers=("mesa",) * depth, out_dim=D, width=4 * D, num_heads=heads, key_size=20,
                         tokens="constructed", clip=4.0, init_std=0.02, mesa_method=mesa_method)


def transformer(kinds: tuple[str, ...], *, width: int = 40, heads: int = 4, key_size: int = 20,
                pos_dim: int = 20, mesa_method: str = "recurrent") -> SequenceModel:
    return SequenceModel(layers=kinds, out_dim=D, width=width, num_heads=heads, key_size=key_size, tokens="embed",
                         mlp_ratio=4, layer_norm=True, clip=None, init_std=0.02, pos_concat_dim=pos_dim,
                         mesa_method=mesa_method)


def char_lm(kind: str, *, vocab_size: int, context: int, width: int = 64, heads: int = 4, key_size: int = 16,
            layers: int = 2, mesa_method: str = "recurrent") -> SequenceModel:
    if kind not in LAYER_KINDS:
        raise ValueError(f"invalid value for 'kind': {kind!r} (allowed: {', '.join(LAYER_KINDS)})")
    return SequenceModel(layers=(kind,) * layers, out_dim=vocab_size, width=width, num_heads=heads,
                         key_size=key_size, tokens="vocab", mlp_ratio=4, layer_norm=True, clip=None, init_std=0.02,
                         pos_embed_len=context, qk_norm=kind != "softmax", vocab_size=vocab_size,
                         mesa_method=mesa_method)
