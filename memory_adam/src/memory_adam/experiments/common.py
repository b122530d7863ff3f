"""Helpers shared by the experiments: run records, the two criteria the paper's claims need, cached digits runs."""

from __future__ import annotations

import dataclasses
import functools
import shlex
import sys
from collections.abc import Sequence

import numpy as np

from memory_adam.configs import DIGITS_OPTIMIZERS, Config
from memory_adam.data import load_digits
from memory_adam.train import ClassifierSettings, OptimizerSettings, train_classifier
from repro_shared.claims import Claim, Verdict, mean_ci95
from repro_shared.progress import progress
from repro_shared.results import RunRecord

PAPER = "Promoting Exploration in Memory-Augmented Adam using Critical Momenta (arXiv:2307.09638)"


def new_record(experiment: str, scale: str, cfg: Config, seeds: Sequence[int], fields: Sequence[str]) -> RunRecord:
    """A run record whose config holds the fields this experiment reads."""
    config = {f: getattr(cfg, f) for f in (*fields, "device")}
    command = " ".join(["python -m memory_adam.reproduce", *(shlex.quote(a) for a in sys.argv[1:])])
    return RunRecord(paper=PAPER, experiment=experiment, scale=scale, config=config, seeds=list(seeds),
                     command=command)


def optimizer_settings(cfg: Config) -> OptimizerSettings:
    return OptimizerSettings(buffer_size=cfg.buffer_size, decay=cfg.decay, rho=cfg.rho)


def not_worse_within_ci(a: Sequence[float], b: Sequence[float], *, id: str, statement: str,
                        names: tuple[str, str], higher_is_better: bool = True) -> Claim:
    """Paired over seeds: REPRODUCED if a is at least as good as b on average; INCONCLUSIVE if worse but the 95% CI
    of the mean paired difference still covers 0, or with a single seed; NOT REPRODUCED if worse beyond that CI."""
    a_, b_ = np.asarray(a, float), np.asarray(b, float)
    d = (a_ - b_) if higher_is_better else (b_ - a_)
    mean, half = mean_ci95(d) if d.size > 1 else (float(d.mean()), float("nan"))
    measured = {f"mean_{names[0]}": float(a_.mean()), f"mean_{names[1]}": float(b_.mean()),
                "mean_advantage": mean, "ci95_half_width": half, "n": int(d.size)}
    rel, worse = ("≥", "below") if higher_is_better else ("≤", "above")
    criterion = (f"mean({names[0]}) {rel} mean({names[1]}); {worse} it but within the 95% CI of the paired "
                 f"difference, or < 2 seeds: INCONCLUSIVE; {worse} beyond the CI: NOT REPRODUCED")
    if d.size < 2 or not np.isfinite(half):
        verdict = Verdict.INCONCLUSIVE  # one seed: no spread to judge against
    elif mean >= 0:
        verdict = Verdict.REPRODUCED
    elif mean + half >= 0:
        verdict = Verdict.INCONCLUSIVE
    else:
        verdict = Verdict.NOT_REPRODUCED
    return Claim(id, statement, criterion, measured, verdict)


def fraction_of_seeds(a: Sequence[float], b: Sequence[float], fraction: float, *, id: str, statement: str,
                      names: tuple[str, str], a_lower: bool) -> Claim:
    """Paired over seeds: a < b (``a_lower``) or a > b in at least ``fraction`` of the seeds."""
    a_, b_ = np.asarray(a, float), np.asarray(b, float)
    wins = (a_ < b_) if a_lower else (a_ > b_)
    frac = float(wins.mean())
    rel = "<" if a_lower else ">"
    criterion = f"{names[0]} {rel} {names[1]} in ≥ {fraction:.0%} of seeds (paired)"
    measured = {"fraction": frac, f"mean_{names[0]}": float(a_.mean()), f"mean_{names[1]}": float(b_.mean()),
                "n": int(a_.size)}
    return Claim(id, statement, criterion, measured, Verdict.REPRODUCED if frac >= fraction else
                 Verdict.NOT_REPRODUCED)


def fmt_mean_ci(values: Sequence[float], scale: float = 1.0, digits: int = 2) -> str:
    mean, half = mean_ci95(np.asarray(values, float) * scale)
    return f"{mean:.{digits}f}" if not np.isfinite(half) else f"{mean:.{digits}f} ± {half:.{digits}f}"


@dataclasses.dataclass(frozen=True)
class DigitsKey:
    """What the digits runs depend on (so E4, E5 and E6 share them within one process)."""

    train: int
    valid: int
    noise: float
    epochs: int
    batch_size: int
    lrs: tuple[float, ...]
    seeds: tuple[int, ...]
    sharpness_iters: int
    buffer_size: int
    decay: float
    rho: float
    device: str = "cpu"


def digits_key(cfg: Config) -> DigitsKey:
    return DigitsKey(cfg.digits_train, cfg.digits_valid, cfg.digits_label_noise, cfg.digits_epochs,
                     cfg.digits_batch_size, tuple(cfg.digits_lrs), tuple(cfg.seeds), cfg.sharpness_iters,
                     cfg.buffer_size, cfg.decay, cfg.rho, cfg.device)


@functools.lru_cache(maxsize=2)
def digits_runs(key: DigitsKey) -> dict[tuple[str, float], list[dict]]:
    """Train every digits optimizer at every lr and seed: {(optimizer, lr): [run per seed]}."""
    digits = load_digits(key.train, key.valid, split_seed=0, label_noise=key.noise)
    settings = OptimizerSettings(buffer_size=key.buffer_size, decay=key.decay, rho=key.rho)
    cls = ClassifierSettings(epochs=key.epochs, batch_size=key.batch_size, sharpness_iters=key.sharpness_iters)
    jobs = [(o, lr, s) for o in DIGITS_OPTIMIZERS for lr in key.lrs for s in key.seeds]
    runs: dict[tuple[str, float], list[dict]] = {}
    for opt, lr, seed in progress(jobs, desc="digits CNN runs"):
        runs.setdefault((opt, lr), []).append(train_classifier(digits, opt, lr, seed, cls, settings,
                                                                       device=key.device))
    return runs


def best_lr_by_valid(runs: dict[tuple[str, float], list[dict]], optimizer: str) -> float:
    """The lr with the highest mean validation accuracy (ties: the smaller lr)."""
    lrs = sorted(lr for (o, lr) in runs if o == optimizer)
    return max(lrs, key=lambda lr: (np.mean([r["valid_acc"] for r in runs[(optimizer, lr)]]), -lr))
