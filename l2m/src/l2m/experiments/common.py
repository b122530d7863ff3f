"""Shared pieces of the experiments: data stores, the cached pre-trained MDDT, evaluation of a model."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from pathlib import Path

import numpy as np
import torch

from l2m import tasks as T
from l2m.configs import Config
from l2m.data import DataSpec, SequenceDataset, TaskData, cache_dir, ensure_data, load_task, store_path
from l2m.evaluate import evaluate
from l2m.methods import build_method
from l2m.model import MDDT, ModelConfig
from l2m.train import TrainConfig, train
from repro_shared.claims import Claim, Verdict
from repro_shared.results import atomic_path, write_json_atomic
from repro_shared.seeding import seed_everything

PAPER = "Learning to Modulate pre-trained Models in RL"


def spec_for(cfg: Config, task: str) -> DataSpec:
    return DataSpec(episodes=cfg.episodes_mw if T.domain_of(task) == "mw" else cfg.episodes_dmc)


def ensure_all_data(cfg: Config, task_list=None) -> None:
    """Generate (once) the stores of every task the config touches: MW and DMC in one parallel pool each."""
    task_list = list(task_list or (*cfg.mw_pretrain, *cfg.dmc_pretrain, *cfg.cw_tasks, *cfg.st_tasks))
    task_list = list(dict.fromkeys(task_list))
    for domain in ("mw", "dmc"):
        sel = [t for t in task_list if T.domain_of(t) == domain]
        if sel:
            ensure_data(sel, spec_for(cfg, sel[0]), workers=cfg.data_workers)


def store(cfg: Config, task: str) -> TaskData:
    return load_task(task, spec_for(cfg, task))


def targets(cfg: Config, task_list) -> dict[str, float]:
    """Evaluation target returns: the best episode return in each task's data (reads only that array)."""
    out = {}
    for t in task_list:
        path = store_path(t, spec_for(cfg, t))
        if not path.is_file():
            ensure_all_data(cfg, [t])
        with np.load(path) as z:
            out[t] = float(z["returns"].max())
    return out


def model_config(cfg: Config) -> ModelConfig:
    return ModelConfig(d_model=cfg.d_model, n_layer=cfg.n_layer, n_head=cfg.n_head, context=cfg.context,
                       dropout=cfg.dropout)


def pretrain_train_config(cfg: Config) -> TrainConfig:
    return TrainConfig(steps=cfg.pretrain_steps, batch_size=cfg.pretrain_batch, lr=cfg.pretrain_lr,
                       warmup=cfg.warmup, cosine=True)


def finetune_train_config(cfg: Config, method: str, steps: int) -> TrainConfig:
    full = method in ("ft", "ft_last", "ft_head", "ewc", "l2", "multitask")
    return TrainConfig(steps=steps, batch_size=cfg.ft_batch, lr=cfg.ft_lr if full else cfg.peft_lr)


def _pretrain_key(cfg: Config, seed: int) -> str:
    fields = dict(model=dataclasses.asdict(model_config(cfg)), train=dataclasses.asdict(pretrain_train_config(cfg)),
                  mw=cfg.mw_pretrain, dmc=cfg.dmc_pretrain, e_mw=cfg.episodes_mw, e_dmc=cfg.episodes_dmc,
                  dmc_weight=cfg.dmc_weight, seed=seed, v=2)
    return hashlib.sha1(json.dumps(fields, sort_keys=True).encode()).hexdigest()[:12]


def checkpoint_path(cfg: Config, seed: int) -> Path:
    return cache_dir() / "checkpoints" / f"mddt_{_pretrain_key(cfg, seed)}.pt"


def pretrain_dataset(cfg: Config) -> SequenceDataset:
    stores = [store(cfg, t) for t in (*cfg.mw_pretrain, *cfg.dmc_pretrain)]
    weights = {"mw": 1.0 - cfg.dmc_weight, "dmc": cfg.dmc_weight} if cfg.dmc_pretrain else None
    return SequenceDataset(stores, cfg.context, domain_weights=weights)


def pretrained_model(cfg: Config, seed: int) -> tuple[MDDT, dict]:
    """The pre-trained MDDT of ``(cfg, seed)``: loaded from the checkpoint cache or trained and cached."""
    path = checkpoint_path(cfg, seed)
    model = MDDT(model_config(cfg))
    if path.is_file():
        ckpt = torch.load(path, map_location="cpu", weights_only=False)
        model.load_state_dict(ckpt["state_dict"])
        return model.to(cfg.device).eval(), ckpt["history"]
    ensure_all_data(cfg)
    seed_everything(seed)
    model = MDDT(model_config(cfg)).to(cfg.device)
    dataset = pretrain_dataset(cfg)
    model.set_state_normalizer(*(x.to(cfg.device) for x in dataset.state_stats()))
    method = build_method("ft", model, cfg.method_config())
    torch.set_num_threads(cfg.pretrain_threads)
    try:
        history = train(model, method, dataset, pretrain_train_config(cfg), seed=seed,
                        desc="pre-train", log_every=max(1, cfg.pretrain_steps // 50))
    finally:
        torch.set_num_threads(1)
    with atomic_path(path) as tmp:
        torch.save({"state_dict": {k: v.cpu() for k, v in model.state_dict().items()}, "history": history}, tmp)
    return model.eval(), history


def evaluate_pretrain_tasks(cfg: Config, model: MDDT, peft, seed: int, desc: str = "eval pre-train") -> dict:
    """Success on the Meta-World pre-training tasks and normalised score on the DMC ones."""
    tgt = targets(cfg, (*cfg.mw_pretrain, *cfg.dmc_pretrain))
    out = evaluate(model, peft, list(cfg.mw_pretrain), tgt, cfg.pretrain_eval_episodes, seed=seed, desc=desc,
                   task_ids={t: -1 for t in cfg.mw_pretrain}, max_envs=cfg.max_envs)
    if cfg.dmc_pretrain and cfg.dmc_eval_episodes:
        out.update(evaluate(model, peft, list(cfg.dmc_pretrain), tgt, cfg.dmc_eval_episodes, seed=seed,
                            desc=desc + " (DMC)", task_ids={t: -1 for t in cfg.dmc_pretrain}, max_envs=cfg.max_envs))
    return out


def pretrained_eval(cfg: Config, seed: int) -> dict:
    """Evaluation of the pre-trained model on its pre-training tasks (cached next to the checkpoint)."""
    model, _ = pretrained_model(cfg, seed)
    key = hashlib.sha1(json.dumps([cfg.pretrain_eval_episodes, cfg.dmc_eval_episodes, seed]).encode()).hexdigest()[:8]
    path = checkpoint_path(cfg, seed).with_suffix(f".eval_{key}.json")
    if path.is_file():
        return json.loads(path.read_text())
    out = evaluate_pretrain_tasks(cfg, model, None, seed)
    write_json_atomic(path, out)
    return out


def summarize_pretrain(cfg: Config, res: dict) -> dict[str, float]:
    mw = [res[t]["success"] for t in cfg.mw_pretrain]
    dmc = [res[t]["score"] for t in cfg.dmc_pretrain if t in res]
    return {"mw_success": float(np.mean(mw)), "dmc_score": float(np.mean(dmc)) if dmc else float("nan")}


def r9(x: float) -> float:
    """Measured values enter the criteria rounded to 1e-9: success rates are ratios of small integers, and e.g.
    0.15 - 0.05 = 0.09999999999999999 in floating point must not fail a >= 0.1 criterion."""
    return round(float(x), 9)


MIN_SUCCESS = 0.2  # below this there is nothing to forget / compare: the claim is INCONCLUSIVE (pre-registered)


def guarded(claim: Claim, precondition: bool, reason: str) -> Claim:
    """INCONCLUSIVE instead of the verdict when a pre-registered precondition fails (e.g. nothing was learned)."""
    if not precondition:
        claim.verdict = Verdict.INCONCLUSIVE
        claim.measured = {**(claim.measured or {}), "inconclusive_because": reason}
        claim.criterion += f" (if {reason.split(':')[0]} holds)"
    return claim
