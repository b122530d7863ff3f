"""Metrics of the benchmark (notes Sec. 3; our own definitions, the paper's are not available).

Δ_t(L) = s_t(L) - s_t(FT-base), paired by seed; relative Δ_t / s_t(FT-base); per sequence the mean Δ, the
negative-transfer rate (share of (seed, task) pairs with Δ < -ε), the gap to the Oracle s(Oracle) - s(L), and
compute = optimizer steps including probes, relative to FT-base.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence

import numpy as np


def transfer(learner_acc: Sequence[float], base_acc: Sequence[float]) -> np.ndarray:
    """Δ = s(L) - s(FT-base), element-wise (paired)."""
    return np.asarray(learner_acc, dtype=float) - np.asarray(base_acc, dtype=float)


def relative_transfer(learner_acc: Sequence[float], base_acc: Sequence[float]) -> np.ndarray:
    """Δ / s(FT-base)."""
    return transfer(learner_acc, base_acc) / np.asarray(base_acc, dtype=float)


def negative_transfer_rate(deltas: Sequence[float], eps: float) -> float:
    """Share of Δ below -ε."""
    d = np.asarray(deltas, dtype=float)
    return float((d < -eps).mean()) if d.size else float("nan")


def oracle_gap(oracle_acc: Sequence[float], learner_acc: Sequence[float]) -> np.ndarray:
    return np.asarray(oracle_acc, dtype=float) - np.asarray(learner_acc, dtype=float)


def compute_ratio(learner_steps: Iterable[int], base_steps: Iterable[int]) -> float:
    """Total optimizer steps (probes included) relative to FT-base's."""
    return float(sum(learner_steps)) / float(sum(base_steps))


def by_seed(records: Iterable, sequence: str, learner: str, *, targets_only: bool = True) -> dict[int, dict]:
    """Per seed: the learner's test accuracies on the sequence's (target) tasks, by task, and its steps."""
    out: dict[int, dict] = defaultdict(lambda: {"acc": {}, "steps": 0, "parents": {}})
    for r in records:
        if r.sequence != sequence or r.learner != learner:
            continue
        out[r.seed]["steps"] += r.steps
        if r.target or not targets_only:
            out[r.seed]["acc"][r.task] = r.test_acc
            out[r.seed]["parents"][r.task] = r.parent_task
    return dict(out)


def sequence_summary(records: Sequence, sequence: str, learners: Sequence[str], eps: float,
                     baseline: str = "FT-base", oracle: str = "Oracle") -> dict[str, dict]:
    """Per learner: per-seed target accuracy, Δ, negative-transfer rate, oracle gap and compute ratio."""
    base = by_seed(records, sequence, baseline)
    base_all = by_seed(records, sequence, baseline, targets_only=False)
    orc = by_seed(records, sequence, oracle) if oracle in learners else None
    seeds = sorted(base)
    out = {}
    for name in learners:
        mine = by_seed(records, sequence, name)
        mine_all = by_seed(records, sequence, name, targets_only=False)
        tasks = sorted(base[seeds[0]]["acc"])
        acc = np.array([[mine[s]["acc"][t] for t in tasks] for s in seeds])
        b = np.array([[base[s]["acc"][t] for t in tasks] for s in seeds])
        deltas_all = np.concatenate([transfer([mine_all[s]["acc"][t] for t in mine_all[s]["acc"]],
                                              [base_all[s]["acc"][t] for t in mine_all[s]["acc"]]) for s in seeds])
        row = {
            "seeds": seeds,
            "tasks": tasks,
            "target_acc": acc.mean(1).tolist(),  # per seed, mean over the target tasks
            "delta": transfer(acc.mean(1), b.mean(1)).tolist(),
            "relative_delta": float(relative_transfer(acc, b).mean()),
            "neg_transfer_rate": negative_transfer_rate(transfer(acc, b).ravel(), eps),
            "neg_transfer_rate_all_tasks": negative_transfer_rate(deltas_all, eps),
            "mean_delta_all_tasks": float(deltas_all.mean()),
            "compute": compute_ratio([mine_all[s]["steps"] for s in seeds], [base_all[s]["steps"] for s in seeds]),
            "parents": [[mine[s]["parents"][t] for t in tasks] for s in seeds],
        }
        if orc is not None:
            o = np.array([[orc[s]["acc"][t] for t in tasks] for s in seeds])
            row["oracle_gap"] = float(oracle_gap(o, acc).mean())
        out[name] = row
    return out
