"""Training loops: AdamW with warm-up + cosine decay (App. A, Tables 1-3), vmapped over seeds, scanned over steps.

A "task" is a function key -> (inputs, targets) that draws a fresh batch inside the jitted step (the paper trains on
a new batch of random teachers every step). :func:`train` initialises one model per seed, stacks their parameters
and optimiser states on a leading seed axis, and runs ``chunk`` steps per jitted call with ``lax.scan`` (one host
round-trip per chunk, for the progress bar and the loss curve).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import optax

from mesa_optimization import data as data_lib
from repro_shared.progress import progress

Task = Callable[[jax.Array], tuple[jax.Array, jax.Array]]
GRAD_CLIPS: tuple[str, ...] = ("elementwise", "global", "none")


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """Optimiser knobs: AdamW(b1, b2, eps, wd), linear warm-up to ``lr`` then cosine to ``final_lr``."""

    steps: int = 1000
    batch: int = 256
    lr: float = 1e-3
    warmup: int = 100
    final_lr: float = 1e-5
    b1: float = 0.9
    b2: float = 0.999
    eps: float = 1e-8
    weight_decay: float = 0.05
    grad_clip: str = "elementwise"  # the official code's optax.clip(1); "global" = clip_by_global_norm(1)
    clip_value: float = 1.0


def make_optimizer(tc: TrainConfig) -> optax.GradientTransformation:
    if tc.grad_clip not in GRAD_CLIPS:
        from repro_shared.cli import ConfigError

        raise ConfigError("grad_clip", tc.grad_clip, GRAD_CLIPS)
    schedule = optax.warmup_cosine_decay_schedule(0.0, tc.lr, min(tc.warmup, max(tc.steps - 1, 1)),
                                                  max(tc.steps, tc.warmup + 1), tc.final_lr)
    clip = {"elementwise": optax.clip(tc.clip_value), "global": optax.clip_by_global_norm(tc.clip_value),
            "none": optax.identity()}[tc.grad_clip]
    return optax.chain(clip, optax.adamw(schedule, tc.b1, tc.b2, tc.eps, weight_decay=tc.weight_decay))


def mse_loss(pred: jax.Array, target: jax.Array) -> jax.Array:
    """The paper's objective: 1/2 sum over dims of the squared error, mean over batch and positions."""
    return 0.5 * jnp.mean(jnp.sum((pred - target) ** 2, axis=-1))


def cross_entropy_loss(logits: jax.Array, target: jax.Array) -> jax.Array:
    return jnp.mean(optax.softmax_cross_entropy_with_integer_labels(logits, target))


def dynamics_task(batch: int, T: int, d: int = 10, **kwargs) -> Task:
    """Fresh random-linear-dynamics batches: (inputs s_1..s_T, targets s_2..s_{T+1})."""
    return lambda key: data_lib.inputs_targets(data_lib.sample_batch(key, batch, T, d, **kwargs))


@dataclasses.dataclass
class TrainResult:
    params: Any  # stacked over seeds (leading axis)
    loss_curve: jax.Array  # (seeds, chunks) mean training loss per chunk
    steps_per_chunk: int


def train(model, task: Task, tc: TrainConfig, seeds: Sequence[int], *,
          loss_fn: Callable[[jax.Array, jax.Array], jax.Array] = mse_loss, desc: str = "train",
          chunk: int = 50, init_params: Any = None) -> TrainResult:
    """Train one copy of ``model`` per seed (vmapped) for ``tc.steps`` AdamW steps on fresh ``task`` batches."""
    opt = make_optimizer(tc)
    keys = jnp.stack([jax.random.PRNGKey(s) for s in seeds])

    def init_one(key):
        k_init, k_data = jax.random.split(key)
        x, _ = task(k_data)
        return model.init(k_init, x)["params"]

    params = jax.jit(jax.vmap(init_one))(keys) if init_params is None else init_params
    opt_state = jax.vmap(opt.init)(params)

    def step(p, s, key):
        x, y = task(key)
        loss, grads = jax.value_and_grad(lambda p_: loss_fn(model.apply({"params": p_}, x), y))(p)
        updates, s = opt.update(grads, s, p)
        return optax.apply_updates(p, updates), s, loss

    vstep = jax.vmap(step)

    @jax.jit
    def run_chunk(p, s, start):
        def body(carry, i):
            p_, s_ = carry
            ks = jax.vmap(lambda k: jax.random.fold_in(jax.random.fold_in(k, 1), start + i))(keys)
            p_, s_, loss = vstep(p_, s_, ks)
            return (p_, s_), loss

        (p, s), losses = jax.lax.scan(body, (p, s), jnp.arange(chunk))
        return p, s, losses.mean(axis=0)

    chunk = max(1, min(chunk, tc.steps))
    while tc.steps % chunk:  # whole chunks only, so the schedule ends exactly at tc.steps
        chunk -= 1
    n_chunks = tc.steps // chunk
    curve = []
    bar = progress(total=n_chunks * chunk, desc=desc)
    for c in range(n_chunks):
        params, opt_state, loss = run_chunk(params, opt_state, c * chunk)
        curve.append(loss)
        bar.update(chunk)
        bar.set_postfix(loss=f"{float(loss.mean()):.4f}")
    bar.close()
    return TrainResult(params, jnp.stack(curve, axis=1), chunk)


def per_position_loss(model, params_stacked, x: jax.Array, y: jax.Array) -> jax.Array:
    """(seeds, T) of 1/2 ||s_{t+1} - prediction||^2 averaged over the batch, for stacked parameters."""
    def one(p):
        pred = model.apply({"params": p}, x)
        return 0.5 * jnp.mean(jnp.sum((pred - y) ** 2, axis=-1), axis=0)

    return jax.jit(jax.vmap(one))(params_stacked)


def unstack(params_stacked, i: int):
    """The parameters of seed number ``i`` from a stacked pytree."""
    return jax.tree_util.tree_map(lambda a: a[i], params_stacked)
