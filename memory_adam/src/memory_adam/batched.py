"""Many independent optimizer runs at once: Adam, Adam+CG and Adam+CM on a batch of points ``x`` of shape (R, D).

Each row is its own run with its own moments, buffer and priority (``||g_r||_2``: the point is one tensor), so
the toy experiments (paper Figs 4-5) run hundreds of starts and several learning rates in one vectorised loop.
The rules are those of :class:`memory_adam.AdamCM` / :class:`memory_adam.AdamCG` (faithful or clean); the tests
check every row against a separate faithful optimizer instance.
"""

from __future__ import annotations

import math

import torch

__all__ = ["KINDS", "BatchedOptimizer"]

KINDS = ("adam", "cg", "cm")


class BatchedOptimizer:
    """R runs of one optimizer, updated in place on ``x`` (R, D).

    Args:
        kind: "adam", "cg" (critical gradients) or "cm" (critical momenta).
        x: the points, updated in place by :meth:`step`.
        lr: a float or one learning rate per run, shape (R,).
        clean: Adam+CM only: the ablation variant without the no-op first step (see :class:`~memory_adam.AdamCM`).
    """

    def __init__(self, kind: str, x: torch.Tensor, lr: float | torch.Tensor, *, betas=(0.9, 0.999), eps: float = 1e-8,
                 buffer_size: int = 5, decay: float = 0.7, clean: bool = False):
        if kind not in KINDS:
            raise ValueError(f"invalid kind: {kind!r} (allowed: {', '.join(KINDS)})")
        if x.dim() != 2:
            raise ValueError(f"x must have shape (runs, dim), got {tuple(x.shape)}")
        self.kind, self.x, self.clean = kind, x, clean and kind == "cm"
        self.beta1, self.beta2 = betas
        self.eps, self.capacity, self.decay = eps, buffer_size, decay
        runs = x.shape[0]
        lr_t = torch.as_tensor(lr, dtype=x.dtype, device=x.device)
        self.lr = (lr_t.expand(runs) if lr_t.dim() == 0 else lr_t).reshape(runs, 1).clone()
        self.t = 0
        self.fill = 0
        self.m = torch.zeros_like(x)
        self.v = torch.zeros_like(x)
        self.buf = torch.zeros(runs, buffer_size, x.shape[1], dtype=x.dtype, device=x.device)
        self.keys = torch.zeros(runs, buffer_size, dtype=x.dtype, device=x.device)
        self.total = torch.zeros_like(x)  # running sum of B, updated as the reference does
        self.rows = torch.arange(runs, device=x.device)

    def _insert(self, value: torch.Tensor, priority: torch.Tensor) -> None:
        if self.fill < self.capacity:
            self.buf[:, self.fill] = value
            self.keys[:, self.fill] = priority
            self.fill += 1
            self.total.add_(value)
            return
        j = torch.argmin(self.keys, dim=1)
        accept = priority > self.keys[self.rows, j]
        old = self.buf[self.rows, j]
        self.total = torch.where(accept[:, None], (self.total + (-old)) + value, self.total)
        self.buf[self.rows, j] = torch.where(accept[:, None], value, old)
        self.keys[self.rows, j] = torch.where(accept, priority, self.keys[self.rows, j])

    def _apply(self, numerator: torch.Tensor, second: torch.Tensor, step_size: torch.Tensor) -> None:
        self.v.mul_(self.beta2).addcmul_(second, second, value=1 - self.beta2)
        denom = (self.v.sqrt() / math.sqrt(1 - self.beta2 ** self.t)).add_(self.eps)
        self.x.sub_(step_size * numerator / denom)

    @torch.no_grad()
    def step(self, grad: torch.Tensor) -> None:
        """One step of every run with gradients ``grad`` (R, D)."""
        b1 = self.beta1
        if self.kind == "adam":
            self.t += 1
            self.m.mul_(b1).add_(grad, alpha=1 - b1)
            self._apply(self.m, grad, self.lr / (1 - b1 ** self.t))
            return
        priority = torch.sqrt(torch.sum(torch.square(grad), dim=1))
        if self.kind == "cg":
            if self.fill == 0:
                aggregate = grad
            else:
                aggregate = grad + self.total / self.fill
            self._insert(grad.clone(), priority)
            self.t += 1
            self.m.mul_(b1).add_(aggregate, alpha=1 - b1)
            self._apply(self.m, aggregate, self.lr / (1 - b1 ** self.t))
        elif self.clean:
            self.m.mul_(b1).add_(grad, alpha=1 - b1)
            self.t += 1
            m_hat = self.m / (1 - b1 ** self.t)
            aggregate = m_hat + self.total / self.fill if self.fill else m_hat
            self._insert(m_hat, priority)
            self._apply(aggregate, aggregate, self.lr)
        elif self.fill == 0:  # faithful first call: seed B with g_1, no move, advance t
            self._insert(grad.clone(), priority)
            self.t += 1
            self.v.mul_(self.beta2)
        else:
            self.m.mul_(b1).add_(grad, alpha=1 - b1)
            aggregate = self.m + self.total / self.fill
            self._insert(self.m.clone(), priority)
            self.t += 1
            self._apply(aggregate, aggregate, self.lr / (1 - b1 ** self.t))
        self.keys.mul_(self.decay)
