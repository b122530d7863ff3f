"""CLRS-30 Bellman-Ford and BFS as dense graph batches (dm-clrs 2.0.3 samplers, offline, via ``repro_shared.clrs``).

Splits follow CLRS-30 (train seed 1, n = 16, 1000 graphs; val seed 2, n = 16, 32 graphs; test seed 3, n = 64,
32 graphs); variants with other sizes/seeds come from the same samplers. Both tasks predict the output pointer
``pi`` (each node's parent); we train on outputs only (no hints) and give every sample as many processor steps
as its CLRS hint trajectory has (``lengths``), as CLRS models do.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from repro_shared import clrs

TASKS = ("bellman_ford", "bfs")


@dataclasses.dataclass(frozen=True)
class GraphBatch:
    """Dense receiver-major arrays: row i = receiver, column j = sender (CLRS's A[j, i] is the edge j→i)."""

    nodes: np.ndarray  # (B, N, 2) float32: position, source mask
    edges: np.ndarray  # (B, N, N, 2) float32: weight of j→i, adjacency (with self-loops)
    mask: np.ndarray  # (B, N, N) bool: j sends to i (CLRS 'adj': edges plus self-loops)
    target: np.ndarray  # (B, N) int32: parent pointer pi
    steps: np.ndarray  # (B,) int32: processor steps (CLRS hint length)
    algorithm: str = ""
    A: np.ndarray | None = None  # (B, N, N) CLRS's raw A (sender-major), for the hand-built algorithms
    source: np.ndarray | None = None  # (B,) int

    def __len__(self) -> int:
        return int(self.nodes.shape[0])

    @property
    def num_nodes(self) -> int:
        return int(self.nodes.shape[1])

    def take(self, idx: np.ndarray) -> GraphBatch:
        """The samples ``idx`` (any integer index array; a leading axis of seeds is allowed)."""
        return dataclasses.replace(
            self, nodes=self.nodes[idx], edges=self.edges[idx], mask=self.mask[idx], target=self.target[idx],
            steps=self.steps[idx], A=None if self.A is None else self.A[idx],
            source=None if self.source is None else self.source[idx])


def from_feedback(feedback, algorithm: str) -> GraphBatch:
    """Convert a dm-clrs ``Feedback`` of bellman_ford or bfs into a :class:`GraphBatch`."""
    if algorithm not in TASKS:
        raise ValueError(f"invalid value for 'algorithm': {algorithm!r} (allowed: {', '.join(TASKS)})")
    inputs = {dp.name: np.asarray(dp.data) for dp in feedback.features.inputs}
    outputs = {dp.name: np.asarray(dp.data) for dp in feedback.outputs}
    A, adj = inputs["A"].astype(np.float32), inputs["adj"].astype(np.float32)
    nodes = np.stack([inputs["pos"], inputs["s"]], axis=-1).astype(np.float32)
    edges = np.stack([A.transpose(0, 2, 1), adj.transpose(0, 2, 1)], axis=-1)
    mask = adj.transpose(0, 2, 1) > 0
    if not mask[:, np.arange(mask.shape[1]), np.arange(mask.shape[1])].all():
        raise ValueError("every node needs a self-loop in 'adj' (the engine's nodes fire at least once per step)")
    return GraphBatch(nodes=nodes, edges=edges, mask=mask, target=outputs["pi"].astype(np.int32),
                      steps=np.asarray(feedback.features.lengths, np.int32), algorithm=algorithm,
                      A=np.asarray(inputs["A"], np.float64), source=inputs["s"].argmax(-1))


def load(algorithm: str, split: str, *, num_samples: int | None = None, length: int | None = None,
         seed: int | None = None) -> GraphBatch:
    """A CLRS-30 split (or a variant) of ``algorithm`` as a :class:`GraphBatch` (generated once, cached)."""
    if algorithm not in TASKS:
        raise ValueError(f"invalid value for 'algorithm': {algorithm!r} (allowed: {', '.join(TASKS)})")
    return from_feedback(clrs.load_split(algorithm, split, num_samples=num_samples, length=length, seed=seed),
                         algorithm)


def generate(algorithm: str, *, num_samples: int, length: int, seed: int, p: float | None = None) -> GraphBatch:
    """Fresh graphs from the CLRS sampler (``p``: Erdős-Rényi edge probability, CLRS default 0.5), not cached."""
    kwargs = {} if p is None else {"p": (p,)}
    return from_feedback(clrs.generate(algorithm, num_samples=num_samples, length=length, seed=seed, **kwargs),
                         algorithm)
