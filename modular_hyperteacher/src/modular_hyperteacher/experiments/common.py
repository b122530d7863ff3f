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


def grid_fewshot_run(cfg: Any, prefix: str, env: Any, *, student: str, seed: int, learner_cfg: Any, num_hidden: int,
                     output_dim: int, loss_fn: Any, metric_fn: Any, desc: str) -> dict[str, Any]:
    """Meta-train one student on a grid world (``env.sample`` as the hyperteacher's) with the experiment's
    ``<prefix>_*`` settings (widths, modules, steps, meta-batch, shots, evaluation); the result keeps the best
    checkpoint's meta-parameters under ``meta`` and the learner under ``learner_obj``."""
    from modular_hyperteacher.fewshot import FewshotConfig, run_fewshot
    from modular_hyperteacher.metalearn import MetaLearner
    from modular_hyperteacher.students import make_student

    def get(name: str) -> Any:
        return getattr(cfg, f"{prefix}_{name}")

    lcfg = dataclasses.replace(learner_cfg, first_order=cfg.ht_first_order)
    hidden = {"anil": get("anil_hidden"), "learned_init": get("maml_hidden")}.get(student, get("hnet_hidden"))
    net = make_student(student, input_dim=env.observation_dim, output_dim=output_dim, hidden_dim=hidden,
                       num_hidden=num_hidden, num_modules=get("modules"))
    learner = MetaLearner(net, lcfg, loss_fn=loss_fn, metric_fn=metric_fn)
    eval_tasks = get("eval_tasks")
    fcfg = FewshotConfig(student=student, hidden_dim=hidden, num_hidden=num_hidden, steps=get("steps"),
                         meta_batch_size=get("meta_batch"), shots_support=get("shots"), shots_query=get("shots"),
                         eval_every=get("eval_every"), eval_tasks=eval_tasks, eval_chunk=min(eval_tasks, 32),
                         seed=2020 + seed, decode_tasks=eval_tasks)
    out = run_fewshot(env, fcfg, learner=learner, progress_desc=desc)
    out["learner_obj"] = learner
    return out


def seed_mean(results: list[dict[str, Any]], key: str, where: str = "best") -> float:
    return float(np.mean([r[where][key] for r in results]))
