"""Configurations per scale (Mirjanić et al. 2023 train 30k steps, hidden 128, batch 32, 5 seeds).

* quick: Bellman-Ford only, hidden 32, 500 steps, 1 seed x 4 variants (minutes on 2 CPU cores);
* full: Bellman-Ford, Dijkstra, Floyd-Warshall, hidden 64, 800 steps, 3 seeds x 4 variants
  (about 1.5 h on 2 idle CPU cores, estimated from timed training updates, see the README);
* gpu: the paper's width and batch, 5 seeds x 4 variants vmapped per algorithm, 4k steps
  (designed for about 10 GPU minutes; untested: no GPU was available when it was written).
"""

from __future__ import annotations

import dataclasses

from nar_latent.train import VARIANTS, TrainConfig


@dataclasses.dataclass(frozen=True)
class Config:
    """Every knob of the two experiments; ``--set field=value`` overrides one."""

    # experiment 1: per-algorithm OOD scores of the four processors
    algorithms: tuple[str, ...] = ("bellman_ford",)
    seeds: tuple[int, ...] = (0,)
    variants: tuple[str, ...] = tuple(VARIANTS)
    sizes: tuple[int, ...] = (4, 7, 11, 13, 16)  # the fork's training sizes
    batch_size: int = 32
    hidden: int = 128
    learning_rate: float = 1e-3
    steps: int = 30000
    eval_every: int = 500
    test_sizes: tuple[int, ...] = (64, 32)  # 64: the CLRS-30 test split (seed 3); 32: same seed, n = 32
    test_samples: int = 32
    remat: str = "true"  # recompute hint steps in the backward pass (faster on CPU; "auto": edge-pointer algorithms)
    # experiment 2: latent-space analysis of Bellman-Ford models (trained in experiment 1's way)
    latent_nodes: int = 16  # graph size of the analysis graphs (training size: in distribution)
    latent_graphs: int = 512  # random graphs for the PCA of trajectories
    latent_copies: int = 64  # scaled / reweighted / permuted copies per base graph
    latent_bases: int = 16  # Johnson-reweighting base graphs (clusters)
    resolution_graphs: int = 256  # graphs for the loss-of-resolution analysis
    scales: tuple[float, ...] = (0.25, 0.5, 1.0, 2.0, 4.0, 8.0)  # out-of-range edge-weight multipliers
    offsets: tuple[int, ...] = (-3, -2, -1, 0, 1, 2, 3, 4)  # attractor: steps relative to the true length

    def train_config(self, algorithm: str) -> TrainConfig:
        return TrainConfig(algorithm=algorithm, sizes=self.sizes, batch_size=self.batch_size, hidden=self.hidden,
                           learning_rate=self.learning_rate, steps=self.steps, eval_every=self.eval_every,
                           remat=self.remat)


CONFIGS: dict[str, Config] = {
    "quick": Config(algorithms=("bellman_ford",), seeds=(0,), sizes=(8, 16), batch_size=16, hidden=32,
                    steps=500, eval_every=50, test_sizes=(64,), latent_graphs=256, latent_copies=32,
                    latent_bases=8, resolution_graphs=128),
    "full": Config(algorithms=("bellman_ford", "dijkstra", "floyd_warshall"), seeds=(0, 1, 2), batch_size=16,
                   hidden=64, steps=800, eval_every=100, latent_graphs=512, resolution_graphs=256),
    "gpu": Config(algorithms=("bellman_ford", "dijkstra", "floyd_warshall", "minimum"), seeds=(42, 43, 44, 45, 46),
                  batch_size=32, hidden=128, steps=4000, eval_every=500, latent_nodes=64, latent_graphs=4096,
                  resolution_graphs=4096),
}
