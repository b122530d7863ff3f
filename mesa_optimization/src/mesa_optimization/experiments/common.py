"""Shared pieces of the experiments: a per-process cache of trained models, evaluation batches, small helpers."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from mesa_optimization import data as data_lib
from mesa_optimization import training as tr
from mesa_optimization.configs import Config

PAPER = "Uncovering mesa-optimization algorithms in Transformers (arXiv:2309.05858)"
EVAL_SEED = 10_000  # evaluation batches use keys disjoint from every training seed

_CACHE: dict[Any, tuple[Any, tr.TrainResult]] = {}


@dataclasses.dataclass(frozen=True)
class Trained:
    name: str
    model: Any
    result: tr.TrainResult
    seeds: tuple[int, ...]

    @property
    def params(self):
        return self.result.params


def train_cached(name: str, model, task_args: dict, tc: tr.TrainConfig, seeds: Sequence[int]) -> Trained:
    """Train (or fetch from this process's cache) one model per seed on random linear dynamics."""
    key = (name, repr(model), tuple(sorted(task_args.items())), tc, tuple(seeds))
    if key not in _CACHE:
        task = tr.dynamics_task(tc.batch, **task_args)
        _CACHE[key] = (model, tr.train(model, task, tc, seeds, desc=name))
    model, result = _CACHE[key]
    return Trained(name, model, result, tuple(seeds))


def clear_cache() -> None:
    _CACHE.clear()


def eval_batch(batch: int, T: int, *, offset: int = 0, **kwargs) -> tuple[jax.Array, jax.Array]:
    """A fixed evaluation batch (inputs, targets) of fresh teachers, independent of all training keys."""
    seqs = data_lib.sample_batch(jax.random.PRNGKey(EVAL_SEED + offset), batch, T, **kwargs)
    return data_lib.inputs_targets(seqs)


def window_mean(per_t: np.ndarray, lo: int, hi: int) -> float:
    """Mean over positions t = lo..hi (1-based, inclusive) of a per-position curve indexed from t = 1."""
    return float(np.mean(np.asarray(per_t)[..., lo - 1: hi]))


def seed_mean(x) -> np.ndarray:
    return np.asarray(x).mean(axis=0)


def config_dict(cfg: Config, prefix: str) -> dict[str, Any]:
    """The config fields an experiment uses (those starting with ``prefix``, plus seeds)."""
    d = {k: v for k, v in dataclasses.asdict(cfg).items() if k.startswith(prefix)}
    d["seeds"] = list(cfg.seeds)
    return d


def to_float(x) -> float:
    return float(jnp.asarray(x))
