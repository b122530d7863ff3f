"""Training: Adam on the pointer loss (+ invariance regularisers), synchronous schedule, seeds vmapped."""

from __future__ import annotations

import dataclasses
import functools

import jax
import jax.numpy as jnp
import numpy as np
import optax

from async_gnn.data import GraphBatch
from async_gnn.layers import Params
from async_gnn.model import Model, batch_arrays
from repro_shared.progress import progress


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    steps: int = 300
    batch_size: int = 32
    learning_rate: float = 1e-3
    grad_clip: float = 1.0
    reg_weight: float = 0.0


@dataclasses.dataclass
class TrainResult:
    params: Params  # stacked over seeds (leading axis)
    loss_curve: np.ndarray  # (steps, seeds) total loss
    task_curve: np.ndarray  # (steps, seeds) pointer loss
    seeds: tuple[int, ...]

    def params_of(self, i: int) -> Params:
        return jax.tree_util.tree_map(lambda x: x[i], self.params)


def _optimizer(cfg: TrainConfig) -> optax.GradientTransformation:
    return optax.chain(optax.clip_by_global_norm(cfg.grad_clip), optax.adam(cfg.learning_rate))


@functools.partial(jax.jit, static_argnums=(0, 1, 2))
def _train_step(model: Model, cfg: TrainConfig, num_steps: int, params, opt_state, arrays, split):
    """One Adam step per seed (everything has a leading seed axis)."""
    opt = _optimizer(cfg)

    def one(p, o, arr, sp):
        (total, parts), grads = jax.value_and_grad(model.loss, has_aux=True)(p, arr, sp, num_steps, cfg.reg_weight)
        updates, o = opt.update(grads, o, p)
        return optax.apply_updates(p, updates), o, total, parts["task"]

    return jax.vmap(one)(params, opt_state, arrays, split)


def train(model: Model, data: GraphBatch, cfg: TrainConfig, seeds: tuple[int, ...], desc: str = "train"
          ) -> TrainResult:
    """Train one model per seed (different initialisation and batch order), vmapped over the seeds."""
    keys = jnp.stack([jax.random.PRNGKey(s) for s in seeds])
    params = jax.vmap(model.init)(keys)
    opt_state = jax.vmap(_optimizer(cfg).init)(params)
    rngs = [np.random.default_rng(10_000 + s) for s in seeds]
    num_steps = int(data.steps.max())
    losses, tasks = [], []
    for _ in progress(range(cfg.steps), desc=desc, total=cfg.steps):
        idx = np.stack([r.choice(len(data), cfg.batch_size, replace=False) for r in rngs])
        arrays = batch_arrays(data.take(idx))
        split = jnp.asarray(np.stack([r.random((num_steps, cfg.batch_size, data.num_nodes, data.num_nodes)) < 0.5
                                      for r in rngs]))
        params, opt_state, total, task = _train_step(model, cfg, num_steps, params, opt_state, arrays, split)
        losses.append(total)
        tasks.append(task)
    return TrainResult(params, np.asarray(jnp.stack(losses)), np.asarray(jnp.stack(tasks)), tuple(seeds))
