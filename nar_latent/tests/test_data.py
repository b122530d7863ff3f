"""The fork's data pipeline on dm-clrs samplers: spec processing, padding, streams, algorithm outputs."""

import numpy as np
import pytest

from nar_latent import data, latent


def test_pred_as_input_and_should_be_permutations():
    spec = data.process_spec("minimum")
    assert "pred_h" not in spec and spec["pred"] == ("input", "node", "pointer")
    fb = data.generate("minimum", num_samples=4, length=6, seed=0)
    assert "pred" in [dp.name for dp in fb.features.inputs]
    assert "pred_h" not in [dp.name for dp in fb.features.hints]
    assert data.process_spec("insertion_sort")["pred"] == ("output", "node", "pointer")  # not a permutation
    for dp in (*fb.features.inputs, *fb.features.hints, *fb.outputs):
        assert dp.data.dtype == np.float32


def test_pad_time_and_take():
    fb = data.generate("bellman_ford", num_samples=5, length=6, seed=0)
    t = data.num_steps(fb)
    padded = data.pad_time(fb, t + 2)
    assert data.num_steps(padded) == t + 2
    np.testing.assert_array_equal(padded.features.hints[0].data[:t], fb.features.hints[0].data)
    assert not padded.features.hints[0].data[t:].any()
    with pytest.raises(ValueError):
        data.pad_time(fb, t - 1)
    sub = data.take(fb, [3, 1])
    np.testing.assert_array_equal(sub.features.lengths, fb.features.lengths[[3, 1]])
    np.testing.assert_array_equal(sub.features.hints[0].data, fb.features.hints[0].data[:, [3, 1]])
    np.testing.assert_array_equal(sub.outputs[0].data, fb.outputs[0].data[[3, 1]])


def test_train_stream_is_deterministic_per_seed_and_follows_the_fork():
    a, b = data.TrainStream("bellman_ford", (5, 7), 4, seed=3), data.TrainStream("bellman_ford", (5, 7), 4, seed=3)
    x, y = a.next(7), b.next(7)
    np.testing.assert_array_equal(x.features.inputs[2].data, y.features.inputs[2].data)
    assert x.features.inputs[0].data.shape == (4, 7)
    other = data.TrainStream("bellman_ford", (5, 7), 4, seed=4).next(7)
    assert not np.array_equal(other.features.inputs[2].data, x.features.inputs[2].data)
    assert data.train_sizes("kmp_matcher", (4, 7, 11, 13, 16)) == (20,)
    assert data.train_sampler_kwargs("bridges")["p"][0] == pytest.approx(0.05)


def test_bellman_ford_outputs_are_shortest_path_trees():
    """dm-clrs's BF output `pi` against our own shortest distances (self-written relaxation)."""
    graphs, sources = latent.random_graphs(16, 8, seed=5)
    fb = latent.bellman_ford_feedback(graphs, sources)
    pi = fb.outputs[0].data.astype(int)
    for g, s, p in zip(graphs, sources, pi):
        d = latent.shortest_distances(g, s)
        for v in range(len(d)):
            if v == s or not np.isfinite(d[v]):
                assert p[v] == v
            else:
                assert g[p[v], v] != 0 and d[p[v]] + g[p[v], v] == pytest.approx(d[v])
