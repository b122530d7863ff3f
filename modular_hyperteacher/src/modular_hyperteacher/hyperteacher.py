"""The hyperteacher task distribution (paper Sec. 4, Fig. 3; reference ``metax/data/dataset/teacher.py``).

A teacher MLP 16 -> 32 -> 32 -> 32 -> 8 (ReLU, bias-free, weights drawn from a truncated N(0, 1) and scaled by
1/sqrt(fan_in) in the forward pass). Its input and output layers are fixed; its two hidden layers are generated
from the task code: one k-hot vector over E experts per generated layer (entries 1), flattened to 2E and mapped
by one bias-free linear map to all hidden weights (the reference's shipped ``chunking=False``), i.e. 2E effective
modules. Targets are soft: the teacher's logits, standardized per task and output unit over 1000 fixed
reference inputs, through softmax(. / 0.1). Inputs are uniform on [-1, 1]^16. These statistics depend on the
code only, so for discrete codes they are computed once per code of the ID and OOD pools (``stats_cache_limit``)
and looked up when sampling, instead of running the teacher on the 1000 reference inputs for every sampled task
(same targets; the reference recomputes them per task).

Module combinations are split into in-distribution (ID, used for meta-training) and out-of-distribution (OOD)
ones by a *task support*:

* ``random``: the last ``frac_ood`` of a seeded permutation of all combinations is OOD;
* ``non_compositional``: every combination whose last generated layer uses the last expert is OOD (that expert
  is never seen in that layer during training);
* ``connected`` (K = 2): per layer the one-hots and the pairs (i, i+1), (i, i+2) mod E are ID;
* ``disconnected`` (K = 2): 1- and 2-hots within one half of the experts, the same half in all layers, are ID;
  for both, OOD is what is in neither support.
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
import math
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

TASK_SUPPORTS = ("random", "non_compositional", "connected", "disconnected")


@dataclasses.dataclass(frozen=True)
class HyperTeacherConfig:
    """Reference defaults (``configs/hyperteacher.py`` + ``configs/common.py``); the sweeps use E = 8."""

    input_dim: int = 16
    output_dim: int = 8
    hidden_dim: int = 32
    num_hidden: int = 3
    num_experts: int = 4
    num_hot: int = 2
    frac_ood: float = 0.25
    targets_temperature: float = 0.1
    normalize_classifier: bool = True
    continuous_combinations: bool = False
    task_support: str = "random"
    seed: int = 2023
    stats_cache_limit: int = 20_000  # cache the standardization statistics of at most this many pool codes

    @property
    def num_generated(self) -> int:
        """Generated layers: with more than one hidden layer the input layer is fixed."""
        return self.num_hidden - (self.num_hidden > 1)


class TaskBatch(NamedTuple):
    """Tasks on the leading axis: support (train) and query (test) shots, soft targets, true codes."""

    x_support: jax.Array  # (tasks, shots, in)
    y_support: jax.Array  # (tasks, shots, out) soft targets
    x_query: jax.Array
    y_query: jax.Array
    codes: jax.Array  # (tasks, layers, experts)


def k_hot(indices: np.ndarray, num_experts: int) -> np.ndarray:
    """Rows of indices -> k-hot rows (a repeated index counts once)."""
    out = np.zeros((len(indices), num_experts), np.float32)
    for r, idx in enumerate(indices):
        out[r, list(idx)] = 1.0
    return out


def layer_codes(num_experts: int, num_hot: int) -> np.ndarray:
    """All 1..num_hot-hot codes of one layer, ordered by hotness then lexicographically."""
    rows = [c for h in range(1, num_hot + 1) for c in itertools.combinations(range(num_experts), h)]
    return k_hot(rows, num_experts)


def _contains(tasks: np.ndarray, subset: np.ndarray) -> np.ndarray:
    keys = {t.tobytes() for t in subset.astype(np.float32)}
    return np.array([t.astype(np.float32).tobytes() in keys for t in tasks])


def random_split(items: np.ndarray, frac_ood: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The reference's ``random`` support: the last ``frac_ood`` of a seeded permutation is held out (OOD)."""
    items = items[np.asarray(jax.random.permutation(jax.random.PRNGKey(seed), len(items)))]
    num_ood = int(len(items) * frac_ood)
    if num_ood < 1:
        raise ValueError(f"frac_ood={frac_ood} leaves no OOD task out of {len(items)}")
    return items[:-num_ood], items[-num_ood:]


def split_tasks(cfg: HyperTeacherConfig) -> tuple[np.ndarray, np.ndarray]:
    """All layer-wise combinations of expert codes, split into (ID, OOD) arrays of shape (n, layers, E)."""
    e, layers = cfg.num_experts, cfg.num_generated
    per_layer = layer_codes(e, cfg.num_hot)
    all_tasks = np.stack([np.stack(c) for c in itertools.product(per_layer, repeat=layers)])
    support = cfg.task_support
    if support == "random":
        return random_split(all_tasks, cfg.frac_ood, cfg.seed)
    if support == "non_compositional":
        held_out = all_tasks[:, -1, -1] == 1
        return all_tasks[~held_out], all_tasks[held_out]
    if support in ("connected", "disconnected"):
        if cfg.num_hot != 2 or e <= 4 or e % 2:
            raise ValueError("connected/disconnected supports need num_hot = 2 and an even num_experts > 4")
        ring = np.arange(e)
        connected_layer = np.concatenate([
            k_hot(ring[:, None], e),
            k_hot(np.stack([ring, (ring + 1) % e], 1), e),
            k_hot(np.stack([ring, (ring + 2) % e], 1), e),
        ])
        connected_tasks = np.stack([np.stack(c) for c in itertools.product(connected_layer, repeat=layers)])
        mask_connected = _contains(all_tasks, connected_tasks)
        hotness = all_tasks.sum(-1)
        first_half = np.all(all_tasks[:, :, e // 2:] == 0, axis=(1, 2))
        second_half = np.all(all_tasks[:, :, : e // 2] == 0, axis=(1, 2))
        same_hot = np.all(hotness == 1, axis=1) | np.all(hotness == 2, axis=1)
        mask_disconnected = same_hot & (first_half | second_half)
        mask_id = mask_connected if support == "connected" else mask_disconnected
        return all_tasks[mask_id], all_tasks[~(mask_connected | mask_disconnected)]
    raise ValueError(f"task_support must be one of {TASK_SUPPORTS}, got {support!r}")


def _truncated_normal(rng: jax.Array, shape: tuple[int, ...], stddev: float = 1.0) -> jax.Array:
    # stddev of the truncated (at +-2) distribution, as haiku's / jax's initializers
    return jax.random.truncated_normal(rng, -2.0, 2.0, shape) * (stddev / 0.87962566103423978)


def _hidden_weights(cfg: HyperTeacherConfig, generator: jax.Array, code: jax.Array) -> jax.Array:
    h = cfg.hidden_dim
    return (code.reshape(-1) @ generator).reshape(cfg.num_generated, h, h)


def _logits(cfg: HyperTeacherConfig, weights: tuple[jax.Array, jax.Array, jax.Array], code: jax.Array,
            x: jax.Array) -> jax.Array:
    w_input, generator, w_output = weights
    hid = jax.nn.relu(x @ w_input / math.sqrt(cfg.input_dim))
    for w in _hidden_weights(cfg, generator, code):
        hid = jax.nn.relu(hid @ w / math.sqrt(cfg.hidden_dim))
    return hid @ w_output / math.sqrt(cfg.hidden_dim)


def _code_stats(cfg: HyperTeacherConfig, weights: tuple[jax.Array, jax.Array, jax.Array],
                reference_inputs: jax.Array, code: jax.Array) -> tuple[jax.Array, jax.Array]:
    ref = _logits(cfg, weights, code, reference_inputs)
    return ref.mean(0), ref.std(0)


@functools.partial(jax.jit, static_argnums=0)
def _pool_stats(cfg: HyperTeacherConfig, weights: tuple[jax.Array, jax.Array, jax.Array],
                reference_inputs: jax.Array, codes: jax.Array) -> tuple[jax.Array, jax.Array]:
    """Per-code (mean, std) of the logits on the reference inputs for a pool of codes, 64 codes at a time."""
    n, chunk = codes.shape[0], 64
    padded = jnp.concatenate([codes, jnp.zeros((-n % chunk, *codes.shape[1:]), codes.dtype)])
    per_code = jax.vmap(lambda c: _code_stats(cfg, weights, reference_inputs, c))
    mean, std = jax.lax.map(per_code, padded.reshape(-1, chunk, *codes.shape[1:]))
    return mean.reshape(-1, mean.shape[-1])[:n], std.reshape(-1, std.shape[-1])[:n]


def _take_rows(stats: tuple[jax.Array, jax.Array] | None, rows: jax.Array) -> tuple[jax.Array, jax.Array] | None:
    """The cached (mean, std) of the sampled pool rows; None when the pool has no cache."""
    return None if stats is None else (stats[0][rows], stats[1][rows])


class HyperTeacher:
    """Teacher weights, ID/OOD splits and the (jit-able) task sampler for one :class:`HyperTeacherConfig`."""

    def __init__(self, cfg: HyperTeacherConfig):
        if cfg.num_experts < cfg.num_hot:
            raise ValueError("num_experts must be >= num_hot")
        if cfg.num_hidden < 2:
            raise ValueError("num_hidden must be >= 2 (input layer fixed, hidden layers generated)")
        self.cfg = cfg
        self.tasks_id_np, self.tasks_ood_np = split_tasks(cfg)
        if len(self.tasks_id_np) == 0 or len(self.tasks_ood_np) == 0:
            raise ValueError(f"task support {cfg.task_support!r} left an empty split")
        self.tasks_id = jnp.asarray(self.tasks_id_np)
        self.tasks_ood = jnp.asarray(self.tasks_ood_np)
        d, h, o = cfg.input_dim, cfg.hidden_dim, cfg.output_dim
        fixed = jax.random.PRNGKey(cfg.seed)
        rng_in, rng_out, rng_gen = jax.random.split(jax.random.fold_in(fixed, 1), 3)
        self.w_input = _truncated_normal(rng_in, (d, h))
        self.w_output = _truncated_normal(rng_out, (h, o))
        # one linear map from the flattened (layers * E) code to all generated hidden weights
        self.generator = _truncated_normal(rng_gen, (cfg.num_generated * cfg.num_experts, cfg.num_generated * h * h))
        self.reference_inputs = jax.random.uniform(fixed, (1000, d), minval=-1.0, maxval=1.0)
        self.stats_id = self.stats_ood = None  # per pool code: (mean, std) of the logits on the reference inputs
        cacheable = cfg.normalize_classifier and not cfg.continuous_combinations
        if cacheable and len(self.tasks_id_np) + len(self.tasks_ood_np) <= cfg.stats_cache_limit:
            self.stats_id, self.stats_ood = self.reference_stats(self.tasks_id), self.reference_stats(self.tasks_ood)

    @property
    def num_effective_modules(self) -> int:
        return self.cfg.num_generated * self.cfg.num_experts

    def hidden_weights(self, code: jax.Array) -> jax.Array:
        """(layers, E) code -> (layers, H, H) generated hidden weights (linear in the code)."""
        return _hidden_weights(self.cfg, self.generator, code)

    def logits(self, code: jax.Array, x: jax.Array) -> jax.Array:
        """Teacher logits for one task; reparametrized layers (1/sqrt(fan_in) in the forward pass)."""
        return _logits(self.cfg, self.weights, code, x)

    @property
    def weights(self) -> tuple[jax.Array, jax.Array, jax.Array]:
        return self.w_input, self.generator, self.w_output

    def code_stats(self, code: jax.Array) -> tuple[jax.Array, jax.Array]:
        """Mean and standard deviation per output unit of one code's logits on the reference inputs."""
        return _code_stats(self.cfg, self.weights, self.reference_inputs, code)

    def reference_stats(self, codes: jax.Array) -> tuple[jax.Array, jax.Array]:
        """:meth:`code_stats` of every code of a pool."""
        return _pool_stats(self.cfg, self.weights, self.reference_inputs, codes)

    def targets(self, code: jax.Array, x: jax.Array,
                stats: tuple[jax.Array, jax.Array] | None = None) -> jax.Array:
        """Soft targets: logits standardized per unit over the reference inputs, softmax(. / temperature).
        ``stats``: the code's cached :meth:`code_stats` (computed here when None)."""
        logits = self.logits(code, x)
        if self.cfg.normalize_classifier:
            mean, std = self.code_stats(code) if stats is None else stats
            logits = (logits - mean) / std
        return jax.nn.softmax(logits / self.cfg.targets_temperature, axis=-1)

    def sample_codes(self, rng: jax.Array, num_tasks: int, split: str) -> jax.Array:
        """Codes of ``num_tasks`` tasks from ``split``: "train"/"test" (ID), "ood", or "ood_k" (every layer
        k-hot: the OOD combinations of hotness k when k <= num_hot, any k experts per layer otherwise)."""
        return self._sample_codes_and_stats(rng, num_tasks, split)[0]

    def _sample_codes_and_stats(self, rng: jax.Array, num_tasks: int, split: str
                                ) -> tuple[jax.Array, tuple[jax.Array, jax.Array] | None]:
        """Codes and, where cached, their standardization statistics (None otherwise)."""
        cfg = self.cfg
        rng_task, rng_w = jax.random.split(rng)
        stats = None
        if split in ("train", "test", "ood"):
            pool, pool_stats = (self.tasks_ood, self.stats_ood) if split == "ood" else (self.tasks_id, self.stats_id)
            rows = jax.random.randint(rng_task, (num_tasks,), 0, len(pool))
            codes = pool[rows]
            stats = _take_rows(pool_stats, rows)
        elif split.startswith("ood_"):
            k = int(split.split("_")[1])
            if k <= cfg.num_hot:
                pool_rows = np.flatnonzero(np.all(self.tasks_ood_np.sum(-1) == k, axis=1))
                if len(pool_rows) == 0:
                    raise ValueError(f"no OOD task has {k} experts in every layer")
                rows = jnp.asarray(pool_rows)[jax.random.randint(rng_task, (num_tasks,), 0, len(pool_rows))]
                codes = self.tasks_ood[rows]
                stats = _take_rows(self.stats_ood, rows)
            elif k <= cfg.num_experts:
                keys = jax.random.split(rng_task, num_tasks * cfg.num_generated)
                scores = jax.vmap(lambda r: jax.random.uniform(r, (cfg.num_experts,)))(keys)
                ranks = jnp.argsort(jnp.argsort(scores, axis=-1), axis=-1)
                codes = (ranks < k).astype(jnp.float32).reshape(num_tasks, cfg.num_generated, cfg.num_experts)
            else:
                raise ValueError(f"hotness {k} > num_experts {cfg.num_experts}")
        else:
            raise ValueError(f"split must be train, test, ood or ood_k, got {split!r}")
        if cfg.continuous_combinations:
            w = jax.random.exponential(rng_w, codes.shape) * codes
            w = w / (jnp.sum(w, axis=-1, keepdims=True) + 1.0)
            codes = (0.5 * w + 0.5) * codes
        return codes, stats

    def sample(self, rng: jax.Array, num_tasks: int, shots_support: int, shots_query: int, split: str) -> TaskBatch:
        """A batch of tasks, support and query shots drawn i.i.d. from U[-1, 1]^16 (jit-able, static sizes)."""
        rng_codes, rng_x = jax.random.split(rng)
        codes, stats = self._sample_codes_and_stats(rng_codes, num_tasks, split)
        shots = shots_support + shots_query
        x = jax.random.uniform(rng_x, (num_tasks, shots, self.cfg.input_dim), minval=-1.0, maxval=1.0)
        y = jax.vmap(self.targets)(codes, x, stats)
        return TaskBatch(x[:, :shots_support], y[:, :shots_support], x[:, shots_support:], y[:, shots_support:],
                         codes)
