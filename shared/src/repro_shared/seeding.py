"""Seeding of every random number generator a run may touch."""

from __future__ import annotations

import importlib.util
import os
import random
import sys
from typing import Any

import numpy as np


def _available(name: str) -> bool:
    return name in sys.modules or importlib.util.find_spec(name) is not None


def seed_everything(seed: int, *, torch_deterministic: bool = False) -> dict[str, Any]:
    """Seed python, numpy and (when installed) torch; return a jax PRNG key when jax is installed.

    Returns ``{"numpy": np.random.Generator, "jax": PRNGKey | None}`` so callers can use
    explicit generators instead of global state.
    """
    if not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be a non-negative int, got {seed!r}")
    out: dict[str, Any] = {"numpy": np.random.default_rng(seed), "jax": None}
    # frameworks first: importing them may draw from numpy's global generator
    if _available("torch"):
        import torch

        torch.manual_seed(seed)
        if torch_deterministic:
            torch.use_deterministic_algorithms(True)
    if _available("jax"):
        import jax

        out["jax"] = jax.random.PRNGKey(seed)
    random.seed(seed)
    np.random.seed(seed % 2**32)  # noqa: NPY002 - legacy global state, for libraries that still use it
    os.environ["PYTHONHASHSEED"] = str(seed)
    return out
