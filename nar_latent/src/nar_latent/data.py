"""CLRS-30 data for training and evaluation, offline (dm-clrs 2.0.3 samplers, no download).

* Training: on-the-fly samplers, one per training size, cycled step by step, as in the authors'
  fork of ``clrs/examples/run.py`` (``make_multi_sampler``): sampler seeds drawn from
  ``RandomState(seed)``; edge probability p in {0.1, ..., 0.9} (halved for articulation points,
  bridges, MST-Kruskal, bipartite matching); needles of at most 8 for the string matchers, whose
  haystack is 5/4 of the largest size. ``random_pos`` and ``enforce_permutations`` are off
  (the fork's defaults); ``pred_h`` becomes the input ``pred`` for the algorithms in
  :data:`PRED_AS_INPUT`.
* Evaluation: the CLRS-30 validation (n = 16) and test (n = 64) splits, regenerated from their
  sampler seeds and cached (:func:`repro_shared.clrs.load_split`).

Batches stay dm-clrs ``Feedback`` named tuples (pytrees of ``DataPoint``), with float32 data and
the hint time axis padded to a fixed length so a compiled step is reused.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import jax
import numpy as np

from nar_latent.reference import clrs
from repro_shared import clrs as clrs_offline

# The fork's PRED_AS_INPUT_ALGOS (clrs/examples/run.py): fixed pred_h hints become the input `pred`.
PRED_AS_INPUT = ("binary_search", "minimum", "find_maximum_subarray", "find_maximum_subarray_kadane",
                 "matrix_chain_order", "lcs_length", "optimal_bst", "activity_selector", "task_scheduling",
                 "naive_string_matcher", "kmp_matcher", "jarvis_march")
HALF_P = ("articulation_points", "bridges", "mst_kruskal", "bipartite_matching")
STRING_MATCHERS = ("naive_string_matcher", "kmp_matcher")


@dataclasses.dataclass(frozen=True)
class Task:
    """An algorithm's processed spec: name -> (stage, location, type), and categorical sizes."""

    algorithm: str
    spec: dict[str, tuple[str, str, str]]
    nb_dims: dict[str, int]

    def __hash__(self) -> int:  # used as a static (jit / cache) key
        return hash((self.algorithm, tuple(self.spec.items()), tuple(sorted(self.nb_dims.items()))))

    def names(self, stage: str) -> list[str]:
        return [k for k, (s, _, _) in self.spec.items() if s == stage]


def train_sampler_kwargs(algorithm: str) -> dict[str, Any]:
    """The fork's training sampler options (``create_samplers`` in run.py)."""
    p = tuple(0.1 + 0.1 * i for i in range(9))
    if algorithm in HALF_P:
        p = tuple(np.array(p) / 2)
    return {"p": p, "length_needle": -8} if algorithm in STRING_MATCHERS else {"p": p}


def train_sizes(algorithm: str, sizes: Sequence[int]) -> tuple[int, ...]:
    """String matchers train on one haystack size, 5/4 of the largest (the fork's rule)."""
    if algorithm in STRING_MATCHERS:
        return ((max(sizes) * 5) // 4,)
    return tuple(sizes)


def process_spec(algorithm: str) -> dict[str, tuple[str, str, str]]:
    """dm-clrs's spec after ``process_permutations(False)`` and, for some algorithms, pred-as-input."""
    c = clrs()
    spec = dict(c.specs.SPECS[algorithm])
    out = {}
    for name, (stage, loc, typ) in spec.items():
        if typ == c.specs.Type.SHOULD_BE_PERMUTATION:
            typ = c.specs.Type.POINTER
        if algorithm in PRED_AS_INPUT and name == "pred_h":
            continue
        out[name] = (stage, loc, typ)
    if algorithm in PRED_AS_INPUT and "pred_h" in spec:
        out["pred"] = (c.specs.Stage.INPUT, c.specs.Location.NODE, c.specs.Type.POINTER)
    return out


def _dp(name: str, location: str, type_: str, data: np.ndarray):
    return clrs().probing.DataPoint(name=name, location=location, type_=type_, data=data)


def preprocess(feedback, algorithm: str):
    """Float32 data, should-be-permutations as pointers, pred_h as input ``pred`` (fork defaults)."""
    c = clrs()
    perm = c.specs.Type.SHOULD_BE_PERMUTATION

    def fix(points):
        return [_dp(dp.name, dp.location, c.specs.Type.POINTER if dp.type_ == perm else dp.type_,
                    np.asarray(dp.data, np.float32)) for dp in points]

    inputs, hints, outputs = fix(feedback.features.inputs), fix(feedback.features.hints), fix(feedback.outputs)
    if algorithm in PRED_AS_INPUT:
        pred_h = [h for h in hints if h.name == "pred_h"]
        if pred_h:
            hints = [h for h in hints if h.name != "pred_h"]
            inputs.append(_dp("pred", pred_h[0].location, pred_h[0].type_, pred_h[0].data[0]))
    features = c.samplers.Features(inputs=tuple(inputs), hints=tuple(hints),
                                   lengths=np.asarray(feedback.features.lengths, np.float32))
    return c.samplers.Feedback(features=features, outputs=tuple(outputs))


def make_task(algorithm: str, example) -> Task:
    """The processed spec plus categorical sizes read off one (processed) example."""
    nb_dims = {}
    for dp in (*example.features.inputs, *example.features.hints, *example.outputs):
        nb_dims[dp.name] = int(np.shape(dp.data)[-1])
    return Task(algorithm, process_spec(algorithm), nb_dims)


def num_steps(feedback) -> int:
    """Length of the (padded) hint time axis."""
    return int(np.shape(feedback.features.hints[0].data)[0])


def pad_time(feedback, steps: int):
    """Pad every hint's time axis with zeros up to ``steps`` (never truncates)."""
    t = num_steps(feedback)
    if t > steps:
        raise ValueError(f"cannot pad {t} hint steps down to {steps}")
    if t == steps:
        return feedback
    hints = tuple(_dp(h.name, h.location, h.type_,
                      np.concatenate([h.data, np.zeros((steps - t, *h.data.shape[1:]), h.data.dtype)]))
                  for h in feedback.features.hints)
    return feedback._replace(features=feedback.features._replace(hints=hints))


def stack(feedbacks: Sequence[Any], steps: int | None = None):
    """Stack feedbacks on a new leading axis (hints padded to a common length first)."""
    steps = steps or max(num_steps(f) for f in feedbacks)
    padded = [pad_time(f, steps) for f in feedbacks]
    return jax.tree_util.tree_map(lambda *xs: np.stack(xs), *padded)


def take(feedback, indices: Sequence[int] | np.ndarray):
    """The samples ``indices`` of a feedback (batch axis 0 of inputs/outputs/lengths, 1 of hints)."""
    idx = np.asarray(indices, int)
    features = feedback.features
    cut = lambda points, axis: tuple(  # noqa: E731
        _dp(p.name, p.location, p.type_, np.take(p.data, idx, axis=axis)) for p in points)
    features = features._replace(inputs=cut(features.inputs, 0), hints=cut(features.hints, 1),
                                 lengths=np.asarray(features.lengths)[idx])
    return feedback._replace(features=features, outputs=cut(feedback.outputs, 0))


class TrainStream:
    """On-the-fly training batches for one seed, cycling over the training sizes.

    ``next(size)`` returns a processed batch from that size's infinite dm-clrs sampler. Hints are
    padded to the sampler's running maximum length (dm-clrs ``track_max_steps``), so shapes are
    fixed after the first 1000 probe samples except when a longer trajectory appears.
    """

    def __init__(self, algorithm: str, sizes: Sequence[int], batch_size: int, seed: int):
        c = clrs()
        self.algorithm = algorithm
        self.sizes = train_sizes(algorithm, sizes)
        self.batch_size = batch_size
        rng = np.random.RandomState(seed)
        kwargs = train_sampler_kwargs(algorithm)
        self.samplers = {}
        for n in self.sizes:
            sampler, _ = c.samplers.build_sampler(algorithm, num_samples=-1, length=n,
                                                  seed=rng.randint(2**31), **kwargs)
            self.samplers[n] = sampler

    def max_steps(self, size: int) -> int:
        return int(self.samplers[size].max_steps)

    def next(self, size: int):
        return preprocess(self.samplers[size].next(self.batch_size), self.algorithm)


def load_eval_split(algorithm: str, split: str, *, num_samples: int | None = None, length: int | None = None,
                    seed: int | None = None, cache_dir: str | None = None):
    """A CLRS-30 validation/test split (or a variant with another size/seed), processed."""
    fb = clrs_offline.load_split(algorithm, split, num_samples=num_samples, length=length, seed=seed,
                                 cache_dir=cache_dir)
    return preprocess(fb, algorithm)


def generate(algorithm: str, *, num_samples: int, length: int, seed: int, **sampler_kwargs: Any):
    """Fresh samples from a dm-clrs sampler (not cached), processed."""
    fb = clrs_offline.generate(algorithm, num_samples=num_samples, length=length, seed=seed, **sampler_kwargs)
    return preprocess(fb, algorithm)
