"""Bilevel meta-learning (paper Sec. 2, Eq. 1; reference ``metax/learner/maml.py``).

Inner loop: reset the fast parameters (meta-learned init), then ``inner_steps`` AdamW steps on the support loss
(full batch, or minibatches drawn with replacement); outer loop: the query loss at the adapted fast parameters,
averaged over a meta-batch of tasks (``vmap``), differentiated through the whole unrolled inner loop
(second-order, the reference's default) or with stop-gradient on the inner gradients (``first_order``, FOMAML).

Inner AdamW keeps optax's default weight decay 1e-4 and uses ``eps_root`` = float32 eps, which keeps the
second-order gradient finite where a gradient entry is exactly zero. Outer: AdamW with global-norm clipping,
updates skipped when the meta-gradient is not finite. Loss: KL(teacher || softmax(student)), mean over shots.

ANIL fast path: with ``cache_features`` the body's features of the support shots are computed once per task and
the head adapted on them, instead of recomputing the body at every inner step as the reference does. Both give
the same adapted head and the same meta-gradient (tested); the cached path is far cheaper. Each inner step is
rematerialized (``inner_remat="dots"``): its matmul outputs are kept for the meta-gradient and its elementwise ops
recomputed, which is faster on CPU for every student but MAML (same meta-gradient, tested).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import optax

from modular_hyperteacher.hyperteacher import TaskBatch
from modular_hyperteacher.students import Params, Student


@dataclasses.dataclass(frozen=True)
class MetaLearnerConfig:
    """Inner/outer optimization of one student (reference ``configs/hyperteacher.py`` per method)."""

    inner_steps: int = 10
    inner_lr: float = 0.3
    inner_batch_size: int | None = None  # None: full-batch inner steps
    inner_weight_decay: float = 1e-4  # optax.adamw's default, on in the reference
    inner_optimizer: str = "adamw"  # or "sgd" (tests, hand-computed meta-gradients)
    first_order: bool = False
    outer_lr: float = 1e-3
    outer_weight_decay: float = 1e-2
    max_grad_norm: float = 1.0
    cache_features: bool = True  # ANIL: adapt the head on cached body features
    vectorize_tasks: bool = True  # vmap over the tasks of a meta-batch; False: lax.map (the bench's naive baseline)
    inner_remat: str = "dots"  # residuals kept per inner step (REMAT_POLICIES): "dots" or "all"


# per inner step, the residuals the meta-gradient keeps: "dots" keeps the matmul outputs and recomputes the
# elementwise rest in the backward pass (same gradient, less memory traffic); "all" keeps everything
REMAT_POLICIES = {"dots": jax.checkpoint_policies.dots_saveable}
INNER_REMAT = ("all", *REMAT_POLICIES)

# Reference per-method settings (configs/hyperteacher.py).
METHOD_DEFAULTS: dict[str, MetaLearnerConfig] = {
    "hnet_linear": MetaLearnerConfig(10, 0.3, None, outer_lr=1e-3, outer_weight_decay=1e-2, max_grad_norm=1.0),
    "hnet_deepmlp": MetaLearnerConfig(10, 0.3, None, outer_lr=3e-3, outer_weight_decay=1e-2, max_grad_norm=1.0),
    "anil": MetaLearnerConfig(100, 0.03, 64, outer_lr=1e-3, outer_weight_decay=1e-4, max_grad_norm=2.0),
    # MAML keeps every residual: its inner steps are large batched matmuls, and recomputing them measured 6% slower
    "learned_init": MetaLearnerConfig(10, 0.01, None, outer_lr=1e-3, outer_weight_decay=1e-4, max_grad_norm=2.0,
                                      inner_remat="all"),
}


def kl_loss(logits: jax.Array, targets: jax.Array) -> jax.Array:
    """KL(targets || softmax(logits)), summed over classes, mean over shots."""
    kl = jax.scipy.special.xlogy(targets, targets) - targets * jax.nn.log_softmax(logits, axis=-1)
    return jnp.mean(jnp.sum(kl, axis=-1))


def accuracy(logits: jax.Array, targets: jax.Array) -> jax.Array:
    """Agreement of the argmax with the teacher's argmax (hard targets)."""
    return jnp.mean(jnp.argmax(logits, -1) == jnp.argmax(targets, -1))


class MetaState(NamedTuple):
    meta: Params
    opt_state: Any
    step: jax.Array


class MetaLearner:
    """Jit-able meta-training and evaluation of one :class:`~modular_hyperteacher.students.Student`."""

    def __init__(self, student: Student, cfg: MetaLearnerConfig,
                 loss_fn: Callable[[jax.Array, jax.Array], jax.Array] = kl_loss,
                 metric_fn: Callable[[jax.Array, jax.Array], jax.Array] = accuracy):
        self.student, self.cfg, self.loss_fn, self.metric_fn = student, cfg, loss_fn, metric_fn
        if cfg.inner_optimizer == "adamw":
            self.inner_opt = optax.adamw(cfg.inner_lr, eps_root=float(jnp.finfo(jnp.float32).eps),
                                         weight_decay=cfg.inner_weight_decay)
        elif cfg.inner_optimizer == "sgd":
            self.inner_opt = optax.sgd(cfg.inner_lr)
        else:
            raise ValueError(f"inner_optimizer must be adamw or sgd, got {cfg.inner_optimizer!r}")
        if cfg.inner_remat not in INNER_REMAT:
            raise ValueError(f"inner_remat must be one of {INNER_REMAT}, got {cfg.inner_remat!r}")
        self.outer_opt = optax.apply_if_finite(optax.chain(
            optax.clip_by_global_norm(cfg.max_grad_norm),
            optax.adamw(cfg.outer_lr, weight_decay=cfg.outer_weight_decay)), 1)

    @property
    def uses_cached_features(self) -> bool:
        return self.cfg.cache_features and hasattr(self.student, "features")

    def init(self, rng: jax.Array) -> MetaState:
        meta = self.student.init(rng)
        return MetaState(meta, self.outer_opt.init(meta), jnp.zeros((), jnp.int32))

    # -- inner loop
    def adapt(self, meta: Params, x: jax.Array, y: jax.Array, rng: jax.Array,
              steps: int | None = None) -> Params:
        """Fast parameters adapted to one task's support set (x, y)."""
        cfg, student = self.cfg, self.student
        steps = cfg.inner_steps if steps is None else steps
        if self.uses_cached_features:
            feats = student.features(meta, x)

            def predict(fast, idx):
                return student.head_apply(fast, feats if idx is None else feats[idx])
        else:
            def predict(fast, idx):
                return student.apply(meta, fast, x if idx is None else x[idx])

        def support_loss(fast, idx):
            return self.loss_fn(predict(fast, idx), y if idx is None else y[idx])

        def step(carry, rng_step):
            fast, opt_state = carry
            idx = None
            if cfg.inner_batch_size is not None:
                idx = jax.random.randint(rng_step, (cfg.inner_batch_size,), 0, x.shape[0])  # with replacement
            grads = jax.grad(support_loss)(fast, idx)
            if cfg.first_order:
                grads = jax.lax.stop_gradient(grads)
            updates, opt_state = self.inner_opt.update(grads, opt_state, fast)
            return (optax.apply_updates(fast, updates), opt_state), None

        if cfg.inner_remat in REMAT_POLICIES:
            step = jax.checkpoint(step, policy=REMAT_POLICIES[cfg.inner_remat], prevent_cse=False)
        fast0 = student.reset(meta)
        (fast, _), _ = jax.lax.scan(step, (fast0, self.inner_opt.init(fast0)), jax.random.split(rng, steps))
        return fast

    def predict(self, meta: Params, fast: Params, x: jax.Array) -> jax.Array:
        return self.student.apply(meta, fast, x)

    # -- outer loop
    def task_loss(self, meta: Params, task: TaskBatch, rng: jax.Array, steps: int | None = None):
        """Query loss after adaptation on the support set; aux: (metric, e.g. accuracy; adapted fast params)."""
        fast = self.adapt(meta, task.x_support, task.y_support, rng, steps)
        logits = self.predict(meta, fast, task.x_query)
        return self.loss_fn(logits, task.y_query), (self.metric_fn(logits, task.y_query), fast)

    def batch_loss(self, meta: Params, batch: TaskBatch, rng: jax.Array):
        rngs = jax.random.split(rng, batch.codes.shape[0])
        if self.cfg.vectorize_tasks:
            losses, (accs, _) = jax.vmap(self.task_loss, in_axes=(None, 0, 0))(meta, batch, rngs)
        else:
            losses, (accs, _) = jax.lax.map(lambda args: self.task_loss(meta, *args), (batch, rngs))
        return jnp.mean(losses), jnp.mean(accs)

    def step(self, state: MetaState, batch: TaskBatch, rng: jax.Array) -> tuple[MetaState, dict[str, jax.Array]]:
        """One meta-update on a batch of tasks."""
        (loss, acc), grads = jax.value_and_grad(self.batch_loss, has_aux=True)(state.meta, batch, rng)
        updates, opt_state = self.outer_opt.update(grads, state.opt_state, state.meta)
        meta = optax.apply_updates(state.meta, updates)
        return MetaState(meta, opt_state, state.step + 1), {"loss": loss, "acc": acc,
                                                            "grad_norm": optax.tree.norm(grads)}

    # -- evaluation
    def evaluate(self, meta: Params, batch: TaskBatch, rng: jax.Array, *, chunk: int = 64,
                 return_fast: bool = False) -> dict[str, jax.Array]:
        """Per-task query loss and accuracy (and adapted fast parameters), tasks processed ``chunk`` at a time."""
        n = batch.codes.shape[0]
        chunk = min(chunk, n)
        if n % chunk:
            raise ValueError(f"number of eval tasks ({n}) must be a multiple of the chunk ({chunk})")
        rngs = jax.random.split(rng, n)

        def one_chunk(args):
            tasks, keys = args
            loss, (acc, fast) = jax.vmap(self.task_loss, in_axes=(None, 0, 0))(meta, tasks, keys)
            return (loss, acc, fast) if return_fast else (loss, acc)

        reshaped = jax.tree_util.tree_map(lambda a: a.reshape(n // chunk, chunk, *a.shape[1:]), (batch, rngs))
        out = jax.lax.map(one_chunk, reshaped)
        out = jax.tree_util.tree_map(lambda a: a.reshape(n, *a.shape[2:]), out)
        metrics = {"loss": out[0], "acc": out[1]}
        if return_fast:
            metrics["fast"] = out[2]
        return metrics
