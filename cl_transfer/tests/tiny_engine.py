"""A tiny Tier T engine on two generated tasks, shared by the engine and estimate tests."""

import torch
from cl_transfer.training import Budget, Engine, RunStore, TaskTensors

from cl_transfer import models, tasks

TINY = models.TinyBertConfig(hidden=16, layers=1, heads=2, ffn=32, max_len=24)
SIZES = tasks.SplitSizes(160, 32, 200)


def task_tensors(name: str, sizes: tasks.SplitSizes = SIZES) -> TaskTensors:
    vocab = models.WordVocab()
    rows = tasks.generate_rows(tasks.TASKS[name], sizes)
    enc = {}
    for split in tasks.SPLITS:
        ids = torch.tensor([vocab.encode(r["text"].split(" ")) for r in rows[split]])
        enc[split] = (ids, torch.tensor([r["label"] for r in rows[split]]))
    return TaskTensors(name, True, *enc["train"], *enc["dev"], *enc["test"], digest=name)


def tiny_engine(suite: dict[str, TaskTensors], store: RunStore | None = None, **budget) -> Engine:
    model = models.build_tiny_classifier(TINY, len(models.WordVocab()), seed=0)
    base = {k: v.clone() for k, v in model.state_dict().items()}
    b = Budget(source_steps=budget.get("steps", 12), source_lr=budget.get("lr", 3e-3), source_batch=8)
    return Engine(model, base, "test-base", suite, b, store or RunStore(None), max_parallel=8)
