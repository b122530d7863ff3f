"""Sharpness-aware minimisation (Foret et al., 2021) around any base optimizer, so that Adam+SAM and Adam+SAM+CM
can be run (paper Sec. 5: CM is complementary to SAM).

The gradient is taken at the perturbed point ``theta + rho g / ||g||`` (``||.||`` the global L2 norm over all
parameters) and the base optimizer steps from ``theta``. With :class:`~memory_adam.AdamCM` as the base, its
priority is therefore the norm of the perturbed-point gradient (that is what sits in ``.grad``).
"""

from __future__ import annotations

from collections.abc import Callable

import torch

__all__ = ["SAM"]


class SAM:
    """Wrap ``base_optimizer``; call :meth:`step` with a closure that computes the loss and calls ``backward()``.

    Example::

        opt = SAM(AdamCM(model.parameters(), lr=1e-3), rho=0.05)
        def closure():
            loss = loss_fn(model(x), y)
            loss.backward()
            return loss
        loss = opt.step(closure)   # two forward/backward passes; returns the loss at theta

    :meth:`first_step` / :meth:`second_step` expose the two halves for custom loops.
    """

    def __init__(self, base_optimizer: torch.optim.Optimizer, rho: float = 0.05):
        if not rho >= 0.0:
            raise ValueError(f"invalid rho: {rho!r} (allowed: a number >= 0)")
        self.base_optimizer = base_optimizer
        self.rho = rho
        self._perturbations: list[tuple[torch.Tensor, torch.Tensor]] = []

    @property
    def param_groups(self):
        return self.base_optimizer.param_groups

    @property
    def state(self):
        return self.base_optimizer.state

    def zero_grad(self, set_to_none: bool = True) -> None:
        self.base_optimizer.zero_grad(set_to_none=set_to_none)

    def _params_with_grad(self) -> list[torch.Tensor]:
        return [p for group in self.param_groups for p in group["params"] if p.grad is not None]

    @torch.no_grad()
    def first_step(self) -> None:
        """Move to ``theta + rho g / ||g||`` using the gradients in ``.grad`` (computed at theta)."""
        params = self._params_with_grad()
        if not params:
            self._perturbations = []
            return
        grads = [p.grad for p in params]
        norm = torch.linalg.vector_norm(torch.stack(torch._foreach_norm(grads)))
        scale = self.rho / (norm + 1e-12)
        eps = torch._foreach_mul(grads, scale)
        torch._foreach_add_(params, eps)
        self._perturbations = list(zip(params, eps))

    @torch.no_grad()
    def second_step(self) -> None:
        """Return to theta and let the base optimizer step with the gradients taken at the perturbed point."""
        if self._perturbations:
            params, eps = zip(*self._perturbations)
            torch._foreach_sub_(list(params), list(eps))
        self._perturbations = []
        self.base_optimizer.step()

    def step(self, closure: Callable[[], torch.Tensor]) -> torch.Tensor:
        """Full SAM step; ``closure`` must compute the loss and call ``backward()`` (no ``zero_grad`` needed)."""
        if closure is None:
            raise ValueError("SAM.step needs a closure that computes the loss and calls backward()")
        self.zero_grad()
        with torch.enable_grad():
            loss = closure()
        self.first_step()
        self.zero_grad()
        with torch.enable_grad():
            closure()
        self.second_step()
        return loss

    def state_dict(self) -> dict:
        return {"base": self.base_optimizer.state_dict(), "rho": self.rho}

    def load_state_dict(self, state_dict: dict) -> None:
        self.base_optimizer.load_state_dict(state_dict["base"])
        self.rho = state_dict["rho"]
