"""The character corpus that ships with Python."""

import hashlib

import jax
import numpy as np

from mesa_optimization import text


def test_corpus_is_hashed_split_and_windows_shift_by_one():
    corpus = text.load_corpus()
    raw = text.corpus_text()
    assert corpus.sha256 == hashlib.sha256(raw.encode()).hexdigest()
    assert len(corpus.train) + len(corpus.heldout) == len(raw) > 100_000
    assert "".join(corpus.vocab[i] for i in corpus.heldout[:50]) == raw[len(corpus.train): len(corpus.train) + 50]
    x, y = text.random_windows(jax.numpy.asarray(corpus.train), jax.random.PRNGKey(0), 4, 32)
    assert x.shape == y.shape == (4, 32)
    np.testing.assert_array_equal(np.asarray(x)[:, 1:], np.asarray(y)[:, :-1])
    xe, ye = text.fixed_windows(corpus.heldout, 3, 16)
    assert xe.shape == (3, 16) and int(xe.max()) < corpus.vocab_size
