"""Cost of the objectives vs batch size (paper Table 11): FLOPs, peak memory and time.

- FLOPs: ``torch.utils.flop_counter.FlopCounterMode`` (matmuls/einsums/attention; elementwise work such as
  SPARC's min-max is not counted, as in most FLOP counters).
- Peak memory: on CUDA ``torch.cuda.max_memory_allocated`` above the baseline; on CPU the peak of the
  bytes held by tensors created during the step (:class:`PeakMemory`, exact and machine-independent,
  no allocator caching).
- Time: median of alternating repeats (``repro_shared.timing.compare``), forward + backward.
"""

from __future__ import annotations

import dataclasses
import weakref
from collections.abc import Callable

import torch
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_flatten
from torch.utils.flop_counter import FlopCounterMode

from sparc import losses
from sparc.train import TrainConfig, method_loss

COST_METHODS = ("clip", "sparc", "filip")


class PeakMemory(TorchDispatchMode):
    """Track the bytes of tensor storages created inside the mode; ``peak`` is their maximum live total."""

    def __init__(self):
        super().__init__()
        self.live: dict[int, int] = {}
        self.current = 0
        self.peak = 0

    def _free(self, key: int) -> None:
        self.current -= self.live.pop(key, 0)

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        for t in tree_flatten(out)[0]:
            if isinstance(t, torch.Tensor) and t.device.type != "meta":
                storage = t.untyped_storage()
                key, size = storage.data_ptr(), storage.nbytes()
                if size == 0 or key in self.live:
                    continue
                self.live[key] = size
                self.current += size
                self.peak = max(self.peak, self.current)
                weakref.finalize(storage, self._free, key)
        return out


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def measure_flops(fn: Callable[[], torch.Tensor]) -> int:
    """FLOPs of one call of ``fn`` (forward + backward of the loss it returns)."""
    with FlopCounterMode(display=False) as counter:
        fn().backward()
    return int(counter.get_total_flops())


def measure_peak_bytes(fn: Callable[[], torch.Tensor], device: torch.device) -> int:
    """Peak bytes above the baseline while running forward + backward once."""
    if device.type == "cuda":
        _sync(device)
        torch.cuda.reset_peak_memory_stats(device)
        base = torch.cuda.memory_allocated(device)
        fn().backward()
        _sync(device)
        return int(torch.cuda.max_memory_allocated(device) - base)
    mode = PeakMemory()
    with mode:
        fn().backward()
    return int(mode.peak)


@dataclasses.dataclass
class LossInputs:
    """Random embeddings of a batch, the shapes of the paper's loss (B, P, d), (B, L, d)."""

    patch_emb: torch.Tensor
    token_emb: torch.Tensor
    mask: torch.Tensor
    image_global: torch.Tensor
    text_global: torch.Tensor


def loss_inputs(batch: int, patches: int, tokens: int, dim: int, device: torch.device, dtype=torch.float32,
                seed: int = 0) -> LossInputs:
    g = torch.Generator(device="cpu").manual_seed(seed)
    mk = lambda *shape: torch.randn(*shape, generator=g).to(device=device, dtype=dtype).requires_grad_(True)
    lengths = torch.randint(tokens // 2, tokens + 1, (batch,), generator=g)
    mask = (torch.arange(tokens)[None] < lengths[:, None]).to(device)
    return LossInputs(mk(batch, patches, dim), mk(batch, tokens, dim), mask, mk(batch, dim), mk(batch, dim))


def loss_only_fn(method: str, x: LossInputs, logit_scale: float = 10.0, lambda_g: float = 0.5,
                 lambda_f: float = 1.0, filip_chunk: int | None = None) -> Callable[[], torch.Tensor]:
    """A closure computing one objective from fixed embeddings (the loss-only cost of Table 11)."""
    if method == "clip":
        return lambda: losses.global_contrastive_loss(x.image_global, x.text_global, logit_scale)
    if method == "sparc":
        return lambda: (lambda_g * losses.global_contrastive_loss(x.image_global, x.text_global, logit_scale)
                        + lambda_f * losses.sparc_fine_grained_loss(x.patch_emb, x.token_emb, x.mask, logit_scale))
    if method == "filip":
        return lambda: losses.filip_loss(x.patch_emb, x.token_emb, x.mask, logit_scale, chunk_size=filip_chunk)
    raise ValueError(f"invalid value for 'method': {method!r} (allowed: {', '.join(COST_METHODS)})")


def full_step_fn(model, method: str, images: torch.Tensor, ids: torch.Tensor, mask: torch.Tensor
                 ) -> Callable[[], torch.Tensor]:
    """A closure for one training step's forward (encoders + objective); FILIP without patch dropping."""
    cfg = TrainConfig(method=method, filip_keep=1.0)

    def step() -> torch.Tensor:
        img = model.encode_image(images)
        txt = model.encode_text(mask, ids=ids)
        return method_loss(method, img, txt, model.logit_scale, cfg)[0]

    return step
