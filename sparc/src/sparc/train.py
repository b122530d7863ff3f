"""Pre-training of the dual encoder with one of the compared objectives.

Methods (paper Sec. 4-5, Table 8):
  clip               L = L_g
  sparc              L = λ_g L_g + λ_f L_f, min-max weights thresholded at σ = 1/P
  sparc_no_sparsity  the same without the threshold (σ = 0)
  sparc_softmax      the same with a_lp = softmax_p(s_lp)
  filip              FILIP's late-interaction loss alone, 20% of patches dropped per image (as the paper
                     reimplemented it; no global loss)
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from repro_shared.progress import progress
from sparc import losses
from sparc.models import DualEncoder, ImageOutput, TextOutput

METHODS: tuple[str, ...] = ("clip", "sparc", "sparc_no_sparsity", "sparc_softmax", "filip")
METHOD_LABELS = {"clip": "CLIP", "sparc": "SPARC", "sparc_no_sparsity": "SPARC w/o sparsity",
                 "sparc_softmax": "SPARC softmax weights", "filip": "FILIP"}


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    method: str = "sparc"
    steps: int = 300
    batch_size: int = 128
    lr: float = 1e-3
    weight_decay: float = 0.1
    warmup_steps: int = 30
    lambda_g: float = 0.5  # paper Sec. 5: λ_g = 0.5
    lambda_f: float = 1.0  # paper: λ_f ∈ {0.5, 1, 5, 10}, chosen value not reported
    threshold: float | None = None  # σ; None = 1/P
    reduction: str = "sample"  # "sample" = Eq. 6, "token" = Listing 1
    filip_keep: float = 0.8  # FILIP: fraction of patches kept per image in the loss
    grad_clip: float = 1.0
    log_every: int = 50


def scoring_of(method: str) -> str:
    """How a trained model compares images and texts: FILIP by late interaction, the rest globally."""
    return "late" if method == "filip" else "global"


def method_loss(method: str, img: ImageOutput, txt: TextOutput, logit_scale: torch.Tensor, cfg: TrainConfig,
                generator: torch.Generator | None = None) -> tuple[torch.Tensor, dict[str, float]]:
    """The training objective of ``method`` and its parts (for logging)."""
    if method == "filip":
        n_img, n_patch = img.patch_emb.shape[:2]
        keep = max(1, int(round(cfg.filip_keep * n_patch)))
        order = torch.rand(n_img, n_patch, generator=generator).argsort(dim=1)
        patch_mask = torch.zeros(n_img, n_patch, dtype=torch.bool).scatter_(1, order[:, :keep], True)
        patch_mask = patch_mask.to(img.patch_emb.device)
        loss = losses.filip_loss(img.patch_emb, txt.token_emb, txt.mask, logit_scale, patch_mask=patch_mask)
        return loss, {"loss_filip": float(loss.detach())}
    if method not in METHODS:
        raise ValueError(f"invalid value for 'method': {method!r} (allowed: {', '.join(METHODS)})")
    l_g = losses.global_contrastive_loss(img.global_emb, txt.global_emb, logit_scale)
    if method == "clip":
        return l_g, {"loss_g": float(l_g.detach())}
    l_f = fine_grained_loss(method, img.patch_emb, txt.token_emb, txt.mask, logit_scale, cfg)
    loss = cfg.lambda_g * l_g + cfg.lambda_f * l_f
    return loss, {"loss_g": float(l_g.detach()), "loss_f": float(l_f.detach())}


def fine_grained_loss(method: str, patch_emb: torch.Tensor, token_emb: torch.Tensor, mask: torch.Tensor,
                      logit_scale: torch.Tensor | float, cfg: TrainConfig) -> torch.Tensor:
    """The fine-grained term of a SPARC variant (the full SPARC loss for "clip"/"filip" models, as a probe)."""
    args = (patch_emb, token_emb, mask, logit_scale)
    if method == "sparc_no_sparsity":
        return losses.sparc_no_sparsity_loss(*args, reduction=cfg.reduction)
    if method == "sparc_softmax":
        return losses.sparc_softmax_weights_loss(*args, reduction=cfg.reduction)
    return losses.sparc_fine_grained_loss(*args, threshold=cfg.threshold, reduction=cfg.reduction)


def cosine_schedule(step: int, total: int, warmup: int) -> float:
    """Linear warm-up then cosine decay to 0 (paper Sec. 5: AdamW, cosine, warm-up)."""
    if step < warmup:
        return (step + 1) / warmup
    progress_frac = (step - warmup) / max(1, total - warmup)
    return 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress_frac)))


@dataclasses.dataclass
class Batch:
    images: torch.Tensor  # (B, S, S, 3) uint8
    mask: torch.Tensor  # (B, L) bool
    ids: torch.Tensor | None = None  # (B, L) int64, for a trainable text tower
    features: torch.Tensor | None = None  # (B, L, D_t), precomputed features of a frozen text tower


def encode(model: DualEncoder, batch: Batch) -> tuple[ImageOutput, TextOutput]:
    dev = model.log_logit_scale.device
    ids = None if batch.ids is None else batch.ids.to(dev)
    feats = None if batch.features is None else batch.features.to(dev).float()
    return model.encode_image(batch.images.to(dev)), model.encode_text(batch.mask.to(dev), ids=ids, features=feats)


@dataclasses.dataclass
class TrainResult:
    history: list[dict[str, Any]]
    step_time_s: float  # median wall time of a training step
    wall_time_s: float


def train(model: DualEncoder, sample_batch: Callable[[np.random.Generator, int], Batch], cfg: TrainConfig,
          seed: int, probe: Callable[[DualEncoder], dict[str, float]] | None = None,
          probe_every: int = 0, desc: str = "") -> TrainResult:
    """Train ``model`` in place with AdamW + cosine schedule; ``probe`` (e.g. the pointing game) is logged
    every ``probe_every`` steps and at the end."""
    if cfg.method not in METHODS:
        raise ValueError(f"invalid value for 'method': {cfg.method!r} (allowed: {', '.join(METHODS)})")
    rng = np.random.default_rng(seed)
    gen = torch.Generator().manual_seed(seed)
    params = [p for p in model.parameters() if p.requires_grad]
    decay = [p for p in params if p.ndim >= 2]
    no_decay = [p for p in params if p.ndim < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": cfg.weight_decay},
                             {"params": no_decay, "weight_decay": 0.0}], lr=cfg.lr)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: cosine_schedule(s, cfg.steps, cfg.warmup_steps))
    history: list[dict[str, Any]] = []
    step_times: list[float] = []
    t_start = time.perf_counter()
    bar = progress(range(cfg.steps), desc=desc or cfg.method, total=cfg.steps)
    for step in bar:
        model.train()
        t0 = time.perf_counter()
        batch = sample_batch(rng, cfg.batch_size)
        img, txt = encode(model, batch)
        loss, parts = method_loss(cfg.method, img, txt, model.logit_scale, cfg, gen)
        if not torch.isfinite(loss):
            raise FloatingPointError(f"{cfg.method}: non-finite loss at step {step}")
        opt.zero_grad(set_to_none=True)
        loss.backward()
        if cfg.grad_clip:
            torch.nn.utils.clip_grad_norm_(params, cfg.grad_clip)
        opt.step()
        sched.step()
        step_times.append(time.perf_counter() - t0)
        last = step == cfg.steps - 1
        if step % cfg.log_every == 0 or last or (probe_every and step % probe_every == 0):
            entry = {"step": step, "loss": float(loss.detach()), **parts,
                     "logit_scale": float(model.logit_scale.detach())}
            with torch.no_grad():
                # does L_f use the image? the same captions against the batch's images shifted by one
                args = (txt.token_emb, txt.mask, model.logit_scale, cfg)
                entry["loss_f_probe"] = float(fine_grained_loss(cfg.method, img.patch_emb, *args))
                entry["loss_f_shuffled"] = float(fine_grained_loss(cfg.method, img.patch_emb.roll(1, 0), *args))
                entry["nonzero_fraction"] = float(losses.alignment_nonzero_fraction(
                    img.patch_emb, txt.token_emb, txt.mask, cfg.threshold))
            if probe is not None and probe_every and (step % probe_every == 0 or last):
                model.eval()
                entry.update(probe(model))
            history.append(entry)
            if hasattr(bar, "set_postfix"):
                bar.set_postfix(loss=f"{entry['loss']:.3f}")
    model.eval()
    return TrainResult(history, float(np.median(step_times)), time.perf_counter() - t_start)
