"""Meta-training a student on the hyperteacher (reference ``run_fewshot.py`` + ``metax/experiment.py``).

Fresh ID tasks every outer step, generated inside the jitted step (``lax.scan`` over ``eval_every`` steps);
evaluation every ``eval_every`` steps on fixed task sets (valid and test: ID; ood; optionally ``ood_k``: every
generated layer k-hot); the returned metrics are those of the checkpoint with the best ID validation loss
(the reference's early stopping). At the end, linear decodability of the true code from the adapted fast
parameters (:func:`decode_r2`, the reference's ``callback_decode_modules``).
"""

from __future__ import annotations

import dataclasses
import time
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.flatten_util import ravel_pytree

from modular_hyperteacher import identification
from modular_hyperteacher.hyperteacher import HyperTeacher, TaskBatch
from modular_hyperteacher.metalearn import METHOD_DEFAULTS, MetaLearner
from modular_hyperteacher.students import count_params, make_student


@dataclasses.dataclass(frozen=True)
class FewshotConfig:
    """One meta-training run of one student (reference: configs/hyperteacher.py)."""

    student: str = "hnet_linear"
    hidden_dim: int = 128
    num_hidden: int = 3
    module_ratio: int = 4  # hypernetworks: M = module_ratio x num_experts (ratio_templates_experts)
    steps: int = 200_000
    meta_batch_size: int = 128
    shots_support: int = 256
    shots_query: int = 256
    eval_every: int = 1000
    eval_tasks: int = 1024
    eval_chunk: int = 128
    ood_hot: tuple[int, ...] = ()
    first_order: bool = False
    cache_features: bool = True
    seed: int = 2023
    decode_tasks: int = 1024


def build_learner(cfg: FewshotConfig, teacher: HyperTeacher, learner_overrides: dict[str, Any] | None = None
                  ) -> MetaLearner:
    tcfg = teacher.cfg
    student = make_student(cfg.student, input_dim=tcfg.input_dim, output_dim=tcfg.output_dim,
                           hidden_dim=cfg.hidden_dim, num_hidden=cfg.num_hidden,
                           num_modules=cfg.module_ratio * tcfg.num_experts)
    changes = {"first_order": cfg.first_order, "cache_features": cfg.cache_features, **(learner_overrides or {})}
    lcfg = dataclasses.replace(METHOD_DEFAULTS[cfg.student], **changes)
    return MetaLearner(student, lcfg)


def make_train_chunk(learner: MetaLearner, teacher: HyperTeacher, cfg: FewshotConfig, steps: int):
    """A jitted function running ``steps`` meta-updates on freshly sampled ID tasks."""

    def body(state, rng):
        rng_data, rng_step = jax.random.split(rng)
        batch = teacher.sample(rng_data, cfg.meta_batch_size, cfg.shots_support, cfg.shots_query, "train")
        return learner.step(state, batch, rng_step)

    @jax.jit
    def train_chunk(state, rng):
        return jax.lax.scan(body, state, jax.random.split(rng, steps))

    return train_chunk


def eval_sets(teacher: HyperTeacher, cfg: FewshotConfig, rng: jax.Array) -> dict[str, TaskBatch]:
    names = ["valid", "test", "ood"] + [f"ood_{k}" for k in cfg.ood_hot]
    keys = jax.random.split(rng, len(names))
    split = {"valid": "test", "test": "test"}
    return {n: teacher.sample(k, cfg.eval_tasks, cfg.shots_support, cfg.shots_query, split.get(n, n))
            for n, k in zip(names, keys)}


def decode_r2(learner: MetaLearner, meta: Any, id_tasks: TaskBatch, ood_tasks: TaskBatch, rng: jax.Array, *,
              chunk: int, l2: float = 1.0) -> np.ndarray:
    """R^2 (per code entry: generated layer x expert) of a ridge decoder (with intercept) from the adapted fast
    parameters to the true code, fit on ID tasks and scored on OOD tasks. Entries constant on the OOD tasks have
    no R^2 (nan); averages skip them."""
    rng_id, rng_ood = jax.random.split(rng)
    adapted = jax.jit(lambda tasks, key: learner.evaluate(meta, tasks, key, chunk=chunk, return_fast=True)["fast"])
    fast_id, fast_ood = adapted(id_tasks, rng_id), adapted(ood_tasks, rng_ood)
    x_id = jax.vmap(lambda f: ravel_pytree(f)[0])(fast_id)
    x_ood = jax.vmap(lambda f: ravel_pytree(f)[0])(fast_ood)
    y_id = id_tasks.codes.reshape(id_tasks.codes.shape[0], -1)
    y_ood = ood_tasks.codes.reshape(ood_tasks.codes.shape[0], -1)
    r2 = identification.ridge_r2(x_id, y_id, x_ood, y_ood, l2=l2, intercept=True)
    return np.asarray(r2).reshape(ood_tasks.codes.shape[1:])


def run_fewshot(teacher: HyperTeacher, cfg: FewshotConfig, *, learner_overrides: dict[str, Any] | None = None,
                learner: MetaLearner | None = None, progress_desc: str | None = None,
                decode: bool = True) -> dict[str, Any]:
    """Meta-train, evaluate every ``eval_every`` steps, return the history and the best-valid metrics.

    ``teacher`` is any task distribution with the hyperteacher's ``sample(rng, tasks, shots_support, shots_query,
    split)`` (e.g. :class:`~modular_hyperteacher.grids.PreferenceGrid` with a ``learner`` built for it)."""
    from repro_shared.progress import progress

    learner = learner or build_learner(cfg, teacher, learner_overrides)
    rng_init, rng_train, rng_eval, rng_decode = jax.random.split(jax.random.PRNGKey(cfg.seed), 4)
    state = learner.init(rng_init)
    num_meta, num_fast = count_params(state.meta), count_params(learner.student.reset(state.meta))
    if cfg.steps % cfg.eval_every:
        raise ValueError(f"steps ({cfg.steps}) must be a multiple of eval_every ({cfg.eval_every})")
    train_chunk = make_train_chunk(learner, teacher, cfg, cfg.eval_every)
    t0 = time.perf_counter()
    train_chunk = train_chunk.lower(state, rng_train).compile()  # compile outside the timed steps
    compile_time = time.perf_counter() - t0
    sets = eval_sets(teacher, cfg, rng_eval)

    @jax.jit
    def evaluate(meta, rng):
        keys = jax.random.split(rng, len(sets))
        out = {}
        for (name, batch), key in zip(sets.items(), keys):
            m = learner.evaluate(meta, batch, key, chunk=cfg.eval_chunk)
            out[f"{name}_loss"], out[f"{name}_acc"] = jnp.mean(m["loss"]), jnp.mean(m["acc"])
        return out

    history: list[dict[str, float]] = []
    best: dict[str, Any] = {"valid_loss": np.inf}
    train_time = 0.0
    bar = progress(total=cfg.steps, desc=progress_desc or cfg.student)
    rng_eval_step = jax.random.fold_in(rng_eval, 1)
    for i in range(cfg.steps // cfg.eval_every + 1):
        if i > 0:
            t0 = time.perf_counter()
            state, train_metrics = train_chunk(state, jax.random.fold_in(rng_train, i))
            jax.block_until_ready(state)
            train_time += time.perf_counter() - t0
            bar.update(cfg.eval_every)
        ev = {k: float(v) for k, v in evaluate(state.meta, rng_eval_step).items()}
        ev["step"] = i * cfg.eval_every
        if i > 0:
            ev["train_loss"] = float(jnp.mean(train_metrics["loss"]))
            ev["train_acc"] = float(jnp.mean(train_metrics["acc"]))
        history.append(ev)
        if ev["valid_loss"] < best["valid_loss"]:
            best = {**ev, "meta": state.meta}
    bar.close()
    result: dict[str, Any] = {
        "student": cfg.student, "num_meta_params": num_meta, "num_fast_params": num_fast,
        "history": history, "best": {k: v for k, v in best.items() if k != "meta"},
        "final": history[-1], "train_time_s": train_time, "compile_time_s": compile_time,
        "steps_per_s": cfg.steps / train_time if train_time > 0 else float("nan"),
        "learner": dataclasses.asdict(learner.cfg),
    }
    if decode:
        n = min(cfg.decode_tasks, cfg.eval_tasks)
        take = jax.tree_util.tree_map(lambda a: a[:n], (sets["test"], sets["ood"]))
        r2 = decode_r2(learner, best["meta"], take[0], take[1], rng_decode, chunk=min(cfg.eval_chunk, n))
        result["decode_r2"] = float(np.nanmean(r2))
        if r2.ndim == 2:
            result["decode_r2_per_layer"] = np.nanmean(r2, axis=1).tolist()
    result["meta"] = best["meta"]
    return result
