"""2-D test functions (paper Fig. 4) and the sharp/flat two-basin family (our reconstruction of Fig. 5), batched.

Every function maps points ``x`` of shape (R, 2) to values (R,), and :func:`run_batched` runs many starts of one
optimizer on one function in a single vectorised loop, recording the trajectories.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable

import torch

from memory_adam.batched import BatchedOptimizer

__all__ = ["TestFunction", "FUNCTIONS", "ackley", "goldstein_price", "levy13", "two_basin", "gradient",
           "run_batched", "OPTIMIZERS"]


def ackley(x: torch.Tensor) -> torch.Tensor:
    """Ackley (a = 20, b = 0.2, c = 2 pi); global minimum 0 at (0, 0)."""
    r2 = 0.5 * (x ** 2).sum(-1)
    cos = 0.5 * torch.cos(2 * math.pi * x).sum(-1)
    return -20.0 * torch.exp(-0.2 * torch.sqrt(r2.clamp_min(1e-30))) - torch.exp(cos) + math.e + 20.0


def goldstein_price(x: torch.Tensor) -> torch.Tensor:
    """Goldstein-Price; global minimum 3 at (0, -1)."""
    a, b = x[..., 0], x[..., 1]
    t1 = 1 + (a + b + 1) ** 2 * (19 - 14 * a + 3 * a ** 2 - 14 * b + 6 * a * b + 3 * b ** 2)
    t2 = 30 + (2 * a - 3 * b) ** 2 * (18 - 32 * a + 12 * a ** 2 + 48 * b - 36 * a * b + 27 * b ** 2)
    return t1 * t2


def levy13(x: torch.Tensor) -> torch.Tensor:
    """Levy N.13; global minimum 0 at (1, 1)."""
    a, b = x[..., 0], x[..., 1]
    return (torch.sin(3 * math.pi * a) ** 2 + (a - 1) ** 2 * (1 + torch.sin(3 * math.pi * b) ** 2)
            + (b - 1) ** 2 * (1 + torch.sin(2 * math.pi * b) ** 2))


SHARP_CENTER = (-1.0, 0.0)
FLAT_CENTER = (2.0, 0.0)


def two_basin(x: torch.Tensor, sharpness: float) -> torch.Tensor:
    """f(x) = 2 - exp(-s ||x - c_s||^2) - exp(-||x - c_f||^2) + 0.01 ||x||^2: a sharp basin at c_s = (-1, 0) whose
    curvature grows with the sharpness coefficient s, and a flat one at c_f = (2, 0)."""
    cs = torch.tensor(SHARP_CENTER, dtype=x.dtype, device=x.device)
    cf = torch.tensor(FLAT_CENTER, dtype=x.dtype, device=x.device)
    return (2.0 - torch.exp(-sharpness * ((x - cs) ** 2).sum(-1)) - torch.exp(-((x - cf) ** 2).sum(-1))
            + 0.01 * (x ** 2).sum(-1))


@dataclasses.dataclass(frozen=True)
class TestFunction:
    name: str
    fn: Callable[[torch.Tensor], torch.Tensor]
    minimizer: tuple[float, float]
    minimum: float
    box: float  # starts are uniform in [-box, box]^2


FUNCTIONS: dict[str, TestFunction] = {
    "ackley": TestFunction("Ackley", ackley, (0.0, 0.0), 0.0, 5.0),
    "goldstein_price": TestFunction("Goldstein-Price", goldstein_price, (0.0, -1.0), 3.0, 2.0),
    "levy13": TestFunction("Levy N.13", levy13, (1.0, 1.0), 0.0, 10.0),
}


def gradient(fn: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor) -> torch.Tensor:
    """Per-row gradient of a batched function (rows are independent)."""
    with torch.enable_grad():
        xg = x.detach().requires_grad_(True)
        (g,) = torch.autograd.grad(fn(xg).sum(), xg)
    return g


# name -> (kind, sam, clean); the optimizers compared in Figs 4-5
OPTIMIZERS: dict[str, tuple[str, bool, bool]] = {
    "Adam": ("adam", False, False),
    "Adam+SAM": ("adam", True, False),
    "Adam+CG": ("cg", False, False),
    "Adam+CM": ("cm", False, False),
    "Adam+SAM+CM": ("cm", True, False),
    "Adam+CM (clean)": ("cm", False, True),
}


def run_batched(fn: Callable[[torch.Tensor], torch.Tensor], x0: torch.Tensor, optimizer: str,
                lr: float | torch.Tensor, steps: int, *, rho: float = 0.05, buffer_size: int = 5,
                decay: float = 0.7, record_every: int = 1, device: str | torch.device | None = None) -> torch.Tensor:
    """Run ``optimizer`` (a key of :data:`OPTIMIZERS`) from every row of ``x0`` for ``steps`` steps.

    SAM evaluates the gradient at ``x + rho g / ||g||`` (per run) and steps from ``x``. Returns the trajectory,
    shape (steps // record_every + 1, R, 2), starting with ``x0``, on the CPU; the loop runs on ``device``
    (default: ``x0``'s).
    """
    if optimizer not in OPTIMIZERS:
        raise ValueError(f"invalid optimizer: {optimizer!r} (allowed: {', '.join(OPTIMIZERS)})")
    kind, sam, clean = OPTIMIZERS[optimizer]
    x = x0.to(device if device is not None else x0.device, copy=True)
    opt = BatchedOptimizer(kind, x, lr, buffer_size=buffer_size, decay=decay, clean=clean)
    path = [x.clone()]
    for t in range(1, steps + 1):
        g = gradient(fn, x)
        if sam:
            norm = g.norm(dim=1, keepdim=True).clamp_min(1e-12)
            g = gradient(fn, x + rho * g / norm)
        opt.step(g)
        if t % record_every == 0:
            path.append(x.clone())
    return torch.stack(path).cpu()
