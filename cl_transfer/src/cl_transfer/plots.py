"""Figures rendered from the run records' JSON: the transfer-matrix heat map and per-sequence accuracies."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from repro_shared.plots import new_figure, save_figure


def transfer_heatmap(mean: np.ndarray, rows: Sequence[str], cols: Sequence[str], path: Path, *,
                     title: str = "") -> Path:
    """Δ[A, B] = acc(B | FT(A)) - acc(B | θ₀), diverging colours centred on 0, values written in the cells."""
    mean = np.asarray(mean, dtype=float)
    fig, axes = new_figure(width=1.1 + 0.75 * len(cols), height=1.0 + 0.4 * len(rows))
    ax = axes[0, 0]
    lim = max(0.05, float(np.nanmax(np.abs(mean))))
    im = ax.imshow(mean, cmap="RdBu", vmin=-lim, vmax=lim, aspect="auto")
    ax.set_xticks(range(len(cols)), cols, rotation=45, ha="right", fontsize=8)
    ax.set_yticks(range(len(rows)), rows, fontsize=8)
    ax.set_xlabel("then fine-tuned on B (target)")
    ax.set_ylabel("first fine-tuned on A")
    for i in range(mean.shape[0]):
        for j in range(mean.shape[1]):
            ax.text(j, i, f"{mean[i, j]:+.2f}", ha="center", va="center", fontsize=7,
                    color="white" if abs(mean[i, j]) > 0.6 * lim else "black")
    fig.colorbar(im, ax=ax, label="Δ test accuracy vs. θ₀")
    ax.set_title(title or "pairwise transfer", fontsize=9)
    return save_figure(fig, path)


def sequence_bars(summary: dict[str, dict[str, dict]], learners: Sequence[str], path: Path) -> Path:
    """Mean target accuracy per learner and sequence, with one dot per seed."""
    seqs = list(summary)
    fig, axes = new_figure(ncols=len(seqs), width=3.0, height=3.0, sharey=True)
    for ax, seq in zip(axes[0], seqs):
        for i, name in enumerate(learners):
            vals = np.asarray(summary[seq][name]["target_acc"], dtype=float)
            ax.bar(i, vals.mean(), color=f"C{i}", alpha=0.7)
            ax.plot(np.full(vals.shape, i), vals, "k.", ms=3)
        ax.set_xticks(range(len(learners)), learners, rotation=60, ha="right", fontsize=7)
        ax.set_title(seq, fontsize=9)
        ax.set_ylim(0.4, 1.0)
    axes[0, 0].set_ylabel("target test accuracy (mean of targets)")
    return save_figure(fig, path)
