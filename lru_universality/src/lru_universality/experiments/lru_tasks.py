"""Experiment 5: the LRU itself on sequence tasks that run offline (LRU paper, Sec. 4-5, Tables 1-2).

(a) The copy task of minimal-LRU ("copy-classification": a pattern of symbols, a short delay, then reproduce it);
the reference reaches 100% test accuracy in 2-4 epochs.
(b) A procedurally generated ListOps-style task (nested MAX / MIN / MED / SUM-mod-10; LRA's ListOps is not
downloadable here) with the r_min / gamma ablation and the real-diagonal and S4D-style baselines.
(c) A long-delay copy task where memory length matters (our stand-in for PathX): r_min near 1 vs r_min = 0, and
gamma normalization on / off.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from lru_universality.data import SequenceTask, copy_task, listops
from lru_universality.experiments.common import Context
from lru_universality.layers import RecurrenceConfig
from lru_universality.models import DeepRecurrentModel
from lru_universality.train import OptimConfig, fit_sequence_classifier
from repro_shared import claims
from repro_shared.plots import new_figure, save_figure
from repro_shared.results import RunRecord


@dataclasses.dataclass(frozen=True)
class Variant:
    kind: str
    r_min: float = 0.0
    r_max: float = 1.0
    gamma_norm: bool = True
    state_factor: int = 1  # the real baseline gets 2N units (equal state memory)

    def recurrence(self, d_state: int, scan_method: str = "sequential") -> RecurrenceConfig:
        return RecurrenceConfig(kind=self.kind, d_state=self.state_factor * d_state, r_min=self.r_min,
                                r_max=self.r_max, gamma_norm=self.gamma_norm, scan_method=scan_method)


VARIANTS: dict[str, Variant] = {
    "lru r[0,1]": Variant("lru", 0.0, 1.0),
    "lru r[0,.99]": Variant("lru", 0.0, 0.99),
    "lru r[0,.999]": Variant("lru", 0.0, 0.999),
    "lru r[.9,.999]": Variant("lru", 0.9, 0.999),
    "lru r[.9,.999] no-gamma": Variant("lru", 0.9, 0.999, gamma_norm=False),
    "lru r[.99,.9999]": Variant("lru", 0.99, 0.9999),
    "lru r[.999,.9999]": Variant("lru", 0.999, 0.9999),
    "real": Variant("real", 0.0, 0.99, state_factor=2),
    "s4d": Variant("s4d"),
}


def _train(task: tuple[SequenceTask, SequenceTask], variant: str, *, d_model: int, d_state: int, layers: int,
           pooling: str, steps: int, batch: int, lr: float, seed: int, desc: str, scan_method: str):
    train, test = task
    model = DeepRecurrentModel(d_model, train.n_classes, VARIANTS[variant].recurrence(d_state, scan_method),
                               n_layers=layers, pooling=pooling)
    return fit_sequence_classifier(model, train, test, steps=steps, batch_size=batch,
                                   optim=OptimConfig(lr=lr), seed=seed, desc=desc)


def run(ctx: Context) -> RunRecord:
    cfg = ctx.cfg
    seeds = list(ctx.seeds[: cfg.lru_seeds])
    copy_steps = int(round(cfg.copy_epochs * cfg.copy_train / cfg.copy_batch))
    rec = ctx.record("lru_tasks", notes=(
        "Data differ from the paper: everything is generated procedurally from the seed. Copy task: pattern "
        f"{cfg.copy_pattern} symbols of {cfg.copy_symbols}, delay {cfg.copy_delay}, {cfg.copy_train} train / "
        f"{cfg.copy_test} test. ListOps-style: lengths {cfg.listops_min_len}-{cfg.listops_max_len} tokens (LRA "
        f"ListOps: 500-2000, not downloadable here), {cfg.listops_train} train / {cfg.listops_test} test. Long-delay "
        f"copy: pattern {cfg.delay_pattern}, delay {cfg.delay_delay}. Models are far smaller than the LRU paper's "
        "(layer norm instead of batch norm, no dropout); no LRA-comparable numbers. Seeds: " + str(seeds)))
    results: dict = {"copy": {}, "listops": {}, "delay": {}, "curves": {}}

    for seed in seeds:
        rng = np.random.default_rng([seed, 5, 1])
        task = (copy_task(rng, cfg.copy_train, cfg.copy_pattern, cfg.copy_delay, cfg.copy_symbols),
                copy_task(rng, cfg.copy_test, cfg.copy_pattern, cfg.copy_delay, cfg.copy_symbols))
        fit = _train(task, "lru r[0,1]", d_model=cfg.copy_d_model, d_state=cfg.copy_d_state, layers=cfg.copy_layers,
                     pooling="none", steps=copy_steps, batch=cfg.copy_batch, lr=cfg.copy_lr, seed=seed,
                     desc=f"copy seed {seed}", scan_method=cfg.scan_method)
        results["copy"].setdefault("lru r[0,1]", []).append(fit.test_accuracy)
        results.setdefault("steps_per_s", {})[f"copy | seed {seed}"] = fit.steps_per_s
        results["curves"][f"copy | seed {seed}"] = fit.losses

        rng = np.random.default_rng([seed, 5, 2])
        kw = dict(min_len=cfg.listops_min_len, max_len=cfg.listops_max_len, max_args=cfg.listops_max_args)
        task = (listops(rng, cfg.listops_train, **kw), listops(rng, cfg.listops_test, **kw))
        results.setdefault("listops_majority", []).append(float(np.bincount(task[1].labels).max() / len(task[1])))
        for v in cfg.listops_variants:
            fit = _train(task, v, d_model=cfg.listops_d_model, d_state=cfg.listops_d_state,
                         layers=cfg.listops_layers, pooling="mean", steps=cfg.listops_steps, batch=cfg.listops_batch,
                         lr=cfg.listops_lr, seed=seed, desc=f"listops {v} seed {seed}",
                         scan_method=cfg.scan_method)
            results["listops"].setdefault(v, []).append(fit.test_accuracy)
            results["steps_per_s"][f"listops {v} | seed {seed}"] = fit.steps_per_s
            results["curves"][f"listops {v} | seed {seed}"] = fit.losses

        rng = np.random.default_rng([seed, 5, 3])
        task = (copy_task(rng, cfg.delay_train, cfg.delay_pattern, cfg.delay_delay, cfg.copy_symbols),
                copy_task(rng, cfg.delay_test, cfg.delay_pattern, cfg.delay_delay, cfg.copy_symbols))
        for v in cfg.delay_variants:
            fit = _train(task, v, d_model=cfg.delay_d_model, d_state=cfg.delay_d_state, layers=cfg.delay_layers,
                         pooling="none", steps=cfg.delay_steps, batch=cfg.delay_batch, lr=cfg.delay_lr, seed=seed,
                         desc=f"delay {v} seed {seed}", scan_method=cfg.scan_method)
            results["delay"].setdefault(v, []).append(fit.test_accuracy)
            results["steps_per_s"][f"delay {v} | seed {seed}"] = fit.steps_per_s
            results["curves"][f"delay {v} | seed {seed}"] = fit.losses
    rec.metrics.update(results)

    mean = {part: {v: float(np.mean(a)) for v, a in results[part].items()} for part in ("copy", "listops", "delay")}
    majority = float(np.mean(results["listops_majority"]))
    rec.add_table("Test accuracy (%), mean over seeds",
                  ["task", "model", "accuracy", "per seed"],
                  [[f"copy (pattern {cfg.copy_pattern}, delay {cfg.copy_delay}), {cfg.copy_epochs:g} epochs",
                    "LRU r[0,1] (minimal-LRU defaults)", 100 * mean["copy"]["lru r[0,1]"],
                    " ".join(f"{100 * a:.1f}" for a in results["copy"]["lru r[0,1]"])]]
                  + [[f"ListOps-style ({cfg.listops_min_len}-{cfg.listops_max_len} tokens)", v,
                      100 * mean["listops"][v], " ".join(f"{100 * a:.1f}" for a in results["listops"][v])]
                     for v in cfg.listops_variants]
                  + [["ListOps-style", "majority class", 100 * majority, ""]]
                  + [[f"long-delay copy (pattern {cfg.delay_pattern}, delay {cfg.delay_delay})", v,
                      100 * mean["delay"][v], " ".join(f"{100 * a:.1f}" for a in results["delay"][v])]
                     for v in cfg.delay_variants],
                  caption="Copy tasks: accuracy over the recall steps. LRU paper (LRA, its own scale): ListOps "
                          "60.2; Table 2 ListOps column 60.5 / 59.4 / 59.4 / 60.2 across the exp-param, stable-exp, "
                          "ring-init and gamma-norm steps (values from recollection, unverified).")
    fig, axes = new_figure(ncols=3)
    for ax, prefix in zip(axes[0], ("copy", "listops", "delay")):
        for k, curve in results["curves"].items():
            if k.startswith(prefix + " ") and k.endswith(f"seed {seeds[0]}"):
                label = k.split(" | ")[0].removeprefix(prefix).strip() or "LRU r[0,1]"
                ax.semilogy(np.arange(1, len(curve) + 1) * 50, curve, label=label)
        ax.set_xlabel("step")
        ax.set_ylabel("training loss")
        ax.set_title(prefix, fontsize=9)
        if ax.lines:
            ax.legend(fontsize=7)
    save_figure(fig, ctx.out_dir / "lru_tasks_loss.png")
    rec.plots.append("lru_tasks_loss.png")

    # --- claims (README, experiment 5)
    rec.add_claim(claims.threshold(mean["copy"]["lru r[0,1]"], 0.99, id="5a", at_most=False,
                                   name=f"copy test accuracy after {cfg.copy_epochs:g} epochs",
                                   statement="The LRU solves the copy task (>= 99% test accuracy within 4 epochs)."))
    lo = mean["listops"]
    if "lru r[0,.99]" in lo:
        rec.add_claim(claims.margin(lo["lru r[0,.99]"], majority, 0.10, id="5b", names=("LRU r[0,.99]", "majority"),
                                    statement="The LRU learns the ListOps-style task (>= majority + 10 points)."))
    parts = []
    if {"lru r[0,.99]", "lru r[.9,.999]"} <= set(lo):
        parts.append(claims.threshold(abs(lo["lru r[.9,.999]"] - lo["lru r[0,.99]"]), 0.05, id="5c.rmin",
                                      statement="", name="|acc r[.9,.999] - acc r[0,.99]|"))
    if {"lru r[.9,.999]", "lru r[.9,.999] no-gamma"} <= set(lo):
        parts.append(claims.threshold(abs(lo["lru r[.9,.999]"] - lo["lru r[.9,.999] no-gamma"]), 0.05,
                                      id="5c.gamma", statement="", name="|acc gamma - acc no-gamma|"))
    if {"lru r[0,.99]", "s4d"} <= set(lo):
        parts.append(claims.threshold(lo["s4d"] - lo["lru r[0,.99]"], 0.05, id="5c.s4d", statement="",
                                      name="acc s4d - acc LRU r[0,.99]"))
    if parts:
        c5c = claims.all_of(parts, id="5c", statement=(
            "On ListOps the r_min / gamma choices barely matter (within 5 points) and the LRU is not worse than the "
            "S4D-style layer by more than 5 points (LRU paper Tables 2-3: differences of about 1 point)."))
        learned = "lru r[0,.99]" in lo and lo["lru r[0,.99]"] >= majority + 0.10
        if not learned and c5c.passed:
            # equal accuracies of models that learned nothing would be a vacuous pass
            c5c.verdict = claims.Verdict.INCONCLUSIVE
            c5c.criterion += " [only informative once the LRU learns the task (5b); it did not]"
        rec.add_claim(c5c)
    de = mean["delay"]
    parts = []
    if {"lru r[.9,.999]", "lru r[0,.999]"} <= set(de):
        parts.append(claims.margin(de["lru r[.9,.999]"], de["lru r[0,.999]"], 0.10, id="5d.rmin", statement="",
                                   names=("r[.9,.999]", "r[0,.999]")))
    if {"lru r[.9,.999]", "lru r[.9,.999] no-gamma"} <= set(de):
        parts.append(claims.margin(de["lru r[.9,.999]"], de["lru r[.9,.999] no-gamma"], 0.0, id="5d.gamma",
                                   statement="", names=("gamma", "no-gamma")))
    if parts:
        rec.add_claim(claims.all_of(parts, id="5d", statement=(
            "Long-range memory needs eigenvalues initialised near the unit circle (r_min 0.9 beats r_min 0 by >= 10 "
            "points on the long-delay copy) and gamma normalization does not hurt there.")))
    return rec
