"""Training loops shared by the experiments: the optimizers the paper compares, a language model and a classifier."""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable, Iterable

import torch
from torch import nn

from memory_adam.data import Corpus, Digits, batchify
from memory_adam.models import DigitsCNN, LSTMLanguageModel
from memory_adam.optim import AdamCG, AdamCM
from memory_adam.sam import SAM
from memory_adam.sharpness import top_hessian_eigenvalue
from repro_shared.cli import ConfigError
from repro_shared.progress import progress

__all__ = ["OPTIMIZER_NAMES", "OptimizerSettings", "LMSettings", "ClassifierSettings", "make_optimizer",
           "optimizer_step", "train_language_model", "train_classifier"]

# The optimizers of the paper's tables (Adam, Adam+CG, Adam+SAM, Adam+CM, Adam+SAM+CM) and our ablation.
OPTIMIZER_NAMES = ("Adam", "Adam+CG", "Adam+SAM", "Adam+CM", "Adam+SAM+CM", "Adam+CM (clean)")


@dataclasses.dataclass(frozen=True)
class OptimizerSettings:
    """Buffer capacity C, priority decay lambda (reference defaults 5 and 0.7) and SAM's rho."""

    buffer_size: int = 5
    decay: float = 0.7
    rho: float = 0.05
    impl: str = "fast"


def make_optimizer(name: str, params: Iterable[torch.Tensor], lr: float,
                   settings: OptimizerSettings = OptimizerSettings()):
    """One of :data:`OPTIMIZER_NAMES`; SAM variants return a :class:`SAM` around the base optimizer."""
    if name not in OPTIMIZER_NAMES:
        raise ConfigError("optimizer", name, OPTIMIZER_NAMES)
    params = list(params)
    critical = dict(buffer_size=settings.buffer_size, decay=settings.decay, impl=settings.impl)
    if name in ("Adam", "Adam+SAM"):
        base = torch.optim.Adam(params, lr=lr)
    elif name == "Adam+CG":
        base = AdamCG(params, lr=lr, **critical)
    else:
        base = AdamCM(params, lr=lr, clean=name == "Adam+CM (clean)", **critical)
    return SAM(base, rho=settings.rho) if "SAM" in name else base


def optimizer_step(opt, closure: Callable[[], torch.Tensor]) -> torch.Tensor:
    """One step; ``closure`` computes the loss and calls backward (SAM calls it twice)."""
    if isinstance(opt, SAM):
        return opt.step(closure)
    opt.zero_grad(set_to_none=False)  # keep .grad tensors: no re-allocation each step
    loss = closure()
    opt.step()
    return loss


def _flat(params: list[torch.Tensor]) -> torch.Tensor:
    return torch.cat([p.detach().reshape(-1) for p in params])


# ---------------------------------------------------------------------------------------------- language model

@dataclasses.dataclass(frozen=True)
class LMSettings:
    emb: int = 128
    hidden: int = 256
    epochs: int = 12
    batch_size: int = 20
    bptt: int = 35
    clip: float = 0.25


@torch.no_grad()
def evaluate_lm(model: LSTMLanguageModel, data: torch.Tensor, bptt: int) -> float:
    """Perplexity of ``data`` (T, B), state carried across windows."""
    model.eval()
    total, count, state = torch.zeros((), dtype=torch.float64, device=data.device), 0, None
    for i in range(0, data.shape[0] - 1, bptt):
        x, y = data[i: i + bptt], data[i + 1: i + 1 + bptt]
        x = x[: y.shape[0]]
        logits, state = model(x, state)
        flat_logits = logits.reshape(-1, logits.shape[-1])
        total += nn.functional.cross_entropy(flat_logits, y.reshape(-1), reduction="sum").double()
        count += y.numel()
    model.train()
    return math.exp(total.item() / count)


def train_language_model(corpus: Corpus, optimizer: str, lr: float, seed: int, lm: LMSettings,
                         settings: OptimizerSettings = OptimizerSettings(), desc: str = "",
                         device: str | torch.device = "cpu") -> dict:
    """Train the LSTM LM with truncated BPTT; validation perplexity after every epoch (paper Fig. 6).

    The initialisation is drawn on the CPU, so a seed gives the same starting model on every ``device``.
    """
    torch.manual_seed(seed)
    model = LSTMLanguageModel(corpus.vocab_size, lm.emb, lm.hidden).to(device)
    params = list(model.parameters())
    opt = make_optimizer(optimizer, params, lr, settings)
    train = batchify(corpus.train, lm.batch_size).to(device)
    valid = batchify(corpus.valid, 10).to(device)
    curve, train_curve = [], []
    t0 = time.perf_counter()
    windows = range(0, train.shape[0] - 1, lm.bptt)
    for _ in progress(range(lm.epochs), desc=desc or f"LM {optimizer} lr={lr:g} seed={seed}"):
        # the loss is summed on the device: no host sync per step
        state, total, count = None, torch.zeros((), dtype=torch.float64, device=device), 0
        for i in windows:
            x, y = train[i: i + lm.bptt], train[i + 1: i + 1 + lm.bptt]
            x = x[: y.shape[0]]
            state_in = None if state is None else tuple(s.detach() for s in state)
            out_state: list = []

            def closure(x=x, y=y, state_in=state_in, out_state=out_state):
                logits, new_state = model(x, state_in)
                if not out_state:
                    out_state.append(new_state)
                loss = nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1))
                loss.backward()
                nn.utils.clip_grad_norm_(params, lm.clip)
                return loss

            loss = optimizer_step(opt, closure)
            state = out_state[0]
            total += loss.detach().double() * y.numel()
            count += y.numel()
        train_curve.append(math.exp(total.item() / count))
        curve.append(evaluate_lm(model, valid, lm.bptt))
    best = min(range(len(curve)), key=curve.__getitem__)
    finite = [c for c in curve if math.isfinite(c)]
    return {"optimizer": optimizer, "lr": lr, "seed": seed, "val_ppl": curve, "train_ppl": train_curve,
            "best_val_ppl": min(finite) if finite else float("nan"), "best_epoch": best + 1,
            "seconds": time.perf_counter() - t0}


# ---------------------------------------------------------------------------------------------- classifier

@dataclasses.dataclass(frozen=True)
class ClassifierSettings:
    epochs: int = 60
    batch_size: int = 50
    sharpness_iters: int = 50
    sharpness_examples: int = 512


def _accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    with torch.no_grad():
        return float((model(x).argmax(1) == y).float().mean())


def train_classifier(digits: Digits, optimizer: str, lr: float, seed: int, cls: ClassifierSettings,
                     settings: OptimizerSettings = OptimizerSettings(), with_sharpness: bool = True,
                     device: str | torch.device = "cpu") -> dict:
    """Train the digits CNN; test/validation accuracy, lambda_max at the end, distance and path length travelled.

    Initialisation and mini-batch order are drawn on the CPU (the same for a seed on every ``device``).
    """
    torch.manual_seed(seed)
    model = DigitsCNN().to(device)
    digits = digits.to(device)
    params = list(model.parameters())
    opt = make_optimizer(optimizer, params, lr, settings)
    theta0 = _flat(params)
    prev, path = theta0.clone(), torch.zeros((), dtype=torch.float64, device=theta0.device)
    gen = torch.Generator().manual_seed(seed)
    n = len(digits.y_train)
    losses = []
    t0 = time.perf_counter()
    for _ in range(cls.epochs):
        perm = torch.randperm(n, generator=gen)
        total = torch.zeros((), dtype=torch.float64, device=device)
        for i in range(0, n, cls.batch_size):
            idx = perm[i: i + cls.batch_size].to(device)
            x, y = digits.x_train[idx], digits.y_train[idx]

            def closure(x=x, y=y):
                loss = nn.functional.cross_entropy(model(x), y)
                loss.backward()
                return loss

            total += optimizer_step(opt, closure).detach().double() * len(idx)
            cur = _flat(params)
            path += (cur - prev).norm().double()  # stays on the device: no sync per step
            prev = cur
        losses.append(total.item() / n)
    out = {"optimizer": optimizer, "lr": lr, "seed": seed, "train_loss": losses,
           "test_acc": _accuracy(model, digits.x_test, digits.y_test),
           "valid_acc": _accuracy(model, digits.x_valid, digits.y_valid),
           "train_acc": _accuracy(model, digits.x_train, digits.y_train),
           "distance": float((_flat(params) - theta0).norm()), "path_length": float(path)}
    if with_sharpness:
        m = min(cls.sharpness_examples, n)
        xs, ys = digits.x_train[:m], digits.y_train[:m]
        eig, iters = top_hessian_eigenvalue(lambda: nn.functional.cross_entropy(model(xs), ys), params,
                                            iters=cls.sharpness_iters, tol=1e-4)
        out.update(lambda_max=eig, sharpness_iters=iters)
    out["seconds"] = time.perf_counter() - t0
    return out
