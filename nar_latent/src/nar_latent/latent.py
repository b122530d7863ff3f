"""Latent-space analysis tools (Mirjanić et al. 2023, Sec. 3): trajectories, PCA, symmetry probes.

* :func:`graph_embeddings`: the processor states ``h^t`` of every step, reduced to one vector per
  graph by a max over nodes (the paper's graph embedding), plus each graph's number of steps;
* :func:`pca`: explained-variance ratios and projections;
* graph transformations that leave Bellman-Ford's output unchanged (scaling all weights by c > 0,
  Johnson reweighting with node potentials) or permute it (relabelling nodes), and the
  :func:`bellman_ford_feedback` that runs dm-clrs's own algorithm on given graphs;
* :func:`candidate_gaps`: for the loss-of-resolution analysis, the gap between the best and the
  second-best candidate distance ``d(u) + w(u, v)`` of every node.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from nar_latent import data as data_lib
from nar_latent import model
from nar_latent.reference import clrs

# --------------------------------------------------------------------------- graphs


def random_graphs(count: int, nb_nodes: int, seed: int, **sampler_kwargs: Any) -> tuple[np.ndarray, np.ndarray]:
    """Weighted graphs (count, n, n) and sources (count,) from dm-clrs's Bellman-Ford sampler."""
    fb = data_lib.generate("bellman_ford", num_samples=count, length=nb_nodes, seed=seed, **sampler_kwargs)
    inputs = {dp.name: np.asarray(dp.data) for dp in fb.features.inputs}
    return inputs["A"].astype(np.float64), np.argmax(inputs["s"], -1)


def scale_weights(graph: np.ndarray, factors: np.ndarray) -> np.ndarray:
    """Copies of ``graph`` with every weight multiplied by each factor (c > 0 keeps every shortest path)."""
    return np.asarray(factors, np.float64)[:, None, None] * graph[None]


def johnson_reweight(graph: np.ndarray, potentials: np.ndarray) -> np.ndarray:
    """``w'(u, v) = w(u, v) + h(u) - h(v)`` on existing edges, for each row of ``potentials`` (k, n).

    A path's weight changes by ``h(source) - h(end)``, the same for every path between two nodes,
    so shortest-path trees are unchanged (Johnson 1977). Weights stay positive when
    ``w >= max h - min h``. The result is directed even when ``graph`` is symmetric.
    """
    edges = graph != 0
    h = np.asarray(potentials, np.float64)
    return np.where(edges[None], graph[None] + h[:, :, None] - h[:, None, :], 0.0)


def permute_nodes(graph: np.ndarray, source: int, perm: np.ndarray) -> tuple[np.ndarray, int]:
    """Relabel nodes: new node ``i`` is old node ``perm[i]``."""
    perm = np.asarray(perm)
    return graph[np.ix_(perm, perm)], int(np.flatnonzero(perm == source)[0])


def bellman_ford_feedback(graphs: np.ndarray, sources: np.ndarray):
    """dm-clrs's Bellman-Ford run on the given graphs, batched like its samplers (hints padded)."""
    c = clrs()
    spec = c.specs.SPECS["bellman_ford"]
    inputs, outputs, hints = [], [], []
    for graph, source in zip(graphs, sources):
        _, probes = c.algorithms.bellman_ford(np.asarray(graph, np.float64), int(source))
        inp, outp, hint = c.probing.split_stages(probes, spec)
        inputs.append(inp)
        outputs.append(outp)
        hints.append(hint)
    hints_b, lengths = c.samplers._batch_hints(hints, 0)  # noqa: SLF001 - dm-clrs's own batching
    features = c.samplers.Features(c.samplers._batch_io(inputs), hints_b, lengths)  # noqa: SLF001
    return data_lib.preprocess(c.samplers.Feedback(features, c.samplers._batch_io(outputs)), "bellman_ford")  # noqa: SLF001


def shortest_distances(graph: np.ndarray, source: int) -> np.ndarray:
    """Single-source shortest distances (inf where unreachable), by Bellman-Ford relaxation."""
    n = graph.shape[0]
    d = np.full(n, np.inf)
    d[source] = 0.0
    w = np.where(graph != 0, graph, np.inf)
    for _ in range(n):
        new = np.minimum(d, np.min(d[:, None] + w, axis=0))
        if np.array_equal(new, d):
            break
        d = new
    return d


def candidate_gaps(graph: np.ndarray, source: int) -> tuple[np.ndarray, np.ndarray]:
    """Per node: the best predecessor and the gap between the best and second-best ``d(u) + w(u, v)``.

    The gap is ``inf`` where a node has fewer than two candidates, ``nan`` for the source and for
    unreachable nodes. Small gaps are where a max-aggregating processor loses resolution.
    """
    d = shortest_distances(graph, source)
    cand = np.where(graph != 0, d[:, None] + graph, np.inf)  # cand[u, v]
    order = np.sort(cand, axis=0)
    best = np.argmin(cand, axis=0)
    with np.errstate(invalid="ignore"):
        gap = order[1] - order[0]
    gap = np.where(np.isfinite(order[0]) & ~np.isfinite(order[1]), np.inf, gap)
    invalid = ~np.isfinite(order[0])
    invalid[source] = True
    return best, np.where(invalid, np.nan, gap)


# --------------------------------------------------------------------------- embeddings


def graph_embeddings(params, task, feedback, config: model.ModelConfig, variant: model.Variant, *,
                     batch_size: int = 64) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """Per-step graph embeddings ``max_i h_i^t`` (steps, B, H), steps per graph (B,), output predictions."""
    fn = _embed_fn(task, config)
    nb = int(feedback.features.lengths.shape[0])
    embs, outs = [], []
    for start in range(0, nb, batch_size):
        fb = data_lib.take(feedback, np.arange(start, min(start + batch_size, nb)))
        emb, out = fn(params, fb.features, variant)
        embs.append(np.asarray(emb))
        outs.append(jax.tree_util.tree_map(np.asarray, out))
    steps = np.maximum(np.asarray(feedback.features.lengths, int) - 1, 1)
    return (np.concatenate(embs, axis=1), steps,
            jax.tree_util.tree_map(lambda *xs: np.concatenate(xs), *outs))


_EMBED_CACHE: dict[Any, Any] = {}


def _embed_fn(task, config):
    if (task, config) not in _EMBED_CACHE:
        @jax.jit
        def fn(params, features, variant):
            preds = model.forward(params, task, features, config=config, variant=variant, return_hiddens=True)
            return jnp.max(preds.hiddens, axis=2), preds.outputs

        _EMBED_CACHE[(task, config)] = fn
    return _EMBED_CACHE[(task, config)]


def final_embeddings(embs: np.ndarray, steps: np.ndarray) -> np.ndarray:
    """The embedding at each graph's last step (the one the output is decoded from)."""
    return embs[steps - 1, np.arange(embs.shape[1])]


def trajectory_matrix(embs: np.ndarray, steps: np.ndarray, length: int) -> np.ndarray:
    """Flattened trajectories (graphs with exactly ``length`` steps, length * H features)."""
    idx = np.flatnonzero(steps == length)
    return embs[:length, idx].transpose(1, 0, 2).reshape(len(idx), -1)


def stepwise_matrix(embs: np.ndarray, steps: np.ndarray) -> np.ndarray:
    """Every valid step's embedding as a row, duplicates removed (converged steps repeat)."""
    rows = np.concatenate([embs[: s, b] for b, s in enumerate(steps)])
    return np.unique(np.round(rows, 6), axis=0)


# --------------------------------------------------------------------------- PCA and clustering


def pca(x: np.ndarray, k: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """Explained-variance ratios of all components and the projection on the top ``k``."""
    x = np.asarray(x, np.float64)
    centred = x - x.mean(axis=0)
    _, s, vt = np.linalg.svd(centred, full_matrices=False)
    var = s**2
    return var / var.sum(), centred @ vt[:k].T


def top_evr(x: np.ndarray, k: int = 3) -> float:
    return float(pca(x, k)[0][:k].sum())


def kmeans(x: np.ndarray, k: int, seed: int = 0, restarts: int = 8, iters: int = 100) -> np.ndarray:
    """Lloyd's k-means with k-means++ seeding, best of ``restarts`` (labels)."""
    rng = np.random.default_rng(seed)
    x = np.asarray(x, np.float64)
    best, best_inertia = None, np.inf
    for _ in range(restarts):
        centres = [x[rng.integers(len(x))]]
        for _ in range(1, k):
            d2 = np.min(((x[:, None] - np.asarray(centres)[None]) ** 2).sum(-1), axis=1)
            centres.append(x[rng.choice(len(x), p=d2 / d2.sum())] if d2.sum() > 0 else x[rng.integers(len(x))])
        centres = np.asarray(centres)
        for _ in range(iters):
            labels = np.argmin(((x[:, None] - centres[None]) ** 2).sum(-1), axis=1)
            new = np.asarray([x[labels == j].mean(0) if np.any(labels == j) else centres[j] for j in range(k)])
            if np.allclose(new, centres):
                break
            centres = new
        inertia = ((x - centres[labels]) ** 2).sum()
        if inertia < best_inertia:
            best, best_inertia = labels, inertia
    return best


def adjusted_rand_index(a: np.ndarray, b: np.ndarray) -> float:
    """Hubert & Arabie's adjusted Rand index of two labelings."""
    _, a = np.unique(a, return_inverse=True)
    _, b = np.unique(b, return_inverse=True)
    table = np.zeros((a.max() + 1, b.max() + 1))
    np.add.at(table, (a, b), 1)

    def comb2(x):
        return (x * (x - 1) / 2).sum()

    index, rows, cols = comb2(table), comb2(table.sum(1)), comb2(table.sum(0))
    expected = rows * cols / comb2(np.asarray([len(a)]))
    maximum = (rows + cols) / 2
    return float((index - expected) / (maximum - expected)) if maximum != expected else 1.0


def between_within_ratio(x: np.ndarray, labels: np.ndarray) -> float:
    """Variance of the cluster means over the mean within-cluster variance (total over dimensions)."""
    groups = [x[labels == g] for g in np.unique(labels)]
    between = np.var(np.asarray([g.mean(0) for g in groups]), axis=0).sum()
    within = np.mean([np.var(g, axis=0).sum() for g in groups])
    return float(between / max(within, 1e-12))
