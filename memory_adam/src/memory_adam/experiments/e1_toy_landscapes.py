"""E1, paper Fig. 4: optimizers on 2-D landscapes (Ackley, Goldstein-Price, Levy N.13) from many random starts.

Every start and learning rate is one row of a batched run. Metrics per (function, optimizer, lr): hit rate (final
point within ``toy_hit_radius`` of the global minimiser), median final value, median path length sum ||dx||.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from memory_adam.configs import Config
from memory_adam.experiments.common import new_record
from memory_adam.toy import FUNCTIONS, run_batched
from repro_shared import claims
from repro_shared.plots import new_figure, save_figure
from repro_shared.progress import progress

NAME = "e1_toy_landscapes"
OPTIMIZERS = ("Adam", "Adam+SAM", "Adam+CG", "Adam+CM", "Adam+SAM+CM")
PATH_ORDER = ("Adam+CM", "Adam+CG", "Adam+SAM", "Adam")
FIELDS = ("toy_starts", "toy_steps", "toy_lrs", "toy_hit_radius", "buffer_size", "decay", "rho")


def starts(fn_name: str, n: int, seed: int) -> torch.Tensor:
    f = FUNCTIONS[fn_name]
    gen = torch.Generator().manual_seed(seed)
    return (torch.rand(n, 2, generator=gen, dtype=torch.float64) * 2 - 1) * f.box


def measure(cfg: Config, seed: int) -> tuple[dict, dict]:
    """{fn: {opt: {lr: metrics}}} and a few trajectories per (fn, opt) at the middle lr for the figure."""
    lrs = torch.tensor(cfg.toy_lrs, dtype=torch.float64)
    n = cfg.toy_starts
    results: dict = {}
    paths_for_plot: dict = {}
    jobs = [(f, o) for f in FUNCTIONS for o in OPTIMIZERS]
    for fn_name, opt in progress(jobs, desc="E1 toy landscapes"):
        f = FUNCTIONS[fn_name]
        x0 = starts(fn_name, n, seed).repeat(len(cfg.toy_lrs), 1)
        traj = run_batched(f.fn, x0, opt, lrs.repeat_interleave(n), cfg.toy_steps, rho=cfg.rho,
                           buffer_size=cfg.buffer_size, decay=cfg.decay, device=cfg.device)
        final = traj[-1]
        dist = (final - torch.tensor(f.minimizer, dtype=torch.float64)).norm(dim=1)
        path = (traj[1:] - traj[:-1]).norm(dim=2).sum(0)
        values = f.fn(final)
        per_lr = {}
        for i, lr in enumerate(cfg.toy_lrs):
            s = slice(i * n, (i + 1) * n)
            finite = torch.isfinite(values[s])
            per_lr[lr] = {"hit_rate": float((dist[s] < cfg.toy_hit_radius).double().mean()),
                          "median_f": float(values[s][finite].median()) if finite.any() else float("nan"),
                          "median_path": float(path[s].median())}
        results.setdefault(fn_name, {})[opt] = per_lr
        mid = len(cfg.toy_lrs) // 2
        paths_for_plot[(fn_name, opt)] = traj[:, mid * n: mid * n + 6].numpy()
    return results, paths_for_plot


def plot(paths: dict, cfg: Config, out: Path) -> str:
    fig, axes = new_figure(len(OPTIMIZERS), len(FUNCTIONS), width=3.0, height=3.0)
    for r, (fn_name, f) in enumerate(FUNCTIONS.items()):
        g = np.linspace(-f.box, f.box, 160)
        xx, yy = np.meshgrid(g, g)
        grid = torch.tensor(np.stack([xx, yy], -1).reshape(-1, 2))
        zz = f.fn(grid).numpy().reshape(xx.shape)
        zz = np.log1p(zz - zz.min())
        for c, opt in enumerate(OPTIMIZERS):
            ax = axes[r][c]
            ax.contourf(xx, yy, zz, levels=30, cmap="Greys")
            for k in range(paths[(fn_name, opt)].shape[1]):
                p = paths[(fn_name, opt)][:, k]
                ax.plot(p[:, 0], p[:, 1], lw=0.7)
                ax.plot(p[0, 0], p[0, 1], "o", ms=2, color="k")
            ax.plot(*f.minimizer, "*", color="red", ms=8)
            ax.set_xlim(-f.box, f.box)
            ax.set_ylim(-f.box, f.box)
            ax.set_xticks([])
            ax.set_yticks([])
            if r == 0:
                ax.set_title(opt, fontsize=9)
            if c == 0:
                ax.set_ylabel(f.name, fontsize=9)
    fig.suptitle(f"trajectories at lr {cfg.toy_lrs[len(cfg.toy_lrs) // 2]:g} (red star: global minimum)", fontsize=9)
    name = f"{NAME}.png"
    save_figure(fig, out / name)
    return name


def best_lr(per_lr: dict, key: str = "hit_rate") -> float:
    """The lr with the highest hit rate (ties: lower median f, then the smaller lr)."""
    return max(per_lr, key=lambda lr: (per_lr[lr][key], -per_lr[lr]["median_f"], -lr))


def run(cfg: Config, scale: str, out: Path):
    seed = cfg.seeds[0]
    rec = new_record(NAME, scale, cfg, [seed], FIELDS)
    results, paths = measure(cfg, seed)
    rec.metrics["results"] = {fn: {o: {str(lr): m for lr, m in v.items()} for o, v in d.items()}
                              for fn, d in results.items()}
    for fn_name, d in results.items():
        rows = []
        for opt in OPTIMIZERS:
            cells = [f"{d[opt][lr]['hit_rate']:.2f} / {d[opt][lr]['median_f']:.3g} / {d[opt][lr]['median_path']:.3g}"
                     for lr in cfg.toy_lrs]
            rows.append([opt, *cells])
        rec.add_table(f"{FUNCTIONS[fn_name].name}: hit rate / median final f / median path length",
                      ["optimizer", *[f"lr {lr:g}" for lr in cfg.toy_lrs]], rows,
                      caption=f"{cfg.toy_starts} uniform starts in [-{FUNCTIONS[fn_name].box:g}, "
                              f"{FUNCTIONS[fn_name].box:g}]², {cfg.toy_steps} steps; hit: final point within "
                              f"{cfg.toy_hit_radius:g} of the global minimiser. Paper Fig. 4 shows trajectories only "
                              "(no numbers).")
    # pre-registered claims (README, E1)
    for fn_name, d in results.items():
        parts = [claims.ordering({o: d[o][lr]["median_path"] for o in PATH_ORDER}, PATH_ORDER,
                                 id=f"lr {lr:g}", statement="") for lr in cfg.toy_lrs]
        claim = claims.all_of(parts, id=f"E1-path-{fn_name}",
                              statement=f"{FUNCTIONS[fn_name].name}: CM explores further than CG, SAM and Adam")
        claim.criterion = (f"median path length {' > '.join(PATH_ORDER)} at every lr "
                           f"({', '.join(f'{lr:g}' for lr in cfg.toy_lrs)})")
        rec.add_claim(claim)
    for fn_name, gap in (("ackley", 0.3), ("levy13", 0.3), ("goldstein_price", 0.0)):
        d = results[fn_name]
        cm_lr, adam_lr = best_lr(d["Adam+CM"]), best_lr(d["Adam"])
        rec.add_claim(claims.margin(d["Adam+CM"][cm_lr]["hit_rate"], d["Adam"][adam_lr]["hit_rate"], gap,
                                    id=f"E1-hit-{fn_name}", names=(f"CM hit (lr {cm_lr:g})",
                                                                   f"Adam hit (lr {adam_lr:g})"),
                                    statement=f"{FUNCTIONS[fn_name].name}: CM reaches the global minimum more "
                                              "often than Adam (each at its best lr)"))
    rec.plots.append(plot(paths, cfg, out))
    rec.notes = ("Own batched implementation (one 2-vector parameter per run, priority ||g||_2); each row checked "
                 "against the faithful optimizer in the tests. The paper's Fig. 4 is qualitative (trajectories); "
                 "hit rates and path lengths are our quantification.")
    return rec
