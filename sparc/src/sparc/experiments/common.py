"""Helpers shared by the experiments: which runs they need, per-seed values, table cells."""

from __future__ import annotations

from typing import Any

import numpy as np

from sparc.configs import Config
from sparc.train import METHOD_LABELS

Runs = dict[tuple[str, str, int], dict[str, Any]]
DATASET_LABELS = {"shapes": "ShapeScenes", "digits": "DigitScenes"}
DATA_NOTE = ("Data differ from the paper: procedurally generated ShapeScenes (coloured shapes) and DigitScenes "
             "(colourised scikit-learn digits) with template captions of varied structure, a tiny ViT and text "
             "Transformer trained from scratch, instead of ALIGN/JFT/LTIP and ViT-B/16. Paper numbers are quoted "
             "for orientation only; the claims compare methods within our setup.")


def methods_for(cfg: Config, dataset: str) -> tuple[str, ...]:
    return cfg.shapes_methods if dataset == "shapes" else cfg.digits_methods


def datasets_with(cfg: Config, *methods: str) -> list[str]:
    """The datasets on which every one of ``methods`` is trained."""
    return [d for d in ("shapes", "digits") if all(m in methods_for(cfg, d) for m in methods)]


def all_runs(cfg: Config, seeds: list[int]) -> list[tuple[str, str, int]]:
    return [(d, m, s) for d in ("shapes", "digits") for m in methods_for(cfg, d) for s in seeds]


def values(runs: Runs, dataset: str, method: str, metric: str, seeds: list[int]) -> list[float]:
    """The metric of every seed's run (missing runs are skipped)."""
    out = []
    for s in seeds:
        run = runs.get((dataset, method, s))
        if run is not None and metric in run["metrics"]:
            out.append(float(run["metrics"][metric]))
    return out


def mean(xs: list[float]) -> float:
    return float(np.mean(xs)) if xs else float("nan")


def cell(xs: list[float], digits: int = 1) -> str:
    """'mean ± std (n)' over seeds, or the single value."""
    if not xs:
        return "—"
    if len(xs) == 1:
        return f"{xs[0]:.{digits}f}"
    return f"{np.mean(xs):.{digits}f} ± {np.std(xs, ddof=1):.{digits}f}"


def label(method: str) -> str:
    return METHOD_LABELS.get(method, method)


def seed_note(seeds: list[int]) -> str:
    return f"Cells: mean ± sample std over {len(seeds)} seeds ({', '.join(map(str, seeds))})." if len(seeds) > 1 \
        else f"Cells: one seed ({seeds[0]}); claims judged on the seed spread are INCONCLUSIVE."


def runs_wall_time(runs: Runs, keys: list[tuple[str, str, int]]) -> float:
    """Seconds spent training + evaluating the runs an experiment reads (they are stored under runs/)."""
    return float(sum(runs[k].get("train_wall_s", 0.0) + runs[k].get("eval_wall_s", 0.0) for k in keys if k in runs))
