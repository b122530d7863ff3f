"""Helpers shared by the experiments: run records, float64 parameter casts, number formatting."""

from __future__ import annotations

from collections.abc import Sequence

import jax
import jax.numpy as jnp
import numpy as np

from async_gnn.configs import Config
from repro_shared.results import RunRecord

PAPER = "Asynchronous Algorithmic Alignment with Cocycles (arXiv:2306.15632)"
DATA_NOTE = ("Data: CLRS-30 splits regenerated offline from dm-clrs 2.0.3's samplers (train n = 16, val n = 16, "
             "test n = 64; seeds 1/2/3), the benchmark's own definition; the paper's empirical section could not "
             "be read, so no paper numbers are quoted and the orderings below are our hypotheses.")


def new_record(experiment: str, scale: str, cfg: Config, fields: Sequence[str]) -> RunRecord:
    """A run record whose config holds the fields this experiment reads."""
    return RunRecord(paper=PAPER, experiment=experiment, scale=scale,
                     config={f: getattr(cfg, f) for f in fields}, seeds=list(cfg.seeds))


def to_dtype(tree, dtype):
    """Cast every floating leaf of a pytree (call float64 casts inside ``jax.enable_x64(True)``)."""
    return jax.tree_util.tree_map(
        lambda x: jnp.asarray(x, dtype) if jnp.issubdtype(jnp.asarray(x).dtype, jnp.floating) else x, tree)


def mean_std(values: Sequence[float], scale: float = 1.0, digits: int = 1) -> str:
    """'m ± s' over seeds ('m' alone for one value)."""
    x = np.asarray(values, float) * scale
    if x.size == 1:
        return f"{x[0]:.{digits}f}"
    return f"{x.mean():.{digits}f} ± {x.std(ddof=1):.{digits}f}"
