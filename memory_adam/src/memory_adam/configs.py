"""Configurations per scale: every knob the experiments vary.

quick: a few minutes on 2 (shared) CPU cores, the default of ``make reproduce-memory_adam``;
full: about 45 minutes on 2 idle cores (3 seeds for the LSTM, 10 for the digits);
gpu: wider sweeps sized for about 10 GPU minutes (not yet run on a GPU: none was lent so far).
"""

from __future__ import annotations

import dataclasses
import re

from repro_shared.cli import ConfigError, check_range

LM_OPTIMIZERS = ("Adam", "Adam+CG", "Adam+SAM", "Adam+CM", "Adam+SAM+CM")
DIGITS_OPTIMIZERS = ("Adam", "Adam+CG", "Adam+SAM", "Adam+CM", "Adam+SAM+CM", "Adam+CM (clean)")


@dataclasses.dataclass(frozen=True)
class Config:
    """All knobs; override any with ``--set field=value`` (tuples as JSON lists)."""

    seeds: tuple[int, ...] = (0,)  # LSTM and digits seeds; the toy starts use seeds[0]
    threads: int = 1  # torch CPU threads (tiny ops: more threads only add contention on a shared machine)
    device: str = "cpu"  # where the LSTM, the CNN and the batched toy runs live (``--device`` sets it)
    # optimizer hyper-parameters (reference defaults; the paper's grid search "generally" chose C = 5)
    buffer_size: int = 5
    decay: float = 0.7
    rho: float = 0.05
    # E1 toy landscapes (paper Fig. 4)
    toy_starts: int = 200
    toy_steps: int = 1000
    toy_lrs: tuple[float, ...] = (0.01, 0.05, 0.1)
    toy_hit_radius: float = 0.5
    # E2 escape from a sharp basin (paper Fig. 5)
    escape_starts: int = 100
    escape_steps: int = 1000
    escape_sharpness: tuple[float, ...] = (8.0, 16.0, 32.0, 64.0, 128.0)
    escape_lrs: tuple[float, ...] = (0.01, 0.03, 0.1)
    escape_start_std: float = 0.05
    # E3 language model (paper Fig. 6, PTB substitute); lrs per optimizer
    lm_max_tokens: int | None = 30000
    lm_emb: int = 64
    lm_hidden: int = 128
    lm_batch_size: int = 20
    lm_epochs: int = 6
    lm_seeds: tuple[int, ...] = (0,)
    lm_lrs: tuple[tuple[str, tuple[float, ...]], ...] = (
        ("Adam", (3e-3,)), ("Adam+CG", (3e-3,)), ("Adam+SAM", (3e-3,)), ("Adam+CM", (3e-4, 3e-3)),
        ("Adam+SAM+CM", (3e-4,)))
    # E4/E5/E6 digits CNN (paper Sec. 5.2 and Figs 7-8, CIFAR substitute)
    digits_train: int = 500
    digits_valid: int = 300
    digits_label_noise: float = 0.0
    digits_epochs: int = 20
    digits_batch_size: int = 50
    digits_lrs: tuple[float, ...] = (1e-3,)
    sharpness_iters: int = 50

    def validate(self) -> Config:
        if not self.seeds or not self.lm_seeds:
            raise ConfigError("seeds", self.seeds, "at least one seed")
        check_range("threads", self.threads, 1, 64)
        if not re.fullmatch(r"cpu|cuda(:\d+)?", self.device):
            raise ConfigError("device", self.device, "cpu, cuda, cuda:N")
        check_range("decay", self.decay, 0.0, 1.0)
        check_range("buffer_size", self.buffer_size, 1, None)
        check_range("digits_label_noise", self.digits_label_noise, 0.0, 0.9)
        for name in ("toy_starts", "toy_steps", "escape_starts", "escape_steps", "lm_epochs", "digits_epochs"):
            check_range(name, getattr(self, name), 1, None)
        bad = [name for name, _ in self.lm_lrs if name not in LM_OPTIMIZERS]
        if bad:
            raise ConfigError("lm_lrs", bad, LM_OPTIMIZERS)
        if "Adam" not in dict(self.lm_lrs) or "Adam+CM" not in dict(self.lm_lrs):
            raise ConfigError("lm_lrs", self.lm_lrs, "a grid that includes Adam and Adam+CM")
        return self


CONFIGS: dict[str, Config] = {
    "quick": Config(seeds=(0, 1, 2)),
    "full": Config(
        seeds=tuple(range(10)),
        toy_starts=500, toy_steps=1000,
        escape_starts=200, escape_steps=1000,
        lm_max_tokens=None, lm_emb=128, lm_hidden=256, lm_batch_size=20, lm_epochs=10, lm_seeds=(0, 1, 2),
        lm_lrs=(("Adam", (1e-3, 3e-3)), ("Adam+CG", (1e-3, 3e-3)), ("Adam+SAM", (3e-3,)),
                ("Adam+CM", (3e-4, 1e-3, 3e-3)), ("Adam+SAM+CM", (3e-4,))),
        digits_epochs=40, digits_lrs=(3e-4, 1e-3, 3e-3),
    ),
    "gpu": Config(
        seeds=tuple(range(20)),
        toy_starts=2000, toy_steps=1000, toy_lrs=(0.003, 0.01, 0.03, 0.05, 0.1, 0.3),
        escape_starts=1000, escape_steps=1000, escape_lrs=(0.003, 0.01, 0.03, 0.1, 0.3),
        lm_max_tokens=None, lm_emb=128, lm_hidden=256, lm_batch_size=20, lm_epochs=12, lm_seeds=(0, 1, 2, 3, 4),
        lm_lrs=(("Adam", (1e-3, 3e-3)), ("Adam+CG", (1e-3, 3e-3)), ("Adam+SAM", (1e-3, 3e-3)),
                ("Adam+CM", (3e-4, 1e-3, 3e-3)), ("Adam+SAM+CM", (3e-4, 1e-3))),
        digits_epochs=60, digits_lrs=(1e-4, 3e-4, 1e-3, 3e-3),
    ),
}
