"""Symmetry probes on hand-made graphs, candidate gaps, PCA and clustering helpers."""

import numpy as np
import pytest

from nar_latent import latent

# 0 -> 1 (1.0), 0 -> 2 (0.4), 2 -> 1 (0.5), 1 -> 3 (1.0), 2 -> 3 (2.0); a directed hand-made graph
GRAPH = np.zeros((4, 4))
GRAPH[0, 1], GRAPH[0, 2], GRAPH[2, 1], GRAPH[1, 3], GRAPH[2, 3] = 1.0, 0.4, 0.5, 1.0, 2.0


def _pi(graphs, sources):
    return latent.bellman_ford_feedback(np.asarray(graphs), np.asarray(sources)).outputs[0].data.astype(int)


def test_shortest_paths_and_candidate_gaps_of_the_hand_made_graph():
    np.testing.assert_allclose(latent.shortest_distances(GRAPH, 0), [0.0, 0.9, 0.4, 1.9])
    best, gaps = latent.candidate_gaps(GRAPH, 0)
    assert best[1] == 2 and best[3] == 1
    assert gaps[1] == pytest.approx(0.1)  # via 2: 0.9, direct: 1.0
    assert gaps[3] == pytest.approx(0.5)  # via 1: 1.9, via 2: 2.4
    assert np.isinf(gaps[2]) and np.isnan(gaps[0])  # one candidate; the source
    np.testing.assert_array_equal(_pi([GRAPH], [0])[0], [0, 2, 0, 1])


def test_scaling_and_johnson_reweighting_keep_the_shortest_path_tree():
    scaled = latent.scale_weights(GRAPH, np.asarray([0.1, 3.0, 50.0]))
    pots = np.asarray([[0.0, 0.2, 0.1, 0.3], [0.3, 0.0, 0.2, 0.1]])
    johnson = latent.johnson_reweight(GRAPH, pots)
    assert np.all(johnson[:, GRAPH != 0] > 0) and np.all(johnson[:, GRAPH == 0] == 0)
    # a path's weight shifts by h(start) - h(end)
    assert johnson[1, 0, 2] + johnson[1, 2, 1] == pytest.approx(GRAPH[0, 2] + GRAPH[2, 1] + pots[1, 0] - pots[1, 1])
    graphs = np.concatenate([GRAPH[None], scaled, johnson])
    pis = _pi(graphs, np.zeros(len(graphs), int))
    assert np.all(pis == pis[0])


def test_relabelling_nodes_relabels_the_tree():
    perm = np.asarray([2, 0, 3, 1])  # new node i is old node perm[i]
    g2, s2 = latent.permute_nodes(GRAPH, 0, perm)
    assert s2 == 1
    pi, pi2 = _pi([GRAPH], [0])[0], _pi([g2], [s2])[0]
    inverse = np.argsort(perm)
    np.testing.assert_array_equal(pi2, inverse[pi[perm]])


def test_pca_explained_variance():
    rng = np.random.default_rng(0)
    low_rank = rng.normal(size=(200, 3)) @ rng.normal(size=(3, 40)) + 1e-3 * rng.normal(size=(200, 40))
    assert latent.top_evr(low_rank) >= 0.99
    traj = rng.normal(size=30)
    copies = np.linspace(0.5, 1.0, 20)[:, None] * traj[None]
    evr, proj = latent.pca(copies, 2)
    assert evr[0] == pytest.approx(1.0, abs=1e-9) and proj.shape == (20, 2)


def test_kmeans_ari_and_cluster_ratio():
    rng = np.random.default_rng(1)
    labels = np.repeat(np.arange(4), 25)
    x = 10.0 * rng.normal(size=(4, 5))[labels] + 0.1 * rng.normal(size=(100, 5))
    found = latent.kmeans(x, 4)
    assert latent.adjusted_rand_index(found, labels) == pytest.approx(1.0)
    assert latent.adjusted_rand_index((labels + 1) % 4, labels) == pytest.approx(1.0)  # names do not matter
    assert abs(latent.adjusted_rand_index(rng.integers(0, 4, 100), labels)) < 0.1
    assert latent.between_within_ratio(x, labels) > 100
