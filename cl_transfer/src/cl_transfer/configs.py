"""Configurations per scale (quick / full / gpu) and their validation.

quick: minutes on 2 CPU cores (Tier T, 3 seeds, four sequences, targets-only transfer matrix);
full: about 45-75 min on 2 cores (Tier T, 10 seeds, five sequences incl. the long one, a 12 × 14 matrix on 3 seeds);
gpu: Tier M (MiniLM from the wheel), sized for about 10 GPU minutes; never run on a GPU, its GPU time is estimated
     by `python -m cl_transfer.gpu_estimate` (README).
"""

from __future__ import annotations

import dataclasses

from cl_transfer.learners import LEARNERS
from cl_transfer.tasks import SEQUENCE_NAMES, TARGETS, TASKS
from repro_shared.cli import ConfigError, check_choice

TIERS = ("tiny", "minilm")
MATRIX_SOURCES = ("POL-d1", "POL-d2", "POL-d3", "SPUR-a", "SPUR-b", "FLIP-d3", "DIG-first", "DIG-seven",
                  "DIG-count", "RAND", "DIG-last", "TOPIC")
MAIN_LEARNERS = ("FT-base", "FT-last", "Oracle", "Select-probe10")
ABLATION_LEARNERS = ("Select-probe50", "Select-zeroshot", "Select-similarity", "Oracle-devloss")


@dataclasses.dataclass(frozen=True)
class Config:
    """Every knob of a run; ``--set field=value`` overrides any of them."""

    tier: str = "tiny"
    seeds: tuple[int, ...] = (0, 1, 2)
    sequences: tuple[str, ...] = ("positive", "negative", "neutral", "mixed")
    learners: tuple[str, ...] = MAIN_LEARNERS + ABLATION_LEARNERS
    # data (examples per split; dev is carved from the training budget)
    source_train: int = 900
    source_dev: int = 100
    source_test: int = 500
    target_train: int = 48
    target_dev: int = 16
    target_test: int = 1000
    # fine-tuning budget, identical for every learner and init
    source_steps: int = 150
    source_lr: float = 3e-4
    source_batch: int = 32
    target_steps: int = 100
    target_lr: float = 3e-4
    target_batch: int = 16
    # Tier T model and its MLM pretraining
    hidden: int = 64
    layers: int = 2
    heads: int = 2
    ffn: int = 256
    pretrain_steps: int = 1500
    pretrain_batch: int = 64
    pretrain_lr: float = 1e-3
    pretrain_corpus: int = 20000
    # Tier M: fine-tune only the top layers and the head
    minilm_train_layers: int = 2
    # transfer matrix: rows (sources fine-tuned from θ₀) × columns ("targets" = the two target tasks, or "all")
    matrix_rows: tuple[str, ...] = MATRIX_SOURCES
    matrix_cols: str = "targets"
    matrix_seeds: int = 0  # 0: every seed; n: the first n seeds only (the full matrix is the costliest part)
    # claims: ε for negative transfer and "within ε of FT-base"; ε_neutral for the neutral role / sequence
    eps: float = 0.02
    eps_neutral: float = 0.05
    candidate_cap: int = 0  # 0: no cap; else θ₀ + the cap-1 most similar checkpoints (long sequences)
    # execution
    max_parallel: int = 48
    threads: int = 1

    def validate(self) -> Config:
        check_choice("tier", self.tier, TIERS)
        for s in self.sequences:
            check_choice("sequences", s, SEQUENCE_NAMES)
        for name in self.learners:
            check_choice("learners", name, list(LEARNERS))
        for name in ("FT-base",):
            if name not in self.learners:
                raise ConfigError("learners", self.learners, "a tuple that includes FT-base (the reference)")
        for t in self.matrix_rows:
            check_choice("matrix_rows", t, list(TASKS))
        check_choice("matrix_cols", self.matrix_cols, ["targets", "all"])
        for f in ("source_train", "source_dev", "source_test", "target_train", "target_dev", "target_test",
                  "source_batch", "target_batch", "hidden", "layers", "heads", "ffn", "max_parallel", "threads"):
            if getattr(self, f) < 1:
                raise ConfigError(f, getattr(self, f), "an int >= 1")
        for f in ("source_steps", "target_steps", "pretrain_steps", "candidate_cap", "matrix_seeds"):
            if getattr(self, f) < 0:
                raise ConfigError(f, getattr(self, f), "an int >= 0")
        if self.hidden % self.heads:
            raise ConfigError("heads", self.heads, f"a divisor of hidden={self.hidden}")
        if not self.seeds:
            raise ConfigError("seeds", self.seeds, "at least one seed")
        return self

    @property
    def matrix_columns(self) -> tuple[str, ...]:
        if self.matrix_cols == "targets":
            return TARGETS
        return tuple(dict.fromkeys(self.matrix_rows + TARGETS))


CONFIGS: dict[str, Config] = {
    "quick": Config(),
    "full": Config(
        seeds=tuple(range(10)),
        sequences=("positive", "negative", "neutral", "mixed", "long"),
        source_train=2900, source_test=1000, target_test=2000,
        pretrain_steps=4000, pretrain_corpus=50000,
        matrix_cols="all", matrix_seeds=3, candidate_cap=4,
    ),
    "gpu": Config(
        tier="minilm",
        seeds=(0, 1, 2, 3, 4),
        sequences=("positive", "negative", "neutral", "mixed"),
        source_train=2900, source_test=1000, target_test=2000,
        source_lr=1e-4, target_lr=5e-5,
        matrix_cols="targets", max_parallel=24,
    ),
}
