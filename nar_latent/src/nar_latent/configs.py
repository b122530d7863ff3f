"""Configurations per scale.

quick: minutes on 2 CPU cores; full: about 1-2 h on 2 cores; gpu: about 10 GPU minutes.
"""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True)
class Config:
    """Knobs shared by the experiments; the paper issue fills them in."""

    seeds: tuple[int, ...] = (0,)


CONFIGS: dict[str, Config] = {
    "quick": Config(seeds=(0,)),
    "full": Config(seeds=(0, 1, 2)),
    "gpu": Config(seeds=(0, 1, 2, 3, 4)),
}
