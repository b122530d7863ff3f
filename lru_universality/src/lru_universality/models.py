"""Models built from diagonal linear recurrences (flax linen).

* :class:`SequenceBlock` and :class:`DeepRecurrentModel`: the deep LRU of the LRU paper (Fig. 1): linear encoder
  -> [norm -> recurrence -> GELU -> dropout -> GLU -> dropout -> residual] x depth -> pooling -> linear decoder.
* :class:`MLP`: the position-wise nonlinear projection of the universality paper (a ReLU MLP of width D).
"""

from __future__ import annotations

import flax.linen as nn
import jax
import jax.numpy as jnp

from lru_universality.layers import RecurrenceConfig, make_recurrence

POOLINGS: tuple[str, ...] = ("mean", "last", "none")


class MLP(nn.Module):
    """ReLU MLP with ``depth`` hidden layers of width ``width`` and a linear output of size ``d_out``."""

    width: int
    d_out: int = 1
    depth: int = 2

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        for _ in range(self.depth):
            x = nn.relu(nn.Dense(self.width)(x))
        return nn.Dense(self.d_out)(x)


class SequenceBlock(nn.Module):
    """One residual block of the deep LRU (LRU paper Fig. 1; pre-norm, layer norm): recurrence, GELU, GLU."""

    d_model: int
    recurrence: RecurrenceConfig
    dropout: float = 0.0

    @nn.compact
    def __call__(self, x: jax.Array, *, train: bool = False) -> jax.Array:
        skip = x
        x = nn.LayerNorm()(x)
        x = make_recurrence(self.recurrence, name="recurrence")(x)
        x = nn.gelu(x)
        x = nn.Dropout(self.dropout, deterministic=not train)(x)
        x = nn.Dense(self.d_model)(x) * jax.nn.sigmoid(nn.Dense(self.d_model)(x))  # GLU
        x = nn.Dropout(self.dropout, deterministic=not train)(x)
        return skip + x


class DeepRecurrentModel(nn.Module):
    """Encoder -> ``n_layers`` :class:`SequenceBlock` -> norm -> pooling -> decoder.

    ``pooling``: "mean" (masked mean over time; sequence classification), "last", or "none" (one output per step).
    Inputs (B, T, d_in) floats; ``mask`` (B, T) marks the valid steps for "mean" pooling.
    """

    d_model: int
    d_out: int
    recurrence: RecurrenceConfig
    n_layers: int = 2
    pooling: str = "mean"
    dropout: float = 0.0

    @nn.compact
    def __call__(self, x: jax.Array, mask: jax.Array | None = None, *, train: bool = False) -> jax.Array:
        if self.pooling not in POOLINGS:
            raise ValueError(f"invalid value for 'pooling': {self.pooling!r} (allowed: {', '.join(POOLINGS)})")
        x = nn.Dense(self.d_model, name="encoder")(x)
        for i in range(self.n_layers):
            x = SequenceBlock(self.d_model, self.recurrence, self.dropout, name=f"block_{i}")(x, train=train)
        x = nn.LayerNorm(name="final_norm")(x)
        if self.pooling == "mean":
            if mask is None:
                x = x.mean(axis=1)
            else:
                m = mask.astype(x.dtype)[..., None]
                x = (x * m).sum(axis=1) / jnp.maximum(m.sum(axis=1), 1.0)
        elif self.pooling == "last":
            x = x[:, -1]
        return nn.Dense(self.d_out, name="decoder")(x)
