"""Sharpness: the top Hessian eigenvalue lambda_max by power iteration with Hessian-vector products (paper Figs 7-8).

The Hessian is never formed: ``H v`` is the gradient of ``<grad L, v>`` (double backward). Power iteration
converges to the eigenvalue of largest magnitude, which is lambda_max near a minimum (the Hessian there is
dominated by its positive part).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch

__all__ = ["hessian_vector_product", "top_hessian_eigenvalue", "dense_hessian"]


def hessian_vector_product(loss_fn: Callable[[], torch.Tensor], params: Sequence[torch.Tensor],
                           vectors: Sequence[torch.Tensor]) -> list[torch.Tensor]:
    """H v for the Hessian of ``loss_fn()`` with respect to ``params``."""
    with torch.enable_grad():
        loss = loss_fn()
        grads = torch.autograd.grad(loss, params, create_graph=True)
        dot = sum((g * v).sum() for g, v in zip(grads, vectors))
        hv = torch.autograd.grad(dot, params)
    return [h.detach() for h in hv]


def top_hessian_eigenvalue(loss_fn: Callable[[], torch.Tensor], params: Sequence[torch.Tensor], *,
                           iters: int = 50, tol: float = 1e-6, seed: int = 0) -> tuple[float, int]:
    """Largest-magnitude Hessian eigenvalue of ``loss_fn()`` at ``params`` and the iterations used.

    Deterministic (the start vector comes from ``seed``); stops when the Rayleigh quotient changes by less than
    ``tol`` relative.
    """
    params = list(params)
    gen = torch.Generator().manual_seed(seed)
    v = [torch.randn(p.shape, generator=gen, dtype=p.dtype).to(p.device) for p in params]
    norm = torch.sqrt(sum((x * x).sum() for x in v))
    v = [x / norm for x in v]
    eig = None
    for it in range(1, iters + 1):
        hv = hessian_vector_product(loss_fn, params, v)
        new = float(sum((h * x).sum() for h, x in zip(hv, v)))  # Rayleigh quotient (||v|| = 1)
        norm = torch.sqrt(sum((h * h).sum() for h in hv))
        if float(norm) == 0.0:
            return 0.0, it
        v = [h / norm for h in hv]
        if eig is not None and abs(new - eig) <= tol * max(abs(new), 1e-12):
            return new, it
        eig = new
    return float(eig), iters


def dense_hessian(loss_fn: Callable[[], torch.Tensor], params: Sequence[torch.Tensor]) -> torch.Tensor:
    """The full (n, n) Hessian, column by column (tests and tiny models only)."""
    params = list(params)
    n = sum(p.numel() for p in params)
    cols = []
    for i in range(n):
        e = torch.zeros(n, dtype=params[0].dtype, device=params[0].device)
        e[i] = 1.0
        vs, off = [], 0
        for p in params:
            vs.append(e[off: off + p.numel()].view_as(p))
            off += p.numel()
        cols.append(torch.cat([h.reshape(-1) for h in hessian_vector_product(loss_fn, params, vs)]))
    return torch.stack(cols, dim=1)
