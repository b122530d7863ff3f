"""Adam with critical momenta (Adam+CM) and with critical gradients (Adam+CG) as ``torch.optim`` optimizers.

Adam+CM (Malviya et al., arXiv:2307.09638, Sec. 3 / Alg. 1) keeps a buffer B of at most C past *momenta*, each
with a priority (the gradient norm when it was stored, decayed by ``decay`` every step), and replaces the
momentum in Adam's update by the aggregate ``a_t = m_t + mean(B)``. Adam+CG (McRae et al., ICLR 2022) buffers raw
*gradients* instead and feeds ``g_t + mean(B)`` to a plain Adam.

Two implementations of the same rule (``impl=``):

* ``"faithful"``: one tensor at a time, the same floating-point operations in the same order as the reference
  optimizers (chandar-lab/CMOptimizer ``Adam_CM`` / ``Adam_C``), so trajectories agree with them bit for bit in
  float64; the quirks of the reference are kept on purpose (see :class:`AdamCM`).
* ``"fast"``: per parameter group, every state tensor lives in one flat buffer (m, v: ``(P,)``, B: ``(C + 1, P)``,
  with a spare row that absorbs rejected insertions), ``torch._foreach_*`` ops touch the gradients and parameters,
  ``mean(B)`` is one matrix-vector product, the slot choice (argmin, strict ``>``) stays on the device, and the
  Adam part runs in torch's fused Adam kernel where available. No host synchronisation per tensor or per step.
  Same numbers as the faithful path up to rounding (float64: ~1e-15 relative).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import torch
from torch.optim import Optimizer

__all__ = ["AdamCM", "AdamCG", "IMPLEMENTATIONS"]

IMPLEMENTATIONS = ("faithful", "fast")


def _check_hyperparameters(lr: float, betas: tuple[float, float], eps: float, weight_decay: float,
                           buffer_size: int, decay: float, impl: str) -> None:
    if not lr >= 0.0:
        raise ValueError(f"invalid lr: {lr!r} (allowed: a number >= 0)")
    if not eps >= 0.0:
        raise ValueError(f"invalid eps: {eps!r} (allowed: a number >= 0)")
    if len(betas) != 2 or not all(0.0 <= b < 1.0 for b in betas):
        raise ValueError(f"invalid betas: {betas!r} (allowed: two numbers in [0, 1))")
    if not weight_decay >= 0.0:
        raise ValueError(f"invalid weight_decay: {weight_decay!r} (allowed: a number >= 0)")
    if isinstance(buffer_size, bool) or not isinstance(buffer_size, int) or buffer_size < 1:
        # the reference accepts topC = 0 but then re-initialises its state every step and fails in decay()
        raise ValueError(f"invalid buffer_size: {buffer_size!r} (allowed: an int >= 1; use torch.optim.Adam for C = 0)")
    if not 0.0 <= decay <= 1.0:
        raise ValueError(f"invalid decay: {decay!r} (allowed: a number in [0, 1])")
    if impl not in IMPLEMENTATIONS:
        raise ValueError(f"invalid impl: {impl!r} (allowed: {', '.join(IMPLEMENTATIONS)})")


def _fused_adam_available(device: torch.device, dtype: torch.dtype) -> bool:
    return hasattr(torch, "_fused_adam_") and device.type in ("cpu", "cuda") and dtype in (
        torch.float64, torch.float32, torch.float16, torch.bfloat16)


class _CriticalAdam(Optimizer):
    """Shared plumbing of :class:`AdamCM` and :class:`AdamCG` (hyper-parameters, validation, fast-path layout)."""

    _buffers_momenta: bool  # True: Adam+CM (B holds momenta); False: Adam+CG (B holds gradients)

    def __init__(self, params: Iterable[Any], lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0.0, amsgrad: bool = False, buffer_size: int = 5,
                 decay: float = 0.7, *, synced: bool = True, clean: bool = False, impl: str = "fast",
                 fused: bool | None = None):
        betas = tuple(betas)  # type: ignore[assignment]
        _check_hyperparameters(lr, betas, eps, weight_decay, buffer_size, decay, impl)
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, amsgrad=amsgrad,
                        buffer_size=buffer_size, decay=decay, synced=synced, clean=clean)
        super().__init__(params, defaults)
        self.impl = impl
        self.fused = fused
        self._flat: dict[int, dict[str, Any]] = {}  # fast path: group index -> flat storage

    def state_dict(self) -> dict[str, Any]:
        sd = super().state_dict()
        # the fast path shares one priority vector between the tensors of a synced group: give each its own copy
        sd["state"] = {k: ({**s, "priorities": s["priorities"].clone()} if "priorities" in s else s)
                       for k, s in sd["state"].items()}
        return sd

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        super().load_state_dict(state_dict)
        self._flat.clear()  # the fast path rebuilds its flat storage from the loaded per-parameter state

    @torch.no_grad()
    def step(self, closure=None):  # noqa: D102 - torch.optim.Optimizer.step
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for gi, group in enumerate(self.param_groups):
            if self.impl == "faithful":
                self._faithful_group_step(group)
            else:
                self._fast_group_step(gi, group)
        return loss

    # ------------------------------------------------------------------------------------------ faithful path

    @staticmethod
    def _reference_norm(g: torch.Tensor) -> torch.Tensor:
        # the reference's exact expression (not .norm(), which may round differently)
        return torch.sqrt(torch.sum(torch.square(g)))

    def _faithful_group_step(self, group: dict[str, Any]) -> None:
        params = [p for p in group["params"] if p.grad is not None]
        for p in params:
            if p.grad.is_sparse:
                raise RuntimeError("AdamCM/AdamCG do not support sparse gradients")
        priority: Any = 0.0
        if group["synced"]:
            for p in params:  # k_t = sum over tensors of ||g||_2 (l1 of l2 norms), summed left to right
                priority = priority + self._reference_norm(p.grad)
        for p in params:
            grad = p.grad
            if not group["synced"]:
                priority = grad.norm()  # the reference's per-tensor priority
            state = self.state[p]
            if len(state) == 0:
                self._init_state(state, p, group)
            if "buffer_sum" not in state:  # e.g. state loaded from the fast path, which keeps no running sum
                state["buffer_sum"] = state["buffer"][: state["fill"]].sum(0)
            if self._buffers_momenta:
                self._faithful_cm(p, grad, state, group, priority)
            else:
                self._faithful_cg(p, grad, state, group, priority)

    def _init_state(self, state: dict[str, Any], p: torch.Tensor, group: dict[str, Any]) -> None:
        state["step"] = 0
        state["exp_avg"] = torch.zeros_like(p, memory_format=torch.preserve_format)
        state["exp_avg_sq"] = torch.zeros_like(p, memory_format=torch.preserve_format)
        if group["amsgrad"]:
            state["max_exp_avg_sq"] = torch.zeros_like(p, memory_format=torch.preserve_format)
        state["buffer"] = torch.zeros((group["buffer_size"], *p.shape), dtype=p.dtype, device=p.device)
        state["priorities"] = torch.zeros(group["buffer_size"], dtype=p.dtype, device=p.device)
        state["fill"] = 0
        state["buffer_sum"] = torch.zeros_like(p, memory_format=torch.preserve_format)

    @staticmethod
    def _faithful_insert(state: dict[str, Any], priority: Any, value: torch.Tensor, capacity: int) -> None:
        """Reference insertion: append while not full; else replace the argmin slot iff priority is strictly larger.

        The running sum is updated as the reference does it (subtract the evicted entry, then add the new one), so
        ``mean(B)`` carries the same ~1e-16 relative drift.
        """
        buf, keys, total = state["buffer"], state["priorities"], state["buffer_sum"]
        fill = state["fill"]
        if fill < capacity:
            keys[fill] = priority
            buf[fill] = value
            state["fill"] = fill + 1
        else:
            j = torch.argmin(keys)  # ties -> lowest index
            if not bool(priority > keys[j]):
                return
            total.add_(-buf[j])
            keys[j] = priority
            buf[j] = value
        total.add_(value)

    def _adam_update(self, p: torch.Tensor, numerator: torch.Tensor, second: torch.Tensor, state: dict[str, Any],
                     group: dict[str, Any], step_size: float) -> None:
        """v <- beta2 v + (1 - beta2) second^2; p <- p - step_size * numerator / (sqrt(v / bc2) + eps)."""
        beta2 = group["betas"][1]
        exp_avg_sq = state["exp_avg_sq"]
        exp_avg_sq.mul_(beta2).addcmul_(second, second, value=1 - beta2)
        bias_correction2 = 1 - beta2 ** state["step"]
        if group["amsgrad"]:
            torch.max(state["max_exp_avg_sq"], exp_avg_sq, out=state["max_exp_avg_sq"])
            denom = (state["max_exp_avg_sq"].sqrt() / math.sqrt(bias_correction2)).add_(group["eps"])
        else:
            denom = (exp_avg_sq.sqrt() / math.sqrt(bias_correction2)).add_(group["eps"])
        state["priorities"].mul_(group["decay"])  # decays the entry inserted this step too
        p.addcdiv_(numerator, denom, value=-step_size)

    def _faithful_cm(self, p, grad, state, group, priority) -> None:
        beta1 = group["betas"][0]
        if group["weight_decay"] != 0:  # decoupled (AdamW-style), on every call including the first
            p.mul_(1 - group["lr"] * group["weight_decay"])
        exp_avg = state["exp_avg"]
        capacity = group["buffer_size"]
        if group["clean"]:
            # ablation variant: no no-op first step; B holds bias-corrected momenta, a_t = m_hat_t + mean(B)
            exp_avg.mul_(beta1).add_(grad, alpha=1 - beta1)
            state["step"] += 1
            m_hat = exp_avg / (1 - beta1 ** state["step"])
            fill = state["fill"]
            aggregate = m_hat + state["buffer_sum"].div(fill) if fill else m_hat.clone()
            self._faithful_insert(state, priority, m_hat, capacity)
            self._adam_update(p, aggregate, aggregate, state, group, group["lr"])
            return
        if state["fill"] == 0:
            # reference quirk: the first call only seeds B with the raw gradient; m = v = 0, so p stays put,
            # but the step counter still advances (bias corrections are off by one afterwards)
            self._faithful_insert(state, priority, grad.clone(), capacity)
            aggregate = exp_avg
        else:
            exp_avg.mul_(beta1).add_(grad, alpha=1 - beta1)
            aggregate = torch.add(exp_avg, state["buffer_sum"].div(state["fill"]))  # mean before insertion
            self._faithful_insert(state, priority, exp_avg.clone(), capacity)
        state["step"] += 1
        step_size = group["lr"] / (1 - beta1 ** state["step"])
        self._adam_update(p, aggregate, aggregate, state, group, step_size)

    def _faithful_cg(self, p, grad, state, group, priority) -> None:
        beta1 = group["betas"][0]
        capacity = group["buffer_size"]
        if state["fill"] == 0:  # first call: a plain Adam step on g_1, which seeds B
            self._faithful_insert(state, priority, grad.clone(), capacity)
            aggregate = grad
        else:
            aggregate = torch.add(grad, state["buffer_sum"].div(state["fill"]))
            self._faithful_insert(state, priority, grad.clone(), capacity)
        state["step"] += 1
        if group["weight_decay"] != 0:  # coupled L2, added to the aggregate
            aggregate = aggregate.add(p, alpha=group["weight_decay"])
        exp_avg = state["exp_avg"]
        exp_avg.mul_(beta1).add_(aggregate, alpha=1 - beta1)
        step_size = group["lr"] / (1 - beta1 ** state["step"])
        self._adam_update(p, exp_avg, aggregate, state, group, step_size)

    # ------------------------------------------------------------------------------------------ fast path

    def _build_flat(self, gi: int, group: dict[str, Any], params: list[torch.Tensor]) -> dict[str, Any]:
        """One flat storage per group; per-parameter state entries become views into it (same names as faithful)."""
        dtypes = {p.dtype for p in params}
        devices = {p.device for p in params}
        if len(dtypes) > 1 or len(devices) > 1:
            raise RuntimeError("impl='fast' needs one dtype and one device per parameter group "
                               f"(got {sorted(map(str, dtypes))} on {sorted(map(str, devices))}); "
                               "split the groups or use impl='faithful'")
        dtype, device = params[0].dtype, params[0].device
        capacity = group["buffer_size"]
        sizes = [p.numel() for p in params]
        total = sum(sizes)
        n_keys = 1 if group["synced"] else len(params)
        flat: dict[str, Any] = {
            "params": params,
            "ids": [id(p) for p in params],
            "m": torch.zeros(total, dtype=dtype, device=device),
            "v": torch.zeros(total, dtype=dtype, device=device),
            "vmax": torch.zeros(total, dtype=dtype, device=device) if group["amsgrad"] else None,
            "a": torch.zeros(total, dtype=dtype, device=device),  # scratch: the aggregate a_t
            "buf": torch.zeros(capacity + 1, total, dtype=dtype, device=device),  # row C is a discard row
            "keys": torch.zeros(n_keys, capacity + 1, dtype=dtype, device=device),
            "step": 0,
            "fill": 0,
            "step_t": torch.zeros((), dtype=torch.float32, device=device),
            "weights": {},
        }
        if not self._buffers_momenta or group["clean"]:
            flat["src"] = torch.zeros(total, dtype=dtype, device=device)  # scratch: the entry to insert
        offsets = [0]
        for n in sizes:
            offsets.append(offsets[-1] + n)
        flat["segments"] = list(zip(offsets[:-1], offsets[1:]))

        def views(x: torch.Tensor) -> list[torch.Tensor]:
            return [x[a:b].view_as(p) for (a, b), p in zip(flat["segments"], params)]

        for name in ("m", "v", "vmax", "a", "src"):
            if flat.get(name) is not None:
                flat[name + "_views"] = views(flat[name])
        flat["buf_views"] = [flat["buf"][:capacity, a:b].view(capacity, *p.shape)
                             for (a, b), p in zip(flat["segments"], params)]

        # adopt existing per-parameter state (loaded state_dict, or a switch from the faithful path)
        old = [self.state[p] for p in params]
        if any(len(s) for s in old):
            if not all(len(s) for s in old) or len({s["step"] for s in old}) > 1 or len({s["fill"] for s in old}) > 1:
                raise RuntimeError("impl='fast' cannot adopt per-parameter states with different step counts")
            flat["step"], flat["fill"] = int(old[0]["step"]), int(old[0]["fill"])
            for i, s in enumerate(old):
                flat["m_views"][i].copy_(s["exp_avg"])
                flat["v_views"][i].copy_(s["exp_avg_sq"])
                if flat["vmax"] is not None:
                    flat["vmax_views"][i].copy_(s["max_exp_avg_sq"])
                flat["buf_views"][i].copy_(s["buffer"])
                flat["keys"][0 if group["synced"] else i, :capacity].copy_(s["priorities"])
        for i, p in enumerate(params):
            state = self.state[p]
            state.clear()
            state.update(step=flat["step"], fill=flat["fill"], exp_avg=flat["m_views"][i],
                         exp_avg_sq=flat["v_views"][i], buffer=flat["buf_views"][i],
                         priorities=flat["keys"][0 if group["synced"] else i, :capacity])
            if flat["vmax"] is not None:
                state["max_exp_avg_sq"] = flat["vmax_views"][i]
        self._flat[gi] = flat
        return flat

    def _mean_weights(self, flat: dict[str, Any], fill: int) -> torch.Tensor:
        w = flat["weights"].get(fill)
        if w is None:
            w = flat["weights"][fill] = torch.full((fill,), 1.0 / fill, dtype=flat["m"].dtype,
                                                   device=flat["m"].device)
        return w

    def _fast_insert(self, flat: dict[str, Any], group: dict[str, Any], src: torch.Tensor,
                     priority: torch.Tensor) -> None:
        """Insert ``src`` (flat) with ``priority`` ((1,) synced or (T,) per tensor), without a host sync."""
        capacity, fill = group["buffer_size"], flat["fill"]
        buf, keys = flat["buf"], flat["keys"]
        if fill < capacity:
            buf[fill].copy_(src)
            keys[:, fill].copy_(priority)
            flat["fill"] = fill + 1
            return
        j = torch.argmin(keys[:, :capacity], dim=1)  # (K,), ties -> lowest index
        accept = priority > keys.gather(1, j[:, None]).squeeze(1)  # strict: equal priority keeps the old entry
        slot = torch.where(accept, j, capacity)  # rejected insertions land in the discard row
        keys.scatter_(1, slot[:, None], priority[:, None])
        if group["synced"]:
            buf.index_copy_(0, slot, src[None])
        else:
            for i, (a, b) in enumerate(flat["segments"]):
                buf[:, a:b].index_copy_(0, slot[i: i + 1], src[None, a:b])

    def _fast_group_step(self, gi: int, group: dict[str, Any]) -> None:
        flat = self._flat.get(gi)
        params = [p for p in group["params"] if p.grad is not None]
        if not params:
            return
        if flat is None:
            flat = self._build_flat(gi, group, params)
        elif len(params) != len(flat["ids"]) or any(id(p) != i for p, i in zip(params, flat["ids"])):
            raise RuntimeError("impl='fast' needs the same parameters to have gradients at every step "
                               "(a parameter's .grad became None or appeared); use impl='faithful'")
        grads = [p.grad for p in params]
        if any(g.is_sparse for g in grads):
            raise RuntimeError("AdamCM/AdamCG do not support sparse gradients")
        beta1 = group["betas"][0]
        norms = torch._foreach_norm(grads)
        priority = torch.stack(norms).sum().reshape(1) if group["synced"] else torch.stack(norms)
        fill = flat["fill"]
        clean = self._buffers_momenta and group["clean"]

        if self._buffers_momenta:
            if group["weight_decay"] != 0:
                torch._foreach_mul_(params, 1 - group["lr"] * group["weight_decay"])
            if fill == 0 and not clean:
                # reference quirk (see AdamCM): seed B with g_1, do not move, advance the step counter
                torch._foreach_copy_([x[0] for x in flat["buf_views"]], grads)
                flat["keys"][:, 0].copy_(priority)
                flat["fill"] = 1
                self._fast_finish(flat, group, params, adam_step=False)
                return
            torch._foreach_lerp_(flat["m_views"], grads, 1 - beta1)  # one pass; equals mul+add up to rounding
            src = flat["m"]
            if clean:
                src = torch.mul(flat["m"], 1.0 / (1 - beta1 ** (flat["step"] + 1)), out=flat["src"])
        else:
            src = flat["src"]
            torch._foreach_copy_([src[a:b].view_as(g) for (a, b), g in zip(flat["segments"], grads)], grads)
        a = flat["a"]
        if fill:
            torch.addmv(src, flat["buf"][:fill].t(), self._mean_weights(flat, fill), out=a)  # mean before insertion
        else:
            a.copy_(src)
        self._fast_insert(flat, group, src, priority)
        self._fast_finish(flat, group, params, adam_step=True)

    def _fast_finish(self, flat: dict[str, Any], group: dict[str, Any], params: list[torch.Tensor],
                     adam_step: bool) -> None:
        flat["step"] += 1
        step = flat["step"]
        beta1, beta2 = group["betas"]
        if adam_step:
            if self._buffers_momenta:
                # v from the aggregate; numerator is the aggregate itself -> Adam with beta1 = 0 on a_t
                lr = group["lr"] if group["clean"] else group["lr"] / (1 - beta1 ** step)
                self._adam_kernel(flat, group, params, numerators=flat["a_views"], beta1=0.0, lr=lr,
                                  weight_decay=0.0)
            else:
                self._adam_kernel(flat, group, params, numerators=flat["m_views"], beta1=beta1, lr=group["lr"],
                                  weight_decay=group["weight_decay"])
        flat["keys"][:, : group["buffer_size"]].mul_(group["decay"])
        for p in params:
            state = self.state[p]
            state["step"] = step
            state["fill"] = flat["fill"]

    def _adam_kernel(self, flat, group, params, *, numerators, beta1, lr, weight_decay) -> None:
        """Adam on the aggregate a_t (held in flat['a']): the fused kernel, or the same update with foreach ops.

        With ``beta1 = 0`` (Adam+CM) the kernel's first moment is a_t itself and its bias correction is 1, so the
        caller folds 1/(1 - beta1^t) into ``lr``.
        """
        beta2, eps, amsgrad = group["betas"][1], group["eps"], group["amsgrad"]
        step = flat["step"]
        a_views = flat["a_views"]
        use_fused = self.fused if self.fused is not None else _fused_adam_available(flat["m"].device, flat["m"].dtype)
        if use_fused:
            flat["step_t"].fill_(step)
            torch._fused_adam_(params, a_views, numerators, flat["v_views"],
                               flat["vmax_views"] if amsgrad else [], [flat["step_t"]] * len(params),
                               lr=lr, beta1=beta1, beta2=beta2, weight_decay=weight_decay, eps=eps,
                               amsgrad=amsgrad, maximize=False)
            return
        a = flat["a"]
        if weight_decay != 0:  # coupled L2 (Adam+CG)
            torch._foreach_add_(a_views, params, alpha=weight_decay)
        if beta1 != 0.0:
            flat["m"].mul_(beta1).add_(a, alpha=1 - beta1)
        v = flat["v"]
        v.mul_(beta2).addcmul_(a, a, value=1 - beta2)
        if amsgrad:
            torch.maximum(flat["vmax"], v, out=flat["vmax"])
            v = flat["vmax"]
        denom = (v.sqrt() / math.sqrt(1 - beta2 ** step)).add_(eps)
        denom_views = [denom[x:y].view_as(p) for (x, y), p in zip(flat["segments"], params)]
        step_size = lr / (1 - beta1 ** step) if beta1 != 0.0 else lr  # the fused kernel applies bc1 itself
        torch._foreach_addcdiv_(params, numerators, denom_views, value=-step_size)


class AdamCM(_CriticalAdam):
    """Adam with critical momenta (Adam+CM; arXiv:2307.09638, Alg. 1), semantics of the reference ``Adam_CM``.

    For each call of :meth:`step` (t = 1, 2, ...), per parameter group:

    1. priority ``k_t = sum over tensors of ||g||_2`` (``synced=True``, the reference default; ``synced=False``:
       one priority and one buffer decision per tensor);
    2. decoupled weight decay ``p <- p (1 - lr wd)`` (so this is AdamW+CM), also at t = 1;
    3. t = 1: B is seeded with the raw gradient g_1; m = v = 0, so **the parameters do not move**, but the step
       counter advances (the bias corrections stay one step ahead afterwards);
    4. t >= 2: ``m_t = beta1 m + (1 - beta1) g_t``; ``a_t = m_t + mean(B)`` (mean over the current fill, taken
       *before* this step's insertion); insert ``(m_t, k_t)``: append while |B| < C, else replace the
       lowest-priority entry (ties: lowest index) only if ``k_t`` is strictly larger;
       ``v_t = beta2 v + (1 - beta2) a_t^2`` (from a_t, not g_t); ``p <- p - lr/(1 - beta1^t) a_t / (sqrt(v_t/(1 -
       beta2^t)) + eps)``; ``amsgrad`` uses the running max of v;
    5. every stored priority is multiplied by ``decay`` (including the entry just inserted).

    ``clean=True`` is an ablation, not the reference: m is updated at t = 1, B holds bias-corrected momenta
    ``m_hat``, ``a_t = m_hat_t + mean(B)`` and the step is ``lr a_t / (sqrt(v_hat) + eps)``.

    Args: ``lr, betas, eps, weight_decay, amsgrad`` as in Adam; ``buffer_size`` (C, the reference's ``topC``);
    ``decay`` (lambda, priority decay); ``synced``; ``clean``; ``impl`` ("fast" or "faithful", see the module
    docstring); ``fused`` (fast path: use torch's fused Adam kernel; None = when available). The reference's
    ``critical_test`` (random replacement) and ``kappa`` flag are not supported (defaults 0.0 and on).
    """

    _buffers_momenta = True


class AdamCG(_CriticalAdam):
    """Adam with critical gradients (Adam+CG; McRae et al., ICLR 2022), semantics of the reference ``Adam_C``.

    B holds raw gradients with the same priority, insertion and decay rules as :class:`AdamCM`; t = 1 is a plain
    Adam step on g_1 (which seeds B); for t >= 2 Adam's m and v are both fed ``a_t = g_t + mean(B)`` (mean before
    insertion). Weight decay is *coupled* L2 (``a_t + wd p``), as in the reference. ``clean`` has no effect.
    """

    _buffers_momenta = False
