"""Batches for training: random scenes, each with a freshly sampled caption (word-level text tower) or
one of its captions with cached frozen-tower features (MiniLM variant)."""

from __future__ import annotations

import dataclasses

import numpy as np
import torch

from sparc.data import Caption, Scenes, TokenBatch, make_caption, tokenize
from sparc.train import Batch


@dataclasses.dataclass
class WordCaptionSampler:
    """Uniform random scenes; a new random caption (structure, order, templates) every time a scene is drawn."""

    scenes: Scenes
    max_len: int

    def __call__(self, rng: np.random.Generator, batch_size: int) -> Batch:
        idx = rng.integers(0, len(self.scenes), batch_size)
        caps = [make_caption(self.scenes.attrs[i], self.scenes.kind, rng) for i in idx]
        tok = tokenize(caps, self.max_len)
        return Batch(torch.from_numpy(self.scenes.images[idx]), torch.from_numpy(tok.mask),
                     ids=torch.from_numpy(tok.ids))


def fixed_captions(scenes: Scenes, seed: int, per_image: int = 1) -> list[list[Caption]]:
    """``per_image`` random captions per scene, deterministic from ``seed`` (test sets, feature caches)."""
    rng = np.random.default_rng(seed)
    return [[make_caption(scenes.attrs[i], scenes.kind, rng) for _ in range(per_image)] for i in range(len(scenes))]


@dataclasses.dataclass
class FixedCaptionSampler:
    """Scenes with ``per_image`` fixed, pre-tokenised captions each (``tokens`` in scene-major order)."""

    scenes: Scenes
    tokens: TokenBatch
    per_image: int

    def __call__(self, rng: np.random.Generator, batch_size: int) -> Batch:
        idx = rng.integers(0, len(self.scenes), batch_size)
        cap = idx * self.per_image + rng.integers(0, self.per_image, batch_size)
        return Batch(torch.from_numpy(self.scenes.images[idx]), torch.from_numpy(self.tokens.mask[cap]),
                     ids=torch.from_numpy(self.tokens.ids[cap]))
