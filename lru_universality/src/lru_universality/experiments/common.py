"""What every experiment receives, and the record it fills."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np

from lru_universality.configs import Config
from repro_shared.results import RunRecord

PAPER = "Universality of linear recurrences followed by nonlinear projections (arXiv:2307.11888)"


@dataclasses.dataclass(frozen=True)
class Context:
    cfg: Config
    scale: str
    seeds: tuple[int, ...]
    out_dir: Path

    def record(self, experiment: str, notes: str = "") -> RunRecord:
        return RunRecord(paper=PAPER, experiment=experiment, scale=self.scale, config=dataclasses.asdict(self.cfg),
                         seeds=list(self.seeds), notes=notes)


def median(values) -> float:
    return float(np.median(np.asarray(values, dtype=float)))


def sci(x: float) -> str:
    """Compact scientific notation for tables."""
    return f"{x:.2e}"
