"""E3 (Fig. 4E/F): linear probes for the next state and the preconditioned input across layers and context.

On the deepest LinSA-k of E1, for every layer l (0 = input tokens) and position t, a linear probe (with bias) maps
the residual stream e_t^l to a target: the next state s_{t+1}, or the preconditioned input
(S_{t-1} S_{t-1}^T + 1e-3 I)^{-1} s_t that Prop. 2's mesa-optimizer builds. Probes are fitted on one batch and
scored on a held-out batch (the paper reports in-sample fits; we report both) as normalised MSE.
"""

from __future__ import annotations

import math
from pathlib import Path

import jax
import numpy as np

from mesa_optimization import analysis
from mesa_optimization import training as tr
from mesa_optimization.configs import Config
from mesa_optimization.data import constructed_tokens
from mesa_optimization.experiments import common, e1_depth
from mesa_optimization.models import apply_with_intermediates
from repro_shared import claims as C
from repro_shared.plots import new_figure, save_figure
from repro_shared.results import RunRecord

NAME = "e3_probes"


def layer_activations(model, params, x) -> jax.Array:
    """(L+1, N, T, F): input tokens then the residual stream after every layer."""
    _, inter = apply_with_intermediates(model, params, x)
    return jax.numpy.stack([constructed_tokens(x), *inter["residual"]])


def run(cfg: Config, scale: str, out_dir: Path) -> RunRecord:
    depth = max(cfg.e1_depths)
    rec = RunRecord(paper=common.PAPER, experiment=NAME, scale=scale,
                    config={**common.config_dict(cfg, "e3_"), "model": f"LinSA-{depth}"}, seeds=list(cfg.seeds))
    trained = e1_depth.train_linsa(cfg, depth)
    x_fit, y_fit = common.eval_batch(cfg.e3_fit_batch, cfg.T, offset=4)
    x_te, y_te = common.eval_batch(cfg.e3_test_batch, cfg.T, offset=5)
    targets = {"next state s_{t+1}": (y_fit, y_te),
               "preconditioned input": (analysis.preconditioned_input(x_fit), analysis.preconditioned_input(x_te))}
    held = {k: [] for k in targets}
    insample = {k: [] for k in targets}
    for i in range(len(cfg.seeds)):
        p = tr.unstack(trained.params, i)
        a_fit, a_te = layer_activations(trained.model, p, x_fit), layer_activations(trained.model, p, x_te)
        for name, (t_fit, t_te) in targets.items():
            h, s = analysis.probe_curves(a_fit, t_fit, a_te, t_te)
            held[name].append(h)
            insample[name].append(s)
    held = {k: np.mean(v, axis=0) for k, v in held.items()}  # (L+1, T), mean over seeds
    insample = {k: np.mean(v, axis=0) for k, v in insample.items()}
    rec.metrics.update(heldout_nmse={k: v.tolist() for k, v in held.items()},
                       insample_nmse={k: v.tolist() for k, v in insample.items()})

    nxt, pre = held["next state s_{t+1}"], held["preconditioned input"]
    mid = math.ceil(depth / 2)
    late = {f"layer {l}": common.window_mean(nxt[l], 40, 50) for l in (1, mid, depth)}
    rec.add_claim(C.ordering(late, list(late)[::-1], higher_is_better=False, id="E3a",
                             statement="The next state is decoded better with depth (Fig. 4E; held-out NMSE, "
                                       "t = 40..50)"))
    ctx = {"t=11..20": common.window_mean(nxt[depth], 11, 20), "t=41..50": common.window_mean(nxt[depth], 41, 50)}
    rec.add_claim(C.ordering(ctx, list(ctx)[::-1], higher_is_better=False, id="E3b",
                             statement="... and better with context length (Fig. 4E; last layer, held-out NMSE)"))
    pre_l = {f"layer {l}": common.window_mean(pre[l], 25, 50) for l in (0, 1, mid)}
    rec.add_claim(C.ordering(pre_l, list(pre_l)[::-1], higher_is_better=False, id="E3c",
                             statement="The preconditioned input (S S^T + mu I)^{-1} s_t is decoded better with "
                                       "depth (Fig. 4F; held-out NMSE, t = 25..50)"))
    rows = []
    for l in range(depth + 1):
        rows.append([l, common.window_mean(nxt[l], 11, 20), common.window_mean(nxt[l], 40, 50),
                     common.window_mean(insample["next state s_{t+1}"][l], 40, 50), common.window_mean(pre[l], 25, 50),
                     common.window_mean(insample["preconditioned input"][l], 25, 50)])
    rec.add_table(f"Probe NMSE per layer of LinSA-{depth} (layer 0 = input tokens)",
                  ["layer", "next state, t=11-20", "next state, t=40-50", "next state in-sample, t=40-50",
                   "precond. input, t=25-50", "precond. input in-sample, t=25-50"], rows,
                  caption="Normalised MSE (MSE / target variance) of linear probes fitted on "
                          f"{cfg.e3_fit_batch} sequences, held-out on {cfg.e3_test_batch} unless 'in-sample'. "
                          "Paper: Fig. 4E/F (figures only). Data: procedural, as in the paper.")
    _plot(held, depth, cfg.T, out_dir / f"{NAME}.png")
    rec.plots.append(f"{NAME}.png")
    return rec


def _plot(held: dict[str, np.ndarray], depth: int, T: int, path: Path) -> None:
    fig, axes = new_figure(2, width=5.0)
    t = np.arange(1, T + 1)
    for ax, (name, curves) in zip(axes[0], held.items()):
        for l in range(depth + 1):
            ax.plot(t, curves[l], label=f"layer {l}", color=f"C{l}")
        ax.set_yscale("log")
        ax.set_xlabel("position t")
        ax.set_ylabel("held-out probe NMSE")
        ax.set_title(f"Probe: {name}")
        ax.legend(fontsize=7)
    save_figure(fig, path)
