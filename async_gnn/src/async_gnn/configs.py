"""Configurations per scale: every knob the three experiments vary.

quick: a few minutes on 2 (shared) CPU cores, the default of ``make reproduce-async_gnn``;
full: sized for about 60-75 minutes on 2 idle cores (3 seeds vmapped, 1000 training steps, H = 64, more
schedules); the estimate comes from measured CPU time per training step (MPNN+regularisers ≈ 1.0 s, MaxMax
≈ 0.5 s, MPNN ≈ 0.25 s, L2 ≈ 0.22 s for 3 seeds at H = 64), 2 tasks × 1000 steps ≈ 6000 CPU-s.
gpu: 5 seeds and 2000 steps, sized for about 10 GPU minutes (untested: no GPU was available to this task).
"""

from __future__ import annotations

import dataclasses

from async_gnn.data import TASKS
from async_gnn.layers import LAYER_NAMES
from repro_shared.cli import ConfigError, check_range

# E2 models: name -> (layer, invariance-regulariser weight)
MODEL_SPECS: dict[str, tuple[str, float]] = {
    "mpnn": ("mpnn", 0.0),
    "mpnn_reg0.1": ("mpnn", 0.1),
    "mpnn_reg1": ("mpnn", 1.0),
    "l2": ("l2", 0.0),
    "maxmax": ("maxmax", 0.0),
}


@dataclasses.dataclass(frozen=True)
class Config:
    """All knobs; override any with ``--set field=value`` (tuples as JSON lists)."""

    seeds: tuple[int, ...] = (0,)
    # E1 exact invariance
    e1_layers: tuple[str, ...] = LAYER_NAMES
    e1_hidden: int = 16
    e1_schedules: int = 5  # random schedules per asynchronous mode
    e1_num_batches: int = 4  # K: delivery batches per step
    e1_val_graphs: int = 32  # CLRS-30 val graphs (n = 16)
    e1_test_graphs: int = 8  # CLRS-30 test graphs (n = 64)
    e1_law_samples: int = 512
    e1_algorithm_repeats: int = 2  # runs of every asynchronous schedule preset per graph
    # E2 learning
    tasks: tuple[str, ...] = TASKS
    models: tuple[str, ...] = tuple(MODEL_SPECS)
    hidden: int = 32
    train_steps: int = 300
    batch_size: int = 32
    learning_rate: float = 3e-3
    train_samples: int = 1000  # CLRS-30 train split size
    test_samples: int = 32  # CLRS-30 test split size (n = 64)
    eval_schedules: int = 2  # random schedules per asynchronous mode at test time
    num_batches: int = 4
    # keep the runs of tasks already in <out>/e2_learning.json when every other E2 field matches (split a long
    # full-scale E2 into one invocation per task; the record names the reused runs' commit)
    e2_reuse: bool = False
    # E3 message counts
    e3_test_graphs: int = 32
    e3_sizes: tuple[int, ...] = (16, 32, 64)
    e3_probs: tuple[float, ...] = (0.2, 0.3, 0.5)  # the CLRS sampler's p: density p² (undirected)
    e3_graphs_per_setting: int = 8

    def validate(self) -> Config:
        if not self.seeds:
            raise ConfigError("seeds", self.seeds, "at least one seed")
        for name in self.e1_layers:
            if name not in LAYER_NAMES:
                raise ConfigError("e1_layers", name, LAYER_NAMES)
        for name in self.tasks:
            if name not in TASKS:
                raise ConfigError("tasks", name, TASKS)
        for name in self.models:
            if name not in MODEL_SPECS:
                raise ConfigError("models", name, tuple(MODEL_SPECS))
        for name in ("e1_hidden", "e1_schedules", "e1_num_batches", "e1_val_graphs", "e1_test_graphs",
                     "e1_law_samples", "e1_algorithm_repeats", "hidden", "train_steps", "batch_size",
                     "train_samples", "test_samples", "eval_schedules", "num_batches", "e3_test_graphs",
                     "e3_graphs_per_setting"):
            check_range(name, getattr(self, name), 1, None)
        check_range("e1_val_graphs", self.e1_val_graphs, 1, 32)
        check_range("e1_test_graphs", self.e1_test_graphs, 1, 32)
        check_range("e3_test_graphs", self.e3_test_graphs, 1, 32)
        check_range("batch_size", self.batch_size, 1, self.train_samples)
        check_range("learning_rate", self.learning_rate, 1e-6, 1.0)
        for p in self.e3_probs:
            check_range("e3_probs", p, 0.01, 1.0)
        for n in self.e3_sizes:
            check_range("e3_sizes", n, 4, 256)
        return self


CONFIGS: dict[str, Config] = {
    "quick": Config(),
    "full": Config(
        seeds=(0, 1, 2), e1_hidden=32, e1_schedules=20, e1_test_graphs=32, e1_algorithm_repeats=3,
        hidden=64, train_steps=1000, eval_schedules=5,
        e3_sizes=(16, 32, 64, 128), e3_probs=(0.15, 0.2, 0.3, 0.5, 0.8), e3_graphs_per_setting=8),
    "gpu": Config(
        seeds=(0, 1, 2, 3, 4), e1_hidden=32, e1_schedules=20, e1_test_graphs=32, e1_algorithm_repeats=5,
        hidden=64, train_steps=2000, eval_schedules=10,
        e3_sizes=(16, 32, 64, 128), e3_probs=(0.15, 0.2, 0.3, 0.5, 0.8), e3_graphs_per_setting=16),
}
