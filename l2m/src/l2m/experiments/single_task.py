"""E2 (paper Sec. 4.2, single-task fine-tuning on CW10 tasks): every method fine-tunes the pre-trained MDDT on
one new task; we measure success on it and, for methods that change the backbone, retention on the pre-training
tasks (frozen-backbone methods keep the pre-trained model unchanged, so they retain it by construction)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np

from l2m.configs import Config
from l2m.data import SequenceDataset
from l2m.evaluate import evaluate
from l2m.experiments.common import (
    MIN_SUCCESS,
    PAPER,
    evaluate_pretrain_tasks,
    finetune_train_config,
    guarded,
    pretrained_eval,
    pretrained_model,
    r9,
    store,
    summarize_pretrain,
    targets,
)
from l2m.methods import build_method
from l2m.runner import run_jobs
from l2m.train import train
from repro_shared import claims
from repro_shared.plots import new_figure, save_figure
from repro_shared.results import RunRecord
from repro_shared.seeding import seed_everything

CHANGES_BACKBONE = ("ft", "ft_last", "ft_head")


def job(cfg: Config, seed: int, method: str, task: str) -> dict:
    """Fine-tune ``method`` on ``task`` from the pre-trained checkpoint; evaluate."""
    seed_everything(seed)
    model, _ = pretrained_model(cfg, seed)
    m = build_method(method, model, cfg.method_config(), n_tasks=1)
    ds = SequenceDataset([store(cfg, task)], cfg.context, task_ids=[0])
    hist = train(model, m, ds, finetune_train_config(cfg, method, cfg.st_steps), seed=seed, desc=f"{method} {task}")
    res = evaluate(model, m.peft, [task], targets(cfg, [task]), 2 * cfg.eval_episodes, seed=seed,
                   task_ids={task: 0}, max_envs=cfg.max_envs)
    out = {"method": method, "task": task, "seed": seed, "success": res[task]["success"],
           "trainable": sum(p.numel() for p in m.params), "s_per_step": hist["s_per_step"][0],
           "final_loss": hist["loss"][-1]}
    if method in CHANGES_BACKBONE:
        out["retention"] = summarize_pretrain(cfg, evaluate_pretrain_tasks(cfg, model, None, seed))
    return out


def run(cfg: Config, out_dir: Path, scale: str) -> RunRecord:
    rec = RunRecord(paper=PAPER, experiment="single_task", scale=scale, config=dataclasses.asdict(cfg),
                    seeds=list(cfg.seeds))
    rec.notes = ("Data differs from the paper (scripted experts + noise, not SAC replay); "
                 f"{cfg.st_steps} updates per task (paper: 100K), tiny MDDT (d={cfg.d_model}, L={cfg.n_layer}).")
    base = {}
    for seed in cfg.seeds:
        pretrained_model(cfg, seed)  # train/cache before the workers start
        base[seed] = summarize_pretrain(cfg, pretrained_eval(cfg, seed))
    jobs = [dict(cfg=cfg, seed=s, method=m, task=t) for s in cfg.seeds for m in cfg.st_methods for t in cfg.st_tasks]
    results = run_jobs(job, jobs, workers=cfg.workers, desc="single-task",
                       label=lambda j: f"{j['method']} on {j['task']} (seed {j['seed']})")
    by = {m: [r for r in results if r["method"] == m] for m in cfg.st_methods}
    mean = {m: float(np.mean([r["success"] for r in rs])) for m, rs in by.items()}
    base_mw = float(np.mean([b["mw_success"] for b in base.values()]))
    rows = []
    for m, rs in by.items():
        per_task = [float(np.mean([r["success"] for r in rs if r["task"] == t])) for t in cfg.st_tasks]
        if m in CHANGES_BACKBONE:
            ret = float(np.mean([r["retention"]["mw_success"] for r in rs]))
        else:
            ret = base_mw
        rows.append([m, rs[0]["trainable"], *per_task, mean[m], ret, float(np.mean([r["s_per_step"] for r in rs]))])
    rec.metrics.update(mean_success=mean, pretrained_mw_success=base_mw, results=results)
    rec.add_table("Single-task fine-tuning: success on the new task",
                  ["method", "trainable params", *cfg.st_tasks, "mean", "MW pre-training success after", "s/update"],
                  rows, caption=f"Pre-trained model on its MW pre-training tasks: {base_mw:.3f}. Frozen-backbone "
                                "methods leave the backbone untouched: their retention equals the pre-trained model's. "
                                "Paper (Fig. 3, CW10 single-task): FT and LoRA adapt best, prompt tuning worst; "
                                "TODO exact bars from the PDF.")
    # claims (pre-registered in the README)
    if {"lora", "prompt"} <= set(mean):
        rec.add_claim(claims.threshold(r9(mean["lora"] - mean["prompt"]), 0.1, at_most=False, id="E2.lora_vs_prompt",
                                       name="LoRA - prompt (mean success on the new tasks)",
                                       statement="LoRA adapts to a new task clearly better than prompt tuning."))
    if {"ft", "lora"} <= set(mean):
        others = [mean[m] for m in mean if m not in ("ft", "lora")]
        if others:
            gap = min(mean["ft"], mean["lora"]) - max(others)
            rec.add_claim(guarded(
                claims.threshold(r9(gap), -0.05, at_most=False, id="E2.ft_lora_best",
                                 name="min(FT, LoRA) - max(other methods)",
                                 statement="Full fine-tuning and LoRA are the best-adapting methods."),
                max(mean.values()) >= MIN_SUCCESS,
                f"best method success >= {MIN_SUCCESS}: measured {max(mean.values()):.3f}"))
    if "ft" in by and by["ft"][0].get("retention"):
        ft_after = float(np.mean([r["retention"]["mw_success"] for r in by["ft"]]))
        rec.add_claim(guarded(
            claims.threshold(r9(base_mw - ft_after), 0.1, at_most=False, id="E2.ft_forgets",
                             name="MW pre-training success drop after FT",
                             statement="Full fine-tuning on one new task degrades the pre-training tasks."),
            base_mw >= MIN_SUCCESS, f"pre-trained MW success >= {MIN_SUCCESS}: measured {base_mw:.3f}"))
    fig, axes = new_figure(1, width=6.0)
    ax = axes[0, 0]
    ax.bar(range(len(mean)), list(mean.values()))
    ax.set_xticks(range(len(mean)), list(mean), rotation=30)
    ax.set(ylabel="success on the new task", title="single-task fine-tuning", ylim=(0, 1))
    save_figure(fig, out_dir / "single_task.png")
    rec.plots.append("single_task.png")
    return rec
