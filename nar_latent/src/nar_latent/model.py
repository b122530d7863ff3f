"""Encode-process-decode network of CLRS (Ibarz et al. 2022) with the paper's two changes.

A re-implementation of the forward pass of dm-clrs's ``nets.Net`` (encode_hints, decode_hints,
soft hint re-prediction, no teacher forcing) that reads dm-clrs's own parameter tree, plus:

* **softmax aggregation** (Mirjanić et al. 2023, Sec. 4.1): ``Variant.softmax`` picks the
  processor's aggregator per call; the authors train with softmax and evaluate with max;
* **latent decay** (Sec. 4.2): the processor sees ``lambda * h`` (``Variant.decay``), the
  gate's carry term included, while the decoders see the undecayed ``h`` (as in the fork's
  ``nets.py``); ``lambda = 1`` is the baseline exactly (``1.0 * h == h``).

Implementation choices for speed, each exact up to floating-point reassociation and checked
against dm-clrs's ``Net.apply`` in ``tests/test_model.py``:

* the whole trajectory is one ``lax.scan`` over a fixed (padded) number of hint steps;
* input encodings are computed once, not at every step;
* edge features stay factored (:class:`nar_latent.processor.EdgeFeatures`);
* output decoders run once, on the decoder inputs stashed at each sample's last step
  (dm-clrs decodes outputs at every step and keeps the one of step ``length - 2``).
"""

from __future__ import annotations

import dataclasses
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from nar_latent.data import Task
from nar_latent.processor import EdgeFeatures, Params, ProcessorConfig, linear, process, processor_params
from nar_latent.reference import clrs

ENC_DEC = "net/~_construct_encoders_decoders/algo_0_"


@dataclasses.dataclass(frozen=True)
class ModelConfig:
    hidden: int = 128
    processor: ProcessorConfig = ProcessorConfig()
    encoder_init: str = "default"  # the fork's default; upstream CLRS now uses "xavier_on_scalars"


class Variant(NamedTuple):
    """Per-call knobs of one model; may be traced arrays (vmapped over models)."""

    decay: float | jax.Array = 1.0  # lambda: the processor sees lambda * h
    softmax: bool | jax.Array = False  # softmax instead of max aggregation


class Predictions(NamedTuple):
    outputs: dict[str, jax.Array]  # raw decoder outputs (logits), the prediction of each sample's last step
    hints: dict[str, jax.Array]  # (steps, B, ...) raw hint predictions of steps 1..steps
    hiddens: jax.Array | None  # (steps, B, N, H) processor states h^1..h^steps, when asked for


def _enc(params: Params, name: str, k: int = 0) -> dict[str, jax.Array]:
    return params[f"{ENC_DEC}{name}_enc_linear" + (f"_{k}" if k else "")]


def _dec(params: Params, name: str, k: int = 0) -> dict[str, jax.Array]:
    return params[f"{ENC_DEC}{name}_dec_linear" + (f"_{k}" if k else "")]


def dense(data: jax.Array, type_: str, nb_nodes: int) -> jax.Array:
    """dm-clrs ``encoders.preprocess``: pointers to one-hot, everything else float32."""
    if type_ == clrs().specs.Type.POINTER:
        return jax.nn.one_hot(jnp.asarray(data).astype(jnp.int32), nb_nodes)
    return jnp.asarray(data, jnp.float32)


class Encoded(NamedTuple):
    node: jax.Array  # (B, N, H)
    edge: EdgeFeatures  # (B, N, N, H), factored
    graph: jax.Array  # (B, H)


def encode(params: Params, task: Task, points: dict[str, jax.Array], batch: int, nb_nodes: int,
           hidden: int) -> Encoded:
    """Sum of the linear encoders of ``points`` (name -> dense data), dm-clrs ``encoders.accum_*``."""
    t, loc_ = clrs().specs.Type, clrs().specs.Location
    node = jnp.zeros((batch, nb_nodes, hidden))
    graph = jnp.zeros((batch, hidden))
    raws, ws, b_edge = [], [], jnp.zeros((hidden,))
    for name in [n for n in task.spec if n in points]:  # spec order: the channel layout must not vary
        data = points[name]
        _, loc, typ = task.spec[name]
        p = _enc(params, name)
        if loc == loc_.NODE and typ == t.POINTER:  # a node pointer is an edge feature
            raws.append(data[..., None])
            ws.append(p["w"])
            b_edge = b_edge + p["b"]
        elif loc == loc_.NODE:
            node = node + (data @ p["w"] if typ == t.CATEGORICAL else data[..., None] * p["w"][0]) + p["b"]
        elif loc == loc_.EDGE and typ == t.POINTER:  # mean of the two one-hot encodings of (i, j) -> k
            p2 = _enc(params, name, 1)
            raws.append(jnp.stack([jnp.mean(data, axis=1), jnp.mean(data, axis=2)], -1))
            ws.append(jnp.concatenate([p["w"], p2["w"]], 0))
            b_edge = b_edge + p["b"] + p2["b"]
        elif loc == loc_.EDGE:
            raws.append(data if typ == t.CATEGORICAL else data[..., None])
            ws.append(p["w"])
            b_edge = b_edge + p["b"]
        elif typ == t.POINTER:  # graph-level pointer: a node feature
            node = node + data[..., None] * p["w"][0] + p["b"]
        else:
            graph = graph + (data @ p["w"] if typ == t.CATEGORICAL else data[..., None] * p["w"][0]) + p["b"]
    if raws:
        edge = EdgeFeatures(jnp.concatenate(raws, -1), jnp.concatenate(ws, 0), b_edge)
    else:
        edge = EdgeFeatures(jnp.zeros((batch, nb_nodes, nb_nodes, 1)), jnp.zeros((1, hidden)), b_edge)
    return Encoded(node, edge, graph)


def _edge_linear(p: dict[str, jax.Array], edge: EdgeFeatures, tri: jax.Array | None) -> jax.Array:
    """A decoder's linear map of ``e_t = [edge_fts || triplet edge features]``."""
    hidden = edge.w.shape[1]
    if tri is None:
        return edge.linear(p["w"], p["b"])
    return edge.linear(p["w"][:hidden]) + tri @ p["w"][hidden:] + p["b"]


def decode(params: Params, task: Task, names: list[str], h_t: jax.Array, edge: EdgeFeatures,
           tri: jax.Array | None, graph_fts: jax.Array) -> dict[str, jax.Array]:
    """dm-clrs ``decoders.decode_fts`` (no inf bias: the MPNN processors do not use it)."""
    t, loc_ = clrs().specs.Type, clrs().specs.Location
    out = {}
    for name in names:
        _, loc, typ = task.spec[name]
        d = [_dec(params, name, k) for k in range(_nb_decoders(loc, typ))]
        if loc == loc_.NODE:
            if typ == t.POINTER:
                p_1, p_2 = linear(d[0], h_t), linear(d[1], h_t)
                p_e = p_2[:, :, None] + _edge_linear(d[2], edge, tri)  # [b, j, i]
                p_m = jnp.maximum(p_1[:, :, None], jnp.swapaxes(p_e, 1, 2))
                out[name] = linear(d[3], p_m)[..., 0]
            else:
                pred = linear(d[0], h_t)
                out[name] = pred if typ == t.CATEGORICAL else pred[..., 0]
        elif loc == loc_.EDGE:
            pred = linear(d[0], h_t)[:, :, None] + linear(d[1], h_t)[:, None] + _edge_linear(d[2], edge, tri)
            if typ == t.POINTER:
                p_m = jnp.maximum(pred[:, :, :, None], linear(d[3], h_t)[:, None, None])
                out[name] = linear(d[4], p_m)[..., 0]
            else:
                out[name] = pred if typ == t.CATEGORICAL else pred[..., 0]
        else:
            pred = linear(d[0], jnp.max(h_t, axis=1)) + linear(d[1], graph_fts)
            if typ == t.POINTER:
                out[name] = pred + jnp.swapaxes(linear(d[2], h_t), 1, 2)[:, 0]
            else:
                out[name] = pred if typ == t.CATEGORICAL else pred[..., 0]
    return out


def _nb_decoders(loc: str, typ: str) -> int:
    t, loc_ = clrs().specs.Type, clrs().specs.Location
    if loc == loc_.NODE:
        return 4 if typ == t.POINTER else 1
    if loc == loc_.EDGE:
        return 5 if typ == t.POINTER else 3
    return 3 if typ == t.POINTER else 2


def soft_feedback(task: Task, hint_preds: dict[str, jax.Array]) -> dict[str, jax.Array]:
    """Decoded hints fed back as the next step's hints: dm-clrs ``decoders.postprocess(hard=False)``."""
    spec = {k: task.spec[k] for k in hint_preds}
    post = clrs().decoders.postprocess(spec, hint_preds, sinkhorn_temperature=0.1, sinkhorn_steps=25, hard=False)
    return {k: post[k].data for k in hint_preds}


def _dims(features: Any) -> tuple[int, int]:
    loc_ = clrs().specs.Location
    for dp in features.inputs:
        if dp.location in (loc_.NODE, loc_.EDGE):
            return int(dp.data.shape[0]), int(dp.data.shape[1])
    raise ValueError("no node or edge input to read (batch, nodes) from")


BASELINE = Variant()


def needed_steps(lengths: jax.Array) -> jax.Array:
    """Hint steps that can matter for a batch: its longest trajectory minus one (at least one).

    Step ``i`` predicts the hints of time ``i + 1`` (masked from a sample's ``length`` on) and the
    outputs are read at step ``length - 2``, so steps ``>= max(lengths) - 1`` are dead work.
    """
    return jnp.maximum(jnp.max(jnp.asarray(lengths)).astype(jnp.int32) - 1, 1)


def forward(params: Params, task: Task, features: Any, *, config: ModelConfig, variant: Variant = BASELINE,
            return_hiddens: bool = False, extra_steps: int = 0, output_step: jax.Array | None = None,
            remat: bool = False, active_steps: jax.Array | None = None) -> Predictions:
    """Run the network over a (padded) batch of trajectories.

    Step 0 sees the ground-truth hints of time 0, later steps the soft re-predicted hints.
    Outputs are decoded at each sample's step ``length - 2`` (dm-clrs's freezing rule), or at
    ``output_step`` (B,) when given (the attractor analysis); ``extra_steps`` lengthens the unroll.
    ``remat`` recomputes each step in the backward pass instead of storing its activations (memory).
    ``active_steps`` (a scalar, traced or not; see :func:`needed_steps`): steps from this index on are
    skipped by a ``lax.cond`` (carry kept, zero hint predictions): with it at least the batch's longest
    trajectory minus one, nothing they would compute reaches an output or an unmasked hint loss, so the
    loss and its gradient are unchanged while the padded tail of the hint axis costs nothing. Keep it
    unbatched under ``vmap`` (else the cond runs both branches).
    """
    batch, nb_nodes = _dims(features)
    hidden = config.hidden
    hints = {dp.name: dp for dp in features.hints}
    nb_steps = max(1, int(next(iter(hints.values())).data.shape[0]) - 1) + extra_steps
    if output_step is None:
        output_step = jnp.maximum(jnp.asarray(features.lengths).astype(jnp.int32) - 2, 0)
    output_step = jnp.clip(output_step, 0, nb_steps - 1)

    inputs = {dp.name: dense(dp.data, dp.type_, nb_nodes) for dp in features.inputs}
    enc_in = encode(params, task, inputs, batch, nb_nodes, hidden)
    proc = processor_params(params)
    adj = jnp.ones((batch, nb_nodes, nb_nodes))
    hint_names, output_names = task.names("hint"), task.names("output")

    feed0 = {name: dense(hints[name].data[0], hints[name].type_, nb_nodes) for name in hint_names}
    enc_h0 = encode(params, task, feed0, batch, nb_nodes, hidden)
    h_w, h_b = enc_h0.edge.w, enc_h0.edge.b  # hint edge encoder weights: the same at every step

    def step(carry, i):
        h, feed, stash = carry
        enc_h = encode(params, task, feed, batch, nb_nodes, hidden)
        node, graph = enc_in.node + enc_h.node, enc_in.graph + enc_h.graph
        edge = enc_in.edge.concat(enc_h.edge)
        h_new, tri = process(proc, node, edge, graph, adj, variant.decay * h, config=config.processor,
                             softmax=variant.softmax)
        h_t = jnp.concatenate([node, h, h_new], -1)
        hint_preds = decode(params, task, hint_names, h_t, edge, tri, graph)
        now = i == output_step
        new = (h_t, enc_h.edge.raw, tri, graph)
        stash = jax.tree_util.tree_map(
            lambda s, x: jnp.where(now.reshape((-1,) + (1,) * (x.ndim - 1)), x, s), stash, new)
        ys = (hint_preds, h_new if return_hiddens else None)
        return (h_new, soft_feedback(task, hint_preds), stash), ys

    h0 = jnp.zeros((batch, nb_nodes, hidden))
    tri0 = jnp.zeros((batch, nb_nodes, nb_nodes, hidden)) if config.processor.use_triplets else None
    stash0 = (jnp.zeros((batch, nb_nodes, 3 * hidden)), jnp.zeros_like(enc_h0.edge.raw), tri0,
              jnp.zeros((batch, hidden)))

    def skip(carry, i):
        ys = jax.eval_shape(step, carry, i)[1]
        return carry, jax.tree_util.tree_map(lambda s: jnp.zeros(s.shape, s.dtype), ys)

    def step_or_skip(carry, i):
        return jax.lax.cond(i < active_steps, step, skip, carry, i)

    body = step if active_steps is None else step_or_skip
    body = jax.checkpoint(body) if remat else body
    (_, _, stash), (hint_preds, hiddens) = jax.lax.scan(body, (h0, feed0, stash0), jnp.arange(nb_steps))

    s_h_t, s_raw, s_tri, s_graph = stash
    edge_out = enc_in.edge.concat(EdgeFeatures(s_raw, h_w, h_b))
    outputs = decode(params, task, output_names, s_h_t, edge_out, s_tri, s_graph)
    return Predictions(outputs, hint_preds, hiddens)
