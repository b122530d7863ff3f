"""Numbers from the paper's own results (Mirjanić et al. 2023; official repository,
``results/clrs_summary.txt``, as recomputed in the paper notes).

CLRS-30 OOD test score x 100 at n = 64: mean, sample std and number of runs over seeds 42-46
(30k steps, hidden 128) for the four processors, and Ibarz et al. (2022) Table 2 (Triplet-GMPNN,
10 seeds, 10k steps) for reference. The latent-analysis constants are from the paper's figures.
"""

from __future__ import annotations

VARIANT_COLUMNS = ("baseline", "softmax", "decay", "both")

# algorithm -> (baseline, softmax, decay, both) as (mean, std, runs), then Ibarz et al.'s mean
_ROWS: dict[str, tuple] = {
    "activity_selector": ((96.46, 1.64, 5), (95.48, 1.17, 5), (88.83, 4.37, 5), (90.5, 3.67, 5), 95.18),
    "articulation_points": ((68.21, 33.58, 5), (73.1, 21.77, 5), (68.28, 7.89, 4), (59.99, 8.26, 4), 88.32),
    "bellman_ford": ((98.68, 0.34, 5), (98.8, 0.14, 3), (84.53, 31.51, 5), (98.96, 0.35, 5), 97.39),
    "bfs": ((99.46, 0.41, 5), (99.63, 0.1, 5), (99.54, 0.16, 5), (99.5, 0.09, 5), 99.73),
    "binary_search": ((60.98, 7.91, 5), (64.64, 8.75, 4), (58.88, 19.43, 5), (66.49, 6.29, 4), 77.58),
    "bridges": ((74.31, 17.35, 5), (77.83, 14.64, 5), (74.5, 30.95, 5), (84.1, 18.15, 5), 93.99),
    "bubble_sort": ((66.34, 6.29, 5), (56.15, 10.39, 4), (46.65, 29.37, 5), (55.51, 17.15, 5), 67.68),
    "dag_shortest_paths": ((89.17, 6.2, 5), (83.18, 7.46, 5), (77.13, 15.14, 5), (82.56, 7.53, 5), 98.19),
    "dfs": ((19.29, 7.94, 4), (12.88, 3.44, 5), (15.68, 5.96, 5), (20.65, 8.01, 5), 47.79),
    "dijkstra": ((96.51, 1.68, 5), (97.99, 0.24, 5), (94.46, 4.16, 5), (96.02, 2.03, 5), 96.05),
    "find_maximum_subarray_kadane": ((62.84, 6.45, 5), (58.55, 5.99, 5), (48.89, 5.83, 5), (52.77, 3.3, 5), 76.36),
    "floyd_warshall": ((8.55, 4.82, 5), (25.77, 16.82, 5), (18.9, 9.45, 5), (32.52, 13.77, 5), 48.52),
    "graham_scan": ((91.89, 2.57, 5), (93.39, 3.04, 5), (88.91, 2.55, 5), (87.21, 7.7, 5), 93.62),
    "heapsort": ((42.8, 18.85, 5), (40.19, 21.86, 5), (28.07, 25.11, 5), (16.28, 11.72, 5), 31.04),
    "insertion_sort": ((69.42, 7.87, 5), (61.17, 17.13, 5), (54.75, 22.4, 5), (61.69, 9.92, 5), 78.14),
    "jarvis_march": ((90.58, 1.79, 5), (90.86, 1.73, 5), (64.17, 30.05, 5), (81.57, 13.63, 5), 91.01),
    "kmp_matcher": ((10.7, 7.69, 5), (4.16, 2.4, 5), (11.2, 9.77, 5), (20.59, 11.94, 5), 19.51),
    "lcs_length": ((87.2, 0.84, 5), (87.41, 0.92, 5), (87.11, 1.71, 4), (87.75, 0.97, 5), 80.51),
    "matrix_chain_order": ((92.45, 1.11, 5), (91.81, 1.07, 5), (92.9, 1.49, 5), (90.45, 2.77, 5), 91.68),
    "minimum": ((93.29, 4.16, 5), (95.77, 1.06, 5), (95.46, 5.78, 5), (96.08, 2.07, 5), 97.78),
    "mst_kruskal": ((88.83, 2.29, 5), (87.96, 0.73, 5), (87.0, 2.32, 5), (85.49, 2.63, 5), 89.8),
    "mst_prim": ((86.41, 4.43, 5), (87.42, 2.02, 5), (79.43, 6.33, 4), (76.68, 16.49, 5), 86.39),
    "naive_string_matcher": ((17.5, 12.11, 5), (8.52, 6.56, 5), (9.85, 3.19, 5), (10.16, 6.94, 5), 78.67),
    "optimal_bst": ((82.93, 1.84, 5), (82.9, 0.85, 5), (82.52, 1.59, 5), (81.82, 2.21, 5), 73.77),
    "quickselect": ((0.78, 0.94, 5), (0.63, 0.82, 5), (1.37, 2.14, 5), (1.62, 1.21, 5), 0.47),
    "quicksort": ((43.54, 10.82, 5), (49.22, 13.53, 5), (31.76, 18.68, 5), (46.46, 24.85, 5), 64.64),
    "segments_intersect": ((98.59, 0.22, 5), (98.74, 0.22, 5), (98.68, 0.29, 5), (98.81, 0.15, 5), 97.64),
    "strongly_connected_components": ((43.23, 6.83, 5), (37.26, 9.81, 5), (43.63, 7.94, 5), (32.53, 5.03, 5), 43.43),
    "task_scheduling": ((87.26, 3.39, 5), (87.58, 0.66, 5), (86.88, 1.46, 5), (86.34, 1.24, 5), 87.25),
    "topological_sort": ((71.29, 3.25, 5), (71.25, 7.05, 5), (69.38, 8.4, 5), (64.27, 6.15, 5), 87.27),
}
# algorithm -> {variant: (mean, std, runs), "ibarz": mean}
OOD_SCORES: dict[str, dict[str, tuple[float, float, int] | float]] = {
    alg: {**dict(zip(VARIANT_COLUMNS, row[:4])), "ibarz": row[4]} for alg, row in _ROWS.items()
}

# Top-3 PCA explained variance of the Bellman-Ford model's graph embeddings (plot titles).
PCA_TOP3_EVR = {"trajectory_wise": 0.6261, "step_wise": 0.9551, "johnson": 0.7197, "scaling_one_graph": 0.9980,
                "scaling_many_graphs": 0.7178, "shuffles_one_graph": 0.3521}
# Fig. 3 (attractor), first row: accuracy vs the step offset relative to the true trajectory length.
ATTRACTOR_OFFSETS = {-3: 0.8198, -2: 0.8949, -1: 0.9308, 0: 0.9368, 1: 0.9286, 2: 0.9200, 3: 0.9147, 4: 0.9129}
# Fig. 5 (softmax model, 4096 graphs of 64 nodes): share of mispredicted pointers.
POINTER_MISPREDICTION_SOFTMAX = 0.0427


def mean_over_algorithms(variant: str) -> float:
    """Unweighted mean over the 30 algorithms of a variant's mean score (the paper's own table)."""
    vals = [row[variant] if variant == "ibarz" else row[variant][0] for row in OOD_SCORES.values()]
    return sum(vals) / len(vals)
