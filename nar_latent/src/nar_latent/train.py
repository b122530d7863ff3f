"""Training many models at once: seeds x variants, vmapped, with a scan over training steps.

The authors' loop (their fork of ``clrs/examples/run.py``) per run: one on-the-fly batch per step,
cycling over the training sizes; Adam (lr 1e-3, no clipping); validation on the CLRS-30 val split
at steps 0, E, 2E, ... with the **max** processor; the best-validation parameters are tested.

Here the models of all seeds and variants advance together:

* parameters carry leading axes (seed, variant); one ``vmap`` over variants shares each seed's
  batch (variants of the same seed see the same data and the same initialisation in the fork);
  a second ``vmap`` runs the seeds on their own data streams;
* a compiled chunk runs ``rounds`` x ``len(sizes)`` updates as a ``lax.scan`` over rounds, each
  round one update per training size (sizes have their own shapes inside one program);
* hint axes are padded per size to the running maximum, so a chunk compiles once per shape, and
  the hint steps past a batch's longest trajectory are skipped (``lax.cond``), so the padding costs
  no compute: every update does the work of its own batch only;
* validation scores every model in both evaluation modes (max aggregation, as in the authors'
  code, and the model's own training aggregation) and keeps the best parameters per mode.

Updates after the last validation never reach the tested parameters, so they are skipped: a run
of ``steps`` trains ``steps - eval_every + 1`` updates, the ones the fork's best checkpoint can see.
"""

from __future__ import annotations

import dataclasses
import functools
import sys
import time
from collections.abc import Sequence
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from nar_latent import data as data_lib
from nar_latent import evaluation, losses, model
from nar_latent.processor import ProcessorConfig
from nar_latent.reference import init_params
from repro_shared.cli import ConfigError
from repro_shared.progress import progress

# The paper's four processors: (softmax aggregation in training, latent decay lambda).
VARIANTS: dict[str, tuple[bool, float]] = {
    "baseline": (False, 1.0),
    "softmax": (True, 1.0),
    "decay": (False, 0.9),
    "both": (True, 0.9),
}
EVAL_MODES = ("max", "train_agg")  # evaluation aggregator: always max (authors' code) / the training one


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """One training run's knobs (the fork's defaults where the paper does not say)."""

    algorithm: str = "bellman_ford"
    sizes: tuple[int, ...] = (4, 7, 11, 13, 16)
    batch_size: int = 32
    hidden: int = 128
    learning_rate: float = 1e-3
    steps: int = 30000
    eval_every: int = 500
    nb_triplet_fts: int = 8
    encoder_init: str = "default"
    max_rounds_per_call: int = 25  # bounds the host memory of one chunk's batches
    hint_headroom: int = 2  # pad hints 2 steps past the sampler's estimate; a longer batch recompiles
    # recompute each hint step in the backward pass instead of storing its activations: the same loss and gradients,
    # and on CPU faster (a stored step's residuals cost more memory traffic than recomputing it: BF, n = 16, 4
    # models: 152 vs 302 ms per update); "auto" = only for edge-pointer algorithms (FW), whose decoders hold
    # (B, N, N, N, H) tensors
    remat: str = "true"

    def validate(self) -> None:
        sizes = data_lib.train_sizes(self.algorithm, self.sizes)
        if self.eval_every % len(sizes):
            raise ConfigError("eval_every", self.eval_every, f"a multiple of the number of sizes ({len(sizes)})")
        if self.steps < self.eval_every or self.steps % self.eval_every:
            raise ConfigError("steps", self.steps, f"a positive multiple of eval_every ({self.eval_every})")
        if self.remat not in ("auto", "true", "false"):
            raise ConfigError("remat", self.remat, ("auto", "true", "false"))
        if self.encoder_init not in ("default", "xavier_on_scalars"):
            raise ConfigError("encoder_init", self.encoder_init, ("default", "xavier_on_scalars"))

    @property
    def model(self) -> model.ModelConfig:
        return model.ModelConfig(hidden=self.hidden, processor=ProcessorConfig(nb_triplet_fts=self.nb_triplet_fts),
                                 encoder_init=self.encoder_init)


class VariantArrays(NamedTuple):
    decay: jax.Array  # (V,)
    softmax: jax.Array  # (V,) bool


def variant_arrays(names: Sequence[str]) -> VariantArrays:
    unknown = [n for n in names if n not in VARIANTS]
    if unknown:
        raise ConfigError("variants", unknown, list(VARIANTS))
    return VariantArrays(jnp.asarray([VARIANTS[n][1] for n in names], jnp.float32),
                         jnp.asarray([VARIANTS[n][0] for n in names]))


# --------------------------------------------------------------------------- pure steps

def loss_fn(params, task, feedback, variant: model.Variant, config: model.ModelConfig, remat: bool = False,
            active_steps: jax.Array | None = None) -> jax.Array:
    preds = model.forward(params, task, feedback.features, config=config, variant=variant, remat=remat,
                          active_steps=active_steps)
    return losses.total_loss(task, feedback, preds)


def uses_remat(setting: str, task: data_lib.Task) -> bool:
    """``auto``: recompute steps for algorithms with edge pointers, whose decoders hold (B, N, N, N, H)."""
    if setting != "auto":
        return setting == "true"
    return any(loc == "edge" and typ == "pointer" for stage, loc, typ in task.spec.values() if stage != "input")


def make_update(task: data_lib.Task, config: model.ModelConfig, optimizer: optax.GradientTransformation,
                remat: bool = False):
    """One Adam step of one model on one batch.

    ``active_steps`` (optional, see :func:`model.needed_steps`) skips the hint steps past the batch's
    longest trajectory: same loss and gradient, less work on a padded hint axis.
    """

    def update(params, opt_state, feedback, decay, softmax, active_steps=None):
        variant = model.Variant(decay=decay, softmax=softmax)
        loss, grads = jax.value_and_grad(loss_fn)(params, task, feedback, variant, config, remat, active_steps)
        updates, opt_state = optimizer.update(grads, opt_state, params)
        return optax.apply_updates(params, updates), opt_state, loss

    return update


def over_models(update):
    """vmap over variants (shared batch), then over seeds (own batch); ``active_steps`` stays unbatched."""
    over_v = jax.vmap(update, in_axes=(0, 0, None, 0, 0, None))
    return jax.vmap(over_v, in_axes=(0, 0, 0, None, None, None))


def make_chunk(task, config, optimizer, remat: bool = False):
    """A jitted scan over rounds; each round updates every model once per training size.

    Only the first ``active`` updates of the chunk are applied (a ``lax.cond`` skips the rest), so
    the single update before the first validation reuses the same compiled program.
    """
    update = over_models(make_update(task, config, optimizer, remat))

    @jax.jit
    def chunk(params, opt_state, batches, variants: VariantArrays, active):
        nb_sizes = len(batches)

        def body(carry, xs):
            (p, o), r = carry, xs[0]
            round_losses = []
            for j, fb in enumerate(xs[1]):  # one batch per size, each with its own (static) shape
                def do(po, fb=fb):  # every seed's batch runs to the longest trajectory of them all
                    needed = model.needed_steps(fb.features.lengths)
                    return update(po[0], po[1], fb, variants.decay, variants.softmax, needed)

                def skip(po):
                    return po[0], po[1], jnp.full(loss_shape, jnp.nan)

                p, o, loss = jax.lax.cond(r * nb_sizes + j < active, do, skip, (p, o))
                round_losses.append(loss)
            return (p, o), jnp.stack(round_losses)

        loss_shape = (jax.tree_util.tree_leaves(batches[0])[0].shape[1], variants.decay.shape[0])
        rounds = jax.tree_util.tree_leaves(batches[0])[0].shape[0]
        (params, opt_state), chunk_losses = jax.lax.scan(body, (params, opt_state),
                                                         (jnp.arange(rounds), tuple(batches)))
        return params, opt_state, chunk_losses

    return chunk


def make_predict(task, config, *, return_hiddens: bool = False, extra_steps: int = 0):
    """Raw output predictions of models stacked on a leading variant axis, on one shared batch."""

    def predict(params, features, decay, softmax, output_step=None):
        preds = model.forward(params, task, features, config=config, variant=model.Variant(decay, softmax),
                              return_hiddens=return_hiddens, extra_steps=extra_steps, output_step=output_step)
        return preds

    return jax.jit(jax.vmap(predict, in_axes=(0, None, 0, 0, None)))


def make_validate(task, config):
    """Scores (S, V, len(EVAL_MODES)) of every model on one batch, in both evaluation modes."""

    def one(params, feedback, decay, softmax):
        out = []
        for mode in EVAL_MODES:
            agg = False if mode == "max" else softmax
            preds = model.forward(params, task, feedback.features, config=config, variant=model.Variant(decay, agg))
            out.append(evaluation.score(task, feedback.outputs, preds.outputs))
        return jnp.stack(out)

    over_v = jax.vmap(one, in_axes=(0, None, 0, 0))
    return jax.jit(jax.vmap(over_v, in_axes=(0, None, None, None)))


# --------------------------------------------------------------------------- the trainer

@dataclasses.dataclass
class TrainResult:
    """Best-validation parameters per evaluation mode and the training history."""

    best_params: dict[str, Any]  # mode -> params (S, V, ...)
    best_val: np.ndarray  # (S, V, modes)
    val_history: list[tuple[int, np.ndarray]]  # (step, (S, V, modes))
    loss_history: list[tuple[int, np.ndarray]]  # (step, (S, V)) mean loss of the chunk ending there
    params: Any  # final parameters (S, V, ...)
    updates: int
    train_seconds: float
    task: data_lib.Task


class Trainer:
    """Trains ``len(seeds) x len(variants)`` models of one algorithm together."""

    def __init__(self, config: TrainConfig, seeds: Sequence[int], variants: Sequence[str], *,
                 val_feedback: Any | None = None):
        config.validate()
        self.config, self.seeds, self.variant_names = config, list(seeds), list(variants)
        self.variants = variant_arrays(self.variant_names)
        self.sizes = data_lib.train_sizes(config.algorithm, config.sizes)
        self.streams = [data_lib.TrainStream(config.algorithm, self.sizes, config.batch_size, s) for s in self.seeds]
        self.steps_of_size = {n: max(st.max_steps(n) for st in self.streams) + config.hint_headroom
                              for n in self.sizes}
        first = [st.next(self.sizes[0]) for st in self.streams]
        self.task = data_lib.make_task(config.algorithm, first[0])
        self._pending = first  # the first training batch of every seed (step 0)
        self.optimizer = optax.adam(config.learning_rate)
        nb_v = len(self.variant_names)
        init = [init_params(self.task.spec, self.task.nb_dims, fb.features, config.hidden,
                            jax.random.PRNGKey(s + 1), encoder_init=config.encoder_init,
                            nb_triplet_fts=config.nb_triplet_fts) for s, fb in zip(self.seeds, first)]
        # the fork initialises with seed + 1; variants of one seed start from the same parameters
        self.params = jax.tree_util.tree_map(lambda *xs: jnp.stack([jnp.stack([x] * nb_v) for x in xs]), *init)
        self.opt_state = jax.jit(jax.vmap(jax.vmap(self.optimizer.init)))(self.params)
        self._chunk = None
        self.val_feedback = val_feedback if val_feedback is not None else data_lib.load_eval_split(
            config.algorithm, "val")
        self._validate = make_validate(self.task, config.model)

    # -- data
    def _round_batches(self, rounds: int, first: bool = False):
        """Batches (rounds, seeds, ...) per training size, padded to the running max hint length.

        ``first``: the batch of step 0 (already drawn) and copies of it (never applied) as filler.
        """
        per_size = {n: [] for n in self.sizes}
        for r in range(rounds):
            for n in self.sizes:
                if first:
                    per_size[n].append(self._pending if n == self.sizes[0] and r == 0 else None)
                else:
                    per_size[n].append([st.next(n) for st in self.streams])
        out = []
        for n in self.sizes:
            drawn = [fbs for fbs in per_size[n] if fbs is not None]
            if not drawn:  # filler of the right size for the first chunk
                drawn = [[st.next(n) for st in self.streams]]
            steps = max([self.steps_of_size[n]] + [data_lib.num_steps(f) for fbs in drawn for f in fbs])
            if steps > self.steps_of_size[n]:
                print(f"[nar_latent] size {n}: hint length grew {self.steps_of_size[n]} -> {steps} "
                      "(the training chunk recompiles)", file=sys.stderr, flush=True)
            self.steps_of_size[n] = steps
            stacked = [data_lib.stack(fbs, steps) for fbs in drawn]
            stacked += [stacked[0]] * (rounds - len(stacked))
            out.append(jax.tree_util.tree_map(lambda *xs: np.stack(xs), *stacked))
        return tuple(out)

    def _train(self, rounds: int, active: int, first: bool = False) -> np.ndarray:
        if self._chunk is None:
            self._chunk = make_chunk(self.task, self.config.model, self.optimizer,
                                     uses_remat(self.config.remat, self.task))
        batches = self._round_batches(rounds, first)
        self.params, self.opt_state, chunk_losses = self._chunk(self.params, self.opt_state, batches,
                                                                self.variants, active)
        return np.asarray(chunk_losses)  # (rounds, sizes, S, V); nan where skipped

    def validate(self, params=None) -> np.ndarray:
        return np.asarray(self._validate(self.params if params is None else params, self.val_feedback,
                                         self.variants.decay, self.variants.softmax))

    # -- the loop
    def run(self, *, desc: str = "train") -> TrainResult:
        cfg = self.config
        nb_evals = cfg.steps // cfg.eval_every
        rounds_per_eval = cfg.eval_every // len(self.sizes)
        sub = max(d for d in range(1, min(rounds_per_eval, cfg.max_rounds_per_call) + 1) if rounds_per_eval % d == 0)
        t0 = time.perf_counter()
        losses_first = self._train(sub, 1, first=True)
        updates = 1
        best = {m: self.params for m in EVAL_MODES}
        best_val = np.full((len(self.seeds), len(self.variant_names), len(EVAL_MODES)), -np.inf)
        val_history, loss_history = [], [(0, np.nanmean(losses_first, axis=(0, 1)))]
        bar = progress(total=(nb_evals - 1) * cfg.eval_every + 1, desc=desc)
        bar.update(1)
        for k in range(nb_evals):
            if k > 0:
                chunk_losses = [self._train(sub, sub * len(self.sizes)) for _ in range(rounds_per_eval // sub)]
                updates += cfg.eval_every
                bar.update(cfg.eval_every)
                loss_history.append((updates - 1, np.concatenate(chunk_losses).mean(axis=(0, 1))))
            val = self.validate()
            val_history.append((updates - 1, val))
            improved = val > best_val  # strict, as the fork; the first validation always counts
            for m_idx, mode in enumerate(EVAL_MODES):
                mask = jnp.asarray(improved[..., m_idx])
                best[mode] = jax.tree_util.tree_map(
                    lambda new, old, mask=mask: jnp.where(mask.reshape(mask.shape + (1,) * (new.ndim - 2)), new, old),
                    self.params, best[mode])
            best_val = np.where(improved, val, best_val)
            bar.set_postfix(val=f"{float(val[..., 0].mean()):.3f}", loss=f"{float(loss_history[-1][1].mean()):.3f}")
        bar.close()
        jax.block_until_ready(self.params)
        return TrainResult(best, best_val, val_history, loss_history, self.params, updates,
                           time.perf_counter() - t0, self.task)


# --------------------------------------------------------------------------- testing

def _eval_batch_size(nb_nodes: int, hidden: int, nb_models: int, task: data_lib.Task, budget: float = 2.5e7) -> int:
    """Graphs per forward so that the largest (B, N, N, N, .) tensor stays within ``budget`` floats."""
    loc_edge_ptr = any(loc == "edge" and typ == "pointer" for _, loc, typ in task.spec.values())
    per_graph = nb_models * nb_nodes**3 * (hidden if loc_edge_ptr else 8)
    return max(1, int(budget // per_graph))


def predict_outputs(task, config: model.ModelConfig, params_v, feedback, variants: VariantArrays,
                    softmax: Sequence[bool] | jax.Array, *, batch_size: int | None = None
                    ) -> list[dict[str, np.ndarray]]:
    """Raw output predictions of V models (params with a leading V axis) on a whole split."""
    nb = int(feedback.features.lengths.shape[0])
    n = int(feedback.features.inputs[0].data.shape[1])
    bs = batch_size or _eval_batch_size(n, config.hidden, len(variants.decay), task)
    bs = min(bs, nb)
    predict = _cached_predict(task, config)
    outs = []
    for start in range(0, nb, bs):
        stop = min(start + bs, nb)
        fb = data_lib.take(feedback, np.arange(start, stop))
        if stop - start < bs:  # keep one compiled shape: pad the last batch with copies of its first graph
            fb = _pad_batch(fb, bs)
        preds = predict(params_v, fb.features, variants.decay, jnp.asarray(softmax), None)
        outs.append(jax.tree_util.tree_map(lambda x, k=stop - start: np.asarray(x)[:, :k], preds.outputs))
    merged = jax.tree_util.tree_map(lambda *xs: np.concatenate(xs, axis=1), *outs)
    return [{k: v[i] for k, v in merged.items()} for i in range(len(variants.decay))]


@functools.cache
def _cached_predict(task, config):
    return make_predict(task, config)


def _pad_batch(feedback, size: int):
    have = int(feedback.features.lengths.shape[0])
    idx = np.concatenate([np.arange(have), np.zeros(size - have, int)])
    return data_lib.take(feedback, idx)


def test_scores(result: TrainResult, config: TrainConfig, variant_names: Sequence[str], feedback
                ) -> dict[str, np.ndarray]:
    """dm-clrs-evaluated test scores (S, V) of the best parameters, per evaluation mode."""
    variants = variant_arrays(variant_names)
    scores = {}
    for mode in EVAL_MODES:
        agg = np.zeros(len(variant_names), bool) if mode == "max" else np.asarray(variants.softmax)
        per_seed = []
        for s in range(result.best_val.shape[0]):
            params_v = jax.tree_util.tree_map(lambda x, s=s: x[s], result.best_params[mode])
            preds = predict_outputs(result.task, config.model, params_v, feedback, variants, agg)
            per_seed.append([evaluation.reference_score(result.task, feedback.outputs, p)["score"] for p in preds])
        scores[mode] = np.asarray(per_seed)
    return scores


def steps_per_second(result: TrainResult) -> float:
    return result.updates / max(result.train_seconds, 1e-9)


def describe(config: TrainConfig) -> dict[str, Any]:
    d = dataclasses.asdict(config)
    d["sizes"] = list(data_lib.train_sizes(config.algorithm, config.sizes))
    return d
