"""Training: the LRU paper's optimizer split, losses, and two small loops (sequence classification with a
:class:`~lru_universality.models.DeepRecurrentModel`; regression with an MLP, vmapped over seeds).

Optimizer (LRU paper, appendix D): AdamW with cosine decay and linear warm-up; the recurrent parameters
(nu_log, theta_log, gamma_log, B, and the S4D A / step) get the learning rate times ``lr_factor`` and no weight
decay.
"""

from __future__ import annotations

import dataclasses
import time
from typing import Any, NamedTuple

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import traverse_util

from lru_universality.data import SequenceTask
from lru_universality.layers import RECURRENT_PARAM_NAMES
from repro_shared.progress import progress


@dataclasses.dataclass(frozen=True)
class OptimConfig:
    lr: float = 1e-3
    lr_factor: float = 0.5  # minimal-LRU's default for the recurrent parameters
    weight_decay: float = 0.05
    warmup_frac: float = 0.1
    grad_clip: float = 0.0  # 0: off (the LRU paper does not clip)


def param_labels(params: Any) -> Any:
    """'recurrent' for the parameters in RECURRENT_PARAM_NAMES inside a recurrence, else 'other'."""
    flat = traverse_util.flatten_dict(params)
    labels = {k: "recurrent" if k[-1] in RECURRENT_PARAM_NAMES else "other" for k in flat}
    return traverse_util.unflatten_dict(labels)


def make_optimizer(cfg: OptimConfig, total_steps: int) -> optax.GradientTransformation:
    """AdamW + cosine with warm-up; recurrent parameters: lr * lr_factor, no weight decay."""
    warmup = max(1, int(cfg.warmup_frac * total_steps))

    def schedule(lr: float) -> optax.Schedule:
        return optax.warmup_cosine_decay_schedule(0.0, lr, warmup, max(total_steps, warmup + 1), end_value=0.0)

    tx = optax.multi_transform(
        {"recurrent": optax.adam(schedule(cfg.lr * cfg.lr_factor)),
         "other": optax.adamw(schedule(cfg.lr), weight_decay=cfg.weight_decay)},
        param_labels,
    )
    return optax.chain(optax.clip_by_global_norm(cfg.grad_clip), tx) if cfg.grad_clip > 0 else tx


class TrainState(NamedTuple):
    params: Any
    opt_state: Any


# --------------------------------------------------------------------------- losses


def masked_cross_entropy(logits: jax.Array, labels: jax.Array, mask: jax.Array | None = None) -> jax.Array:
    """Mean softmax cross-entropy over the entries where ``mask`` is true (all entries if None)."""
    ce = optax.softmax_cross_entropy_with_integer_labels(logits, labels)
    if mask is None:
        return ce.mean()
    m = mask.astype(ce.dtype)
    return (ce * m).sum() / jnp.maximum(m.sum(), 1.0)


def masked_accuracy(logits: jax.Array, labels: jax.Array, mask: jax.Array | None = None) -> jax.Array:
    hit = (logits.argmax(-1) == labels).astype(jnp.float32)
    if mask is None:
        return hit.mean()
    m = mask.astype(jnp.float32)
    return (hit * m).sum() / jnp.maximum(m.sum(), 1.0)


# --------------------------------------------------------------------------- sequence classification


@dataclasses.dataclass
class FitResult:
    params: Any
    losses: list[float]
    test_accuracy: float
    test_loss: float
    steps_per_s: float


def _per_step(task: SequenceTask) -> bool:
    return task.labels.ndim == 2


def fit_sequence_classifier(model: nn.Module, train: SequenceTask, test: SequenceTask, *, steps: int,
                            batch_size: int, optim: OptimConfig, seed: int, desc: str = "train",
                            log_every: int = 50, eval_batch: int = 256) -> FitResult:
    """Train ``model`` (a :class:`DeepRecurrentModel`) with Adam(W) on ``train``; report test accuracy.

    Per-step tasks (labels (n, T)) score the masked steps; pooled tasks (labels (n,)) pass the mask to the model's
    mean pooling.
    """
    per_step = _per_step(train)
    key = jax.random.PRNGKey(seed)
    k_init, k_drop = jax.random.split(key)
    x0 = jnp.asarray(train.inputs[:2])
    params = model.init(k_init, x0, None if per_step else jnp.asarray(train.mask[:2]))["params"]
    tx = make_optimizer(optim, steps)
    state = TrainState(params, tx.init(params))

    def loss_fn(params, x, y, m, rng):
        logits = model.apply({"params": params}, x, None if per_step else m, train=True, rngs={"dropout": rng})
        return masked_cross_entropy(logits, y, m if per_step else None)

    @jax.jit
    def train_step(state: TrainState, x, y, m, rng):
        loss, grads = jax.value_and_grad(loss_fn)(state.params, x, y, m, rng)
        updates, opt_state = tx.update(grads, state.opt_state, state.params)
        return TrainState(optax.apply_updates(state.params, updates), opt_state), loss

    rng = np.random.default_rng(seed)
    losses, window = [], []
    t0 = time.perf_counter()
    bar = progress(range(steps), desc=desc, total=steps)
    for step in bar:
        idx = rng.integers(0, len(train), batch_size)
        state, loss = train_step(state, jnp.asarray(train.inputs[idx]), jnp.asarray(train.labels[idx]),
                                 jnp.asarray(train.mask[idx]), jax.random.fold_in(k_drop, step))
        window.append(loss)
        if (step + 1) % log_every == 0 or step + 1 == steps:
            losses.append(float(jnp.mean(jnp.stack(window))))
            window = []
            if hasattr(bar, "set_postfix"):
                bar.set_postfix(loss=f"{losses[-1]:.3f}")
    steps_per_s = steps / (time.perf_counter() - t0)
    acc, loss = evaluate_classifier(model, state.params, test, eval_batch)
    return FitResult(state.params, losses, acc, loss, steps_per_s)


def evaluate_classifier(model: nn.Module, params: Any, task: SequenceTask, batch: int = 256) -> tuple[float, float]:
    """(accuracy, cross-entropy) over ``task``, weighted by scored entries."""
    per_step = _per_step(task)

    @jax.jit
    def sums(x, y, m):
        logits = model.apply({"params": params}, x, None if per_step else m)
        w = m.astype(jnp.float32) if per_step else jnp.ones(y.shape, jnp.float32)
        ce = optax.softmax_cross_entropy_with_integer_labels(logits, y)
        return ((logits.argmax(-1) == y) * w).sum(), (ce * w).sum(), w.sum()

    hits = ce = count = 0.0
    for i in range(0, len(task), batch):
        h, c, n = sums(jnp.asarray(task.inputs[i:i + batch]), jnp.asarray(task.labels[i:i + batch]),
                       jnp.asarray(task.mask[i:i + batch]))
        hits, ce, count = hits + float(h), ce + float(c), count + float(n)
    return hits / count, ce / count


# --------------------------------------------------------------------------- MLP regression, vmapped over seeds


def fit_mlp_regression(model: nn.Module, x_train: np.ndarray, y_train: np.ndarray, x_test: np.ndarray,
                       y_test: np.ndarray, *, seeds: list[int] | tuple[int, ...], steps: int, batch_size: int,
                       lr: float, desc: str = "mlp", chunk: int = 200) -> np.ndarray:
    """Train one MLP per seed (vmapped: one compiled program for all seeds) with Adam + cosine decay on MSE.

    Inputs are per seed: x_train (S, n, d), y_train (S, n, k) (S = len(seeds)). Returns the test MSE per seed,
    divided by the test targets' variance per seed (relative MSE; 1 = predicting the mean).
    """
    n_seeds, n_train = x_train.shape[0], x_train.shape[1]
    keys = jax.vmap(jax.random.PRNGKey)(jnp.asarray(seeds))
    params = jax.vmap(lambda k, x: model.init(k, x[:1])["params"])(keys, jnp.asarray(x_train))
    tx = optax.adam(optax.cosine_decay_schedule(lr, steps))
    opt_state = jax.vmap(tx.init)(params)
    xs, ys = jnp.asarray(x_train, jnp.float32), jnp.asarray(y_train, jnp.float32)

    def one_step(p, o, x, y, idx):
        def loss(p):
            return jnp.mean((model.apply({"params": p}, x[idx]) - y[idx]) ** 2)

        g = jax.grad(loss)(p)
        u, o = tx.update(g, o, p)
        return optax.apply_updates(p, u), o

    @jax.jit
    def run_chunk(params, opt_state, idx):  # idx (chunk, S, batch)
        def body(carry, i):
            p, o = jax.vmap(one_step)(*carry, xs, ys, i)
            return (p, o), None

        (params, opt_state), _ = jax.lax.scan(body, (params, opt_state), idx)
        return params, opt_state

    rng = np.random.default_rng(int(seeds[0]) + 7919)
    done = 0
    bar = progress(total=steps, desc=desc)
    while done < steps:
        c = min(chunk, steps - done)
        idx = jnp.asarray(rng.integers(0, n_train, (c, n_seeds, batch_size)))
        params, opt_state = run_chunk(params, opt_state, idx)
        done += c
        bar.update(c)
    bar.close()
    pred = jax.vmap(lambda p, x: model.apply({"params": p}, x))(params, jnp.asarray(x_test, jnp.float32))
    mse = np.asarray(jnp.mean((pred - jnp.asarray(y_test, jnp.float32)) ** 2, axis=(1, 2)))
    return mse / np.asarray(y_test).reshape(n_seeds, -1).var(axis=1)


def relative_mse(pred: np.ndarray, target: np.ndarray) -> float:
    """MSE / Var(target): 0 is perfect, 1 is predicting the mean."""
    return float(np.mean((pred - target) ** 2) / np.var(target))


def standardize(train: np.ndarray, *others: np.ndarray) -> list[np.ndarray]:
    """Scale every feature to zero mean and unit std using the training statistics."""
    mu, sd = train.mean(axis=0), train.std(axis=0)
    sd = np.where(sd > 0, sd, 1.0)
    return [(a - mu) / sd for a in (train, *others)]

