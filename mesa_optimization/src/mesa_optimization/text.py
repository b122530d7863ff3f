"""Character-level text that ships with Python: the interpreter's pydoc topic pages (``pydoc_data.topics``).

The corpus is the concatenation of ``pydoc_data.topics.topics`` in sorted key order. Its content depends on the
Python version, so :func:`load_corpus` reports the SHA-256 of the UTF-8 text and the interpreter version; both are
stored in every run record that uses it. Nothing is downloaded.
"""

from __future__ import annotations

import dataclasses
import hashlib
import platform

import jax
import jax.numpy as jnp
import numpy as np


@dataclasses.dataclass(frozen=True)
class Corpus:
    train: np.ndarray  # int32 character ids
    heldout: np.ndarray
    vocab: str
    sha256: str
    python_version: str
    source: str

    @property
    def vocab_size(self) -> int:
        return len(self.vocab)


def corpus_text() -> str:
    from pydoc_data.topics import topics

    return "".join(topics[k] for k in sorted(topics))


def load_corpus(heldout_fraction: float = 0.1) -> Corpus:
    """Encode the corpus by a sorted character vocabulary; the last ``heldout_fraction`` is held out."""
    text = corpus_text()
    vocab = "".join(sorted(set(text)))
    lookup = {c: i for i, c in enumerate(vocab)}
    ids = np.fromiter((lookup[c] for c in text), dtype=np.int32, count=len(text))
    cut = int(len(ids) * (1 - heldout_fraction))
    return Corpus(ids[:cut], ids[cut:], vocab, hashlib.sha256(text.encode("utf-8")).hexdigest(),
                  platform.python_version(), "pydoc_data.topics.topics (sorted keys, concatenated)")


def random_windows(ids: jax.Array, key: jax.Array, batch: int, context: int) -> tuple[jax.Array, jax.Array]:
    """``batch`` random windows: inputs (batch, context) and next-character targets (batch, context)."""
    starts = jax.random.randint(key, (batch,), 0, ids.shape[0] - context - 1)
    idx = starts[:, None] + jnp.arange(context + 1)[None, :]
    w = ids[idx]
    return w[:, :-1], w[:, 1:]


def fixed_windows(ids: np.ndarray, n: int, context: int) -> tuple[np.ndarray, np.ndarray]:
    """``n`` evenly spaced windows over ``ids`` (deterministic evaluation set)."""
    starts = np.linspace(0, len(ids) - context - 2, n).astype(np.int64)
    w = np.stack([ids[s: s + context + 1] for s in starts])
    return w[:, :-1], w[:, 1:]
