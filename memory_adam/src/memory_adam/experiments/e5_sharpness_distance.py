"""E5, paper Figs 7-8: sharpness (lambda_max) and distance travelled at the end of training.

On the E4 digits runs (each optimizer at its best lr): lambda_max of the training loss (power iteration with
Hessian-vector products on the training set, up to 512 images, deterministic start), ||theta_T - theta_0|| and
the path length sum ||theta_t - theta_{t-1}||.
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
    fraction_of_seeds,
    new_record,
)
from memory_adam.experiments.e4_digits import at_best
from repro_shared import claims
from repro_shared.plots import new_figure, save_figure

NAME = "e5_sharpness_distance"
FIELDS = ("seeds", "digits_train", "digits_epochs", "digits_lrs", "sharpness_iters", "buffer_size", "decay", "rho")
FRACTION = 0.7


def plot(runs: dict, out: Path) -> str:
    fig, axes = new_figure(2, 1, width=4.2, height=3.4)
    for opt in DIGITS_OPTIMIZERS:
        lam = at_best(runs, opt, "lambda_max")
        axes[0][0].plot(at_best(runs, opt, "distance"), lam, "o", ms=4, alpha=0.7, label=opt)
        axes[0][1].plot(lam, np.array(at_best(runs, opt, "test_acc")) * 100, "o", ms=4, alpha=0.7, label=opt)
    axes[0][0].set_xlabel("distance ‖θ_T − θ_0‖")
    axes[0][0].set_ylabel("λ_max (training loss)")
    axes[0][0].set_yscale("log")
    axes[0][1].set_xlabel("λ_max")
    axes[0][1].set_xscale("log")
    axes[0][1].set_ylabel("test accuracy (%)")
    axes[0][0].legend(fontsize=7)
    name = f"{NAME}.png"
    save_figure(fig, out / name)
    return name


def run(cfg: Config, scale: str, out: Path):
    rec = new_record(NAME, scale, cfg, cfg.seeds, FIELDS)
    runs = digits_runs(digits_key(cfg))
    best = {opt: best_lr_by_valid(runs, opt) for opt in DIGITS_OPTIMIZERS}
    rows = [[opt, f"{best[opt]:g}", fmt_mean_ci(at_best(runs, opt, "lambda_max")),
             fmt_mean_ci(at_best(runs, opt, "distance")), fmt_mean_ci(at_best(runs, opt, "path_length"), digits=1)]
            for opt in DIGITS_OPTIMIZERS]
    rec.add_table("sharpness and distance at the end of training (mean ± 95% CI over seeds)",
                  ["optimizer", "lr", "λ_max", "‖θ_T − θ_0‖", "path length Σ‖Δθ‖"], rows,
                  caption="Digits CNN of E4 (data differ from the paper's CIFAR models). Paper Figs 7-8: CM reaches "
                          "lower λ_max and travels further (values not retrievable).")
    rec.metrics["per_optimizer"] = {opt: {"lr": best[opt], "lambda_max": at_best(runs, opt, "lambda_max"),
                                          "distance": at_best(runs, opt, "distance"),
                                          "path_length": at_best(runs, opt, "path_length")}
                                    for opt in DIGITS_OPTIMIZERS}
    rec.add_claim(fraction_of_seeds(at_best(runs, "Adam+CM", "lambda_max"), at_best(runs, "Adam", "lambda_max"),
                                    FRACTION, id="E5-flatter", names=("λ_max(CM)", "λ_max(Adam)"), a_lower=True,
                                    statement="Adam+CM ends in flatter minima than Adam"))
    rec.add_claim(fraction_of_seeds(at_best(runs, "Adam+CM", "distance"), at_best(runs, "Adam", "distance"),
                                    FRACTION, id="E5-further", names=("distance(CM)", "distance(Adam)"),
                                    a_lower=False,
                                    statement="Adam+CM travels further from its initialisation than Adam"))
    rec.add_claim(claims.ordering({o: float(np.mean(at_best(runs, o, "lambda_max")))
                                   for o in ("Adam", "Adam+SAM", "Adam+CM")}, ("Adam", "Adam+SAM", "Adam+CM"),
                                  id="E5-sam-between", statement="SAM's sharpness lies between Adam's and CM's "
                                  "(mean λ_max: Adam > Adam+SAM > Adam+CM)"))
    rec.plots.append(plot(runs, out))
    rec.notes = "Data differ from the paper: digits CNN (E4) instead of CIFAR models."
    return rec
