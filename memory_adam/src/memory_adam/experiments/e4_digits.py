"""E4, paper Sec. 5.2 (CIFAR-10/100 tables): image classification accuracy over seeds, with 95% CIs.

Offline substitute for CIFAR: scikit-learn's 8x8 digits, 500 training images (fixed split), a ~21k-parameter CNN.
Each optimizer's lr is chosen on a 300-image validation split (mean over seeds); test accuracy on the other ~1000.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from memory_adam.configs import DIGITS_OPTIMIZERS, Config
from memory_adam.experiments.common import (
    best_lr_by_valid,
    digits_key,
    digits_runs,
    fmt_mean_ci,
    new_record,
    not_worse_within_ci,
)
from repro_shared.plots import new_figure, save_figure

NAME = "e4_digits"
FIELDS = ("seeds", "digits_train", "digits_valid", "digits_label_noise", "digits_epochs", "digits_batch_size",
          "digits_lrs", "buffer_size", "decay", "rho")


def at_best(runs: dict, opt: str, key: str) -> list[float]:
    return [r[key] for r in runs[(opt, best_lr_by_valid(runs, opt))]]


def plot(runs: dict, out: Path) -> str:
    fig, axes = new_figure(1, 1, width=6.0, height=3.2)
    ax = axes[0][0]
    for i, opt in enumerate(DIGITS_OPTIMIZERS):
        acc = np.array(at_best(runs, opt, "test_acc")) * 100
        ax.plot(np.full(acc.size, i) + np.linspace(-0.15, 0.15, acc.size), acc, "o", ms=3, alpha=0.6)
        ax.errorbar(i, acc.mean(), yerr=acc.std(ddof=1) if acc.size > 1 else 0, fmt="k_", ms=14, capsize=4)
    ax.set_xticks(range(len(DIGITS_OPTIMIZERS)))
    ax.set_xticklabels(DIGITS_OPTIMIZERS, fontsize=7, rotation=15)
    ax.set_ylabel("test accuracy (%)")
    name = f"{NAME}.png"
    save_figure(fig, out / name)
    return name


def run(cfg: Config, scale: str, out: Path):
    rec = new_record(NAME, scale, cfg, cfg.seeds, FIELDS)
    runs = digits_runs(digits_key(cfg))
    rec.metrics["runs"] = [{k: v for k, v in r.items() if k != "train_loss"} for rs in runs.values() for r in rs]
    best = {opt: best_lr_by_valid(runs, opt) for opt in DIGITS_OPTIMIZERS}
    rec.metrics["best_lr"] = best
    rows = []
    for opt in DIGITS_OPTIMIZERS:
        rs = runs[(opt, best[opt])]
        rows.append([opt, f"{best[opt]:g}", fmt_mean_ci([r["test_acc"] for r in rs], 100),
                     fmt_mean_ci([r["valid_acc"] for r in rs], 100), fmt_mean_ci([r["train_acc"] for r in rs], 100)])
    rec.add_table("digits CNN accuracy (%) at each optimizer's best lr (mean ± 95% CI over seeds)",
                  ["optimizer", "lr", "test", "validation", "train"], rows,
                  caption=f"Data differ from the paper: sklearn digits (8x8), {cfg.digits_train} train / "
                          f"{cfg.digits_valid} valid / rest test, label noise {cfg.digits_label_noise:g}, "
                          f"{cfg.digits_epochs} epochs, {len(cfg.seeds)} seeds; the paper uses CIFAR-10/100 "
                          "(per-cell values not retrievable) and ImageNet (Table 2: 65.4-71.7% top-1 across "
                          "optimizers).")
    for cid, a, b, statement in (
            ("E4-cm-vs-adam", "Adam+CM", "Adam", "Adam+CM generalises at least as well as Adam"),
            ("E4-cm-vs-cg", "Adam+CM", "Adam+CG", "Adam+CM is at least as good as Adam+CG"),
            ("E4-sam-cm-vs-sam", "Adam+SAM+CM", "Adam+SAM", "CM is complementary to SAM: Adam+SAM+CM ≥ Adam+SAM")):
        rec.add_claim(not_worse_within_ci(at_best(runs, a, "test_acc"), at_best(runs, b, "test_acc"), id=cid,
                                          statement=statement + " (test accuracy, each at its best lr)",
                                          names=(a, b)))
    rec.plots.append(plot(runs, out))
    rec.notes = "Data differ from the paper: sklearn's 8x8 digits with a small CNN instead of CIFAR-10/100 ResNets."
    return rec
