"""The fine-tuning methods compared in the paper (Sec. 4.2, Tables/Figs. of CW10), by name.

A :class:`Method` bundles what trains (all backbone weights, a subset, or a PEFT module), an optional
regulariser (EWC / L2) and the learning rate family. ``build_method(name, model, ...)`` creates it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable

import torch
from torch import nn

from l2m import peft as P
from l2m.model import MDDT
from repro_shared.cli import ConfigError

FULL_FT = ("ft", "ft_last", "ft_head", "ewc", "l2")
PEFT = ("adapter", "lora", "ia3", "prompt", "prefix", "l2p", "l2m", "l2m_id", "l2m_oracle")
METHODS = FULL_FT + PEFT + ("multitask",)


@dataclasses.dataclass(frozen=True)
class MethodConfig:
    """Hyper-parameters of the methods (reference values in comments, scaled pools where noted)."""

    lora_rank: int = 8                  # ref 8, alpha = 2 * rank
    l2m_pool: int = 30                  # ref 30 for CW10
    l2m_pull: float = 0.5               # ref 0.5
    l2m_identity_keys: int = 5          # l2m_id only: keys for pre-training data that map to no modulation
    l2p_pool: int = 30                  # ref 100 (scaled down with the model)
    l2p_length: int = 5                 # ref 5
    l2p_top_k: int = 5                  # ref 5
    prompt_length: int = 5
    adapter_reduction: int = 16         # ref 16
    ewc_lambda: float = 400.0           # ref 400 (L2: unit importances)
    fisher_batches: int = 10            # ref 10


class Regularizer:
    """Quadratic penalty sum_i lambda/2 * F_i (theta_i - theta*_i)^2 around the weights after earlier tasks.

    EWC (Kirkpatrick et al.): F = diagonal Fisher (mean squared gradients of the action loss on the finished
    task's data), summed over finished tasks; anchor = weights after the last task. L2: F = 1.
    """

    def __init__(self, model: nn.Module, lam: float, use_fisher: bool):
        self.lam, self.use_fisher = lam, use_fisher
        self.names = [n for n, p in model.named_parameters() if p.requires_grad]
        self.importance: dict[str, torch.Tensor] = {}
        self.anchor: dict[str, torch.Tensor] = {}

    def penalty(self, model: nn.Module) -> torch.Tensor | float:
        if not self.anchor:
            return 0.0
        params = dict(model.named_parameters())
        total = sum((self.importance[n] * (params[n] - self.anchor[n]).pow(2)).sum() for n in self.names)
        return 0.5 * self.lam * total

    def end_task(self, model: nn.Module, grad_batches: Iterable[Callable[[], torch.Tensor]]) -> None:
        """Consolidate after a task: accumulate its importances and move the anchor to the current weights."""
        params = dict(model.named_parameters())
        if self.use_fisher:
            fisher = {n: torch.zeros_like(params[n]) for n in self.names}
            count = 0
            for loss_fn in grad_batches:
                model.zero_grad(set_to_none=True)
                loss_fn().backward()
                for n in self.names:
                    if params[n].grad is not None:
                        fisher[n] += params[n].grad.detach() ** 2
                count += 1
            model.zero_grad(set_to_none=True)
            for n in self.names:
                self.importance[n] = self.importance.get(n, 0.0) + fisher[n] / max(count, 1)
        else:
            for n in self.names:
                self.importance[n] = torch.ones_like(params[n])
        self.anchor = {n: params[n].detach().clone() for n in self.names}


@dataclasses.dataclass
class Method:
    name: str
    peft: nn.Module | None
    params: list[nn.Parameter]
    regularizer: Regularizer | None = None
    is_peft: bool = False

    def begin_task(self, task_index: int) -> None:
        if hasattr(self.peft, "begin_task"):
            self.peft.begin_task(task_index)


def build_method(name: str, model: MDDT, cfg: MethodConfig, n_tasks: int = 1) -> Method:
    """Freeze/unfreeze ``model`` for ``name`` and create the method's own modules (``n_tasks``: oracle blocks)."""
    if name not in METHODS:
        raise ConfigError("method", name, METHODS)
    mcfg = model.cfg
    for p in model.parameters():
        p.requires_grad_(name in ("ft", "ewc", "l2", "multitask"))
    if name == "ft_last":
        for mod in (model.blocks[-1], model.ln_f, model.action_head):
            for p in mod.parameters():
                p.requires_grad_(True)
    if name == "ft_head":
        for p in model.action_head.parameters():
            p.requires_grad_(True)
    if name in FULL_FT or name == "multitask":
        reg = None
        if name in ("ewc", "l2"):
            reg = Regularizer(model, cfg.ewc_lambda, use_fisher=name == "ewc")
        return Method(name, None, [p for p in model.parameters() if p.requires_grad], reg)
    peft: nn.Module
    if name == "lora":
        peft = P.LoRA(mcfg, cfg.lora_rank)
    elif name == "ia3":
        peft = P.IA3(mcfg)
    elif name == "adapter":
        peft = P.Adapters(mcfg, cfg.adapter_reduction)
    elif name == "prompt":
        peft = P.PromptTuning(mcfg, cfg.prompt_length)
    elif name == "prefix":
        peft = P.PrefixTuning(mcfg, cfg.prompt_length)
    elif name == "l2p":
        peft = P.L2P(mcfg, cfg.l2p_pool, cfg.l2p_length, cfg.l2p_top_k, cfg.l2m_pull)
    elif name == "l2m":
        peft = P.L2M(mcfg, cfg.l2m_pool, cfg.lora_rank, pull=cfg.l2m_pull)
    elif name == "l2m_id":
        peft = P.L2M(mcfg, cfg.l2m_pool, cfg.lora_rank, pull=cfg.l2m_pull, n_identity=cfg.l2m_identity_keys)
    else:  # l2m_oracle
        pool = cfg.l2m_pool - cfg.l2m_pool % n_tasks if cfg.l2m_pool >= n_tasks else n_tasks
        peft = P.L2M(mcfg, pool, cfg.lora_rank, pull=cfg.l2m_pull, count_penalty=False, oracle_tasks=n_tasks)
    peft.to(next(model.parameters()).device)
    return Method(name, peft, list(peft.parameters()), None, is_peft=True)
