"""Numbers from the paper's own results (Mirjanić et al. 2023; official repository,
``results/clrs_summary.txt``, as recomputed in the paper notes).

CLRS-30 OOD test score x 100 at n = 64: mean, sample std and number of runs over seeds 42-46
(30k steps, hidden 128) for the four processors, and Ibarz et al. (2022) Table 2 (Triplet-GMPNN,
10 seeds, 10k steps) for reference. The latent-analysis constants are from the paper's figures.
"""

from __future__ import annotations

VARIANT_COLUMNS = ("baseline", "softmax", "decay", "both")

# algorithm -> {variant: (mean, std, runs)}, plus "ibarz": mean
OOD_SCORES: dict[str, dict[str, tuple[float, float, int] | float]] = {
    "activity_selector": {"baseline": (96.46, 1.64, 5), "softmax": (95.48, 1.17, 5), "decay": (88.83, 4.37, 5), "both": (90.5, 3.67, 5), "ibarz": 95.18},
    "articulation_points": {"baseline": (68.21, 33.58, 5), "softmax": (73.1, 21.77, 5), "decay": (68.28, 7.89, 4), "both": (59.99, 8.26, 4), "ibarz": 88.32},
    "bellman_ford": {"baseline": (98.68, 0.34, 5), "softmax": (98.8, 0.14, 3), "decay": (84.53, 31.51, 5), "both": (98.96, 0.35, 5), "ibarz": 97.39},
    "bfs": {"baseline": (99.46, 0.41, 5), "softmax": (99.63, 0.1, 5), "decay": (99.54, 0.16, 5), "both": (99.5, 0.09, 5), "ibarz": 99.73},
    "binary_search": {"baseline": (60.98, 7.91, 5), "softmax": (64.64, 8.75, 4), "decay": (58.88, 19.43, 5), "both": (66.49, 6.29, 4), "ibarz": 77.58},
    "bridges": {"baseline": (74.31, 17.35, 5), "softmax": (77.83, 14.64, 5), "decay": (74.5, 30.95, 5), "both": (84.1, 18.15, 5), "ibarz": 93.99},
    "bubble_sort": {"baseline": (66.34, 6.29, 5), "softmax": (56.15, 10.39, 4), "decay": (46.65, 29.37, 5), "both": (55.51, 17.15, 5), "ibarz": 67.68},
    "dag_shortest_paths": {"baseline": (89.17, 6.2, 5), "softmax": (83.18, 7.46, 5), "decay": (77.13, 15.14, 5), "both": (82.56, 7.53, 5), "ibarz": 98.19},
    "dfs": {"baseline": (19.29, 7.94, 4), "softmax": (12.88, 3.44, 5), "decay": (15.68, 5.96, 5), "both": (20.65, 8.01, 5), "ibarz": 47.79},
    "dijkstra": {"baseline": (96.51, 1.68, 5), "softmax": (97.99, 0.24, 5), "decay": (94.46, 4.16, 5), "both": (96.02, 2.03, 5), "ibarz": 96.05},
    "find_maximum_subarray_kadane": {"baseline": (62.84, 6.45, 5), "softmax": (58.55, 5.99, 5), "decay": (48.89, 5.83, 5), "both": (52.77, 3.3, 5), "ibarz": 76.36},
    "floyd_warshall": {"baseline": (8.55, 4.82, 5), "softmax": (25.77, 16.82, 5), "decay": (18.9, 9.45, 5), "both": (32.52, 13.77, 5), "ibarz": 48.52},
    "graham_scan": {"baseline": (91.89, 2.57, 5), "softmax": (93.39, 3.04, 5), "decay": (88.91, 2.55, 5), "both": (87.21, 7.7, 5), "ibarz": 93.62},
    "heapsort": {"baseline": (42.8, 18.85, 5), "softmax": (40.19, 21.86, 5), "decay": (28.07, 25.11, 5), "both": (16.28, 11.72, 5), "ibarz": 31.04},
    "insertion_sort": {"baseline": (69.42, 7.87, 5), "softmax": (61.17, 17.13, 5), "decay": (54.75, 22.4, 5), "both": (61.69, 9.92, 5), "ibarz": 78.14},
    "jarvis_march": {"baseline": (90.58, 1.79, 5), "softmax": (90.86, 1.73, 5), "decay": (64.17, 30.05, 5), "both": (81.57, 13.63, 5), "ibarz": 91.01},
    "kmp_matcher": {"baseline": (10.7, 7.69, 5), "softmax": (4.16, 2.4, 5), "decay": (11.2, 9.77, 5), "both": (20.59, 11.94, 5), "ibarz": 19.51},
    "lcs_length": {"baseline": (87.2, 0.84, 5), "softmax": (87.41, 0.92, 5), "decay": (87.11, 1.71, 4), "both": (87.75, 0.97, 5), "ibarz": 80.51},
    "matrix_chain_order": {"baseline": (92.45, 1.11, 5), "softmax": (91.81, 1.07, 5), "decay": (92.9, 1.49, 5), "both": (90.45, 2.77, 5), "ibarz": 91.68},
    "minimum": {"baseline": (93.29, 4.16, 5), "softmax": (95.77, 1.06, 5), "decay": (95.46, 5.78, 5), "both": (96.08, 2.07, 5), "ibarz": 97.78},
    "mst_kruskal": {"baseline": (88.83, 2.29, 5), "softmax": (87.96, 0.73, 5), "decay": (87.0, 2.32, 5), "both": (85.49, 2.63, 5), "ibarz": 89.8},
    "mst_prim": {"baseline": (86.41, 4.43, 5), "softmax": (87.42, 2.02, 5), "decay": (79.43, 6.33, 4), "both": (76.68, 16.49, 5), "ibarz": 86.39},
    "naive_string_matcher": {"baseline": (17.5, 12.11, 5), "softmax": (8.52, 6.56, 5), "decay": (9.85, 3.19, 5), "both": (10.16, 6.94, 5), "ibarz": 78.67},
    "optimal_bst": {"baseline": (82.93, 1.84, 5), "softmax": (82.9, 0.85, 5), "decay": (82.52, 1.59, 5), "both": (81.82, 2.21, 5), "ibarz": 73.77},
    "quickselect": {"baseline": (0.78, 0.94, 5), "softmax": (0.63, 0.82, 5), "decay": (1.37, 2.14, 5), "both": (1.62, 1.21, 5), "ibarz": 0.47},
    "quicksort": {"baseline": (43.54, 10.82, 5), "softmax": (49.22, 13.53, 5), "decay": (31.76, 18.68, 5), "both": (46.46, 24.85, 5), "ibarz": 64.64},
    "segments_intersect": {"baseline": (98.59, 0.22, 5), "softmax": (98.74, 0.22, 5), "decay": (98.68, 0.29, 5), "both": (98.81, 0.15, 5), "ibarz": 97.64},
    "strongly_connected_components": {"baseline": (43.23, 6.83, 5), "softmax": (37.26, 9.81, 5), "decay": (43.63, 7.94, 5), "both": (32.53, 5.03, 5), "ibarz": 43.43},
    "task_scheduling": {"baseline": (87.26, 3.39, 5), "softmax": (87.58, 0.66, 5), "decay": (86.88, 1.46, 5), "both": (86.34, 1.24, 5), "ibarz": 87.25},
    "topological_sort": {"baseline": (71.29, 3.25, 5), "softmax": (71.25, 7.05, 5), "decay": (69.38, 8.4, 5), "both": (64.27, 6.15, 5), "ibarz": 87.27},
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
