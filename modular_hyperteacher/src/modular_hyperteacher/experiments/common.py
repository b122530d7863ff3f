"""Shared helpers of the experiment modules."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

PAPER = "Discovering modular solutions that generalize compositionally (Schug et al., ICLR 2024)"


def config_subset(cfg: Any, prefix: str) -> dict[str, Any]:
    """The fields of the flat config that belong to one experiment (by prefix), plus the seeds."""
    d = {k: v for k, v in dataclasses.asdict(cfg).items() if k.startswith(prefix)}
    d["seeds"] = list(cfg.seeds)
    return d


def mean_over_seeds(values: list[float]) -> float:
    return float(np.mean(values)) if values else float("nan")


def fewshot_run(cfg: Any, cache: dict[str, Any], *, student: str, experts: int, support: str, seed: int,
                steps: int, module_ratio: int | None = None, desc: str = "") -> dict[str, Any]:
    """Meta-train one student on one hyperteacher split (memoized in ``cache`` across experiments)."""
    from modular_hyperteacher.fewshot import FewshotConfig, run_fewshot
    from modular_hyperteacher.hyperteacher import HyperTeacher, HyperTeacherConfig

    ratio = cfg.ht_module_ratio if module_ratio is None else module_ratio
    key = (student, experts, support, seed, steps, ratio, cfg.ht_first_order)
    runs = cache.setdefault("fewshot", {})
    if key in runs:
        return runs[key]
    hidden = {"anil": cfg.ht_anil_hidden, "learned_init": cfg.ht_maml_hidden}.get(student, cfg.ht_hnet_hidden)
    teacher = HyperTeacher(HyperTeacherConfig(num_experts=experts, num_hot=cfg.ht_hot, task_support=support,
                                              seed=2020 + seed))
    fcfg = FewshotConfig(student=student, hidden_dim=hidden, num_hidden=cfg.ht_num_hidden, module_ratio=ratio,
                         steps=steps, meta_batch_size=cfg.ht_meta_batch, shots_support=cfg.ht_shots,
                         shots_query=cfg.ht_shots, eval_every=cfg.ht_eval_every, eval_tasks=cfg.ht_eval_tasks,
                         eval_chunk=cfg.ht_eval_chunk, first_order=cfg.ht_first_order, seed=2020 + seed,
                         decode_tasks=cfg.ht_eval_tasks)
    result = run_fewshot(teacher, fcfg, progress_desc=desc or f"{student} {support} E{experts} seed {seed}")
    result.pop("meta", None)
    result.update(num_id_tasks=len(teacher.tasks_id_np), num_ood_tasks=len(teacher.tasks_ood_np),
                  hidden_dim=hidden, module_ratio=ratio, support=support, experts=experts, seed=seed, steps=steps)
    runs[key] = result
    return result


def seed_mean(results: list[dict[str, Any]], key: str, where: str = "best") -> float:
    return float(np.mean([r[where][key] for r in results]))
