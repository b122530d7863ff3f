"""Continual fine-tuning over a task sequence (paper Sec. 4.3, Continual-World protocol) and its metrics.

After training on task i the model is evaluated on tasks 0..i, filling the success matrix S[i, j]. Metrics
(Wolczyk et al., 2021): average final success mean_j S[N-1, j]; forgetting F_j = S[j, j] - S[N-1, j] averaged
over the first N-1 tasks; retention on the pre-training tasks is measured separately.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from l2m.data import SequenceDataset, TaskData
from l2m.methods import Method
from l2m.model import MDDT
from l2m.train import TrainConfig, fisher_batches, train


def average_success(matrix: np.ndarray) -> float:
    """Mean success over all tasks after the last task (last row of S)."""
    return float(np.nanmean(matrix[-1]))


def forgetting(matrix: np.ndarray) -> np.ndarray:
    """F_j = S[j, j] - S[N-1, j] for j < N-1."""
    n = matrix.shape[0]
    return np.array([matrix[j, j] - matrix[n - 1, j] for j in range(n - 1)])


def seen_task_curve(matrix: np.ndarray) -> np.ndarray:
    """Mean success over the tasks seen so far, after each task (the curve of the CW plots)."""
    return np.array([np.nanmean(matrix[i, : i + 1]) for i in range(matrix.shape[0])])


def run_sequence(model: MDDT, method: Method, stores: Sequence[TaskData], tc: TrainConfig, context: int,
                 evaluate_tasks: Callable[[list[str]], dict[str, dict]], *, seed: int = 0,
                 fisher_n: int = 10, task_offset: int = 0) -> dict:
    """Fine-tune on ``stores`` in order; after each task evaluate all tasks seen so far.

    ``task_offset`` shifts the task index given to the method (L2M's penalty starts at index > 0).
    Returns the success matrix (NaN above the diagonal), per-task losses and seconds per update.
    """
    n = len(stores)
    tasks = [s.task for s in stores]
    matrix = np.full((n, n), np.nan)
    losses, step_s = [], []
    for i, store in enumerate(stores):
        method.begin_task(i + task_offset)
        ds = SequenceDataset([store], context, task_ids=[i])
        hist = train(model, method, ds, tc, seed=seed * 1000 + i, desc=f"task {i + 1}/{n} {store.task}")
        losses.append(hist["loss"])
        step_s += hist["s_per_step"]
        if method.regularizer is not None:
            method.regularizer.end_task(model, fisher_batches(model, method, ds, fisher_n, tc.batch_size, seed + i))
        res = evaluate_tasks(tasks[: i + 1])
        for j, t in enumerate(tasks[: i + 1]):
            matrix[i, j] = res[t]["success"]
    return {"tasks": tasks, "matrix": matrix.tolist(), "losses": losses, "s_per_step": float(np.mean(step_s)),
            "final_success": average_success(matrix), "forgetting": forgetting(matrix).tolist(),
            "mean_forgetting": float(np.mean(forgetting(matrix))) if n > 1 else 0.0,
            "curve": seen_task_curve(matrix).tolist()}
