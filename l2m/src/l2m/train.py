"""Training: the masked action-token loss, AdamW with the reference's weight-decay split, and the loop."""

from __future__ import annotations

import dataclasses
import math
import time

import torch
import torch.nn.functional as F
from torch import nn

from l2m.data import Batch, SequenceDataset
from l2m.methods import Method
from l2m.model import MDDT
from repro_shared.progress import progress


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    steps: int = 1000
    batch_size: int = 64
    lr: float = 3e-4
    weight_decay: float = 0.01
    warmup: int = 0            # linear warm-up steps
    cosine: bool = False       # cosine decay to lr_min after warm-up (pre-training); else constant
    lr_min: float = 1e-6
    clip: float = 0.25


def action_loss(logits: torch.Tensor, actions: torch.Tensor, act_mask: torch.Tensor) -> torch.Tensor:
    """Mean cross-entropy over exactly the valid (step, action-dimension) pairs."""
    valid = act_mask.reshape(-1)
    ce = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), actions.reshape(-1).clamp_max(logits.shape[-1] - 1),
                         reduction="none")
    return (ce * valid).sum() / valid.sum().clamp_min(1)


def make_optimizer(model: MDDT, method: Method, lr: float, weight_decay: float) -> torch.optim.AdamW:
    """Weight decay on the weights of linear layers only (not biases, LayerNorms, embeddings, raw parameters)."""
    decay_ids = {id(m.weight) for m in list(model.modules()) + list((method.peft or nn.Module()).modules())
                 if isinstance(m, nn.Linear)}
    decay = [p for p in method.params if id(p) in decay_ids]
    rest = [p for p in method.params if id(p) not in decay_ids]
    return torch.optim.AdamW([{"params": decay, "weight_decay": weight_decay}, {"params": rest, "weight_decay": 0.0}],
                             lr=lr, betas=(0.9, 0.999), fused=True)


def lr_at(step: int, tc: TrainConfig) -> float:
    if tc.warmup and step < tc.warmup:
        return tc.lr * (step + 1) / tc.warmup
    if not tc.cosine:
        return tc.lr
    frac = (step - tc.warmup) / max(1, tc.steps - tc.warmup)
    return tc.lr_min + 0.5 * (tc.lr - tc.lr_min) * (1 + math.cos(math.pi * min(1.0, frac)))


def step_loss(model: MDDT, method: Method, batch: Batch) -> tuple[torch.Tensor, torch.Tensor]:
    """(total loss, action loss) of one batch: CE + the method's auxiliary term + its regulariser."""
    logits, aux = model(batch, method.peft)
    ce = action_loss(logits, batch.actions, batch.act_mask)
    total = ce + aux
    if method.regularizer is not None:
        total = total + method.regularizer.penalty(model)
    return total, ce


def train(model: MDDT, method: Method, dataset: SequenceDataset, tc: TrainConfig, *, seed: int = 0,
          desc: str = "train", log_every: int = 50) -> dict[str, list[float]]:
    """Run ``tc.steps`` updates; returns the action loss every ``log_every`` steps and the wall time per step."""
    gen = torch.Generator().manual_seed(seed)
    device = next(model.parameters()).device
    opt = make_optimizer(model, method, tc.lr, tc.weight_decay)
    model.train()
    if method.peft is not None:
        method.peft.train()
    losses, running, t0 = [], 0.0, time.perf_counter()
    bar = progress(range(tc.steps), desc=desc, total=tc.steps)
    for step in bar:
        for g in opt.param_groups:
            g["lr"] = lr_at(step, tc)
        batch = dataset.sample(tc.batch_size, gen).to(device)
        loss, ce = step_loss(model, method, batch)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        if tc.clip:
            torch.nn.utils.clip_grad_norm_(method.params, tc.clip)
        opt.step()
        running += float(ce.detach())
        if (step + 1) % log_every == 0 or step + 1 == tc.steps:
            n = (step % log_every) + 1
            losses.append(running / n)
            running = 0.0
            bar.set_postfix(loss=f"{losses[-1]:.3f}")
    model.eval()
    if method.peft is not None:
        method.peft.eval()
    return {"loss": losses, "s_per_step": [(time.perf_counter() - t0) / max(1, tc.steps)]}


def fisher_batches(model: MDDT, method: Method, dataset: SequenceDataset, n: int, batch_size: int, seed: int):
    """Loss closures on ``n`` fresh batches (EWC's Fisher estimate)."""
    gen = torch.Generator().manual_seed(seed + 10_007)
    device = next(model.parameters()).device

    def one():
        batch = dataset.sample(batch_size, gen).to(device)
        logits, _ = model(batch, method.peft)
        return action_loss(logits, batch.actions, batch.act_mask)

    return (one for _ in range(n))
