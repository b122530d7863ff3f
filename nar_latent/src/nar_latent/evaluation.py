"""Evaluation: dm-clrs's scores (``clrs._src.evaluation``) and a jit/vmap-able copy of them.

The CLRS score of a batch is the mean over the algorithm's outputs of: pointer / categorical /
mask_one accuracy, F1 for masks, and the squared error for scalars (Veličković et al. 2022);
"OOD micro-F1" in the paper is this score on the n = 64 test split. :func:`score` reproduces
``evaluation.evaluate`` in ``jax.numpy`` so that validation of many vmapped models stays on the
device; ``tests/test_evaluation.py`` checks it equals dm-clrs's numbers.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from nar_latent.data import Task
from nar_latent.reference import clrs


def hard_outputs(task: Task, output_preds: dict[str, jax.Array]) -> dict[str, Any]:
    """dm-clrs ``decoders.postprocess(hard=True)``: argmax pointers / categoricals, thresholded masks."""
    spec = {k: task.spec[k] for k in output_preds}
    return clrs().decoders.postprocess(spec, output_preds, sinkhorn_temperature=0.1, sinkhorn_steps=50, hard=True)


def _masked_f1(pred: jax.Array, truth: jax.Array) -> jax.Array:
    mask = (truth != clrs().specs.OutputClass.MASKED).astype(jnp.float32)
    tp = jnp.sum((pred > 0.5) * (truth > 0.5) * mask)
    fp = jnp.sum((pred > 0.5) * (truth < 0.5) * mask)
    fn = jnp.sum((pred < 0.5) * (truth > 0.5) * mask)
    precision = jnp.where(tp + fp > 0, tp / jnp.maximum(tp + fp, 1e-30), 1.0)
    recall = jnp.where(tp + fn > 0, tp / jnp.maximum(tp + fn, 1e-30), 1.0)
    return jnp.where(precision + recall > 0, 2 * precision * recall / jnp.maximum(precision + recall, 1e-30), 0.0)


def _argmax_accuracy(pred: jax.Array, truth: jax.Array) -> jax.Array:
    mask = jnp.all(truth != clrs().specs.OutputClass.MASKED, axis=-1)
    return jnp.sum((jnp.argmax(pred, -1) == jnp.argmax(truth, -1)) * mask) / jnp.sum(mask)


def output_scores(task: Task, outputs: Any, hard: dict[str, Any]) -> dict[str, jax.Array]:
    """Per-output scores of hard predictions against the true outputs (``evaluation._EVAL_FN``)."""
    t = clrs().specs.Type
    scores = {}
    for truth in outputs:
        pred, y = hard[truth.name].data, truth.data
        typ = task.spec[truth.name][2]
        if typ == t.POINTER:
            scores[truth.name] = jnp.mean((pred == y) * 1.0)
        elif typ == t.MASK:
            scores[truth.name] = _masked_f1(pred, y)
        elif typ in (t.MASK_ONE, t.CATEGORICAL):
            scores[truth.name] = _argmax_accuracy(pred, y)
        elif typ == t.SCALAR:
            scores[truth.name] = jnp.mean((pred - y) ** 2)
        else:
            raise ValueError(f"output type {typ!r} is not scored")
    return scores


def score(task: Task, outputs: Any, output_preds: dict[str, jax.Array]) -> jax.Array:
    """The CLRS score: mean of the per-output scores (``evaluation.evaluate(...)['score']``)."""
    scores = output_scores(task, outputs, hard_outputs(task, output_preds))
    return sum(scores.values()) / len(scores)


def reference_score(task: Task, outputs: Any, output_preds: dict[str, Any]) -> dict[str, float]:
    """dm-clrs's own evaluator on numpy copies of the (hard) predictions."""
    hard = jax.tree_util.tree_map(np.asarray, hard_outputs(task, {k: jnp.asarray(v) for k, v in output_preds.items()}))
    truth = jax.tree_util.tree_map(np.asarray, tuple(outputs))
    return {k: float(v) for k, v in clrs().evaluation.evaluate(truth, hard).items()}
