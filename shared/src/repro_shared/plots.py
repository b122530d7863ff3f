"""Headless matplotlib: figures saved as PNG next to the run's JSON."""

from __future__ import annotations

import os
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from repro_shared.results import atomic_path  # noqa: E402


def new_figure(ncols: int = 1, nrows: int = 1, *, width: float = 4.5, height: float = 3.5, **kwargs):
    """A figure with a grid of axes sized per panel."""
    return plt.subplots(nrows, ncols, figsize=(width * ncols, height * nrows), squeeze=False, **kwargs)


def save_figure(fig, path: str | os.PathLike, *, dpi: int = 120) -> Path:
    """Save ``fig`` as PNG atomically (temporary file + rename) and close it."""
    try:
        with atomic_path(path, suffix=".png") as tmp:
            fig.tight_layout()
            fig.savefig(tmp, dpi=dpi, format="png")
    finally:
        plt.close(fig)
    return Path(path)
