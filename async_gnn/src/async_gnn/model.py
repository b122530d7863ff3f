"""Encode-process-decode pointer network around a layer bundle (the CLRS setup, dense, outputs only).

encode: node features (position, source mask) → h0 ∈ R^H; edge features (weight, adjacency) → the layer's edge
term. process: ``engine.propagate`` under a schedule. decode: parent logits ``logit_ij = v·ReLU(P1 z_i + P2 z_j +
P3 e_ij)`` with z = [s, h0], restricted to the in-neighbours of i (self-loop included).

Encode and decode are separate jitted functions shared by all schedules, so two schedules that give the same
processor states give bit-identical predictions (one compiled decoder for all).
"""

from __future__ import annotations

import dataclasses
import functools

import jax
import jax.numpy as jnp
import numpy as np

from async_gnn import engine, losses
from async_gnn.data import GraphBatch
from async_gnn.layers import Layer, Params, dense_init, make_layer

NODE_FEATURES = 2
EDGE_FEATURES = 2


def batch_arrays(batch: GraphBatch) -> dict[str, jax.Array]:
    """The arrays of a batch the jitted functions read."""
    return {"nodes": jnp.asarray(batch.nodes), "edges": jnp.asarray(batch.edges), "mask": jnp.asarray(batch.mask),
            "target": jnp.asarray(batch.target), "steps": jnp.asarray(batch.steps)}


@dataclasses.dataclass(frozen=True)
class Model:
    """A layer bundle with its encoders and pointer decoder."""

    layer: Layer

    @classmethod
    def build(cls, layer_name: str, hidden: int) -> Model:
        return cls(make_layer(layer_name, hidden, hidden))

    @property
    def hidden(self) -> int:
        return self.layer.hidden

    def init(self, key: jax.Array) -> Params:
        h = self.hidden
        k = jax.random.split(key, 7)
        return {
            "enc_node": dense_init(k[0], NODE_FEATURES, h), "enc_node_b": jnp.zeros(h),
            "enc_edge": dense_init(k[1], EDGE_FEATURES, h), "enc_edge_b": jnp.zeros(h),
            "proc": self.layer.init(k[2]),
            "dec_i": dense_init(k[3], 2 * h, h), "dec_j": dense_init(k[4], 2 * h, h),
            "dec_e": dense_init(k[5], EDGE_FEATURES, h),
            "dec_b": jnp.zeros(h), "dec_v": dense_init(k[6], h, 1)[:, 0],
        }

    def encode(self, params: Params, arrays: dict[str, jax.Array]) -> tuple[jax.Array, jax.Array]:
        """(h0 (B, N, H), edge term (B, N, N, H))."""
        h0 = arrays["nodes"] @ params["enc_node"] + params["enc_node_b"]
        e = arrays["edges"] @ params["enc_edge"] + params["enc_edge_b"]
        return h0, self.layer.edge_map(params["proc"], e)

    def decode(self, params: Params, s: jax.Array, h0: jax.Array, arrays: dict[str, jax.Array]) -> jax.Array:
        """Parent logits (B, N, N), -inf off the in-neighbourhood."""
        z = jnp.concatenate([s, h0], axis=-1)
        hid = (z @ params["dec_i"])[:, :, None, :] + (z @ params["dec_j"])[:, None, :, :] \
            + arrays["edges"] @ params["dec_e"] + params["dec_b"]
        logits = jax.nn.relu(hid) @ params["dec_v"]
        return jnp.where(arrays["mask"], logits, -jnp.inf)

    def process(self, params: Params, h0: jax.Array, edge_term: jax.Array, arrays: dict[str, jax.Array],
                num_steps: int, mode: str = "sync", batch_ids: jax.Array | None = None,
                num_batches: int = 1) -> jax.Array:
        return engine.propagate(self.layer, params["proc"], h0, edge_term, arrays["mask"], arrays["steps"],
                                num_steps, mode, batch_ids, num_batches)

    def loss(self, params: Params, arrays: dict[str, jax.Array], split: jax.Array, num_steps: int,
             reg_weight: float) -> tuple[jax.Array, dict[str, jax.Array]]:
        """Pointer cross-entropy (+ ``reg_weight`` × the summed invariance losses when it is non-zero)."""
        h0, edge_term = self.encode(params, arrays)
        if reg_weight:
            s, inv = losses.sync_forward_with_invariance(self.layer, params["proc"], h0, edge_term, arrays["mask"],
                                                         arrays["steps"], num_steps, split)
        else:
            s, inv = self.process(params, h0, edge_term, arrays, num_steps), {}
        task = losses.pointer_loss(self.decode(params, s, h0, arrays), arrays["target"])
        total = task + reg_weight * sum(inv.values()) if reg_weight else task
        return total, {"task": task, **inv}


# --------------------------------------------------------------------------- evaluation (jitted pieces)


@functools.partial(jax.jit, static_argnums=(0,))
def _encode(model: Model, params: Params, arrays):
    return model.encode(params, arrays)


@functools.partial(jax.jit, static_argnums=(0,))
def _decode(model: Model, params: Params, s, h0, arrays):
    return model.decode(params, s, h0, arrays)


@functools.partial(jax.jit, static_argnums=(0, 5, 6, 8))
def _process(model: Model, params: Params, h0, edge_term, arrays, num_steps, mode, batch_ids, num_batches):
    return model.process(params, h0, edge_term, arrays, num_steps, mode, batch_ids, num_batches)


@functools.partial(jax.jit, static_argnums=(0, 5))
def _invariance(model: Model, params: Params, h0, edge_term, arrays, num_steps, split):
    return losses.sync_forward_with_invariance(model.layer, params["proc"], h0, edge_term, arrays["mask"],
                                               arrays["steps"], num_steps, split)[1]


@dataclasses.dataclass
class Evaluation:
    """Final processor states and predicted parents of one schedule."""

    states: np.ndarray
    predictions: np.ndarray

    def accuracy(self, target: np.ndarray) -> float:
        """CLRS pointer score: the fraction of nodes whose predicted parent is right."""
        return float((self.predictions == target).mean())


def evaluate(model: Model, params: Params, batch: GraphBatch, num_steps: int, mode: str = "sync",
             batch_ids: np.ndarray | None = None, num_batches: int = 1) -> Evaluation:
    """Run ``batch`` under one schedule and decode its parents."""
    arrays = batch_arrays(batch)
    h0, edge_term = _encode(model, params, arrays)
    ids = None if batch_ids is None else jnp.asarray(batch_ids)
    s = _process(model, params, h0, edge_term, arrays, num_steps, mode, ids, num_batches)
    logits = _decode(model, params, s, h0, arrays)
    return Evaluation(np.asarray(s), np.asarray(jnp.argmax(logits, axis=-1)))


def invariance_losses(model: Model, params: Params, batch: GraphBatch, num_steps: int,
                      rng: np.random.Generator) -> dict[str, float]:
    """The three invariance losses of the synchronous forward pass on ``batch`` (a random inbox split)."""
    arrays = batch_arrays(batch)
    h0, edge_term = _encode(model, params, arrays)
    split = jnp.asarray(rng.random((num_steps, *batch.mask.shape)) < 0.5)
    out = _invariance(model, params, h0, edge_term, arrays, num_steps, split)
    return {k: float(v) for k, v in out.items()}
