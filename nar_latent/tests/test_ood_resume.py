"""The per-algorithm results of experiment 1 round-trip through their on-disk record (the full scale resumes)."""

from __future__ import annotations

import dataclasses
import types

import numpy as np
import pytest
from nar_latent.configs import CONFIGS
from nar_latent.experiments import ood_scores

from repro_shared.results import write_json_atomic


@pytest.fixture
def fake_run():
    config = dataclasses.replace(CONFIGS["quick"], seeds=(0, 1), test_sizes=(64, 32))
    s, v = len(config.seeds), len(config.variants)
    rng = np.random.default_rng(0)
    result = types.SimpleNamespace(best_val=rng.random((s, v, 2)), val_history=[(50, rng.random((s, v, 2)))],
                                   loss_history=[(50, rng.random((s, v)))], updates=40, train_seconds=8.0)
    scores = {n: {mode: rng.random((s, v)) for mode in ("max", "train_agg")} for n in config.test_sizes}
    return config, list(config.seeds), result, scores


def test_scores_round_trip(fake_run):
    config, seeds, result, scores = fake_run
    metrics = ood_scores.algorithm_metrics(config, seeds, result, scores)
    back = ood_scores.scores_from_metrics(config, metrics)
    for n in config.test_sizes:
        for mode, x in scores[n].items():
            np.testing.assert_array_equal(back[n][mode], x)
    assert metrics["timing"]["model_updates_per_second"] == pytest.approx(40 * 2 * 4 / 8.0)


def test_load_finished_checks_the_key(fake_run, tmp_path):
    config, seeds, result, scores = fake_run
    alg = config.algorithms[0]
    assert ood_scores.load_finished(tmp_path, config, alg, seeds) is None
    metrics = ood_scores.algorithm_metrics(config, seeds, result, scores)
    write_json_atomic(ood_scores.run_path(tmp_path, alg), {"key": ood_scores.run_key(config, alg, seeds),
                                                           "metrics": metrics})
    assert ood_scores.load_finished(tmp_path, config, alg, seeds)["test"] == metrics["test"]
    # another seed list, training length or test split is another run: nothing is reused
    assert ood_scores.load_finished(tmp_path, config, alg, [0]) is None
    assert ood_scores.load_finished(tmp_path, dataclasses.replace(config, steps=501), alg, seeds) is None
    assert ood_scores.load_finished(tmp_path, dataclasses.replace(config, test_samples=8), alg, seeds) is None
