"""dm-clrs 2.0.3 (the field's reference implementation) loaded without TensorFlow.

Everything here goes through :mod:`repro_shared.clrs`, which imports dm-clrs's submodules without
running ``clrs/__init__`` (that would import TensorFlow). We use dm-clrs for: the samplers and
specs (data), the parameter tree and its initialisation (``nets.Net`` under ``hk.transform``),
the losses, the output post-processing, the evaluator, and, in the tests and the benchmark, its
own ``BaselineModel`` as the oracle and the baseline.
"""

from __future__ import annotations

import functools
import types
from typing import Any

import jax

from repro_shared import clrs as clrs_offline

PROCESSOR_KIND = "triplet_gmpnn"


@functools.cache
def clrs() -> types.SimpleNamespace:
    """dm-clrs modules: specs, probing, samplers, algorithms, evaluation, losses, decoders, encoders,
    processors, nets, baselines."""
    names = ("specs", "probing", "samplers", "algorithms", "evaluation", "losses", "decoders", "encoders",
             "processors", "nets", "baselines")
    return types.SimpleNamespace(**{n: clrs_offline.module(n) for n in names})


def processor_factory(kind: str = PROCESSOR_KIND, *, use_ln: bool = True, nb_triplet_fts: int = 8):
    return clrs().processors.get_processor_factory(kind, use_ln=use_ln, nb_triplet_fts=nb_triplet_fts)


def net_transform(spec: dict, nb_dims: dict[str, int], hidden: int, *, encoder_init: str = "default",
                  use_ln: bool = True, nb_triplet_fts: int = 8, debug: bool = False):
    """dm-clrs's ``nets.Net`` (encode_hints, decode_hints, soft re-prediction, no LSTM) as an ``hk.transform``."""
    import haiku as hk

    c = clrs()

    def _net(features_list, repred, algorithm_index, return_hints, return_all_outputs):
        net = c.nets.Net([spec], hidden, True, True, processor_factory(use_ln=use_ln, nb_triplet_fts=nb_triplet_fts),
                         False, encoder_init, 0.0, 0.0, "soft", [nb_dims], 1, debug)
        return net(features_list, repred, algorithm_index, return_hints, return_all_outputs)

    return hk.transform(_net)


def init_params(spec: dict, nb_dims: dict[str, int], features: Any, hidden: int, key: jax.Array,
                **kwargs: Any) -> dict[str, dict[str, jax.Array]]:
    """dm-clrs's own parameter initialisation (same tree, same initialisers as ``BaselineModel.init``)."""
    net = net_transform(spec, nb_dims, hidden, **kwargs)
    return net.init(key, [features], True, algorithm_index=-1, return_hints=False, return_all_outputs=False)


def baseline_model(spec: dict, dummy_feedback: Any, hidden: int, *, learning_rate: float = 1e-3,
                   encoder_init: str = "default", use_ln: bool = True, nb_triplet_fts: int = 8,
                   grad_clip_max_norm: float = 0.0):
    """dm-clrs's ``BaselineModel`` with the paper's training flags (the reference training loop)."""
    return clrs().baselines.BaselineModel(
        spec=spec, dummy_trajectory=dummy_feedback,
        processor_factory=processor_factory(use_ln=use_ln, nb_triplet_fts=nb_triplet_fts),
        hidden_dim=hidden, encode_hints=True, decode_hints=True, encoder_init=encoder_init, use_lstm=False,
        learning_rate=learning_rate, grad_clip_max_norm=grad_clip_max_norm, dropout_prob=0.0,
        hint_teacher_forcing=0.0, hint_repred_mode="soft", nb_msg_passing_steps=1)
