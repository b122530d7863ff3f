"""Training loss: dm-clrs's own output and hint losses (``clrs._src.losses``), length-masked."""

from __future__ import annotations

from typing import Any

import jax

from nar_latent.data import Task
from nar_latent.model import Predictions
from nar_latent.reference import clrs


def total_loss(task: Task, feedback: Any, preds: Predictions) -> jax.Array:
    """Sum over outputs of ``losses.output_loss`` plus sum over hints of ``losses.hint_loss``
    (dm-clrs ``BaselineModel._loss`` with decode_hints)."""
    losses = clrs().losses
    nb_nodes = int(feedback.features.inputs[0].data.shape[1])
    loss = 0.0
    for truth in feedback.outputs:
        loss = loss + losses.output_loss(truth=truth, pred=preds.outputs[truth.name], nb_nodes=nb_nodes)
    for truth in feedback.features.hints:
        steps = preds.hints[truth.name]
        loss = loss + losses.hint_loss(truth=truth, preds=[steps[t] for t in range(steps.shape[0])],
                                       lengths=feedback.features.lengths, nb_nodes=nb_nodes)
    return loss
