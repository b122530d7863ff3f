"""Data loaders, the optimizer factory and short training runs that must learn."""

import math

import pytest
import torch
from memory_adam.data import batchify, load_corpus, load_digits, tokenize
from memory_adam.train import (
    OPTIMIZER_NAMES,
    ClassifierSettings,
    LMSettings,
    make_optimizer,
    train_classifier,
    train_language_model,
)

from repro_shared.cli import ConfigError


@pytest.mark.smoke
def test_short_training_run_lowers_the_loss():
    digits = load_digits(n_train=200, n_valid=100)
    run = train_classifier(digits, "Adam+CM", 3e-3, 0, ClassifierSettings(epochs=8, sharpness_iters=5))
    assert run["train_loss"][-1] < 0.5 * run["train_loss"][0]
    assert run["test_acc"] > 0.5 and run["distance"] > 0 and run["path_length"] >= run["distance"]
    assert math.isfinite(run["lambda_max"]) and run["lambda_max"] > 0


def test_language_model_learns():
    corpus = load_corpus(max_tokens=4000)
    run = train_language_model(corpus, "Adam+SAM+CM", 3e-3, 0, LMSettings(emb=16, hidden=16, epochs=2, batch_size=8))
    assert len(run["val_ppl"]) == 2 and run["train_ppl"][1] < run["train_ppl"][0]
    assert run["best_val_ppl"] < corpus.vocab_size  # better than uniform


def test_corpus_and_batchify():
    corpus = load_corpus()
    d = corpus.describe()
    assert d["train_tokens"] + d["valid_tokens"] > 100_000 and 1000 < d["vocab"] < 5000
    assert corpus.vocab[0] == "<unk>" and int(corpus.train.max()) < corpus.vocab_size
    assert tokenize("Hello, world\n\nx = 1") == ["hello", ",", "world", "<eos>", "x", "=", "1", "<eos>"]
    b = batchify(torch.arange(10), 3)
    assert b.shape == (3, 3) and b[:, 0].tolist() == [0, 1, 2] and b[:, 1].tolist() == [3, 4, 5]


def test_digits_split_and_label_noise():
    clean = load_digits(500, 300)
    assert (len(clean.y_train), len(clean.y_valid), len(clean.y_test)) == (500, 300, 997)
    assert clean.x_train.shape == (500, 1, 8, 8) and float(clean.x_train.max()) <= 1.0
    noisy = load_digits(500, 300, label_noise=0.2)
    frac = float((noisy.y_train != clean.y_train).float().mean())
    assert 0.12 < frac < 0.28
    with pytest.raises(ValueError):
        load_digits(1500, 400)


def test_optimizer_factory():
    for name in OPTIMIZER_NAMES:
        assert make_optimizer(name, [torch.zeros(2, requires_grad=True)], 1e-3) is not None
    with pytest.raises(ConfigError, match="optimizer"):
        make_optimizer("Adagrad", [torch.zeros(2, requires_grad=True)], 1e-3)
