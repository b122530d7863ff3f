"""The pairwise transfer matrix: fine-tune on A (from θ₀), then on B, versus B from θ₀ (notes Sec. 5).

Δ[A, B] = acc(B | init = FT(A)) - acc(B | init = θ₀), per seed. It confirms each task's declared role by
measurement (the analogue of the paper's pairwise study from which its sequences were built).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from cl_transfer.learners import FinetuneBackend
from cl_transfer.training import BASE_ID, Run


def measure(backend: FinetuneBackend, rows: Sequence[str], cols: Sequence[str], seeds: Sequence[int]) -> dict:
    """Δ [seed, row, col], the target accuracies from θ₀ [seed, col] and the sources' own accuracies."""
    first = {(a, s): Run(BASE_ID, a, s, backend.full_steps(a)) for a in rows for s in seeds}
    base_b = {(b, s): Run(BASE_ID, b, s, backend.full_steps(b)) for b in cols for s in seeds}
    res = dict(zip(list(first) + [("base",) + k for k in base_b], backend.run(list(first.values()) +
                                                                             list(base_b.values()))))
    pairs = {(a, b, s): Run(res[(a, s)].key, b, s, backend.full_steps(b)) for a in rows for b in cols for s in seeds}
    pres = dict(zip(pairs, backend.run(list(pairs.values()))))
    delta = np.array([[[pres[(a, b, s)].test_acc - res[("base", b, s)].test_acc for b in cols] for a in rows]
                      for s in seeds])
    return {
        "rows": list(rows), "cols": list(cols), "seeds": list(seeds),
        "delta": delta.tolist(),
        "base_acc": [[res[("base", b, s)].test_acc for b in cols] for s in seeds],
        "source_acc": [[res[(a, s)].test_acc for a in rows] for s in seeds],
    }


def measured_role(mean_delta: float, eps: float) -> str:
    """positive if Δ > ε, negative if Δ < -ε, else neutral."""
    return "positive" if mean_delta > eps else "negative" if mean_delta < -eps else "neutral"


def summarize(matrix: dict) -> tuple[np.ndarray, np.ndarray]:
    """Mean Δ and its standard error over seeds, [row, col]."""
    d = np.asarray(matrix["delta"], dtype=float)
    se = d.std(0, ddof=1) / np.sqrt(d.shape[0]) if d.shape[0] > 1 else np.full(d.shape[1:], np.nan)
    return d.mean(0), se
