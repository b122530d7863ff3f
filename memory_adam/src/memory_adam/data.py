"""Offline data: a word-level corpus from text that ships with Python (PTB substitute, paper Sec. 5.1) and
scikit-learn's 8x8 digits (CIFAR substitute, paper Sec. 5.2). Nothing is downloaded.
"""

from __future__ import annotations

import collections
import dataclasses
import hashlib
import platform
import re

import numpy as np
import torch

__all__ = ["Corpus", "load_corpus", "batchify", "Digits", "load_digits"]

_TOKEN = re.compile(r"\w+|[^\w\s]")


@dataclasses.dataclass
class Corpus:
    """Token ids of a contiguous train / validation split and the vocabulary."""

    train: torch.Tensor
    valid: torch.Tensor
    vocab: list[str]
    source: str
    sha256: str  # of the raw text (it changes with the Python version that ships it)

    @property
    def vocab_size(self) -> int:
        return len(self.vocab)

    def describe(self) -> dict:
        return {"source": self.source, "sha256": self.sha256, "python": platform.python_version(),
                "train_tokens": int(self.train.numel()), "valid_tokens": int(self.valid.numel()),
                "vocab": self.vocab_size}


def tokenize(text: str) -> list[str]:
    """Lower-cased words and punctuation, one ``<eos>`` per non-empty line (PTB-style)."""
    tokens: list[str] = []
    for line in text.split("\n"):
        words = _TOKEN.findall(line.lower())
        if words:
            tokens.extend(words)
            tokens.append("<eos>")
    return tokens


def load_corpus(valid_fraction: float = 0.15, min_count: int = 2, max_tokens: int | None = None) -> Corpus:
    """The Python documentation topics (``pydoc_data.topics``, ~123k tokens) as a word-level corpus.

    The first ``1 - valid_fraction`` of the token stream is the training set, the rest validation (contiguous, as
    PTB). Words seen fewer than ``min_count`` times in the training part become ``<unk>``. ``max_tokens`` keeps only
    the first tokens (smaller quick runs); the split is applied after truncation.
    """
    from pydoc_data.topics import topics

    text = "\n".join(topics[k] for k in sorted(topics))
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    tokens = tokenize(text)
    if max_tokens is not None:
        tokens = tokens[:max_tokens]
    n_train = int(round(len(tokens) * (1 - valid_fraction)))
    counts = collections.Counter(tokens[:n_train])
    vocab = ["<unk>"] + sorted(w for w, c in counts.items() if c >= min_count and w != "<unk>")
    index = {w: i for i, w in enumerate(vocab)}
    ids = torch.tensor([index.get(w, 0) for w in tokens], dtype=torch.long)
    return Corpus(ids[:n_train], ids[n_train:], vocab, "pydoc_data.topics (CPython stdlib)", digest)


def batchify(ids: torch.Tensor, batch_size: int) -> torch.Tensor:
    """(T,) -> (T // batch_size, batch_size): each column a contiguous stream (PTB convention)."""
    n = ids.numel() // batch_size
    return ids[: n * batch_size].view(batch_size, n).t().contiguous()


@dataclasses.dataclass
class Digits:
    """sklearn digits as (N, 1, 8, 8) float tensors in [0, 1], split into train / validation / test."""

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_valid: torch.Tensor
    y_valid: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor

    def to(self, device: str | torch.device) -> Digits:
        """The same split with every tensor on ``device``."""
        return Digits(*(getattr(self, f.name).to(device) for f in dataclasses.fields(self)))

    def describe(self) -> dict:
        return {"source": "sklearn.datasets.load_digits (1797 images, 8x8)", "train": len(self.y_train),
                "valid": len(self.y_valid), "test": len(self.y_test)}


def load_digits(n_train: int = 500, n_valid: int = 300, split_seed: int = 0, label_noise: float = 0.0) -> Digits:
    """A fixed random split (``split_seed``) of sklearn's digits; the test set is everything left (~1000).

    ``label_noise`` replaces that fraction of the training labels by uniformly random wrong classes.
    """
    from sklearn.datasets import load_digits as _load

    bunch = _load()
    x = torch.tensor(bunch.images / 16.0, dtype=torch.float32).unsqueeze(1)
    y = torch.tensor(bunch.target, dtype=torch.long)
    if n_train + n_valid >= len(y):
        raise ValueError(f"n_train + n_valid must be < {len(y)}, got {n_train + n_valid}")
    rng = np.random.default_rng(split_seed)
    perm = torch.from_numpy(rng.permutation(len(y)))
    tr, va, te = perm[:n_train], perm[n_train: n_train + n_valid], perm[n_train + n_valid:]
    y_train = y[tr].clone()
    if label_noise > 0:
        flip = torch.from_numpy(rng.random(n_train) < label_noise)
        shift = torch.from_numpy(rng.integers(1, 10, n_train))
        y_train[flip] = (y_train[flip] + shift[flip]) % 10
    return Digits(x[tr], y_train, x[va], y[va], x[te], y[te])
