"""Training: the LRU paper's optimizer split, losses, and two small loops (sequence classification with a
:class:`~lru_universality.models.DeepRecurrentModel`; regression with an MLP, vmapped over seeds).

Optimizer (LRU paper, appendix D): AdamW with cosine decay and linear warm-up; the recurrent parameters
(nu_log, theta_log, gamma_log, B, and the S4D A / step) get the learning rate times ``lr_factor`` and no weight
decay.
"""

from __future__ import annotations

import dataclasses
import functools
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
from lru_universality.models import MLP
from repro_shared.progress import progress


@dataclasses.dataclass(frozen=True)
class OptimConfig:
    lr: float = 1e-3
    lr_factor: float = 0.5  # minimal-LRU's default for the recurrent parameters
    weight_decay: float = 0.05
    warmup_frac: float = 0.1
    grad_clip: float = 0.0  # 0: off (the LRU paper does not clip)


def param_labels(params: Any) -> Any:
    """'recurrent' for leaves named in RECURRENT_PARAM_NAMES (only the recurrent layers use them), else 'other'."""
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
    # one compiled init instead of dozens of eagerly compiled initializer ops
    params = jax.jit(model.init)(k_init, x0, None if per_step else jnp.asarray(train.mask[:2]))["params"]
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
        if step == 0:  # steps/s excludes compilation
            jax.block_until_ready(loss)
            t0 = time.perf_counter()
        window.append(loss)
        if (step + 1) % log_every == 0 or step + 1 == steps:
            losses.append(float(jnp.mean(jnp.stack(window))))
            window = []
            if hasattr(bar, "set_postfix"):
                bar.set_postfix(loss=f"{losses[-1]:.3f}")
    jax.block_until_ready(state.params)
    steps_per_s = (steps - 1) / max(time.perf_counter() - t0, 1e-9)
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


def _mlp_tx(lr: float, steps: int) -> optax.GradientTransformation:
    return optax.adam(optax.cosine_decay_schedule(lr, steps))


@functools.partial(jax.jit, static_argnames=("width", "depth", "lr", "steps"))
def _mlp_chunk(params, opt_state, xs, ys, idx, *, width: int, depth: int, lr: float, steps: int):
    """``idx.shape[0]`` Adam steps for every seed at once: params / data carry a leading seed axis."""
    model, tx = MLP(width, ys.shape[-1], depth), _mlp_tx(lr, steps)

    def one_step(p, o, x, y, i):
        g = jax.grad(lambda p: jnp.mean((model.apply({"params": p}, x[i]) - y[i]) ** 2))(p)
        u, o = tx.update(g, o, p)
        return optax.apply_updates(p, u), o

    def body(carry, i):
        return jax.vmap(one_step)(*carry, xs, ys, i), None

    (params, opt_state), _ = jax.lax.scan(body, (params, opt_state), idx)
    return params, opt_state


@functools.partial(jax.jit, static_argnames=("width", "depth", "d_out"))
def _mlp_predict(params, x, *, width: int, depth: int, d_out: int):
    model = MLP(width, d_out, depth)
    return jax.vmap(lambda p, xi: model.apply({"params": p}, xi))(params, x)


def fit_mlp_regression(width: int, x_train: np.ndarray, y_train: np.ndarray, x_test: np.ndarray,
                       y_test: np.ndarray, *, seeds: list[int] | tuple[int, ...], steps: int, batch_size: int,
                       lr: float, depth: int = 2, desc: str = "mlp", chunk: int = 250) -> np.ndarray:
    """Train one ReLU :class:`MLP` of the given width per seed with Adam + cosine decay on the MSE, all seeds in
    one vmapped, compiled program (the same shapes reuse it across calls).

    Inputs are per seed: x_train (S, n, d), y_train (S, n, k) (S = len(seeds)). ``steps`` is rounded up to a
    multiple of the scan chunk. Returns the test MSE per seed divided by that seed's test-target variance
    (relative MSE; 1 = predicting the mean).
    """
    n_seeds, n_train, d_out = x_train.shape[0], x_train.shape[1], y_train.shape[-1]
    n_chunks = -(-steps // chunk)
    chunk = -(-steps // n_chunks)
    total = n_chunks * chunk
    model = MLP(width, d_out, depth)
    keys = jax.vmap(jax.random.PRNGKey)(jnp.asarray(seeds))
    params = jax.jit(jax.vmap(lambda k, x: model.init(k, x)["params"]))(keys, jnp.asarray(x_train[:, :1]))
    opt_state = jax.jit(jax.vmap(_mlp_tx(lr, total).init))(params)
    xs, ys = jnp.asarray(x_train, jnp.float32), jnp.asarray(y_train, jnp.float32)
    rng = np.random.default_rng(int(seeds[0]) + 7919)
    for _ in progress(range(n_chunks), desc=desc, total=n_chunks):
        idx = jnp.asarray(rng.integers(0, n_train, (chunk, n_seeds, batch_size)))
        params, opt_state = _mlp_chunk(params, opt_state, xs, ys, idx, width=width, depth=depth, lr=lr, steps=total)
    pred = _mlp_predict(params, jnp.asarray(x_test, jnp.float32), width=width, depth=depth, d_out=d_out)
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

