"""One module per paper table we reproduce; each builds a run record that ends in its claims.

Experiments 1-4 read the same trained runs (``sparc.runs``); ``cost`` and ``minilm`` run their own.
"""

from sparc.experiments import ablations, cost, faithfulness, minilm, segmentation, zero_shot_retrieval

EXPERIMENTS = {
    "zero_shot_retrieval": zero_shot_retrieval,
    "segmentation": segmentation,
    "faithfulness": faithfulness,
    "ablations": ablations,
    "cost": cost,
    "minilm": minilm,
}

__all__ = ["EXPERIMENTS"]
